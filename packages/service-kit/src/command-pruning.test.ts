import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { CommandPruner, PRUNE_PROCESSED_COMMANDS } from './command-pruning';
import { createLogger } from './logger';

const logger = createLogger({ service: 'service-kit-test', level: 'silent', pretty: false });

/** A pool whose DELETE statements answer, in turn, with the row counts (or errors) of `answers`. */
function scriptedPool(answers: (number | Error | Promise<number>)[]) {
  const statements: { sql: string; values: unknown[] }[] = [];
  const pool = {
    query: async (sql: string, values: unknown[]) => {
      statements.push({ sql, values });
      const answer = answers.shift() ?? 0;
      if (answer instanceof Error) throw answer;
      return { rowCount: await answer };
    },
  } as unknown as Pool;
  return { pool, statements };
}

async function counter(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

const settings = { windowSeconds: 172_800, intervalMs: 300_000, batchSize: 1000, pauseBetweenBatchesMs: 0 };

describe('CommandPruner', () => {
  it('deletes batch after batch until one deletes fewer than the batch size, and counts the rows', async () => {
    const { pool, statements } = scriptedPool([1000, 1000, 500, 1000]);
    const registry = new Registry();
    const run = await new CommandPruner(pool, settings, logger, registry).pruneExpired();
    expect(run).toEqual({ pruned: 2500, batches: 3, failed: false });
    expect(statements).toEqual(Array(3).fill({ sql: PRUNE_PROCESSED_COMMANDS, values: [172_800, 1000] }));
    expect(await counter(registry, 'processed_commands_pruned_total')).toBe(2500);
    expect(await counter(registry, 'processed_commands_prune_failures_total')).toBe(0);
  });

  it('stops a run at a failed statement: counted and logged, not thrown, and the rows deleted before it counted', async () => {
    const { pool, statements } = scriptedPool([1000, new Error('canceling statement due to statement timeout')]);
    const registry = new Registry();
    const run = await new CommandPruner(pool, settings, logger, registry).pruneExpired();
    expect(run).toEqual({ pruned: 1000, batches: 2, failed: true });
    expect(statements).toHaveLength(2);
    expect(await counter(registry, 'processed_commands_pruned_total')).toBe(1000);
    expect(await counter(registry, 'processed_commands_prune_failures_total')).toBe(1);
  });

  it('stops at the next batch boundary, resolving once the statement in progress has ended', async () => {
    let finishSecond: (rows: number) => void = () => undefined;
    const second = new Promise<number>((resolve) => (finishSecond = resolve));
    const { pool, statements } = scriptedPool([1000, second, 1000, 1000]);
    const pruner = new CommandPruner(pool, settings, logger, new Registry());
    const run = pruner.pruneExpired();
    while (statements.length < 2) await new Promise((resolve) => setImmediate(resolve));

    let stopped = false;
    const stopping = pruner.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    finishSecond(1000);
    await stopping;
    expect(await run).toEqual({ pruned: 2000, batches: 2, failed: false });
    expect(statements).toHaveLength(2);
    // Stopped: a later run does nothing.
    expect(await pruner.pruneExpired()).toEqual({ pruned: 0, batches: 0, failed: false });
  });

  it('joins the run in progress instead of starting a second one', async () => {
    const { pool, statements } = scriptedPool([10]);
    const pruner = new CommandPruner(pool, settings, logger, new Registry());
    const [first, second] = await Promise.all([pruner.pruneExpired(), pruner.pruneExpired()]);
    expect(second).toBe(first);
    expect(statements).toHaveLength(1);
  });

  it('once started, runs again after each interval until stopped', async () => {
    let runs = 0;
    let thirdRun: () => void = () => undefined;
    const three = new Promise<void>((resolve) => (thirdRun = resolve));
    const pool = {
      query: async () => {
        if (++runs === 3) thirdRun();
        return { rowCount: 0 };
      },
    } as unknown as Pool;
    const pruner = new CommandPruner(pool, { ...settings, intervalMs: 1 }, logger, new Registry());
    pruner.start();
    await three;
    await pruner.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
  });
});
