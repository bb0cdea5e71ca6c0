import { ConfigurationError } from '@warren/service-kit';
import { loadConfig, parseTrustProxy } from './config';

// The one choice without a default: authentication on (an issuer) or, said explicitly, off.
const OPEN = { AUTH_DISABLED: 'true' };

describe('loadConfig', () => {
  it('has local defaults', () => {
    expect(loadConfig(OPEN)).toEqual({
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
      maxEventLoopDelayMs: 0,
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
      ...OPEN,
      PORT: '9000',
      REDIS_URL: 'rediss://cache:6380',
      BODY_LIMIT: '1MB',
      CORS_ORIGINS: 'https://a.example, https://b.example ,',
      TRUST_PROXY: '2',
      RATE_LIMIT_PER_MINUTE: '10',
      MAX_IN_FLIGHT_RPC: '64',
      MAX_EVENT_LOOP_DELAY_MS: '50',
    });
    expect(config).toMatchObject({
      port: 9000,
      redisUrl: 'rediss://cache:6380',
      bodyLimit: '1mb',
      corsOrigins: ['https://a.example', 'https://b.example'],
      trustProxy: 2,
      rateLimitPerMinute: 10,
      maxInFlightRpc: 64,
      maxEventLoopDelayMs: 50,
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
    expect(loadConfig({ ...OPEN, AUTH_ISSUER: '', AUTH_JWKS_URL: '' }).auth).toBeUndefined();
  });

  it('refuses to start open unless AUTH_DISABLED=true says so, and refuses both at once', () => {
    expect(() => loadConfig({})).toThrow(ConfigurationError);
    expect(() => loadConfig({})).toThrow(/AUTH_ISSUER: set the OpenID issuer .* or AUTH_DISABLED=true/);
    expect(() => loadConfig({ AUTH_ISSUER: '' })).toThrow(/AUTH_ISSUER/);
    expect(() => loadConfig({ AUTH_DISABLED: 'false' })).toThrow(/AUTH_ISSUER/);
    expect(() => loadConfig({ AUTH_DISABLED: 'true', AUTH_ISSUER: 'https://login.example' })).toThrow(
      /AUTH_DISABLED: true, yet AUTH_ISSUER is set/,
    );
  });

  it('fails with one line naming the bad variable', () => {
    expect(() => loadConfig({ ...OPEN, REDIS_URL: 'http://x', BODY_LIMIT: 'lots' })).toThrow(ConfigurationError);
    expect(() => loadConfig({ ...OPEN, BODY_LIMIT: 'lots' })).toThrow(/BODY_LIMIT/);
    expect(() => loadConfig({ ...OPEN, MAX_IN_FLIGHT_RPC: '0' })).toThrow(/MAX_IN_FLIGHT_RPC/);
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
