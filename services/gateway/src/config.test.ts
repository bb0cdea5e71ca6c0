import { ConfigurationError } from '@warren/service-kit';
import { loadConfig, parseTrustProxy } from './config';

describe('loadConfig', () => {
  it('has local defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      amqpUrl: 'amqp://warren:warren@127.0.0.1:5672',
      redisUrl: 'redis://127.0.0.1:6379',
      rpcTimeoutMs: 5000,
      bodyLimit: '64kb',
      cacheTtlSeconds: 30,
      idempotencyTtlSeconds: 86_400,
      rateLimitPerMinute: 6000,
      rateLimitWindowMs: 60_000,
      maxInFlightRpc: 512,
      maxEventLoopDelayMs: 50,
      corsOrigins: [],
      trustProxy: false,
      auth: undefined,
      logLevel: 'info',
      logPretty: false,
      shutdownTimeoutMs: 25_000,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      REDIS_URL: 'rediss://cache:6380',
      BODY_LIMIT: '1MB',
      CORS_ORIGINS: 'https://a.example, https://b.example ,',
      TRUST_PROXY: '2',
      RATE_LIMIT_PER_MINUTE: '10',
      MAX_IN_FLIGHT_RPC: '64',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    expect(config).toMatchObject({
      port: 9000,
      redisUrl: 'rediss://cache:6380',
      bodyLimit: '1mb',
      corsOrigins: ['https://a.example', 'https://b.example'],
      trustProxy: 2,
      rateLimitPerMinute: 10,
      maxInFlightRpc: 64,
      maxEventLoopDelayMs: 0,
    });
  });

  it('turns authentication on with AUTH_ISSUER, and refuses an issuer that is not a URL', () => {
    expect(loadConfig({ AUTH_ISSUER: 'https://login.example/realms/warren' }).auth).toEqual({
      issuer: 'https://login.example/realms/warren',
      audience: 'warren',
      jwksUrl: undefined,
      clockToleranceSeconds: 30,
    });
    expect(
      loadConfig({
        AUTH_ISSUER: 'http://127.0.0.1:9000',
        AUTH_JWKS_URL: 'http://127.0.0.1:9000/jwks',
        AUTH_AUDIENCE: 'api',
      }).auth,
    ).toMatchObject({ audience: 'api', jwksUrl: 'http://127.0.0.1:9000/jwks' });
    expect(() => loadConfig({ AUTH_ISSUER: 'not a url' })).toThrow(/AUTH_ISSUER/);
    // As a ConfigMap writes an unset value.
    expect(loadConfig({ AUTH_ISSUER: '', AUTH_JWKS_URL: '' }).auth).toBeUndefined();
  });

  it('fails with one line naming the bad variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://x', BODY_LIMIT: 'lots' })).toThrow(ConfigurationError);
    expect(() => loadConfig({ BODY_LIMIT: 'lots' })).toThrow(/BODY_LIMIT/);
    expect(() => loadConfig({ MAX_IN_FLIGHT_RPC: '0' })).toThrow(/MAX_IN_FLIGHT_RPC/);
  });
});

describe('parseTrustProxy', () => {
  it('understands booleans, hop counts and address lists', () => {
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});
