import { INSTRUMENTATIONS, instrumentationConfig, isOpsRequest, redisStatement } from './instrumentations';

describe('which instrumentations run', () => {
  it('enables exactly http, pg, ioredis and pino', () => {
    const enabled = Object.entries(INSTRUMENTATIONS)
      .filter(([, on]) => on)
      .map(([name]) => name.replace('@opentelemetry/instrumentation-', ''));
    expect(enabled.sort()).toEqual(['http', 'ioredis', 'pg', 'pino']);
  });

  it('switches every instrumentation explicitly, amqplib, express, fs, dns and net off', () => {
    const config = instrumentationConfig();
    for (const [name, enabled] of Object.entries(INSTRUMENTATIONS)) {
      expect(config[name as keyof typeof config]?.enabled).toBe(enabled);
    }
    for (const off of ['amqplib', 'express', 'fs', 'dns', 'net']) {
      expect(config[`@opentelemetry/instrumentation-${off}` as keyof typeof config]?.enabled).toBe(false);
    }
  });

  it('correlates logs without shipping them, and records no query parameters', () => {
    const config = instrumentationConfig();
    expect(config['@opentelemetry/instrumentation-pino']).toMatchObject({ disableLogSending: true });
    expect(config['@opentelemetry/instrumentation-pg']).toMatchObject({
      enhancedDatabaseReporting: false,
      requireParentSpan: true,
    });
  });

  it.each([
    ['/healthz', true],
    ['/readyz?verbose=1', true],
    ['/metrics', true],
    ['/v1/users', false],
    [undefined, false],
  ])('treats %p as an ops request: %p', (url, ops) => {
    expect(isOpsRequest({ url })).toBe(ops);
  });
});

describe('redisStatement', () => {
  it('records the command and its key, never a value', () => {
    expect(redisStatement('set', ['warren:idem:k1', '{"body":"secret"}', 'PX', 1000])).toBe('set warren:idem:k1');
    expect(redisStatement('get', [Buffer.from('warren:user:1')])).toBe('get warren:user:1');
    expect(redisStatement('ping', [])).toBe('ping');
  });

  it('keeps only the keys of a script call', () => {
    expect(redisStatement('eval', ['return 1', 1, 'warren:idem:k1', 'token', '{"body":"secret"}'])).toBe(
      'eval warren:idem:k1',
    );
    expect(redisStatement('evalsha', ['abc123', '2', 'k1', 'k2', 'v'])).toBe('evalsha k1 k2');
    expect(redisStatement('EVALSHA', ['abc123', 0, 'v'])).toBe('EVALSHA');
  });

  it('never records the argument of a command that takes credentials', () => {
    expect(redisStatement('auth', ['user', 'password'])).toBe('auth');
    expect(redisStatement('hello', [3, 'AUTH', 'user', 'password'])).toBe('hello');
  });
});
