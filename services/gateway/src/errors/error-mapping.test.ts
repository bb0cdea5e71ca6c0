import {
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcOverloadedError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
  type RpcErrorCode,
} from '@warren/rpc';
import { instanceOf, mapError, MAX_FIELD_ERRORS } from './error-mapping';
import {
  AuthenticationRequiredError,
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyUnavailableError,
  IdentityProviderUnavailableError,
  InsufficientScopeError,
  InvalidTokenError,
  MalformedAuthorizationError,
  MethodNotAllowedError,
  RouteNotFoundError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './http-errors';
import { problemSchema } from './problem';

const context = { requestId: 'req-1', instance: '/v1/users/1' };
const remote = (code: RpcErrorCode, message = `remote ${code}`, details?: unknown) =>
  new RpcRemoteError('users.get', code, message, details, false);

describe('mapError', () => {
  it.each<[string, unknown, number]>([
    ['not_found', remote('not_found'), 404],
    ['conflict', remote('conflict'), 409],
    ['permission_denied', remote('permission_denied'), 403],
    ['invalid_argument from a worker', remote('invalid_argument'), 422],
    ['failed_precondition', remote('failed_precondition'), 422],
    ['deadline_exceeded (RpcTimeoutError)', new RpcTimeoutError('users.get', 5000), 504],
    ['deadline_exceeded from a worker', remote('deadline_exceeded'), 504],
    ['no_route', new RpcNoRouteError('users.get'), 503],
    ['unavailable', new RpcUnavailableError('lost the broker connection'), 503],
    ['unavailable from a worker (database down)', remote('unavailable'), 503],
    ['internal from a worker', remote('internal'), 500],
    ['aborted', new RpcAbortedError('users.get'), 500],
    ['a local invalid_argument (a gateway bug)', new RpcError('invalid_argument', 'not serializable'), 500],
    ['a plain Error', new Error('boom at /srv/app.js:12'), 500],
    ['a thrown string', 'boom', 500],
    ['undefined', undefined, 500],
  ])('maps %s to %i', (_name, error, status) => {
    const mapped = mapError(error, context);
    expect(mapped.status).toBe(status);
    expect(mapped.problem.status).toBe(status);
    expect(problemSchema.safeParse(mapped.problem).success).toBe(true);
  });

  it('tells the client to retry after a second on 503', () => {
    for (const error of [new RpcNoRouteError('users.get'), new RpcUnavailableError('down'), remote('unavailable')]) {
      expect(mapError(error, context).headers).toEqual({ 'Retry-After': '1' });
    }
  });

  it('tells a request shed by the RPC client (maxInFlight) that the gateway is overloaded, to retry after a second', () => {
    const mapped = mapError(new RpcOverloadedError('users.get', 512), context);
    expect(mapped).toMatchObject({ status: 503, headers: { 'Retry-After': '1' }, unexpected: false });
    expect(mapped.problem).toMatchObject({ type: 'urn:warren:problem:overloaded', title: 'Service Unavailable' });
    expect(mapped.problem.detail).not.toContain('512');
  });

  it("passes a worker's field errors on as `errors`, dropping malformed entries", () => {
    const mapped = mapError(
      remote('invalid_argument', 'cursor is not one this service issued', [
        { path: 'cursor', message: 'invalid cursor' },
        { path: 3, message: 'not a path' },
        'junk',
      ]),
      context,
    );
    expect(mapped.problem).toMatchObject({
      status: 422,
      type: 'urn:warren:problem:invalid-argument',
      detail: 'cursor is not one this service issued',
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
    expect(mapError(remote('invalid_argument', 'bad', { not: 'an array' }), context).problem.errors).toBeUndefined();
  });

  it('hides internals of unexpected errors and carries the request id', () => {
    const mapped = mapError(new Error('password=hunter2 at /srv/app.js:12'), context);
    expect(mapped.unexpected).toBe(true);
    expect(mapped.problem).toEqual({
      type: 'urn:warren:problem:internal',
      title: 'Internal Server Error',
      status: 500,
      detail: 'an unexpected error occurred; quote the request id when reporting it',
      instance: '/v1/users/1',
      requestId: 'req-1',
    });
    expect(JSON.stringify(mapped)).not.toContain('hunter2');
    expect(JSON.stringify(mapError(remote('internal', 'internal error'), context))).not.toContain('internal error');
  });

  it('does not flag expected failures as unexpected', () => {
    expect(mapError(remote('not_found'), context).unexpected).toBe(false);
    expect(mapError(new RpcTimeoutError('users.get', 1), context).unexpected).toBe(false);
  });

  it('keeps the status, title, field errors and headers of the gateway’s own errors', () => {
    const validation = mapError(
      new ValidationError('the request body is invalid', [{ path: 'name', message: 'x' }]),
      context,
    );
    expect(validation).toMatchObject({
      status: 400,
      problem: { title: 'Invalid request', errors: [{ path: 'name', message: 'x' }], requestId: 'req-1' },
    });
    expect(mapError(new RouteNotFoundError('GET', '/nope'), context).status).toBe(404);
    expect(mapError(new MethodNotAllowedError('DELETE', ['GET', 'PATCH']), context)).toMatchObject({
      status: 405,
      headers: { Allow: 'GET, PATCH' },
    });
    expect(mapError(new UnsupportedMediaTypeError('text/plain'), context).status).toBe(415);
    expect(mapError(new IdempotencyKeyReusedError(), context).status).toBe(422);
    expect(mapError(new IdempotencyRequestInFlightError(), context).status).toBe(409);
    expect(mapError(new IdempotencyUnavailableError(), context)).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    expect(mapError(new TooManyRequestsError(42.2), context)).toMatchObject({
      status: 429,
      headers: { 'Retry-After': '43' },
    });
  });

  it('answers bearer-token failures with their RFC 6750 challenge in WWW-Authenticate', () => {
    expect(mapError(new AuthenticationRequiredError(), context)).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer realm="warren"' },
      problem: { type: 'urn:warren:problem:authentication-required', title: 'Unauthorized' },
      unexpected: false,
    });
    expect(mapError(new MalformedAuthorizationError('more than one token'), context)).toMatchObject({
      status: 400,
      headers: {
        'WWW-Authenticate':
          'Bearer realm="warren", error="invalid_request", error_description="the Authorization header is not a bearer token: more than one token"',
      },
      problem: { type: 'urn:warren:problem:malformed-authorization' },
    });
    expect(mapError(new InsufficientScopeError(['users:read', 'orders:read']), context)).toMatchObject({
      status: 403,
      headers: {
        'WWW-Authenticate': 'Bearer realm="warren", error="insufficient_scope", scope="users:read orders:read"',
      },
      problem: { type: 'urn:warren:problem:insufficient-scope', title: 'Forbidden' },
    });
  });

  it('tells a client its token is invalid without the reason, which is for the logs', () => {
    const mapped = mapError(new InvalidTokenError('ERR_JWT_EXPIRED: "exp" claim timestamp check failed'), context);
    expect(mapped).toMatchObject({
      status: 401,
      headers: {
        'WWW-Authenticate':
          'Bearer realm="warren", error="invalid_token", error_description="the access token is invalid or expired"',
      },
      problem: { type: 'urn:warren:problem:invalid-token', detail: 'the access token is invalid or expired' },
    });
    expect(JSON.stringify(mapped)).not.toContain('ERR_JWT_EXPIRED');
  });

  it('answers an unreachable identity provider 503 with Retry-After, not 401', () => {
    const mapped = mapError(new IdentityProviderUnavailableError('JWK Set unavailable: fetch failed'), context);
    expect(mapped).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
      problem: { type: 'urn:warren:problem:identity-provider-unavailable', title: 'Service Unavailable' },
      unexpected: false,
    });
    expect(mapped.headers).not.toHaveProperty('WWW-Authenticate');
    expect(JSON.stringify(mapped)).not.toContain('fetch failed');
  });

  it('lists at most MAX_FIELD_ERRORS field errors, saying how many there were', () => {
    const errors = Array.from({ length: 5000 }, (_, index) => ({ path: `k${index}`, message: 'unknown field' }));
    const mapped = mapError(new ValidationError('the request body is invalid', errors), context);
    expect(mapped.problem.errors).toEqual(errors.slice(0, MAX_FIELD_ERRORS));
    expect(mapped.problem.detail).toBe(
      `the request body is invalid (the first ${MAX_FIELD_ERRORS} of 5000 errors are listed)`,
    );
    const few = mapError(new ValidationError('the request body is invalid', errors.slice(0, 2)), context);
    expect(few.problem).toMatchObject({ detail: 'the request body is invalid', errors: errors.slice(0, 2) });
  });

  it('maps express body-parser errors: malformed JSON 400, too large 413, bad charset 415', () => {
    const parserError = (type: string, status: number, extra: object = {}) =>
      Object.assign(new Error(type), { type, status, statusCode: status, expose: true, ...extra });
    expect(mapError(parserError('entity.parse.failed', 400), context).problem).toMatchObject({
      status: 400,
      type: 'urn:warren:problem:malformed-json',
    });
    expect(mapError(parserError('entity.too.large', 413, { limit: 65536 }), context).problem).toMatchObject({
      status: 413,
      detail: 'request body is larger than the limit of 65536 bytes',
    });
    expect(mapError(parserError('charset.unsupported', 415), context).status).toBe(415);
    expect(mapError(parserError('request.aborted', 400), context).status).toBe(400);
    expect(mapError(parserError('stream.encoding.set', 500, { expose: false }), context).status).toBe(500);
  });

  it('leaves instance out when there is none', () => {
    expect(mapError(remote('not_found'), { requestId: 'r' }).problem).not.toHaveProperty('instance');
  });
});

describe('instanceOf', () => {
  it('drops the query string', () => {
    expect(instanceOf('/v1/users?limit=5&cursor=abc')).toBe('/v1/users');
    expect(instanceOf('/v1/users/1')).toBe('/v1/users/1');
  });
});
