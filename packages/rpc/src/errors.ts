/**
 * Error codes that cross the wire. Handlers use them to say what went wrong;
 * the gateway maps them to HTTP in one place.
 */
export type RpcErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid_argument'
  | 'failed_precondition'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'no_route'
  | 'aborted'
  | 'internal';

const RETRIABLE_CODES: ReadonlySet<RpcErrorCode> = new Set(['unavailable', 'deadline_exceeded', 'no_route']);

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
    this.retriable = options.retriable ?? RETRIABLE_CODES.has(code);
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
