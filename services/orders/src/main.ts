import './telemetry';
import { hostname } from 'node:os';
import { RpcClient, RpcServer } from '@warren/rpc';
import {
  createLogger,
  createMetricsRegistry,
  createPool,
  exitGracefullyOnSignals,
  exitOnStartupFailure,
  postgresAnswers,
  runMigrations,
  startOpsServer,
  type Logger,
} from '@warren/service-kit';
import { shutdownTelemetry } from '@warren/telemetry';
import { loadConfig } from './config';
import { OrdersRepository } from './db/orders-repository';
import { registerOrdersHandlers } from './handlers/orders-handlers';
import { UsersDirectory } from './users-directory';

const SERVICE = 'orders';

let logger: Logger | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ service: SERVICE, level: config.logLevel, pretty: config.logPretty });
  logger = log;
  const registry = createMetricsRegistry(SERVICE);
  const instance = `${SERVICE}-${hostname()}-${process.pid}`;

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
  const client = new RpcClient({
    url: config.amqpUrl,
    connectionName: `${instance}-client`,
    defaultTimeoutMs: config.rpcTimeoutMs,
    logger: log,
    registry,
  });
  const server = new RpcServer({
    url: config.amqpUrl,
    connectionName: `${instance}-server`,
    // Leave part of the shutdown budget for closing the client, the ops server and the pool.
    drainTimeoutMs: config.drainTimeoutMs,
    logger: log,
    registry,
  });
  registerOrdersHandlers(server, {
    repository: new OrdersRepository(pool),
    users: new UsersDirectory({ client, timeoutMs: config.rpcTimeoutMs }),
    logger: log,
    concurrency: config.rpcConcurrency,
  });

  // The client first: handlers call users.get as soon as the server consumes.
  await client.start();
  await server.start();
  const ops = await startOpsServer({
    host: config.host,
    port: config.opsPort,
    registry,
    logger: log,
    checks: {
      rpcServer: () => server.isConsuming,
      rpcClient: () => client.isConnected,
      postgres: () => postgresAnswers(pool),
    },
  });

  exitGracefullyOnSignals(
    log,
    [
      { name: 'rpc server', run: () => server.close() },
      { name: 'rpc client', run: () => client.close() },
      { name: 'ops server', run: () => new Promise<void>((resolve) => ops.close(() => resolve())) },
      { name: 'postgres pool', run: () => pool.end() },
      // Last, so that the spans of the calls drained above are exported too.
      { name: 'telemetry', run: () => shutdownTelemetry() },
    ],
    config.shutdownTimeoutMs,
  );
  log.info({ config, opsPort: config.opsPort }, 'orders worker started');
}

main().catch((error: unknown) => exitOnStartupFailure(logger, error));
