import { newUserBody, routes, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

describe('read cache for GET /v1/users/:id (real Redis)', () => {
  const suite = useGatewayOverFakeBackend({ gateway: { config: { cacheTtlSeconds: 30 } } });
  const { backend, http } = suite;

  it('misses, then hits without asking the worker, then misses again after a PATCH', async () => {
    const user = (await http().post('/v1/users').send(newUserBody()).expect(201)).body;
    const reads = () =>
      backend.callsTo(routes.usersGet).filter((call) => (call.request as { id: string }).id === user.id);

    const miss = await http().get(`/v1/users/${user.id}`).expect(200);
    expect(miss.headers['x-cache']).toBe('miss');
    expect(reads()).toHaveLength(1);
    const ttl = await suite.gateway.redis.ttl(`${suite.gateway.redisKeyPrefix}user:${user.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);

    const hit = await http().get(`/v1/users/${user.id}`).expect(200);
    expect(hit.headers['x-cache']).toBe('hit');
    expect(hit.body).toEqual(miss.body);
    expect(reads()).toHaveLength(1);

    await http().patch(`/v1/users/${user.id}`).send({ name: 'Renamed' }).expect(200);
    const afterPatch = await http().get(`/v1/users/${user.id}`).expect(200);
    expect(afterPatch.headers['x-cache']).toBe('miss');
    expect(afterPatch.body.name).toBe('Renamed');
    expect(reads()).toHaveLength(2);
    expect((await http().get(`/v1/users/${user.id}`).expect(200)).headers['x-cache']).toBe('hit');
  });

  it('does not cache a 404', async () => {
    const id = '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60';
    await http().get(`/v1/users/${id}`).expect(404);
    expect(await suite.gateway.redis.exists(`${suite.gateway.redisKeyPrefix}user:${id}`)).toBe(0);
  });
});
