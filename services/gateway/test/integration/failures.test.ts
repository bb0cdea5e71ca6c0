import request from 'supertest';
import {
  eventually,
  FakeBackend,
  newUserBody,
  SLOW_MS,
  SLOW_NAME,
  startGateway,
  routes,
  uniqueQueuePrefix,
  type TestGateway,
} from './harness';

jest.setTimeout(30_000);

describe('when workers are slow or missing', () => {
  const gateways: TestGateway[] = [];
  const backends: FakeBackend[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    for (const backend of backends) {
      await backend.stop();
      await backend.deleteQueues();
    }
  });

  async function setUp(options: { serve?: Parameters<FakeBackend['start']>[0] | false; rpcTimeoutMs?: number } = {}) {
    const queuePrefix = uniqueQueuePrefix();
    const backend = new FakeBackend(queuePrefix);
    backends.push(backend);
    if (options.serve !== false) await backend.start(options.serve);
    const gateway = await startGateway({ queuePrefix, config: { rpcTimeoutMs: options.rpcTimeoutMs ?? 1000 } });
    gateways.push(gateway);
    return { backend, gateway, http: () => request(gateway.app) };
  }

  it('answers 504 problem when the worker does not reply within RPC_TIMEOUT_MS', async () => {
    const { http, backend } = await setUp({ rpcTimeoutMs: 300 });
    const user = (await http().post('/v1/users').send(newUserBody('Quick')).expect(201)).body;
    backend.users.set(user.id, { ...user, name: SLOW_NAME });
    const startedAt = Date.now();
    const response = await http()
      .get(`/v1/users/${user.id}`)
      .expect(504)
      .expect('Content-Type', /problem\+json/);
    expect(Date.now() - startedAt).toBeLessThan(SLOW_MS);
    expect(response.body).toMatchObject({ status: 504, type: 'urn:warren:problem:upstream-timeout' });
  });

  it('answers 503 with Retry-After at once when a route queue has no consumer', async () => {
    const { http, backend } = await setUp({ serve: false });
    // A worker declared the queues and went away: messages would wait there until their deadline.
    const server = await backend.start(['usersCreate']);
    await server.close();
    const startedAt = Date.now();
    const response = await http()
      .post('/v1/users')
      .send(newUserBody())
      .expect(503)
      .expect('Content-Type', /problem\+json/);
    expect(Date.now() - startedAt).toBeLessThan(500);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).toMatchObject({ status: 503, type: 'urn:warren:problem:service-unavailable' });
  });

  it('answers 503 with Retry-After at once when no queue is bound for the route', async () => {
    const { http } = await setUp({ serve: false, rpcTimeoutMs: 5000 });
    const startedAt = Date.now();
    const response = await http().get('/v1/users').expect(503);
    expect(Date.now() - startedAt).toBeLessThan(500);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('is not ready while a route has no consumer, and ready once every route has one', async () => {
    const { http, backend } = await setUp({ serve: ['usersCreate', 'usersGet', 'usersList', 'usersUpdate'] });
    const notReady = await http().get('/readyz').expect(503);
    expect(notReady.body).toMatchObject({
      status: 'not ready',
      redis: 'up',
      checks: { rpcConnected: true, [routes.usersGet.name]: true, [routes.ordersGet.name]: false },
    });
    await backend.start(['ordersCreate', 'ordersGet', 'ordersListByUser', 'ordersCancel']);
    await eventually(async () => (await http().get('/readyz')).status === 200);
    // Liveness never depended on the workers.
    await http().get('/healthz').expect(200);
  });

  it('keeps a route that recovers from answering 503 for long', async () => {
    const { http, backend } = await setUp({ serve: false });
    await http().get('/v1/users').expect(503);
    await backend.start();
    await eventually(async () => (await http().get('/v1/users')).status === 200, 5000);
  });
});
