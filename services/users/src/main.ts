import './telemetry';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { RpcServer } from '@warren/rpc';
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
import { createUsersRepository } from './db/users-repository';
import { registerUsersHandlers } from './handlers/users-handlers';

const SERVICE = 'users';
let logger: Logger | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  const log = (logger = createLogger({ service: SERVICE, level: config.logLevel, pretty: config.logPretty }));
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
  const server = new RpcServer({
    url: config.amqpUrl,
    connectionName: `${instance}-server`,
    logger: log,
    registry,
    drainTimeoutMs: config.drainTimeoutMs,
  });
  registerUsersHandlers(
    server,
    { usersRepository: createUsersRepository(pool) },
    { concurrency: config.rpcConcurrency },
  );
  await server.start();

  const opsServer = await startOpsServer({
    host: config.host,
    port: config.opsPort,
    registry,
    checks: { rpcServer: () => server.isConsuming, postgres: () => postgresAnswers(pool) },
    logger: log,
  });
  exitGracefullyOnSignals(
    log,
    [
      { name: 'rpc server', run: () => server.close() },
      { name: 'ops server', run: () => closeHttpServer(opsServer) },
      { name: 'postgres pool', run: () => pool.end() },
      // Last, so that the spans of the calls drained above are exported too.
      { name: 'telemetry', run: () => shutdownTelemetry() },
    ],
    config.shutdownTimeoutMs,
  );
  log.info({ opsPort: config.opsPort, concurrency: config.rpcConcurrency }, 'users worker started');
}

function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

main().catch((error: unknown) => exitOnStartupFailure(logger, error));
