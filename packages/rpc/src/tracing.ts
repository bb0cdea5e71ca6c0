import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { RpcError } from './errors';

const tracer = trace.getTracer('@warren/rpc', '0.1.0');

type Headers = Record<string, unknown>;

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

function messagingAttributes(route: string, operation: 'send' | 'process', correlationId: string) {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': route,
    'messaging.rabbitmq.destination.routing_key': route,
    'messaging.message.conversation_id': correlationId,
    'rpc.method': route,
  };
}

/** Starts the caller's CLIENT span and writes its context into the outgoing headers. */
export function startClientSpan(route: string, correlationId: string, headers: Headers, parent: Context): Span {
  const span = tracer.startSpan(route, { kind: SpanKind.CLIENT }, parent);
  // Attributes are built only for a span that records: with tracing off this path allocates nothing.
  if (span.isRecording()) span.setAttributes(messagingAttributes(route, 'send', correlationId));
  propagation.inject(trace.setSpan(parent, span), headers);
  return span;
}

/** Starts the handler's SERVER span as a child of the context carried in the message headers. */
export function startServerSpan(
  route: string,
  correlationId: string,
  headers: Headers | undefined,
): { span: Span; spanContext: Context } {
  const parent = headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
  const span = tracer.startSpan(route, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) span.setAttributes(messagingAttributes(route, 'process', correlationId));
  return { span, spanContext: trace.setSpan(parent, span) };
}

/** Ends a span, marking it failed when an error is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    if (error instanceof RpcError) span.setAttribute('rpc.error_code', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

export { context };
