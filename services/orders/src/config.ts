import { join } from 'node:path';
import { booleanVariable, integerVariable, logLevelVariable, parseEnvironment, urlVariable } from '@warren/service-kit';
import { z } from 'zod';

const environmentSchema = z.object({
  LOG_LEVEL: logLevelVariable,
  LOG_PRETTY: booleanVariable(false),
  AMQP_URL: urlVariable('amqp://warren:warren@127.0.0.1:5672', ['amqp', 'amqps']),
  DATABASE_URL: urlVariable('postgres://warren:warren@127.0.0.1:5432/warren_orders', ['postgres', 'postgresql']),
  PG_POOL_SIZE: integerVariable(10, 1, 1000),
  PG_CONNECTION_TIMEOUT_MS: integerVariable(2000, 100, 60_000),
  PG_STATEMENT_TIMEOUT_MS: integerVariable(5000, 100, 600_000),
  RPC_CONCURRENCY: integerVariable(32, 1, 10_000),
  RPC_TIMEOUT_MS: integerVariable(2000, 1, 600_000),
  MIGRATE_ON_START: booleanVariable(true),
  SHUTDOWN_TIMEOUT_MS: integerVariable(25_000, 1000, 600_000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  OPS_PORT: integerVariable(9102, 1, 65_535),
});

export interface OrdersConfig {
  logLevel: z.output<typeof logLevelVariable>;
  logPretty: boolean;
  amqpUrl: string;
  databaseUrl: string;
  pgPoolSize: number;
  pgConnectionTimeoutMs: number;
  pgStatementTimeoutMs: number;
  /** Messages each route handles at once. */
  rpcConcurrency: number;
  /** Cap on the users.get call made while creating an order. */
  rpcTimeoutMs: number;
  migrateOnStart: boolean;
  shutdownTimeoutMs: number;
  host: string;
  opsPort: number;
  /** The SQL migrations shipped with the service (`migrations/` beside `src/` and `dist/`). */
  migrationsDirectory: string;
}

/** The orders worker's configuration; throws a one-line ConfigurationError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  const parsed = parseEnvironment(environmentSchema, env);
  return {
    logLevel: parsed.LOG_LEVEL,
    logPretty: parsed.LOG_PRETTY,
    amqpUrl: parsed.AMQP_URL,
    databaseUrl: parsed.DATABASE_URL,
    pgPoolSize: parsed.PG_POOL_SIZE,
    pgConnectionTimeoutMs: parsed.PG_CONNECTION_TIMEOUT_MS,
    pgStatementTimeoutMs: parsed.PG_STATEMENT_TIMEOUT_MS,
    rpcConcurrency: parsed.RPC_CONCURRENCY,
    rpcTimeoutMs: parsed.RPC_TIMEOUT_MS,
    migrateOnStart: parsed.MIGRATE_ON_START,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    host: parsed.HOST,
    opsPort: parsed.OPS_PORT,
    migrationsDirectory: join(__dirname, '..', 'migrations'),
  };
}
