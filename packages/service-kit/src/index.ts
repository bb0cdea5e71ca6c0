export {
  booleanVariable,
  ConfigurationError,
  integerVariable,
  logLevelVariable,
  parseEnvironment,
  optionalUrlVariable,
  urlVariable,
} from './config';
export {
  CommandPruner,
  PRUNE_PROCESSED_COMMANDS,
  type CommandPrunerOptions,
  type CommandPruningSettings,
  type PruneRun,
} from './command-pruning';
export {
  DEAD_LETTER_ACTIONS,
  DEAD_LETTER_USAGE,
  parseDeadLetterArgs,
  UsageError,
  type DeadLetterAction,
  type DeadLetterArgs,
} from './dead-letter-args';
export {
  deadLetterCommand,
  runDeadLetterCommand,
  type DeadLetterCommandIo,
  type DeadLetterTarget,
} from './dead-letter-command';
export { createLogger, REDACTED_PATHS, type Logger, type LoggerOptions } from './logger';
export { createMetricsRegistry } from './metrics';
export {
  checkReadiness,
  startOpsServer,
  type OpsServerOptions,
  type ReadinessCheck,
  type ReadinessReport,
} from './ops-server';
export {
  asUnavailableWhenDatabaseIsDown,
  createPool,
  postgresAnswers,
  runMigrations,
  type MigrationOptions,
  type PostgresOptions,
} from './postgres';
export {
  closeHttpServer,
  drainHttpServer,
  exitGracefullyOnSignals,
  exitOnStartupFailure,
  type ShutdownStep,
} from './shutdown';
export { withCancellableClient } from './statement-cancellation';
export { claimCommand, runCommandOnce, withTransaction, type Queryable } from './transaction';
export { runMigrationCommand, runWorker, type WorkerDefinition, type WorkerParts } from './worker';
export { decodeCursor, encodeCursor, toPage } from './pagination';
export {
  activeContextWithRequestId,
  activeRequestId,
  bindToActiveContext,
  contextWithRequestId,
  REQUEST_ID_BAGGAGE_KEY,
  withRequestId,
} from './request-context';
export { loadWorkerConfig, workerEnvironmentSchema, type WorkerConfig, type WorkerDefaults } from './worker-config';
