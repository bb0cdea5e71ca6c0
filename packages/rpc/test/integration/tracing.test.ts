import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { startEchoPair } from '../fixture';

jest.setTimeout(30_000);

describe('trace context across the broker', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('makes the server span a child of the client span, inside the caller’s trace', async () => {
    const pair = await startEchoPair();
    try {
      const tracer = trace.getTracer('test');
      await tracer.startActiveSpan('caller', async (caller) => {
        await pair.client.call(pair.route, { text: 'traced' });
        caller.end();
      });
      const spans = exporter.getFinishedSpans();
      const callerSpan = spans.find((span) => span.name === 'caller')!;
      const clientSpan = spans.find((span) => span.name === pair.route.name && span.kind === SpanKind.CLIENT)!;
      const serverSpan = spans.find((span) => span.name === pair.route.name && span.kind === SpanKind.SERVER)!;

      expect(clientSpan.parentSpanContext?.spanId).toBe(callerSpan.spanContext().spanId);
      expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
      expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
      expect(clientSpan.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': pair.route.name,
        'messaging.operation.type': 'send',
      });
      expect(serverSpan.attributes).toMatchObject({ 'messaging.operation.type': 'process' });
    } finally {
      await pair.stop();
    }
  });

  it("makes the client span a child of the parent's trace context, whatever context is active", async () => {
    const pair = await startEchoPair();
    try {
      const parentSpan = trace.getTracer('test').startSpan('parent');
      const traceContext = trace.setSpan(context.active(), parentSpan);
      // Called from the root context: only the parent option says where the call belongs.
      await context.with(ROOT_CONTEXT, () =>
        pair.client.call(pair.route, { text: 'parented' }, { parent: { traceContext } }),
      );
      parentSpan.end();
      const clientSpan = exporter
        .getFinishedSpans()
        .find(
          (span) => span.kind === SpanKind.CLIENT && span.spanContext().traceId === parentSpan.spanContext().traceId,
        );
      expect(clientSpan?.parentSpanContext?.spanId).toBe(parentSpan.spanContext().spanId);
    } finally {
      await pair.stop();
    }
  });
});
