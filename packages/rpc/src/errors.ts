/**
 * Error codes that cross the wire. Handlers use them to say what went wrong;
 * the gateway maps them to HTTP in one place.
 */
export const RPC_ERROR_CODES = [
  'not_found',
  'conflict',
  'invalid_argument',
  'permission_denied',
  'failed_precondition',
  'unavailable',
  'deadline_exceeded',
  'no_route',
  'aborted',
  'internal',
] as const;
export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

/** Codes of failures that a retry (with the same idempotency key) may get past: the infrastructure's, not the input's. */
export const RETRIABLE_CODES = [
  'unavailable',
  'deadline_exceeded',
  'no_route',
] as const satisfies readonly RpcErrorCode[];

const RETRIABLE: ReadonlySet<RpcErrorCode> = new Set(RETRIABLE_CODES);

/** Whether `code` is one this package knows (a reply from a newer peer may carry another). */
export function isRpcErrorCode(code: unknown): code is RpcErrorCode {
  return (RPC_ERROR_CODES as readonly unknown[]).includes(code);
}

export interface RpcErrorOptions {
  details?: unknown;
  retriable?: boolean;
  cause?: unknown;
}

/** Base class of every error this package raises or carries; `code` is stable. */
export class RpcError extends Error {
  readonly code: RpcErrorCode;
  readonly details: unknown;
  readonly retriable: boolean;

  constructor(code: RpcErrorCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    this.retriable = options.retriable ?? RETRIABLE.has(code);
  }
}

/** The call's deadline passed before a reply arrived. */
export class RpcTimeoutError extends RpcError {
  constructor(route: string, timeoutMs: number) {
    super('deadline_exceeded', `no reply from ${route} within ${timeoutMs} ms`);
  }
}

/** Nothing is bound to the route, so the broker returned the message at once. */
export class RpcNoRouteError extends RpcError {
  constructor(route: string) {
    super('no_route', `no queue is bound for route ${route}`);
  }
}

/** The broker connection is down, or the broker refused the message. */
export class RpcUnavailableError extends RpcError {
  constructor(message: string, options: RpcErrorOptions = {}) {
    super('unavailable', message, options);
  }
}

/**
 * The client already has its `maxInFlight` calls in flight: refused at once, before anything is sent, rather than
 * queued behind them (each waiting call holds a timer and its memory, and would answer too late to help anyone).
 */
export class RpcOverloadedError extends RpcUnavailableError {
  constructor(route: string, maxInFlight: number) {
    super(`${maxInFlight} calls are in flight already; ${route} was refused`);
  }
}

/** The idempotency-key header is present but is not a usable key. */
export class InvalidIdempotencyKeyError extends RpcError {
  constructor(header: string, reason: string) {
    super('invalid_argument', `invalid idempotency key: ${reason}`, { details: [{ path: header, message: reason }] });
  }
}

/** The caller headers are present but do not name a usable caller. */
export class InvalidCallerError extends RpcError {
  constructor(header: string, reason: string) {
    super('invalid_argument', `invalid caller: ${reason}`, { details: [{ path: header, message: reason }] });
  }
}

/** The caller may not do this, whatever the data: a user-scoped caller acting for another subject. */
export class PermissionDeniedError extends RpcError {
  constructor(message: string) {
    super('permission_denied', message);
  }
}

/** The caller aborted the call through its AbortSignal. */
export class RpcAbortedError extends RpcError {
  constructor(route: string, reason?: unknown) {
    super('aborted', `call to ${route} was aborted`, { cause: reason, retriable: false });
  }
}

/** An error raised by the remote handler, rethrown on the caller's side with the same code. */
export class RpcRemoteError extends RpcError {
  readonly route: string;

  constructor(route: string, code: RpcErrorCode, message: string, details: unknown, retriable: boolean) {
    super(code, message, { details, retriable });
    this.route = route;
  }
}
