import request from 'supertest';
import { startGateway, uniqueQueuePrefix, type TestGateway } from './harness';

jest.setTimeout(30_000);

describe('CORS', () => {
  const gateways: TestGateway[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
  });

  it('is off unless CORS_ORIGINS is set', async () => {
    const gateway = await startGateway({ queuePrefix: uniqueQueuePrefix() });
    gateways.push(gateway);
    const response = await request(gateway.app).get('/healthz').set('Origin', 'https://app.example').expect(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows the configured origins only, preflight included', async () => {
    const gateway = await startGateway({
      queuePrefix: uniqueQueuePrefix(),
      config: { corsOrigins: ['https://app.example'] },
    });
    gateways.push(gateway);
    const preflight = await request(gateway.app)
      .options('/v1/users')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,idempotency-key');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
    const simple = await request(gateway.app).get('/healthz').set('Origin', 'https://app.example').expect(200);
    expect(simple.headers['access-control-expose-headers']).toContain('X-Request-Id');
    const other = await request(gateway.app).get('/healthz').set('Origin', 'https://evil.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
