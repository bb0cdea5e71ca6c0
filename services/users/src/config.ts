import { join } from 'node:path';
import { loadWorkerConfig, type WorkerConfig } from '@warren/service-kit';

export type UsersConfig = WorkerConfig;

/** The users worker's configuration; throws a one-line ConfigurationError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): UsersConfig {
  return loadWorkerConfig(
    { database: 'warren_users', opsPort: 9101, migrationsDirectory: join(__dirname, '..', 'migrations') },
    {},
    env,
  ).worker;
}
