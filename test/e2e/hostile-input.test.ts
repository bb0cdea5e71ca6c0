import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { authorizationHeader } from './support/e2e-secrets';
import { api, uniqueEmail, type ApiResponse } from './support/http';
import { startRunningSuite } from './support/running-suite';

// Hostile input over HTTP against the running suite (gateway → RabbitMQ → workers → PostgreSQL), and straight onto
// the route queues: every refusal is a clean 4xx problem (never a 5xx), quick, and the suite keeps serving.

jest.setTimeout(90_000);

const ROUTES = [
  'users.create',
  'users.get',
  'users.list',
  'users.update',
  'orders.create',
  'orders.get',
  'orders.listByUser',
  'orders.cancel',
] as const;
/** BODY_LIMIT's default, 64kb. */
const BODY_LIMIT = 64 * 1024;
/** A refusal that takes longer than this is not "quick". */
const QUICK_MS = 1500;

describe('hostile input against the running suite', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  const call = (method: string, path: string, options: Parameters<typeof api>[3] = {}) =>
    api(running.baseUrl, method, path, { ...options, headers: { ...authorizationHeader(), ...options.headers } });
  const createUser = async (name: string, email = uniqueEmail('hostile')) => {
    const response = await call('POST', '/v1/users', { body: { name, email } });
    expect(response.status).toBe(201);
    return response.body as { id: string; name: string; email: string };
  };

  /** A 4xx problem document, answered quickly. */
  function expectRefused(response: ApiResponse, status: number): void {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, requestId: expect.any(String) });
    expect(response.elapsedMs).toBeLessThan(QUICK_MS);
  }

  /** The gateway (and through it both workers) still answers normally. */
  async function expectStillServing(): Promise<void> {
    expect((await call('GET', '/readyz')).status).toBe(200);
    const user = await createUser('Still Serving');
    const order = await call('POST', '/v1/orders', {
      body: { userId: user.id, currency: 'EUR', items: [{ sku: 'OK-1', quantity: 1, unitPriceCents: 100 }] },
    });
    expect(order.status).toBe(201);
    expect((await call('GET', `/v1/orders/${order.body.id}`)).status).toBe(200);
  }

  beforeAll(async () => {
    running = await startRunningSuite({ RATE_LIMIT_PER_MINUTE: '1000000' });
  });
  afterAll(async () => {
    await running?.stop();
  });

  describe('size and shape', () => {
    it('answers 413 to a body past the limit on every route that takes one, before reading it all', async () => {
      const user = await createUser('Size Check');
      const oversized = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT), email: uniqueEmail() });
      for (const [method, path] of [
        ['POST', '/v1/users'],
        ['PATCH', `/v1/users/${user.id}`],
        ['POST', '/v1/orders'],
      ] as const) {
        expectRefused(await call(method, path, { rawBody: oversized }), 413);
      }
      // 20 MB: refused as soon as the declared length is seen, not after buffering it.
      expectRefused(await call('POST', '/v1/users', { rawBody: `"${'a'.repeat(20 * 1024 * 1024)}"` }), 413);
      await expectStillServing();
    });

    it('refuses JSON nested 10,000 deep with 400, and 100,000 deep with 413, quickly', async () => {
      const arrays = `{"name":${'['.repeat(10_000)}${']'.repeat(10_000)},"email":"deep@example.com"}`;
      const refused = await call('POST', '/v1/users', { rawBody: arrays });
      expectRefused(refused, 400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);

      // 10,000 nested objects (60 kB, inside the limit): one unknown key at the top is all that is looked at.
      const objects = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      expect(objects.length).toBeLessThan(BODY_LIMIT);
      const nested = await call('POST', '/v1/users', { rawBody: objects });
      expectRefused(nested, 400);
      expect(nested.body.errors).toEqual(expect.arrayContaining([{ path: 'a', message: 'unknown field' }]));

      expectRefused(await call('POST', '/v1/users', { rawBody: '['.repeat(100_000) + ']'.repeat(100_000) }), 413);
      await expectStillServing();
    });

    it('refuses huge arrays: 100,000 order items (413), as many as fit (400), and an array body (400)', async () => {
      const user = await createUser('Array Check');
      const item = { sku: 'A-1', quantity: 1, unitPriceCents: 1 };
      const hundredThousand = { userId: user.id, currency: 'EUR', items: Array.from({ length: 100_000 }, () => item) };
      expectRefused(await call('POST', '/v1/orders', { body: hundredThousand }), 413);

      // 20,000 empty items fit in 64 kB: the item count is refused first, with one error, not 60,000.
      const fits = { userId: user.id, currency: 'EUR', items: Array.from({ length: 20_000 }, () => ({})) };
      expect(JSON.stringify(fits).length).toBeLessThan(BODY_LIMIT);
      const tooMany = await call('POST', '/v1/orders', { body: fits });
      expectRefused(tooMany, 400);
      expect(tooMany.body.errors).toEqual([expect.objectContaining({ path: 'items' })]);

      // A body that is a 30,000-element array rather than an object.
      const arrayBody = await call('POST', '/v1/users', { body: Array.from({ length: 30_000 }, () => 0) });
      expectRefused(arrayBody, 400);
      expect(arrayBody.body.errors).toEqual([expect.objectContaining({ path: 'body' })]);

      // Thousands of unknown keys: a problem document of bounded size, whatever the number of errors.
      const keys = Object.fromEntries(Array.from({ length: 6000 }, (_, index) => [`k${index}`, 1]));
      const manyKeys = await call('POST', '/v1/users', { body: keys });
      expectRefused(manyKeys, 400);
      expect(manyKeys.body.errors.length).toBeLessThanOrEqual(20);
      expect(JSON.stringify(manyKeys.body).length).toBeLessThan(4096);
      expect(manyKeys.body.detail).toMatch(/first 20 of 6002 errors/);
      // Our orders never held 100,000 items: the user has none at all.
      expect((await call('GET', `/v1/users/${user.id}/orders`)).body.items).toEqual([]);
      await expectStillServing();
    });
  });

  describe('text', () => {
    const UNICODE_NAMES = [
      'Zoë Ångström 🚀👩‍👩‍👧‍👦🏳️‍🌈', // emoji, ZWJ sequences, flags
      'مرحبا بالعالم', // Arabic, right to left
      'שָׁלוֹם עוֹלָם', // Hebrew with points (combining marks)
      'e\u0301\u0302\u0303 Z̷̢̛͈a̴͇l̶̫g̵̱o̷̟', // stacked combining marks ("zalgo")
      '\u202eevil\u202c \u200f\u200e\u2066isolate\u2069', // bidi overrides and isolates
      'a\u200bb\u200dc\ufeffd\u00ade', // zero-width space/joiner, BOM, soft hyphen
      '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 \u{10FFFD}', // astral plane (surrogate pairs), a private-use code point
      '日本語テキスト 한국어 ไทย', // CJK, Hangul, Thai
      'tab\there\nnew line\rreturn \u0007bell \u001bescape', // control characters other than NUL
    ];

    it('stores and returns Unicode verbatim: emoji, RTL, combining marks, bidi controls, astral planes', async () => {
      for (const name of UNICODE_NAMES) {
        const created = await createUser(name);
        expect(created.name).toBe(name);
        const miss = await call('GET', `/v1/users/${created.id}`);
        const hit = await call('GET', `/v1/users/${created.id}`);
        expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['miss', 'hit']);
        expect([miss.body.name, hit.body.name]).toEqual([name, name]);
        const renamed = `${name} ✓`;
        expect((await call('PATCH', `/v1/users/${created.id}`, { body: { name: renamed } })).body.name).toBe(renamed);
        expect((await call('GET', `/v1/users/${created.id}`)).body.name).toBe(renamed);
      }
    });

    it('refuses NUL (PostgreSQL text cannot hold it) and lone surrogates with a clean 400 naming the field', async () => {
      const user = await createUser('Before NUL');
      for (const name of ['Ada\u0000Lovelace', '\u0000', 'a\ud800b', 'tail\udc00']) {
        // JSON.stringify keeps a lone surrogate as a \ud800 escape, as a hostile client would send it.
        const create = await call('POST', '/v1/users', { body: { name, email: uniqueEmail() } });
        expectRefused(create, 400);
        expect(create.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);
        const update = await call('PATCH', `/v1/users/${user.id}`, { body: { name } });
        expectRefused(update, 400);
      }
      // NUL anywhere else: a SKU, a path id, a cursor (the worker decides), an email.
      const nulSku = await call('POST', '/v1/orders', {
        body: { userId: user.id, currency: 'EUR', items: [{ sku: 'A\u0000', quantity: 1, unitPriceCents: 1 }] },
      });
      expectRefused(nulSku, 400);
      expectRefused(await call('GET', '/v1/users/%00'), 400);
      expectRefused(await call('GET', '/v1/users?cursor=%00abc'), 422);
      expectRefused(await call('POST', '/v1/users', { body: { name: 'N', email: 'a\u0000@example.com' } }), 400);
      expect((await call('GET', `/v1/users/${user.id}`)).body.name).toBe('Before NUL');
      await expectStillServing();
    });

    it('stores SQL metacharacters verbatim and runs none of them', async () => {
      const names = [
        "Robert'); DROP TABLE users; --",
        "'; SELECT pg_sleep(10); --",
        'O\'Brien "quoted" `backtick` $1 $$dollar$$ ::text',
        'back\\slash \\\\ double \\x00 \\n \\u0000 literal',
        '100% _wild_ %_% \\% \\_ LIKE',
        "' OR '1'='1",
        '/* comment */ -- ; \\; ;',
      ];
      for (const name of names) {
        const started = performance.now();
        const created = await createUser(name);
        expect(performance.now() - started).toBeLessThan(5000); // pg_sleep(10) did not run
        expect(created.name).toBe(name);
        expect((await call('GET', `/v1/users/${created.id}`)).body.name).toBe(name);
      }
      // An email with the quote the pattern allows, and wildcards that must not match anything else.
      const email = `o'brien+${randomUUID().slice(0, 8)}@example.com`;
      expect((await createUser('Quote Email', email)).email).toBe(email);
      expectRefused(await call('POST', '/v1/users', { body: { name: 'Dup', email: email.toUpperCase() } }), 409);
      expectRefused(await call('POST', '/v1/users', { body: { name: 'Wild', email: '%@%.%' } }), 400);
      // In the query string: refused as a bad cursor or a bad limit, never reaching SQL.
      expectRefused(await call('GET', `/v1/users?cursor=${encodeURIComponent("' OR 1=1 --")}`), 422);
      expectRefused(await call('GET', `/v1/users?limit=${encodeURIComponent('1; DROP TABLE users')}`), 400);
      expectRefused(await call('GET', `/v1/users/${encodeURIComponent("1' OR '1'='1")}`), 400);
      // The table is still there.
      expect((await call('GET', '/v1/users?limit=1')).status).toBe(200);
    });
  });

  describe('prototype pollution', () => {
    it('refuses __proto__, constructor and prototype as unknown fields, and pollutes nothing', async () => {
      const user = await createUser('Proto Target');
      const payloads: [string, string, string][] = [
        ['POST', '/v1/users', `{"name":"P","email":"${uniqueEmail()}","__proto__":{"isAdmin":true,"polluted":"yes"}}`],
        ['POST', '/v1/users', `{"name":"P","email":"${uniqueEmail()}","constructor":{"prototype":{"polluted":"yes"}}}`],
        ['POST', '/v1/users', `{"name":"P","email":"${uniqueEmail()}","prototype":{"polluted":"yes"}}`],
        ['PATCH', `/v1/users/${user.id}`, '{"name":"P","__proto__":{"polluted":"yes"}}'],
        [
          'POST',
          '/v1/orders',
          `{"userId":"${user.id}","currency":"EUR","items":[{"sku":"A","quantity":1,"unitPriceCents":1,"__proto__":{"polluted":"yes"}}]}`,
        ],
        ['POST', '/v1/orders', `{"userId":"${user.id}","currency":"EUR","items":[],"__proto__":{"totalCents":0}}`],
      ];
      for (const [method, path, rawBody] of payloads) {
        const refused = await call(method, path, { rawBody });
        expectRefused(refused, 400);
        expect(refused.body.errors).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ path: expect.stringMatching(/(^|\.)(__proto__|constructor|prototype)$/) }),
          ]),
        );
      }
      // In the query string (the simple parser keeps these as plain keys, and only limit/cursor are read).
      const query = await call('GET', '/v1/users?limit=1&__proto__[polluted]=yes&constructor[prototype][x]=1');
      expect(query.status).toBe(200);

      // Had any prototype been polluted, every object would carry the key: strict validation would then refuse
      // every valid request, and replies would show it. They do neither.
      const fresh = await createUser('After Pollution');
      const read = await call('GET', `/v1/users/${fresh.id}`);
      expect(Object.keys(read.body).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'subject', 'updatedAt']);
      expect(JSON.stringify(read.body)).not.toMatch(/polluted|isAdmin/);
      expect((await call('GET', `/v1/users/${user.id}`)).body.name).toBe('Proto Target');
      await expectStillServing();
    });
  });

  describe('malformed messages published straight onto the route queues', () => {
    let connection: ChannelModel;
    let channel: Channel;

    beforeAll(async () => {
      connection = await connect(running.amqpUrl);
      channel = await connection.createChannel();
    });
    afterAll(async () => {
      await connection?.close().catch(() => undefined);
    });

    async function deadLettered(worker: 'users' | 'orders'): Promise<Map<string, number>> {
      const metrics = await (await fetch(`${running.suite.opsUrl(worker)}/metrics`)).text();
      const counts = new Map<string, number>();
      for (const match of metrics.matchAll(/^rpc_server_dead_lettered_total\{([^}]*)\} (\S+)$/gm)) {
        const route = /route="([^"]+)"/.exec(match[1] ?? '')?.[1];
        const reason = /reason="([^"]+)"/.exec(match[1] ?? '')?.[1];
        counts.set(`${route} ${reason}`, Number(match[2]));
      }
      return counts;
    }

    async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let value = await read();
      while (!accept(value) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        value = await read();
      }
      return value;
    }

    it('dead-letters not-JSON, wrong-schema and reply-less messages on all 8 routes; the workers keep serving', async () => {
      const before = new Map([...(await deadLettered('users')), ...(await deadLettered('orders'))]);
      const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      const replies = new Map<string, unknown>();
      await channel.consume(
        replyQueue,
        (message: ConsumeMessage | null) => {
          if (message) replies.set(String(message.properties.correlationId), JSON.parse(message.content.toString()));
        },
        { noAck: true },
      );

      const sent: string[] = [];
      for (const route of ROUTES) {
        const publish = (content: string, properties: { correlationId?: string; replyTo?: string }) =>
          channel.sendToQueue(route, Buffer.from(content), { contentType: 'application/json', ...properties });
        const notJson = `${route}-not-json-${randomUUID()}`;
        const wrongSchema = `${route}-wrong-schema-${randomUUID()}`;
        publish('{"this is": not JSON', { correlationId: notJson, replyTo: replyQueue });
        publish('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"unexpected":[1,2,3]}', {
          correlationId: wrongSchema,
          replyTo: replyQueue,
        });
        // A request that would be valid, but with nowhere to send the reply.
        publish(JSON.stringify({ id: randomUUID(), limit: 1, name: 'x', email: 'x@example.com' }), {
          correlationId: `${route}-no-reply-to`,
        });
        sent.push(notJson, wrongSchema);
      }

      // Three messages on each route's dead-letter queue, and the counter by reason.
      for (const route of ROUTES) {
        const depth = await eventually(
          async () => (await channel.checkQueue(`${route}.dead-letter`)).messageCount,
          (count) => count >= 3,
        );
        expect({ route, depth }).toEqual({ route, depth: 3 });
      }
      const after = new Map([...(await deadLettered('users')), ...(await deadLettered('orders'))]);
      for (const route of ROUTES) {
        for (const reason of ['undecodable', 'invalid_payload', 'missing_reply_to']) {
          const key = `${route} ${reason}`;
          expect({ key, increase: (after.get(key) ?? 0) - (before.get(key) ?? 0) }).toEqual({ key, increase: 1 });
        }
      }

      // The callers that gave a reply_to heard why at once: invalid_argument, nothing internal.
      await eventually(
        async () => replies.size,
        (size) => size >= sent.length,
      );
      for (const correlationId of sent) {
        expect({ correlationId, reply: replies.get(correlationId) }).toEqual({
          correlationId,
          reply: expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'invalid_argument' }) }),
        });
      }

      // A dead-lettered message is kept as it came, with the broker's record of why.
      const kept = await channel.get('users.create.dead-letter', { noAck: false });
      expect(kept).not.toBe(false);
      if (kept) {
        expect(kept.properties.headers?.['x-death']?.[0]).toMatchObject({ reason: 'rejected', queue: 'users.create' });
        channel.nack(kept, false, true);
      }

      for (const worker of ['users', 'orders'] as const) {
        expect((await fetch(`${running.suite.opsUrl(worker)}/readyz`)).status).toBe(200);
      }
      await expectStillServing();
    });
  });
});
