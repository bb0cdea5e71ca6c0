import { api, uniqueEmail } from './support/http';
import { startRunningSuite } from './support/running-suite';

jest.setTimeout(90_000);

describe('when a dependency fails under the running suite', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  const call = (method: string, path: string, options?: Parameters<typeof api>[3]) =>
    api(running.baseUrl, method, path, options);

  beforeAll(async () => {
    running = await startRunningSuite({ RPC_TIMEOUT_MS: '3000' });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('keeps serving when Redis stops: cache bypassed, keyed requests 503, no 500s, and recovers when Redis is back', async () => {
    const created = await call('POST', '/v1/users', { body: { name: 'Before Outage', email: uniqueEmail() } });
    expect(created.status).toBe(201);

    await running.redis.stop();
    const statuses: number[] = [];
    for (let index = 0; index < 10; index++) {
      const read = await call('GET', `/v1/users/${created.body.id}`);
      statuses.push(read.status);
      expect(read.headers.get('x-cache')).toBe('bypass');
      const plain = await call('POST', '/v1/users', { body: { name: 'During Outage', email: uniqueEmail() } });
      statuses.push(plain.status);
    }
    expect(statuses.every((status) => status === 200 || status === 201)).toBe(true);

    const keyed = await call('POST', '/v1/users', {
      body: { name: 'Keyed', email: uniqueEmail() },
      headers: { 'idempotency-key': `outage-${Date.now()}` },
    });
    expect(keyed.status).toBe(503);
    expect(keyed.headers.get('retry-after')).toBeTruthy();

    await running.redis.start();
    // The gateway reconnects with backoff; poll until its cache is in use again.
    let cacheStatus = 'bypass';
    for (let attempt = 0; attempt < 100 && cacheStatus === 'bypass'; attempt++) {
      const read = await call('GET', `/v1/users/${created.body.id}`);
      expect(read.status).toBe(200);
      cacheStatus = read.headers.get('x-cache') ?? 'absent';
      if (cacheStatus === 'bypass') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(['hit', 'miss']).toContain(cacheStatus);
  });

  it('answers 503 or 504 promptly when the users worker is killed, and serves again once it is back', async () => {
    const exit = await running.suite.kill('users', 'SIGKILL');
    expect(exit).toBe('SIGKILL');

    // A hang would trip the helper's 15 s client timeout and fail the test; the gateway's deadline is 3 s.
    const during = await call('POST', '/v1/users', { body: { name: 'Nobody Home', email: uniqueEmail() } });
    expect([503, 504]).toContain(during.status);

    await running.suite.restart('users');
    const after = await call('POST', '/v1/users', { body: { name: 'Back Again', email: uniqueEmail() } });
    expect(after.status).toBe(201);
  });
});
