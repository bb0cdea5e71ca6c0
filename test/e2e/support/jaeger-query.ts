// Reading one trace back from Jaeger's query API (v2 serves the v1 JSON API at /api/traces/<id>).

/** A span as Jaeger's query API (/api/traces/<id>) returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  processID: string;
  startTime: number;
  duration: number;
  tags: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** A span with what the assertions need: its service, kind, parent and attributes. */
export interface Span {
  id: string;
  parentId: string | undefined;
  service: string;
  name: string;
  kind: string;
  startTime: number;
  attributes: Record<string, unknown>;
}

export function toSpans(trace: JaegerTrace): Span[] {
  return trace.spans.map((span) => {
    const attributes = Object.fromEntries(span.tags.map((tag) => [tag.key, tag.value]));
    return {
      id: span.spanID,
      parentId: span.references.find((reference) => reference.refType === 'CHILD_OF')?.spanID,
      service: trace.processes[span.processID]?.serviceName ?? '?',
      name: span.operationName,
      kind: String(attributes['span.kind'] ?? 'internal'),
      startTime: span.startTime,
      attributes,
    };
  });
}

export async function fetchTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const response = await fetch(`${queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5000) });
  if (response.status === 404) return undefined;
  const body = (await response.json()) as { data?: JaegerTrace[] };
  return body.data?.[0];
}

/** Polls until the trace holds every span `complete` asks for and has stopped growing. */
export async function waitForTrace(
  queryUrl: string,
  traceId: string,
  complete: (spans: Span[]) => boolean,
  timeoutMs = 30_000,
): Promise<{ trace: JaegerTrace; spans: Span[] }> {
  const deadline = Date.now() + timeoutMs;
  let last: { trace: JaegerTrace; spans: Span[] } | undefined;
  let stableSince = 0;
  let lastError: unknown;
  for (;;) {
    // A query API still starting (or a port-forward just opened) fails a request or two: keep asking until the end.
    const trace = await fetchTrace(queryUrl, traceId).catch((error: unknown) => {
      lastError = error;
      return undefined;
    });
    if (trace) {
      const spans = toSpans(trace);
      if (last?.spans.length !== spans.length) stableSince = Date.now();
      last = { trace, spans };
      // Every process exports on its own schedule: done when complete and unchanged for a moment.
      if (complete(spans) && Date.now() - stableSince >= 1000) return last;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `trace ${traceId} incomplete after ${timeoutMs} ms:\n${last ? renderTree(last.spans) : '(none)'}` +
          (lastError ? `\nlast query error: ${String(lastError)}` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The trace as an indented tree: service / span name / kind, children in start order. */
export function renderTree(spans: Span[]): string {
  const ids = new Set(spans.map((span) => span.id));
  const children = new Map<string | undefined, Span[]>();
  for (const span of spans) {
    const parent = span.parentId !== undefined && ids.has(span.parentId) ? span.parentId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      lines.push(`${'  '.repeat(depth)}${span.service} / ${span.name} / ${span.kind}`);
      walk(span.id, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}
