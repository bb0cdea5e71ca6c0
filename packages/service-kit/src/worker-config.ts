import { z } from 'zod';
import type { CommandPruningSettings } from './command-pruning';
import { booleanVariable, integerVariable, logLevelVariable, parseEnvironment, urlVariable } from './config';

export interface WorkerDefaults {
  /** The worker's own database on the local PostgreSQL, e.g. `warren_users`. */
  database: string;
  /** Port of /healthz, /readyz and /metrics. */
  opsPort: number;
}

/** The environment every worker reads, with its local defaults. */
export function workerEnvironmentSchema(defaults: WorkerDefaults) {
  return z.object({
    LOG_LEVEL: logLevelVariable,
    LOG_PRETTY: booleanVariable(false),
    AMQP_URL: urlVariable('amqp://warren:warren@127.0.0.1:5672', ['amqp', 'amqps']),
    DATABASE_URL: urlVariable(`postgres://warren:warren@127.0.0.1:5432/${defaults.database}`, [
      'postgres',
      'postgresql',
    ]),
    PG_POOL_SIZE: integerVariable(10, 1, 1000),
    PG_CONNECTION_TIMEOUT_MS: integerVariable(2000, 100, 60_000),
    PG_STATEMENT_TIMEOUT_MS: integerVariable(5000, 100, 600_000),
    RPC_CONCURRENCY: integerVariable(32, 1, 10_000),
    MIGRATE_ON_START: booleanVariable(true),
    SHUTDOWN_TIMEOUT_MS: integerVariable(25_000, 1000, 600_000),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    OPS_PORT: integerVariable(defaults.opsPort, 1, 65_535),
    // processed_commands retention (command-pruning.ts): the window is at least the gateway's IDEMPOTENCY_TTL_SECONDS
    // (86400 by default; the chart refuses a smaller one), and never under an hour.
    COMMAND_REPLAY_WINDOW_SECONDS: integerVariable(172_800, 3600, 365 * 86_400),
    COMMAND_PRUNE_INTERVAL_MS: integerVariable(300_000, 1000, 86_400_000),
    COMMAND_PRUNE_BATCH_SIZE: integerVariable(1000, 1, 100_000),
  });
}

/** What every worker is configured with. */
export interface WorkerConfig {
  logLevel: z.output<typeof logLevelVariable>;
  logPretty: boolean;
  amqpUrl: string;
  databaseUrl: string;
  pgPoolSize: number;
  pgConnectionTimeoutMs: number;
  pgStatementTimeoutMs: number;
  /** Messages each route handles at once (the channel's prefetch). */
  rpcConcurrency: number;
  migrateOnStart: boolean;
  shutdownTimeoutMs: number;
  /** How long the RPC server lets in-flight handlers finish on shutdown: most of the shutdown budget. */
  drainTimeoutMs: number;
  host: string;
  opsPort: number;
  /** The SQL migrations shipped with the service. */
  migrationsDirectory: string;
  /** How long idempotency keys stay in processed_commands, and how they are pruned after that. */
  commandPruning: CommandPruningSettings;
}

/**
 * Parses a worker's environment: the common variables plus the worker's own
 * (`extra`), or throws a one-line ConfigurationError naming each bad variable.
 */
export function loadWorkerConfig<Extra extends z.ZodRawShape>(
  defaults: WorkerDefaults & { migrationsDirectory: string },
  extra: Extra,
  environment: Record<string, string | undefined>,
): { worker: WorkerConfig; extra: z.output<z.ZodObject<Extra>> } {
  // One parse of both parts, so a single error line names every bad variable.
  const all = parseEnvironment(workerEnvironmentSchema(defaults).extend(extra), environment);
  const parsed = all as unknown as z.output<ReturnType<typeof workerEnvironmentSchema>>;
  const worker: WorkerConfig = {
    logLevel: parsed.LOG_LEVEL,
    logPretty: parsed.LOG_PRETTY,
    amqpUrl: parsed.AMQP_URL,
    databaseUrl: parsed.DATABASE_URL,
    pgPoolSize: parsed.PG_POOL_SIZE,
    pgConnectionTimeoutMs: parsed.PG_CONNECTION_TIMEOUT_MS,
    pgStatementTimeoutMs: parsed.PG_STATEMENT_TIMEOUT_MS,
    rpcConcurrency: parsed.RPC_CONCURRENCY,
    migrateOnStart: parsed.MIGRATE_ON_START,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    // The rest of the budget closes the broker connections, the ops server and the pool.
    drainTimeoutMs: Math.floor(parsed.SHUTDOWN_TIMEOUT_MS * 0.8),
    host: parsed.HOST,
    opsPort: parsed.OPS_PORT,
    migrationsDirectory: defaults.migrationsDirectory,
    commandPruning: {
      windowSeconds: parsed.COMMAND_REPLAY_WINDOW_SECONDS,
      intervalMs: parsed.COMMAND_PRUNE_INTERVAL_MS,
      batchSize: parsed.COMMAND_PRUNE_BATCH_SIZE,
    },
  };
  return { worker, extra: all as unknown as z.output<z.ZodObject<Extra>> };
}
