import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger';

/** How long a worker remembers the idempotency keys in `processed_commands`, and how it forgets them. */
export interface CommandPruningSettings {
  /**
   * Rows older than this many seconds (by the database's clock) are deleted: a retry inside the window is deduplicated
   * by the worker. At least the gateway's IDEMPOTENCY_TTL_SECONDS. Default 172800 (48 h).
   */
  windowSeconds: number;
  /** Milliseconds from the end of one pruning run to the start of the next. Default 300000 (5 min). */
  intervalMs: number;
  /** Rows deleted per statement (one short transaction each). Default 1000. */
  batchSize: number;
}

export interface CommandPrunerOptions extends CommandPruningSettings {
  /** Pause between two batches of one run, so a backlog is deleted a little at a time. Default 50 ms. */
  pauseBetweenBatchesMs?: number;
}

/** What one pruning run did. */
export interface PruneRun {
  /** Rows deleted. */
  pruned: number;
  /** DELETE statements run (the last one deleted fewer rows than the batch size, or failed). */
  batches: number;
  /** A statement failed (logged and counted): the run stopped there; the next one starts over. */
  failed: boolean;
}

/**
 * One bounded batch of expired keys, oldest first (the index on created_at). Rows another replica's batch holds are
 * skipped, not waited for, so every replica can prune at once; a claim of a key inside the window never meets a row
 * this locks. `= ANY(ARRAY(…))` makes the keys one array, looked up in the primary key: with `IN (…)` the planner may
 * hash-join them against a scan of the whole table, every batch. `$1`: the window in seconds, `$2`: the batch size.
 */
export const PRUNE_PROCESSED_COMMANDS = `
  DELETE FROM processed_commands
   WHERE key = ANY(ARRAY(SELECT key FROM processed_commands
                          WHERE created_at < now() - make_interval(secs => $1)
                          ORDER BY created_at
                          LIMIT $2
                          FOR UPDATE SKIP LOCKED))`;

interface PruningMetrics {
  pruned: Counter;
  failures: Counter;
}

const metricsByRegistry = new WeakMap<Registry, PruningMetrics>();

function pruningMetrics(registry: Registry): PruningMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const metrics: PruningMetrics = {
    pruned: new Counter({
      name: 'processed_commands_pruned_total',
      help: 'Idempotency keys deleted from processed_commands because they were older than the replay window.',
      registers: [registry],
    }),
    failures: new Counter({
      name: 'processed_commands_prune_failures_total',
      help: 'Pruning runs of processed_commands stopped by a failed statement (retried at the next run).',
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/**
 * Deletes the idempotency keys of `processed_commands` older than the replay window, in bounded batches: each run
 * deletes `batchSize` rows per statement, pausing between statements, until a statement deletes fewer than
 * `batchSize`. `start()` runs it every `intervalMs` on an unref'd timer (the first run at a random point of the first
 * interval, so replicas started together do not prune together); `stop()` ends it at the next batch boundary. A failure
 * is logged and counted, never thrown.
 *
 * In the worker rather than a CronJob: it runs wherever the worker runs (`npm start`, compose, the chart) with no image,
 * schedule or credentials of its own, on the worker's pool and metrics; every replica can run it because the batches
 * skip each other's rows.
 */
export class CommandPruner {
  private readonly metrics: PruningMetrics;
  private readonly pauseMs: number;
  private readonly pauses = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneRun> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: CommandPrunerOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.metrics = pruningMetrics(registry);
    this.pauseMs = options.pauseBetweenBatchesMs ?? 50;
  }

  /** Runs every `intervalMs` from now until `stop()`. */
  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule(Math.floor(Math.random() * this.options.intervalMs));
  }

  /** One run now (or the one in progress): batches until one deletes fewer than `batchSize` rows, or one fails. */
  pruneExpired(): Promise<PruneRun> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** No further batch or run; resolves once the statement in progress, if any, has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pauses.abort();
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.pruneExpired().then(() => {
        if (!this.stopped) this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<PruneRun> {
    const { windowSeconds, batchSize } = this.options;
    const done: PruneRun = { pruned: 0, batches: 0, failed: false };
    while (!this.stopped) {
      if (done.batches > 0 && !(await this.pause())) break;
      done.batches += 1;
      let deleted: number;
      try {
        deleted = (await this.pool.query(PRUNE_PROCESSED_COMMANDS, [windowSeconds, batchSize])).rowCount ?? 0;
      } catch (error) {
        done.failed = true;
        this.metrics.failures.inc();
        this.logger.warn({ err: error, pruned: done.pruned }, 'pruning processed_commands failed; retried next run');
        break;
      }
      done.pruned += deleted;
      this.metrics.pruned.inc(deleted);
      if (deleted < batchSize) break;
    }
    if (done.pruned > 0) this.logger.info({ pruned: done.pruned, batches: done.batches }, 'processed_commands pruned');
    return done;
  }

  /** False when stopped during the pause. */
  private async pause(): Promise<boolean> {
    try {
      await sleep(this.pauseMs, undefined, { signal: this.pauses.signal, ref: false });
      return true;
    } catch {
      return false;
    }
  }
}
