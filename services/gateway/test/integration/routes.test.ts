import { randomUUID } from 'node:crypto';
import { propagation } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { methodsByPath, openApiPath } from '../../src/routes/api-route';
import { API_ROUTES } from '../../src/routes/api-routes';
import { newUserBody, routes, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

const PROBLEM = /^application\/problem\+json/;
const item = { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 };

describe('gateway routes over a real broker', () => {
  const suite = useGatewayOverFakeBackend();
  const { backend, http } = suite;
  const createUser = async (body = newUserBody()) => {
    const response = await http().post('/v1/users').send(body).expect(201);
    return response.body as { id: string; name: string; email: string };
  };

  describe('success codes', () => {
    it('POST /v1/users creates (201) with a Location', async () => {
      const body = newUserBody();
      const response = await http().post('/v1/users').send(body).expect(201).expect('Content-Type', /json/);
      expect(response.body).toMatchObject(body);
      expect(response.headers.location).toBe(`/v1/users/${response.body.id}`);
    });

    it('GET /v1/users/:id reads (200)', async () => {
      const user = await createUser();
      const response = await http().get(`/v1/users/${user.id}`).expect(200);
      expect(response.body).toEqual(user);
    });

    it('GET /v1/users lists a page (200), passing limit and cursor on', async () => {
      await createUser();
      await createUser();
      const first = await http().get('/v1/users?limit=1').expect(200);
      expect(first.body.items).toHaveLength(1);
      expect(typeof first.body.nextCursor).toBe('string');
      const second = await http().get('/v1/users').query({ limit: 1, cursor: first.body.nextCursor }).expect(200);
      expect(second.body.items[0].id > first.body.items[0].id).toBe(true);
      expect(backend.callsTo(routes.usersList).at(-1)?.request).toEqual({ limit: 1, cursor: first.body.nextCursor });
      await http().get('/v1/users').expect(200);
      expect(backend.callsTo(routes.usersList).at(-1)?.request).toEqual({ limit: 20 });
    });

    it('PATCH /v1/users/:id updates (200)', async () => {
      const user = await createUser();
      const response = await http().patch(`/v1/users/${user.id}`).send({ name: 'Grace' }).expect(200);
      expect(response.body).toMatchObject({ id: user.id, name: 'Grace', email: user.email });
    });

    it('POST /v1/orders creates (201), GET reads, listByUser lists, cancel cancels (200)', async () => {
      const user = await createUser();
      const created = await http()
        .post('/v1/orders')
        .send({ userId: user.id, items: [item], currency: 'EUR' })
        .expect(201);
      expect(created.body).toMatchObject({ userId: user.id, totalCents: 2500, status: 'confirmed' });
      expect(created.headers.location).toBe(`/v1/orders/${created.body.id}`);
      await http().get(`/v1/orders/${created.body.id}`).expect(200, created.body);
      const list = await http().get(`/v1/users/${user.id}/orders?limit=5`).expect(200);
      expect(list.body).toEqual({ items: [created.body], nextCursor: null });
      const cancelled = await http().post(`/v1/orders/${created.body.id}/cancel`).expect(200);
      expect(cancelled.body).toMatchObject({ id: created.body.id, status: 'cancelled' });
    });
  });

  describe('validation', () => {
    it('answers 400 problem+json naming each bad field', async () => {
      const response = await http()
        .post('/v1/users')
        .send({ name: '', email: 'not-an-email' })
        .expect(400)
        .expect('Content-Type', PROBLEM);
      expect(response.body).toMatchObject({
        type: 'urn:warren:problem:validation-failed',
        title: 'Invalid request',
        status: 400,
        instance: '/v1/users',
        requestId: response.headers['x-request-id'],
      });
      expect(response.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(['email', 'name']);
      expect(
        backend
          .callsTo(routes.usersCreate)
          .some((call) => (call.request as { email: string }).email === 'not-an-email'),
      ).toBe(false);
    });

    it('rejects unknown fields, naming them', async () => {
      const response = await http()
        .post('/v1/users')
        .send({ ...newUserBody(), isAdmin: true })
        .expect(400);
      expect(response.body.errors).toEqual([{ path: 'isAdmin', message: 'unknown field' }]);
      const order = await http()
        .post('/v1/orders')
        .send({ userId: randomUUID(), items: [{ ...item, discount: 1 }], currency: 'EUR', totalCents: 1 })
        .expect(400);
      expect(order.body.errors).toEqual(
        expect.arrayContaining([
          { path: 'totalCents', message: 'unknown field' },
          { path: 'items.0.discount', message: 'unknown field' },
        ]),
      );
    });

    it('validates path ids, query parameters and update bodies', async () => {
      const badId = await http().get('/v1/users/not-a-uuid').expect(400);
      expect(badId.body.errors).toEqual([{ path: 'id', message: expect.any(String) }]);
      const badLimit = await http().get('/v1/users?limit=500').expect(400);
      expect(badLimit.body.errors).toEqual([{ path: 'limit', message: expect.any(String) }]);
      await http().get(`/v1/users/${randomUUID()}/orders?limit=zero`).expect(400);
      await http().post('/v1/orders/nope/cancel').expect(400);
      const emptyPatch = await http().patch(`/v1/users/${randomUUID()}`).send({}).expect(400);
      expect(emptyPatch.body.errors[0].message).toBe('give at least one of name and email');
      const both = await http().patch('/v1/users/nope').send({ name: '' }).expect(400);
      expect(both.body.errors.map((error: { path: string }) => error.path)).toEqual(['id', 'name']);
    });

    it('answers 400 for malformed JSON, an empty body and a body that is not an object', async () => {
      const malformed = await http()
        .post('/v1/users')
        .set('Content-Type', 'application/json')
        .send('{"name": "Ada",')
        .expect(400)
        .expect('Content-Type', PROBLEM);
      expect(malformed.body.type).toBe('urn:warren:problem:malformed-json');
      const empty = await http().post('/v1/users').set('Content-Type', 'application/json').expect(400);
      expect(empty.body.errors.map((error: { path: string }) => error.path)).toEqual(['name', 'email']);
      const array = await http().post('/v1/users').send([newUserBody()]).expect(400);
      expect(array.body.errors).toEqual([{ path: 'body', message: expect.any(String) }]);
      await http().post('/v1/users').set('Content-Type', 'application/json').send('null').expect(400);
    });

    it('answers 413 for a body over the limit', async () => {
      const response = await http()
        .post('/v1/users')
        .send({ name: 'x'.repeat(70 * 1024), email: 'big@example.com' })
        .expect(413)
        .expect('Content-Type', PROBLEM);
      expect(response.body).toMatchObject({ status: 413, type: 'urn:warren:problem:payload-too-large' });
    });

    it('answers 415 for a body that is not JSON', async () => {
      const response = await http()
        .post('/v1/users')
        .set('Content-Type', 'text/plain')
        .send('name=Ada')
        .expect(415)
        .expect('Content-Type', PROBLEM);
      expect(response.body.status).toBe(415);
      await http().patch(`/v1/users/${randomUUID()}`).type('form').send({ name: 'Ada' }).expect(415);
    });
  });

  describe('error mapping', () => {
    it('maps not_found to 404, conflict to 409, invalid_argument and failed_precondition to 422', async () => {
      const missing = await http().get(`/v1/users/${randomUUID()}`).expect(404).expect('Content-Type', PROBLEM);
      expect(missing.body).toMatchObject({ status: 404, type: 'urn:warren:problem:not-found' });
      await http().get(`/v1/orders/${randomUUID()}`).expect(404);

      const user = await createUser();
      const conflict = await http().post('/v1/users').send({ name: 'Twin', email: user.email }).expect(409);
      expect(conflict.body).toMatchObject({ status: 409, type: 'urn:warren:problem:conflict' });

      const badCursor = await http().get('/v1/users?cursor=not-ours').expect(422);
      expect(badCursor.body).toMatchObject({
        status: 422,
        type: 'urn:warren:problem:invalid-argument',
        errors: [{ path: 'cursor', message: 'invalid cursor' }],
      });

      const noUser = await http()
        .post('/v1/orders')
        .send({ userId: randomUUID(), items: [item], currency: 'EUR' })
        .expect(422);
      expect(noUser.body.type).toBe('urn:warren:problem:failed-precondition');
    });

    it('answers 404 problem for an unknown route and 405 with Allow for a wrong method', async () => {
      const unknown = await http().get('/v2/nothing').expect(404).expect('Content-Type', PROBLEM);
      expect(unknown.body).toMatchObject({ status: 404, instance: '/v2/nothing' });
      const wrongMethod = await http().delete(`/v1/users/${randomUUID()}`).expect(405);
      expect(wrongMethod.headers.allow).toBe('GET, PATCH, HEAD');
    });

    it('answers 405 with Allow, and OPTIONS with 204, on every path of the route table', async () => {
      for (const [path, methods] of methodsByPath(API_ROUTES)) {
        const url = `/v1${path.replace(':id', randomUUID())}`;
        const allowed = methods.map((method) => method.toUpperCase());
        const wrongMethod = await http().put(url).expect(405);
        expect(wrongMethod.headers.allow!.split(', ').sort()).toEqual(
          [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].sort(),
        );
        const options = await http().options(url).expect(204);
        expect(options.headers.allow).toBe(`${wrongMethod.headers.allow}, OPTIONS`);
      }
    });
  });

  describe('request ids and headers', () => {
    it('echoes a sane X-Request-Id and passes it to the worker as baggage, and only there', async () => {
      // As @warren/telemetry registers it in the services.
      propagation.setGlobalPropagator(new W3CBaggagePropagator());
      try {
        const user = await createUser();
        const response = await http().get(`/v1/users/${user.id}`).set('X-Request-Id', 'trace-me-123').expect(200);
        expect(response.headers['x-request-id']).toBe('trace-me-123');
        const headers = backend.callsTo(routes.usersGet).at(-1)?.headers;
        expect(headers?.baggage).toBe('warren.request_id=trace-me-123');
        expect(headers?.['x-request-id']).toBeUndefined();
      } finally {
        propagation.disable();
      }
    });

    it('replaces an insane X-Request-Id by a generated one', async () => {
      const response = await http().get('/healthz').set('X-Request-Id', 'x'.repeat(200)).expect(200);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('forwards the Idempotency-Key as x-idempotency-key', async () => {
      await http().post('/v1/users').set('Idempotency-Key', 'forward-me-1').send(newUserBody()).expect(201);
      expect(backend.callsTo(routes.usersCreate).at(-1)?.headers['x-idempotency-key']).toBe('forward-me-1');
    });

    it('sets helmet security headers and no X-Powered-By', async () => {
      const response = await http().get('/healthz').expect(200);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.headers['strict-transport-security']).toBeDefined();
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('documentation and operations', () => {
    it('serves an OpenAPI 3.1 document with every operation of the route table', async () => {
      const response = await http().get('/openapi.json').expect(200).expect('Content-Type', /json/);
      expect(response.body.openapi).toBe('3.1.0');
      const operations = Object.entries(response.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(operations.sort()).toEqual(
        API_ROUTES.map((route) => `${route.method.toUpperCase()} ${openApiPath(route)}`).sort(),
      );
      expect(operations).toHaveLength(8);
      expect(response.body.components.schemas.User.additionalProperties).toBe(false);
    });

    it('serves the docs page and its assets locally', async () => {
      const page = await http().get('/docs').expect(200).expect('Content-Type', /html/);
      expect(page.text).toContain('/docs/assets/swagger-ui-bundle.js');
      expect(page.text).not.toMatch(/https?:\/\//);
      await http()
        .get('/docs/assets/swagger-ui-bundle.js')
        .expect(200)
        .expect('Content-Type', /javascript/);
      await http().get('/docs/assets/swagger-ui.css').expect(200);
      await http().get('/docs/init.js').expect(200);
      await http().get('/docs/assets/package.json').expect(404);
    });

    it('counts requests by route template, never by raw URL', async () => {
      const user = await createUser();
      await http().get(`/v1/users/${user.id}`).expect(200);
      await http().get('/no/such/thing').expect(404);
      const metrics = (await http().get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/v1\/users\/:id",status_code="200"\} \d+/);
      expect(metrics).toMatch(/http_requests_total\{method="POST",route="\/v1\/users",status_code="201"\} \d+/);
      expect(metrics).toMatch(/http_requests_total\{method="GET",route="unmatched",status_code="404"\} \d+/);
      expect(metrics).toMatch(/http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/v1\/users\/:id"/);
      expect(metrics).not.toContain(user.id);
      expect(metrics).toMatch(/^redis_up 1$/m);
      expect(metrics).toContain('rpc_client_duration_seconds');
    });

    it('answers /healthz 200 and /readyz 200 when every route has a consumer', async () => {
      await http().get('/healthz').expect(200, { status: 'ok' });
      const ready = await http().get('/readyz').expect(200);
      expect(ready.body).toMatchObject({ status: 'ready', redis: 'up' });
      expect(Object.keys(ready.body.checks)).toEqual(
        expect.arrayContaining(['rpcConnected', ...Object.values(routes).map((route) => route.name)]),
      );
    });
  });
});
