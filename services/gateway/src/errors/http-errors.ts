import type { FieldError } from './problem';

export interface HttpErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error the gateway itself raises, already knowing its HTTP status and problem type. */
export class HttpError extends Error {
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    options: HttpErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** The request failed the gateway's own validation (400). */
export class ValidationError extends HttpError {
  constructor(detail: string, errors: FieldError[]) {
    super(400, 'validation-failed', 'Invalid request', detail, { errors });
  }
}

/** No route matches the method and path (404). */
export class RouteNotFoundError extends HttpError {
  constructor(method: string, path: string) {
    super(404, 'not-found', 'Not Found', `no route for ${method} ${path}`);
  }
}

/** The path exists, but not with this method (405). */
export class MethodNotAllowedError extends HttpError {
  constructor(method: string, allowed: readonly string[]) {
    super(405, 'method-not-allowed', 'Method Not Allowed', `${method} is not allowed here`, {
      headers: { Allow: allowed.join(', ') },
    });
  }
}

/** A request body that is not JSON (415). */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string | undefined) {
    super(
      415,
      'unsupported-media-type',
      'Unsupported Media Type',
      `request bodies must be application/json${contentType ? `, not ${contentType}` : ''}`,
    );
  }
}

/** The Idempotency-Key was used before with a different request (422). */
export class IdempotencyKeyReusedError extends HttpError {
  constructor() {
    super(
      422,
      'idempotency-key-reused',
      'Idempotency-Key reused',
      'this Idempotency-Key was already used with a different request; use a new key for a new request',
    );
  }
}

/** A request with the same Idempotency-Key is still being processed (409). */
export class IdempotencyRequestInFlightError extends HttpError {
  constructor() {
    super(
      409,
      'idempotency-request-in-flight',
      'Request in progress',
      'a request with this Idempotency-Key is still being processed; retry later',
      { headers: { 'Retry-After': '1' } },
    );
  }
}

/** Idempotency needs Redis; when it cannot be reached the request is refused, not run unprotected (503). */
export class IdempotencyUnavailableError extends HttpError {
  constructor(cause?: unknown) {
    super(
      503,
      'idempotency-unavailable',
      'Service Unavailable',
      'requests with an Idempotency-Key cannot be processed right now; retry later',
      { headers: { 'Retry-After': '1' }, cause },
    );
  }
}

/** The client sent too many requests in the window (429). */
export class TooManyRequestsError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, 'rate-limited', 'Too Many Requests', 'rate limit exceeded; retry after the time in Retry-After', {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}
