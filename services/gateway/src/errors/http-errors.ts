import type { FieldError } from './problem';

export interface HttpErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  cause?: unknown;
  /** Why, for the request's access line only: never sent to the client (default none). */
  logReason?: string;
}

/** An error the gateway itself raises, already knowing its HTTP status and problem type. */
export class HttpError extends Error {
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly logReason: string | undefined;

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
    this.logReason = options.logReason;
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

/** The gateway's own event loop is running late: the request is refused before it costs anything more (503). */
export class EventLoopOverloadedError extends HttpError {
  constructor(delayMs: number, maxDelayMs: number) {
    super(503, 'overloaded', 'Service Unavailable', 'the service is handling too many requests; retry later', {
      headers: { 'Retry-After': '1' },
      cause: `event loop ${Math.round(delayMs)} ms late, more than ${maxDelayMs} ms`,
    });
  }
}

/** The realm every bearer challenge names (RFC 6750 §3). */
export const BEARER_REALM = 'warren';

/**
 * A `WWW-Authenticate: Bearer realm="warren", …` challenge. RFC 6750 §3 allows neither `"` nor `\` inside its
 * quoted values, so they are dropped rather than escaped.
 */
function bearerChallenge(params: Record<string, string> = {}): Record<string, string> {
  const attributes = Object.entries({ realm: BEARER_REALM, ...params }).map(
    ([name, value]) => `${name}="${value.replace(/["\\]/g, '')}"`,
  );
  return { 'WWW-Authenticate': `Bearer ${attributes.join(', ')}` };
}

/**
 * No bearer credentials at all — no Authorization header, or one of another scheme (401). The challenge carries no
 * error code: RFC 6750 §3.1 keeps those for a client that tried a bearer token.
 */
export class AuthenticationRequiredError extends HttpError {
  constructor() {
    super(
      401,
      'authentication-required',
      'Unauthorized',
      'this request needs a bearer access token (Authorization: Bearer <token>)',
      { headers: bearerChallenge() },
    );
  }
}

/**
 * An Authorization header of the Bearer scheme that does not hold exactly one well-formed token (400): RFC 6750
 * §3.1's `invalid_request`, a malformed request rather than a bad token. `problem` is a fixed phrase, never the header.
 */
export class MalformedAuthorizationError extends HttpError {
  constructor(readonly problem: string) {
    const description = `the Authorization header is not a bearer token: ${problem}`;
    super(400, 'malformed-authorization', 'Bad Request', description, {
      headers: bearerChallenge({ error: 'invalid_request', error_description: description }),
    });
  }
}

/**
 * A bearer token that does not verify — bad signature, expired, wrong issuer or audience, unknown key… (401).
 * The client learns only that; `reason` says which, for the logs, and never holds the token.
 */
export class InvalidTokenError extends HttpError {
  constructor(readonly reason: string) {
    const description = 'the access token is invalid or expired';
    // The client learns only that the token is refused; the operator reads why (expired, wrong audience…).
    super(401, 'invalid-token', 'Unauthorized', description, {
      headers: bearerChallenge({ error: 'invalid_token', error_description: description }),
      logReason: reason,
    });
  }
}

/** A valid token without the scopes the route needs (403); the challenge names them (RFC 6750 §3.1). */
export class InsufficientScopeError extends HttpError {
  constructor(readonly required: readonly string[]) {
    const scope = required.join(' ');
    super(403, 'insufficient-scope', 'Forbidden', `this request needs a token with the scope ${scope}`, {
      headers: bearerChallenge({ error: 'insufficient_scope', scope }),
    });
  }
}

/**
 * The identity provider's keys (JWK Set or discovery document) cannot be fetched, so no token can be checked (503):
 * the caller's token may well be valid, so this is not a 401. `reason` is for the logs.
 */
export class IdentityProviderUnavailableError extends HttpError {
  constructor(
    readonly reason: string,
    cause?: unknown,
  ) {
    super(
      503,
      'identity-provider-unavailable',
      'Service Unavailable',
      'access tokens cannot be checked right now; retry later',
      { headers: { 'Retry-After': '1' }, cause },
    );
  }
}
