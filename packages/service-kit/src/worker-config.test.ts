import { ConfigurationError } from './config';
import { loadWorkerConfig } from './worker-config';

const defaults = { database: 'warren_things', opsPort: 9100, migrationsDirectory: '/migrations' };
const load = (environment: Record<string, string | undefined>) => loadWorkerConfig(defaults, {}, environment).worker;

describe('loadWorkerConfig: the pruning of processed_commands', () => {
  it('keeps keys 48 h (twice the gateway’s default IDEMPOTENCY_TTL_SECONDS), pruning 1000 rows a batch every 5 min', () => {
    expect(load({}).commandPruning).toEqual({ windowSeconds: 172_800, intervalMs: 300_000, batchSize: 1000 });
  });

  it('reads the window, the interval and the batch size', () => {
    const config = load({
      COMMAND_REPLAY_WINDOW_SECONDS: '86400',
      COMMAND_PRUNE_INTERVAL_MS: '60000',
      COMMAND_PRUNE_BATCH_SIZE: '250',
    });
    expect(config.commandPruning).toEqual({ windowSeconds: 86_400, intervalMs: 60_000, batchSize: 250 });
  });

  it.each([
    ['COMMAND_REPLAY_WINDOW_SECONDS', '3599'],
    ['COMMAND_REPLAY_WINDOW_SECONDS', '2d'],
    ['COMMAND_PRUNE_INTERVAL_MS', '999'],
    ['COMMAND_PRUNE_BATCH_SIZE', '0'],
    ['COMMAND_PRUNE_BATCH_SIZE', '100001'],
  ])('refuses %s=%s with one line naming it', (variable, value) => {
    expect(() => load({ [variable]: value })).toThrow(ConfigurationError);
    expect(() => load({ [variable]: value })).toThrow(
      new RegExp(`^invalid configuration: ${variable}: [^\\n]*"${value}"`),
    );
  });
});
