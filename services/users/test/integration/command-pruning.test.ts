import { CommandPruner, createMetricsRegistry, createPool, runMigrations } from '@warren/service-kit';
import { Client, type Pool } from 'pg';
import type { Registry } from 'prom-client';
import { UsersRepository } from '../../src/db/users-repository';
import { EmailTakenError } from '../../src/errors';
import { config, randomHex, silentLogger, uniqueEmail } from './support';

jest.setTimeout(120_000);

const WINDOW_SECONDS = 86_400;
const DAY_PAST_THE_WINDOW = WINDOW_SECONDS + 86_400;

/**
 * The pruning of processed_commands in the users worker's schema (its migrations, 0003's index included), on a
 * database of this file's own: a run deletes every expired key, and counts them exactly, only if no other test's
 * rows are there.
 */
describe('pruning processed_commands against PostgreSQL', () => {
  const database = `warren_pruning_${process.pid}_${Date.now()}`;
  const databaseUrl = Object.assign(new URL(config.databaseUrl), { pathname: `/${database}` }).toString();
  let pool: Pool;
  let users: UsersRepository;

  async function admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${database}`);
    await runMigrations({ databaseUrl, directory: config.migrationsDirectory, logger: silentLogger });
    pool = createPool(
      { databaseUrl, poolSize: 10, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, applicationName: database },
      createMetricsRegistry('users-test'),
      silentLogger,
    );
    users = new UsersRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  interface Command {
    key: string;
    input: { name: string; email: string };
    id: string;
  }

  /** Users created with an Idempotency-Key each, `parallel` at a time, as the worker's users.create does. */
  async function createUsers(count: number, parallel = 10): Promise<Command[]> {
    const commands: Command[] = [];
    for (let start = 0; start < count; start += parallel) {
      const created = await Promise.all(
        Array.from({ length: Math.min(parallel, count - start) }, async () => {
          const key = `prune-${randomHex(8)}`;
          const input = { name: 'Pruned Or Kept', email: uniqueEmail('Prune') };
          return { key, input, id: (await users.create(input, key)).id };
        }),
      );
      commands.push(...created);
    }
    return commands;
  }

  /** Makes the commands' keys `seconds` old: the fixture of age (the database's clock decides what expired). */
  async function age(commands: Command[], seconds: number): Promise<void> {
    const keys = commands.map((command) => command.key);
    await pool.query(
      'UPDATE processed_commands SET created_at = now() - make_interval(secs => $2) WHERE key = ANY($1)',
      [keys, seconds],
    );
  }

  async function keysLeft(commands: Command[]): Promise<number> {
    const keys = commands.map((command) => command.key);
    const { rows } = await pool.query<{ count: string }>(
      'SELECT count(*) FROM processed_commands WHERE key = ANY($1)',
      [keys],
    );
    return Number(rows[0]!.count);
  }

  async function expiredKeys(): Promise<number> {
    const { rows } = await pool.query<{ count: string }>(
      'SELECT count(*) FROM processed_commands WHERE created_at < now() - make_interval(secs => $1)',
      [WINDOW_SECONDS],
    );
    return Number(rows[0]!.count);
  }

  async function prunedTotal(registry: Registry): Promise<number> {
    const metric = await registry.getSingleMetric('processed_commands_pruned_total')!.get();
    return metric.values[0]?.value ?? 0;
  }

  function pruner(registry: Registry, batchSize: number, pauseBetweenBatchesMs = 0): CommandPruner {
    return new CommandPruner(
      pool,
      { windowSeconds: WINDOW_SECONDS, intervalMs: 60_000, batchSize, pauseBetweenBatchesMs },
      silentLogger,
      registry,
    );
  }

  it('deletes the keys older than the window in batches of batchSize, keeps the recent ones, and counts them', async () => {
    const expired = await createUsers(2500);
    const recent = await createUsers(5);
    // Ten minutes short of the window: kept.
    const nearlyExpired = await createUsers(5);
    await age(expired, DAY_PAST_THE_WINDOW);
    await age(nearlyExpired, WINDOW_SECONDS - 600);
    expect(await expiredKeys()).toBe(2500);

    const registry = createMetricsRegistry('users-test');
    const run = await pruner(registry, 1000).pruneExpired();

    // 1000, 1000, then 500 (< 1000: the run ends). One unbounded statement would have been a single batch.
    expect(run).toEqual({ pruned: 2500, batches: 3, failed: false });
    expect(await prunedTotal(registry)).toBe(2500);
    expect(await keysLeft(expired)).toBe(0);
    expect(await keysLeft([...recent, ...nearlyExpired])).toBe(10);
    expect(await expiredKeys()).toBe(0);

    // Inside the window a retry is still answered with the user its first attempt created.
    for (const command of [...recent, ...nearlyExpired]) {
      expect((await users.create(command.input, command.key)).id).toBe(command.id);
    }
    // Past it the worker has forgotten the key: the retry is a new command, which the email's uniqueness refuses.
    const forgotten = expired[0]!;
    await expect(users.create(forgotten.input, forgotten.key)).rejects.toBeInstanceOf(EmailTakenError);

    // Nothing left to prune: one statement, nothing deleted.
    expect(await pruner(registry, 1000).pruneExpired()).toEqual({ pruned: 0, batches: 1, failed: false });
    expect(await prunedTotal(registry)).toBe(2500);
  });

  it('still deduplicates retries inside the window while two replicas prune at once', async () => {
    const expired = await createUsers(1200);
    const recent = await createUsers(10);
    await age(expired, DAY_PAST_THE_WINDOW);

    // Two replicas' pruners, 25 rows a batch: their batches skip the rows the other holds.
    const registry = createMetricsRegistry('users-test');
    const replicas = [pruner(registry, 25, 10), pruner(registry, 25, 10)];
    let finished = false;
    const runs = Promise.all(replicas.map((replica) => replica.pruneExpired())).finally(() => (finished = true));

    // Retries of recent commands for as long as pruning runs, each noting how far pruning had got when it started.
    const retries: { prunedBefore: number; sameUser: boolean }[] = [];
    while (!finished) {
      for (const command of recent) {
        const prunedBefore = await prunedTotal(registry);
        const retried = await users.create(command.input, command.key);
        retries.push({ prunedBefore, sameUser: retried.id === command.id });
      }
    }
    const done = await runs;

    expect(done.map((run) => run.failed)).toEqual([false, false]);
    // Every expired key deleted exactly once between the two.
    expect(done[0]!.pruned + done[1]!.pruned).toBe(1200);
    expect(await prunedTotal(registry)).toBe(1200);
    expect(await keysLeft(expired)).toBe(0);
    expect(await keysLeft(recent)).toBe(10);
    // Some retries ran while pruning was under way (some keys deleted, not all), and every retry got its first user.
    expect(retries.some(({ prunedBefore }) => prunedBefore > 0 && prunedBefore < 1200)).toBe(true);
    expect(retries.filter(({ sameUser }) => !sameUser)).toEqual([]);
    const { rows } = await pool.query<{ count: string }>('SELECT count(*) FROM users WHERE email = ANY($1)', [
      recent.map((command) => command.input.email),
    ]);
    expect(Number(rows[0]!.count)).toBe(10);
  });
});
