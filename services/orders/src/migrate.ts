import { createLogger, exitOnStartupFailure, runMigrations, type Logger } from '@warren/service-kit';
import { loadConfig } from './config';

let logger: Logger | undefined;

/** `npm run migrate`: applies pending migrations to warren_orders, then exits 0 (1 on failure). */
async function migrate(): Promise<void> {
  const config = loadConfig();
  logger = createLogger({ service: 'orders-migrate', level: config.logLevel, pretty: config.logPretty });
  await runMigrations({ databaseUrl: config.databaseUrl, directory: config.migrationsDirectory, logger });
}

migrate().then(
  () => process.exit(0),
  (error: unknown) => exitOnStartupFailure(logger, error),
);
