import { randomUUID } from 'node:crypto';
import { idempotencyRedisKey } from '../../src/middleware/idempotency';
import { newUserBody, sleep, SLOW_NAME, routes, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

describe('Idempotency-Key on POST routes (real Redis)', () => {
  const suite = useGatewayOverFakeBackend({ gateway: { config: { rpcTimeoutMs: 500 } } });
  const { backend, http } = suite;
  const recordOf = (key: string) =>
    suite.gateway.redis.get(idempotencyRedisKey(`${suite.gateway.redisKeyPrefix}idempotency:`, undefined, key));
  const createsOf = (email: string) =>
    backend.callsTo(routes.usersCreate).filter((call) => (call.request as { email: string }).email === email);

  it('replays the stored status and body for the same key and body, calling the worker once', async () => {
    const key = randomUUID();
    const body = newUserBody();
    const first = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Same body with its keys in another order: the same request.
    const replayed = await http()
      .post('/v1/users')
      .set('Idempotency-Key', key)
      .send({ email: body.email, name: body.name })
      .expect(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toEqual(first.body);
    expect(replayed.headers.location).toBe(first.headers.location);
    expect(replayed.headers['content-type']).toMatch(/^application\/json/);
    expect(createsOf(body.email)).toHaveLength(1);
  });

  it('replays a stored 4xx outcome too', async () => {
    const existing = (await http().post('/v1/users').send(newUserBody()).expect(201)).body;
    const key = randomUUID();
    const body = { name: 'Twin', email: existing.email };
    const first = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(409);
    const again = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.body).toEqual(first.body);
  });

  it('answers 422 when the key is reused with a different body', async () => {
    const key = randomUUID();
    await http().post('/v1/users').set('Idempotency-Key', key).send(newUserBody()).expect(201);
    const response = await http()
      .post('/v1/users')
      .set('Idempotency-Key', key)
      .send(newUserBody())
      .expect(422)
      .expect('Content-Type', /problem\+json/);
    expect(response.body.type).toBe('urn:warren:problem:idempotency-key-reused');
  });

  it('answers 409 while the first request with the key is still in flight', async () => {
    const key = randomUUID();
    const body = newUserBody(SLOW_NAME);
    const first = http().post('/v1/users').set('Idempotency-Key', key).send(body);
    const firstDone = first.then((response) => response);
    await sleep(150);
    const second = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(409);
    expect(second.body.type).toBe('urn:warren:problem:idempotency-request-in-flight');
    expect(second.headers['retry-after']).toBe('1');
    // The slow worker outlives the 500 ms deadline: a 504, which releases the key.
    expect((await firstDone).status).toBe(504);
  });

  it('releases the key after a 5xx so the client can retry with it', async () => {
    const key = randomUUID();
    const body = newUserBody(SLOW_NAME);
    await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(504);
    expect(await recordOf(key)).toBeNull();
    // The worker finished late; the retry reaches it and it deduplicates on x-idempotency-key.
    await sleep(1600);
    const retried = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect([...backend.users.values()].filter((user) => user.email === body.email)).toHaveLength(1);
  });

  it('works on the other POST routes, keyed by path as well as body', async () => {
    const user = (await http().post('/v1/users').send(newUserBody()).expect(201)).body;
    const orderBody = { userId: user.id, items: [{ sku: 'A-1', quantity: 1, unitPriceCents: 5 }], currency: 'EUR' };
    const key = randomUUID();
    const order = (await http().post('/v1/orders').set('Idempotency-Key', key).send(orderBody).expect(201)).body;
    const replay = await http().post('/v1/orders').set('Idempotency-Key', key).send(orderBody).expect(201);
    expect(replay.body.id).toBe(order.id);

    const cancelKey = randomUUID();
    await http().post(`/v1/orders/${order.id}/cancel`).set('Idempotency-Key', cancelKey).expect(200);
    const cancelReplay = await http()
      .post(`/v1/orders/${order.id}/cancel`)
      .set('Idempotency-Key', cancelKey)
      .expect(200);
    expect(cancelReplay.headers['idempotent-replayed']).toBe('true');
    // Without the key a second cancel reaches the worker, which refuses it.
    await http().post(`/v1/orders/${order.id}/cancel`).expect(422);
    // The same key on another order's path is a different request.
    await http().post(`/v1/orders/${randomUUID()}/cancel`).set('Idempotency-Key', cancelKey).expect(422);
  });

  it('replays a keyed PATCH too, and a different change under the same key is a 422', async () => {
    const user = (await http().post('/v1/users').send(newUserBody()).expect(201)).body;
    const key = randomUUID();
    const first = await http().patch(`/v1/users/${user.id}`).set('Idempotency-Key', key).send({ name: 'Once' });
    expect(first.status).toBe(200);
    const replay = await http().patch(`/v1/users/${user.id}`).set('Idempotency-Key', key).send({ name: 'Once' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    await http().patch(`/v1/users/${user.id}`).set('Idempotency-Key', key).send({ name: 'Twice' }).expect(422);
    expect(
      backend.callsTo(routes.usersUpdate).filter((call) => (call.request as { id: string }).id === user.id),
    ).toHaveLength(1);
  });

  it("bounds the in-flight marker by the request's own deadline plus a margin, not a fixed 15 s", async () => {
    const key = randomUUID();
    // then() sends it now (supertest sends on the first then), without waiting for the answer.
    const pending = http()
      .post('/v1/users')
      .set('Idempotency-Key', key)
      .send(newUserBody(SLOW_NAME))
      .then((response) => response);
    const redisKey = idempotencyRedisKey(`${suite.gateway.redisKeyPrefix}idempotency:`, undefined, key);
    let ttlMs = -2;
    for (let attempt = 0; attempt < 50 && ttlMs < 0; attempt++) {
      await sleep(20);
      ttlMs = await suite.gateway.redis.pttl(redisKey);
    }
    // rpcTimeoutMs 500 + DEFAULT_IN_FLIGHT_MARGIN_MS 1000: a gateway killed now would block the key no longer.
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(1500);
    expect((await pending).status).toBe(504);
  });

  it('rejects a malformed key with 400, and invalid bodies before claiming the key', async () => {
    const tooLong = await http()
      .post('/v1/users')
      .set('Idempotency-Key', 'k'.repeat(256))
      .send(newUserBody())
      .expect(400);
    expect(tooLong.body.errors).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) }]);
    await http().post('/v1/users').set('Idempotency-Key', 'caf\u00e9').send(newUserBody()).expect(400);

    const key = randomUUID();
    await http().post('/v1/users').set('Idempotency-Key', key).send({ name: '' }).expect(400);
    expect(await recordOf(key)).toBeNull();
    await http().post('/v1/users').set('Idempotency-Key', key).send(newUserBody()).expect(201);
    expect(await recordOf(key)).toContain('"state":"done"');
  });
});

describe('Idempotency-Key with authentication on: one key space per token subject', () => {
  const suite = useGatewayOverFakeBackend({ serve: ['usersCreate'], authenticated: true });
  const bearer = async (subject: string) => `Bearer ${await suite.issuer.mint({ subject, scopes: ['users:write'] })}`;

  it("never replays one subject's stored response to another who sends the same key and body", async () => {
    const key = randomUUID();
    const body = newUserBody();
    const alice = await bearer('alice-idem');
    const bob = await bearer('bob-idem');
    const first = await suite
      .http()
      .post('/v1/users')
      .set('Authorization', alice)
      .set('Idempotency-Key', key)
      .send(body);
    expect(first.status).toBe(201);
    expect(first.body.subject).toBe('alice-idem');

    // Bob's request goes to the worker as his own (here a conflict on the email), never Alice's 201 replayed.
    const other = await suite.http().post('/v1/users').set('Authorization', bob).set('Idempotency-Key', key).send(body);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.status).toBe(409);
    expect(JSON.stringify(other.body)).not.toContain(first.body.id);

    const again = await suite
      .http()
      .post('/v1/users')
      .set('Authorization', alice)
      .set('Idempotency-Key', key)
      .send(body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(suite.backend.callsTo(routes.usersCreate)).toHaveLength(2);
  });
});
