import { InvalidIdempotencyKeyError, isRpcErrorCode, RpcError, RpcRemoteError, type RpcErrorCode } from './errors';

/** Header carrying the caller's deadline as epoch milliseconds. */
export const DEADLINE_HEADER = 'x-deadline';
/** Header carrying the command's idempotency key: a command repeated with the same key has its first outcome. */
export const IDEMPOTENCY_KEY_HEADER = 'x-idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
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
  const code = isRpcErrorCode(wire.code) ? wire.code : 'internal';
  throw new RpcRemoteError(route, code, wire.message, wire.details, wire.retriable === true);
}

/** The deadline header of a message (epoch ms), or undefined when it carries none a server could honour. */
export function deadlineOf(headers: Readonly<Record<string, unknown>>): number | undefined {
  const value = headers[DEADLINE_HEADER];
  return typeof value === 'number' ? value : undefined;
}

/**
 * The idempotency key of a message, or undefined when the caller sent none. A header that is present but empty, too
 * long or not a string is refused rather than ignored: ignoring it would silently drop the caller's guarantee.
 */
export function idempotencyKeyOf(headers: Readonly<Record<string, unknown>>): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined || value === null) return undefined;
  const key = value;
  if (typeof key !== 'string') throw new InvalidIdempotencyKeyError(IDEMPOTENCY_KEY_HEADER, 'must be a string');
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(
      IDEMPOTENCY_KEY_HEADER,
      `must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return key;
}
