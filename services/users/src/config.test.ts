import { ConfigurationError } from '@warren/service-kit';
import { loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to the local development setup', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      logLevel: 'info',
      logPretty: false,
      amqpUrl: 'amqp://warren:warren@127.0.0.1:5672',
      databaseUrl: 'postgres://warren:warren@127.0.0.1:5432/warren_users',
      pgPoolSize: 10,
      rpcConcurrency: 32,
      migrateOnStart: true,
      shutdownTimeoutMs: 25_000,
      drainTimeoutMs: 20_000,
      host: '0.0.0.0',
      opsPort: 9101,
    });
    expect(config.migrationsDirectory).toMatch(/services\/users\/migrations$/);
  });

  it('reads every variable it knows', () => {
    const config = loadConfig({
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'true',
      AMQP_URL: 'amqps://u:p@broker:5671',
      DATABASE_URL: 'postgresql://u:p@db:5432/users',
      PG_POOL_SIZE: '4',
      RPC_CONCURRENCY: '8',
      MIGRATE_ON_START: 'false',
      SHUTDOWN_TIMEOUT_MS: '10000',
      HOST: '127.0.0.1',
      OPS_PORT: '9999',
    });
    expect(config).toMatchObject({
      logLevel: 'debug',
      logPretty: true,
      amqpUrl: 'amqps://u:p@broker:5671',
      databaseUrl: 'postgresql://u:p@db:5432/users',
      pgPoolSize: 4,
      rpcConcurrency: 8,
      migrateOnStart: false,
      shutdownTimeoutMs: 10_000,
      drainTimeoutMs: 8000,
      host: '127.0.0.1',
      opsPort: 9999,
    });
  });

  it('refuses a bad value with one line naming the variable, without echoing a password', () => {
    expect(() => loadConfig({ PG_POOL_SIZE: 'abc' })).toThrow(ConfigurationError);
    expect(() => loadConfig({ PG_POOL_SIZE: 'abc' })).toThrow(/^invalid configuration: PG_POOL_SIZE: .*"abc"/);
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://warren:hunter2@db/users', OPS_PORT: '70000' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('OPS_PORT');
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('\n');
  });
});
