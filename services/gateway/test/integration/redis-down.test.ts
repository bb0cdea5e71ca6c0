import { randomUUID } from 'node:crypto';
import { DEAD_REDIS_URL, newUserBody, routes, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

describe('with Redis down (nothing listens on its port)', () => {
  const suite = useGatewayOverFakeBackend({ gateway: { redisUrl: DEAD_REDIS_URL, config: { rateLimitPerMinute: 1 } } });
  const { backend, http } = suite;

  it('keeps serving: creates, and reads with X-Cache bypass, without rate limiting', async () => {
    const user = (await http().post('/v1/users').send(newUserBody()).expect(201)).body;
    for (let index = 0; index < 3; index++) {
      const read = await http().get(`/v1/users/${user.id}`).expect(200);
      expect(read.headers['x-cache']).toBe('bypass');
      expect(read.body).toEqual(user);
      expect(read.headers.ratelimit).toBeUndefined();
    }
    await http().patch(`/v1/users/${user.id}`).send({ name: 'Still here' }).expect(200);
    await http().get('/v1/users').expect(200);
  });

  it('answers 503 with Retry-After at once to requests carrying an Idempotency-Key', async () => {
    const startedAt = Date.now();
    const response = await http()
      .post('/v1/users')
      .set('Idempotency-Key', randomUUID())
      .send(newUserBody())
      .expect(503)
      .expect('Content-Type', /problem\+json/);
    expect(Date.now() - startedAt).toBeLessThan(500);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body.type).toBe('urn:warren:problem:idempotency-unavailable');
    expect(backend.callsTo(routes.usersCreate)).toHaveLength(1);
  });

  it('never answers 500', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        index % 2 === 0
          ? http().get(`/v1/users/${randomUUID()}`)
          : http().post('/v1/orders').set('Idempotency-Key', `k-${index}`).send({}),
      ),
    );
    expect(statuses.map((response) => response.status).filter((status) => status >= 500 && status !== 503)).toEqual([]);
  });

  it('stays ready (Redis is not needed to serve) and reports Redis down', async () => {
    const ready = await http().get('/readyz').expect(200);
    expect(ready.body.redis).toBe('down');
    expect((await http().get('/metrics').expect(200)).text).toMatch(/^redis_up 0$/m);
  });
});
