import { routes, uniqueQueuePrefix, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

describe('rate limit per client IP (real Redis)', () => {
  const suite = useGatewayOverFakeBackend({
    serve: ['usersList'],
    gateway: { config: { rateLimitPerMinute: 3, rateLimitWindowMs: 60_000 } },
  });
  const { backend, http } = suite;

  it('answers 429 problem+json with RateLimit headers and Retry-After past the limit', async () => {
    for (let index = 0; index < 3; index++) {
      const response = await http().get('/v1/users').expect(200);
      expect(response.headers['ratelimit-policy']).toMatch(/q=3; w=60/);
      expect(response.headers.ratelimit).toMatch(new RegExp(`r=${2 - index}; t=\\d+`));
    }
    const limited = await http()
      .get('/v1/users')
      .expect(429)
      .expect('Content-Type', /problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, type: 'urn:warren:problem:rate-limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers.ratelimit).toMatch(/r=0/);
    expect(limited.headers['x-request-id']).toBeDefined();
    expect(backend.callsTo(routes.usersList)).toHaveLength(3);
  });

  it('never limits /healthz, /readyz or /metrics', async () => {
    for (let index = 0; index < 5; index++) {
      await http().get('/healthz').expect(200);
      await http().get('/metrics').expect(200);
      expect([200, 503]).toContain((await http().get('/readyz')).status);
    }
  });
});

describe('rate limit with authentication on: per token subject, per address without a valid token', () => {
  const suite = useGatewayOverFakeBackend({
    serve: ['usersList'],
    gateway: { config: { rateLimitPerMinute: 3, rateLimitWindowMs: 60_000 } },
    authenticated: true,
  });

  const list = (authorization?: string) => {
    const call = suite.http().get('/v1/users');
    return authorization === undefined ? call : call.set('Authorization', authorization);
  };
  const bearer = async (subject: string) => `Bearer ${await suite.issuer.mint({ subject, scopes: ['users:read'] })}`;

  it('gives each subject its own allowance, though every request comes from one address', async () => {
    const aliceSubject = `alice-${uniqueQueuePrefix()}`;
    const alice = await bearer(aliceSubject);
    for (let index = 0; index < 3; index++) await list(alice).expect(200);
    await list(alice).expect(429);
    // Another token for the same subject draws on the same allowance.
    await list(await bearer(aliceSubject)).expect(429);
    const bob = await bearer(`bob-${uniqueQueuePrefix()}`);
    await list(bob).expect(200);
  });

  it('limits requests without a valid token by address: past the allowance, 429 before 401', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 4; index++) statuses.push((await list('Bearer not.a-valid.token')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The address's allowance is spent, a subject's is not.
    await list(await bearer(`carol-${uniqueQueuePrefix()}`)).expect(200);
  });
});
