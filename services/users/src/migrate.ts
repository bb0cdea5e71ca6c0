import { createLogger, exitOnStartupFailure, runMigrations, type Logger } from '@warren/service-kit';
import { loadConfig } from './config';

// `npm run migrate` (a Kubernetes Job before a rollout): applies pending migrations, exits 0, or 1 on failure.
let logger: Logger | undefined;

async function migrate(): Promise<void> {
  const config = loadConfig();
  logger = createLogger({ service: 'users', level: config.logLevel, pretty: config.logPretty });
  await runMigrations({ databaseUrl: config.databaseUrl, directory: config.migrationsDirectory, logger });
}

migrate().then(
  () => process.exit(0),
  (error: unknown) => exitOnStartupFailure(logger, error),
);
