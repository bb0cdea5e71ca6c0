import { RpcError, RpcUnavailableError } from '@warren/rpc';
import { Pool, type PoolConfig } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger';

export interface PostgresOptions {
  databaseUrl: string;
  poolSize: number;
  /** Longest wait for a pooled connection before a query fails as unavailable. */
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
}

/** A pg pool sized by configuration, with its size exported as gauges. */
export function createPool(options: PostgresOptions, registry: Registry, logger: Logger): Pool {
  const config: PoolConfig = {
    connectionString: options.databaseUrl,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectionTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
  };
  const pool = new Pool(config);
  // An idle client whose server went away emits here; without a listener the process would crash.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle postgres connection failed'));
  // A client checked out of the pool (a transaction between two queries) has no pool listener: when its server goes
  // away (a restart, a failover) it emits 'error', which unheard would crash the worker. Its next query fails
  // anyway, as `unavailable`, and the broken client is discarded on release; here the event is only heard.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.debug({ err: error.message }, 'postgres connection failed'));
  });
  const gauges = [
    ['pg_pool_connections_total', 'Connections in the pool.', () => pool.totalCount],
    ['pg_pool_connections_idle', 'Idle connections in the pool.', () => pool.idleCount],
    ['pg_pool_clients_waiting', 'Queries waiting for a pooled connection.', () => pool.waitingCount],
  ] as const;
  for (const [name, help, read] of gauges) {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
  return pool;
}

/** True when the database answers a trivial query. */
export async function postgresAnswers(pool: Pool): Promise<boolean> {
  try {
    await pool.query('select 1');
    return true;
  } catch {
    return false;
  }
}

// Connection-level failures: the database is down, restarting or unreachable, or the pool is exhausted.
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57'];
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/**
 * Turns a database failure into a retriable `unavailable` RpcError when the
 * database itself is the problem; other errors are returned unchanged.
 */
export function asUnavailableWhenDatabaseIsDown(error: unknown): unknown {
  if (error instanceof RpcError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : '';
  const down =
    (typeof code === 'string' &&
      (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2)))) ||
    /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(
      message,
    );
  return down ? new RpcUnavailableError('database unavailable', { cause: error }) : error;
}

export interface MigrationOptions {
  databaseUrl: string;
  /** Folder of SQL migration files. */
  directory: string;
  logger: Logger;
}

/**
 * Applies pending migrations with node-pg-migrate. Safe to run from several
 * processes at once (replicas, a migrate Job, tests): each waits for the
 * advisory lock, then finds the schema up to date.
 */
export async function runMigrations(options: MigrationOptions): Promise<string[]> {
  // node-pg-migrate is an ES module; a dynamic import loads it from this CommonJS build.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: options.directory,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    advisoryLockMode: 'wait',
    verbose: false,
    logger: {
      debug: () => undefined,
      info: (message: string) => options.logger.debug({ migration: message }, 'migration'),
      warn: (message: string) => options.logger.warn({ migration: message }, 'migration'),
      error: (message: string) => options.logger.error({ migration: message }, 'migration'),
    },
  });
  const names = applied.map((migration) => migration.name);
  options.logger.info({ applied: names }, names.length ? 'migrations applied' : 'database schema up to date');
  return names;
}
