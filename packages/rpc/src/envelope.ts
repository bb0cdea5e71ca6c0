import { RpcError, RpcRemoteError, type RpcErrorCode } from './errors';

/** Header carrying the caller's deadline as epoch milliseconds. */
export const DEADLINE_HEADER = 'x-deadline';
/** Where replies come back: RabbitMQ's direct reply-to pseudo-queue. */
export const DIRECT_REPLY_QUEUE = 'amq.rabbitmq.reply-to';
export const JSON_CONTENT_TYPE = 'application/json';

export interface WireError {
  code: RpcErrorCode;
  message: string;
  details?: unknown;
  retriable: boolean;
}

export type ReplyEnvelope = { ok: true; result: unknown } | { ok: false; error: WireError };

const KNOWN_CODES: ReadonlySet<string> = new Set<RpcErrorCode>([
  'not_found',
  'conflict',
  'invalid_argument',
  'failed_precondition',
  'unavailable',
  'deadline_exceeded',
  'no_route',
  'aborted',
  'internal',
]);

/** Serializes a successful reply. */
export function encodeResult(result: unknown): Buffer {
  return Buffer.from(JSON.stringify({ ok: true, result }));
}

/**
 * Serializes a failure. Only RpcErrors keep their message; anything else
 * becomes a bare `internal` so no stack trace or internal detail crosses the wire.
 */
export function encodeError(error: unknown): Buffer {
  const wire: WireError =
    error instanceof RpcError
      ? { code: error.code, message: error.message, details: error.details, retriable: error.retriable }
      : { code: 'internal', message: 'internal error', retriable: false };
  return Buffer.from(JSON.stringify({ ok: false, error: wire }));
}

/** Parses a reply body into its result, or throws the remote error it carries. */
export function decodeReply(route: string, body: Buffer): unknown {
  let envelope: ReplyEnvelope;
  try {
    envelope = JSON.parse(body.toString('utf8')) as ReplyEnvelope;
  } catch (cause) {
    throw new RpcError('internal', `undecodable reply from ${route}`, { cause });
  }
  if (envelope?.ok === true) return envelope.result;
  const wire = envelope?.error;
  if (!wire || typeof wire.message !== 'string') {
    throw new RpcError('internal', `malformed reply from ${route}`);
  }
  const code = KNOWN_CODES.has(wire.code) ? wire.code : 'internal';
  throw new RpcRemoteError(route, code, wire.message, wire.details, wire.retriable === true);
}
