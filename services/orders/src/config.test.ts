import { ConfigurationError } from '@warren/service-kit';
import { loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to the local services and the orders ports', () => {
    expect(loadConfig({})).toMatchObject({
      amqpUrl: 'amqp://warren:warren@127.0.0.1:5672',
      databaseUrl: 'postgres://warren:warren@127.0.0.1:5432/warren_orders',
      opsPort: 9102,
      host: '0.0.0.0',
      rpcTimeoutMs: 2000,
      rpcConcurrency: 32,
      pgPoolSize: 10,
      migrateOnStart: true,
      shutdownTimeoutMs: 25_000,
      logLevel: 'info',
      logPretty: false,
    });
    expect(loadConfig({}).migrationsDirectory).toMatch(/services[/\\]orders[/\\]migrations$/);
  });

  it('reads the environment', () => {
    const config = loadConfig({ RPC_TIMEOUT_MS: '750', OPS_PORT: '19102', MIGRATE_ON_START: 'false' });
    expect(config).toMatchObject({ rpcTimeoutMs: 750, opsPort: 19102, migrateOnStart: false });
  });

  it('fails with one line naming the bad variable, without echoing the password', () => {
    expect(() => loadConfig({ RPC_TIMEOUT_MS: 'soon' })).toThrow(ConfigurationError);
    expect(() => loadConfig({ RPC_TIMEOUT_MS: 'soon' })).toThrow(/^invalid configuration: RPC_TIMEOUT_MS: /);
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://warren:hunter2@db/orders' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('\n');
  });
});
