import { hostname } from 'node:os';
import { RpcClient, RpcServer, type RpcClientOptions } from '@warren/rpc';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { CommandPruner } from './command-pruning';
import { createLogger, type Logger } from './logger';
import { createMetricsRegistry } from './metrics';
import { startOpsServer, type ReadinessCheck } from './ops-server';
import { createPool, postgresAnswers, runMigrations } from './postgres';
import { closeHttpServer, exitGracefullyOnSignals, exitOnStartupFailure } from './shutdown';
import type { WorkerConfig } from './worker-config';

/** What a worker's `register` is given to serve its routes with. */
export interface WorkerParts<Config extends WorkerConfig> {
  config: Config;
  server: RpcServer;
  pool: Pool;
  logger: Logger;
  registry: Registry;
  /**
   * The worker's RPC client, for the routes it calls (created on first use). It is started before the server
   * consumes, is part of readiness, and is closed after the server has drained.
   */
  rpcClient(options?: Partial<RpcClientOptions>): RpcClient;
}

export interface WorkerDefinition<Config extends WorkerConfig> {
  /** The service's name: on every log line, metric and connection name. */
  service: string;
  /** Parses the environment, once, at start-up. */
  loadConfig(): Config;
  /** Registers the worker's handlers on `parts.server`. */
  register(parts: WorkerParts<Config>): void;
  /** Flushes and stops telemetry: the last shutdown step, so the spans of the calls drained before it are exported. */
  shutdownTelemetry(): Promise<void>;
}

/**
 * A worker's whole life: configuration, logger and metrics, migrations (MIGRATE_ON_START), the PostgreSQL pool, the
 * RPC server (and client, when the handlers call other routes), the ops server, the periodic pruning of expired
 * idempotency keys (`CommandPruner`), and a graceful shutdown on SIGTERM that drains in-flight messages before anything
 * closes. A failure to start is one log line and exit code 1.
 */
export function runWorker<Config extends WorkerConfig>(definition: WorkerDefinition<Config>): void {
  let logger: Logger | undefined;
  const start = async () => {
    const { service } = definition;
    const config = definition.loadConfig();
    const log = (logger = createLogger({ service, level: config.logLevel, pretty: config.logPretty }));
    const registry = createMetricsRegistry(service);
    const instance = `${service}-${hostname()}-${process.pid}`;

    if (config.migrateOnStart) {
      await runMigrations({ databaseUrl: config.databaseUrl, directory: config.migrationsDirectory, logger: log });
    }
    const pool = createPool(
      {
        databaseUrl: config.databaseUrl,
        poolSize: config.pgPoolSize,
        connectionTimeoutMs: config.pgConnectionTimeoutMs,
        statementTimeoutMs: config.pgStatementTimeoutMs,
        applicationName: instance,
      },
      registry,
      log,
    );
    const server = new RpcServer({
      url: config.amqpUrl,
      connectionName: `${instance}-server`,
      drainTimeoutMs: config.drainTimeoutMs,
      logger: log,
      registry,
    });
    let client: RpcClient | undefined;
    const rpcClient = (options: Partial<RpcClientOptions> = {}) =>
      (client ??= new RpcClient({
        url: config.amqpUrl,
        connectionName: `${instance}-client`,
        logger: log,
        registry,
        ...options,
      }));
    definition.register({ config, server, pool, logger: log, registry, rpcClient });

    // The client first: handlers call other routes as soon as the server consumes.
    await client?.start();
    await server.start();
    const checks: Record<string, ReadinessCheck> = { rpcServer: () => server.isConsuming };
    if (client) checks.rpcClient = () => client!.isConnected;
    checks.postgres = () => postgresAnswers(pool);
    const opsServer = await startOpsServer({ host: config.host, port: config.opsPort, registry, checks, logger: log });
    // Every replica prunes: the batches skip each other's rows.
    const pruner = new CommandPruner(pool, config.commandPruning, log, registry);
    pruner.start();

    exitGracefullyOnSignals(
      log,
      [
        { name: 'command pruning', run: () => pruner.stop() },
        { name: 'rpc server', run: () => server.close() },
        ...(client ? [{ name: 'rpc client', run: () => client!.close() }] : []),
        { name: 'ops server', run: () => closeHttpServer(opsServer) },
        { name: 'postgres pool', run: () => pool.end() },
        { name: 'telemetry', run: () => definition.shutdownTelemetry() },
      ],
      config.shutdownTimeoutMs,
    );
    log.info({ opsPort: config.opsPort, concurrency: config.rpcConcurrency }, `${service} worker started`);
  };
  start().catch((error: unknown) => exitOnStartupFailure(logger, error));
}

/**
 * `npm run migrate` (a Kubernetes Job before a rollout): applies the worker's pending migrations, then exits 0, or 1
 * on failure.
 */
export function runMigrationCommand<Config extends WorkerConfig>(
  definition: Pick<WorkerDefinition<Config>, 'service' | 'loadConfig'>,
): void {
  let logger: Logger | undefined;
  const migrate = async () => {
    const config = definition.loadConfig();
    logger = createLogger({ service: definition.service, level: config.logLevel, pretty: config.logPretty });
    await runMigrations({ databaseUrl: config.databaseUrl, directory: config.migrationsDirectory, logger });
  };
  migrate().then(
    () => process.exit(0),
    (error: unknown) => exitOnStartupFailure(logger, error),
  );
}
