import { randomUUID } from 'node:crypto';
import { api, uniqueEmail } from './http';

/** Where the scenarios send their requests: the gateway's base URL and each worker's ops URL. */
export interface ApiTarget {
  baseUrl: string;
  opsUrl(worker: 'users' | 'orders'): string;
}

/**
 * The API end to end (gateway → RabbitMQ → workers → PostgreSQL), against a suite the caller starts: the services as
 * child processes (test/e2e/api.test.ts) or as containers of the compose stack (test/containers). `target` is read
 * when a test runs, after the caller's beforeAll.
 */
export function describeApiEndToEnd(target: () => ApiTarget): void {
  const call = (method: string, path: string, options?: Parameters<typeof api>[3]) =>
    api(target().baseUrl, method, path, options);
  const createUser = async (name = 'Ada Lovelace') => {
    const response = await call('POST', '/v1/users', { body: { name, email: uniqueEmail() } });
    expect(response.status).toBe(201);
    return response.body;
  };
  const orderBody = (userId: string) => ({
    userId,
    currency: 'EUR',
    items: [
      { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
      { sku: 'PEN-7', quantity: 3, unitPriceCents: 199 },
    ],
  });

  describe('users', () => {
    it('creates, reads, updates and lists users', async () => {
      const email = uniqueEmail('Grace');
      const created = await call('POST', '/v1/users', { body: { name: 'Grace Hopper', email } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'Grace Hopper', email });
      expect(created.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);

      const fetched = await call('GET', `/v1/users/${created.body.id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(created.body);

      const updated = await call('PATCH', `/v1/users/${created.body.id}`, { body: { name: 'Rear Admiral Hopper' } });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ id: created.body.id, name: 'Rear Admiral Hopper', email });

      const listed = await call('GET', '/v1/users?limit=100');
      expect(listed.status).toBe(200);
      expect(Array.isArray(listed.body.items)).toBe(true);
    });

    it('answers 404 for an unknown user and 400 for a malformed id', async () => {
      const missing = await call('GET', `/v1/users/${randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toContain('application/problem+json');
      expect((await call('GET', '/v1/users/not-a-uuid')).status).toBe(400);
    });

    it('refuses a duplicate email, whatever its case, with 409', async () => {
      const email = uniqueEmail('dup');
      expect((await call('POST', '/v1/users', { body: { name: 'First', email } })).status).toBe(201);
      const duplicate = await call('POST', '/v1/users', { body: { name: 'Second', email: email.toUpperCase() } });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body).toMatchObject({ status: 409 });
    });

    it('rejects invalid input with a problem naming each bad field, and unknown fields', async () => {
      const invalid = await call('POST', '/v1/users', { body: { name: '', email: 'not-an-email' } });
      expect(invalid.status).toBe(400);
      expect(invalid.headers.get('content-type')).toContain('application/problem+json');
      expect(invalid.body).toMatchObject({ status: 400, title: expect.any(String), type: expect.any(String) });
      const paths = invalid.body.errors.map((error: { path: string }) => error.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'email']));

      const massAssignment = await call('POST', '/v1/users', {
        body: { name: 'Eve', email: uniqueEmail(), id: randomUUID() },
      });
      expect(massAssignment.status).toBe(400);
    });

    it('pages through users with an opaque cursor: no overlap, stable id order', async () => {
      // The users table grows with every run, so this reads two pages rather than the whole list.
      for (let index = 0; index < 4; index++) await createUser(`Pager ${index}`);
      const first = await call('GET', '/v1/users?limit=2');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(2);
      expect(typeof first.body.nextCursor).toBe('string');
      const second = await call('GET', `/v1/users?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      expect(second.body.items).toHaveLength(2);
      const ids = [...first.body.items, ...second.body.items].map((user: { id: string }) => user.id);
      expect(new Set(ids).size).toBe(4);
      expect([...ids].sort()).toEqual(ids);
      // A cursor the service never issued is the caller's mistake, reported by the worker.
      expect((await call('GET', '/v1/users?cursor=bogus')).status).toBe(422);
    });
  });

  describe('orders', () => {
    it("pages through a user's orders, newest first, across several pages", async () => {
      const user = await createUser();
      const created: string[] = [];
      for (let index = 0; index < 5; index++) {
        created.push((await call('POST', '/v1/orders', { body: orderBody(user.id) })).body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const page = await call('GET', `/v1/users/${user.id}/orders${query}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((order: { id: string }) => order.id));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual([...created].reverse());
    });

    it('creates an order with a server-computed total, reads it, lists it and cancels it once', async () => {
      const user = await createUser();
      const created = await call('POST', '/v1/orders', { body: orderBody(user.id) });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        userId: user.id,
        totalCents: 2 * 1250 + 3 * 199,
        status: 'confirmed',
        currency: 'EUR',
      });

      expect((await call('GET', `/v1/orders/${created.body.id}`)).body).toEqual(created.body);

      const second = await call('POST', '/v1/orders', { body: orderBody(user.id) });
      const listed = await call('GET', `/v1/users/${user.id}/orders?limit=1`);
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((order: { id: string }) => order.id)).toEqual([second.body.id]);
      const nextPage = await call(
        'GET',
        `/v1/users/${user.id}/orders?limit=1&cursor=${encodeURIComponent(listed.body.nextCursor)}`,
      );
      expect(nextPage.body.items.map((order: { id: string }) => order.id)).toEqual([created.body.id]);

      const cancelled = await call('POST', `/v1/orders/${created.body.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect((await call('POST', `/v1/orders/${created.body.id}/cancel`)).status).toBe(409);
    });

    it('refuses an order for an unknown user with 422, and a client-supplied total with 400', async () => {
      const unknownUser = await call('POST', '/v1/orders', { body: orderBody(randomUUID()) });
      expect(unknownUser.status).toBe(422);
      expect(unknownUser.body.errors).toEqual([expect.objectContaining({ path: 'userId' })]);

      const user = await createUser();
      const withTotal = await call('POST', '/v1/orders', { body: { ...orderBody(user.id), totalCents: 1 } });
      expect(withTotal.status).toBe(400);
      expect((await call('GET', `/v1/orders/${randomUUID()}`)).status).toBe(404);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body, and refuses a different body with 422', async () => {
      const key = randomUUID();
      const body = { name: 'Idem Potent', email: uniqueEmail('idem') };
      const first = await call('POST', '/v1/users', { body, headers: { 'idempotency-key': key } });
      const replay = await call('POST', '/v1/users', { body, headers: { 'idempotency-key': key } });
      expect(first.status).toBe(201);
      expect(replay.status).toBe(201);
      expect(replay.body).toEqual(first.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');

      const different = await call('POST', '/v1/users', {
        body: { ...body, name: 'Someone Else' },
        headers: { 'idempotency-key': key },
      });
      expect(different.status).toBe(422);
    });

    it('lets exactly one of two concurrent requests with one key through; the other gets 409 or its replay', async () => {
      const user = await createUser();
      const key = randomUUID();
      const [a, b] = await Promise.all([
        call('POST', '/v1/orders', { body: orderBody(user.id), headers: { 'idempotency-key': key } }),
        call('POST', '/v1/orders', { body: orderBody(user.id), headers: { 'idempotency-key': key } }),
      ]);
      // Which one depends on whether the first had finished when the second arrived (a port-forward's new
      // connection can take longer than the whole first request); the in-flight 409 alone is proved in
      // services/gateway/test/integration/idempotency.test.ts.
      const [first, second] = a.headers.get('idempotent-replayed') === 'true' || a.status === 409 ? [b, a] : [a, b];
      expect(first.status).toBe(201);
      if (second.status === 201) {
        expect(second.headers.get('idempotent-replayed')).toBe('true');
        expect(second.body).toEqual(first.body);
      } else {
        expect(second.status).toBe(409);
      }
      const orders = await call('GET', `/v1/users/${user.id}/orders`);
      expect(orders.body.items).toHaveLength(1);
    });
  });

  describe('read cache', () => {
    it('misses, then hits, then misses again with fresh data after an update', async () => {
      const user = await createUser('Cached Person');
      const first = await call('GET', `/v1/users/${user.id}`);
      const second = await call('GET', `/v1/users/${user.id}`);
      expect(first.headers.get('x-cache')).toBe('miss');
      expect(second.headers.get('x-cache')).toBe('hit');
      expect(second.body).toEqual(first.body);

      await call('PATCH', `/v1/users/${user.id}`, { body: { name: 'Renamed Person' } });
      const afterUpdate = await call('GET', `/v1/users/${user.id}`);
      expect(afterUpdate.headers.get('x-cache')).toBe('miss');
      expect(afterUpdate.body.name).toBe('Renamed Person');
    });
  });

  describe('the HTTP edge', () => {
    it('echoes X-Request-Id, or makes one up', async () => {
      const echoed = await call('GET', '/healthz', { headers: { 'x-request-id': 'trace-me-123' } });
      expect(echoed.headers.get('x-request-id')).toBe('trace-me-123');
      const generated = await call('GET', '/healthz');
      expect(generated.headers.get('x-request-id')).toMatch(/\S{8,}/);
    });

    it('answers 413 past the body limit and 400 to malformed JSON', async () => {
      const huge = await call('POST', '/v1/users', {
        rawBody: JSON.stringify({ name: 'x'.repeat(2_000_000), email: uniqueEmail() }),
      });
      expect(huge.status).toBe(413);
      const malformed = await call('POST', '/v1/users', { rawBody: '{"name": "unterminated' });
      expect(malformed.status).toBe(400);
    });

    it('serves an OpenAPI 3.1 document generated from the contracts, and a docs page', async () => {
      const document = await call('GET', '/openapi.json');
      expect(document.status).toBe(200);
      expect(document.body.openapi).toMatch(/^3\.1\./);
      expect(Object.keys(document.body.paths)).toEqual(
        expect.arrayContaining([
          '/v1/users',
          '/v1/users/{id}',
          '/v1/users/{id}/orders',
          '/v1/orders',
          '/v1/orders/{id}',
          '/v1/orders/{id}/cancel',
        ]),
      );
      const docs = await fetch(`${target().baseUrl}/docs/`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('<html');
    });

    it('reports every service ready and exposes metrics', async () => {
      for (const name of ['users', 'orders'] as const) {
        const ready = await fetch(`${target().opsUrl(name)}/readyz`);
        expect(ready.status).toBe(200);
        const metrics = await (await fetch(`${target().opsUrl(name)}/metrics`)).text();
        expect(metrics).toContain('rpc_server_duration_seconds');
      }
      expect((await call('GET', '/readyz')).status).toBe(200);
      const gatewayMetrics = await (await fetch(`${target().baseUrl}/metrics`)).text();
      expect(gatewayMetrics).toContain('rpc_client_duration_seconds');
      expect(gatewayMetrics).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/v1\/users\/:id"/);
    });
  });
}
