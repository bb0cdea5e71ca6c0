import { randomBytes } from 'node:crypto';
import { createLogger, runMigrations, type Logger } from '@warren/service-kit';
import { connect } from 'amqplib';
import { loadConfig } from '../../src/config';

/** The service's own configuration, so AMQP_URL and DATABASE_URL overrides (CI) apply to the tests too. */
export const config = loadConfig(process.env);

export const silentLogger: Logger = createLogger({ service: 'users-test', level: 'silent', pretty: false });

/** Brings the users database schema up to date, through service-kit's runMigrations. */
export async function migrate(): Promise<void> {
  await runMigrations({
    databaseUrl: config.databaseUrl,
    directory: config.migrationsDirectory,
    logger: silentLogger,
  });
}

/** Random hex, valid inside a route name. */
export function randomHex(bytes = 5): string {
  return randomBytes(bytes).toString('hex');
}

/** An email address no other test uses, with upper-case letters in it. */
export function uniqueEmail(prefix = 'User'): string {
  return `${prefix}.${randomHex(6)}@Example.com`;
}

/** Deletes route queues and their dead-letter queues. */
export async function deleteRouteQueues(routeNames: string[]): Promise<void> {
  const connection = await connect(config.amqpUrl);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    for (const name of routeNames) {
      await channel.deleteQueue(name);
      await channel.deleteQueue(`${name}.dead-letter`);
    }
  } finally {
    await connection.close();
  }
}
