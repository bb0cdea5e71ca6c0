import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { createLogger, runMigrations } from '@warren/service-kit';
import { Pool } from 'pg';

// Local defaults match scripts/services.sh; CI may point elsewhere.
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://warren:warren@127.0.0.1:5672';
export const DATABASE_URL = process.env.ORDERS_DATABASE_URL ?? 'postgres://warren:warren@127.0.0.1:5432/warren_orders';

export const silentLogger = createLogger({ service: 'orders-test', level: 'silent', pretty: false });

/** A name no other test uses, valid as a route segment. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** Brings warren_orders up to date, as the service does at start-up. */
export async function migrate(): Promise<void> {
  await runMigrations({
    databaseUrl: DATABASE_URL,
    directory: join(__dirname, '..', '..', 'migrations'),
    logger: silentLogger,
  });
}

/** Migrates warren_orders and opens a small pool on it. */
export async function migratedPool(): Promise<Pool> {
  await migrate();
  const pool = new Pool({ connectionString: DATABASE_URL, max: 5, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  return pool;
}

/** Deletes route queues (and their dead-letter queues) that a test declared. */
export async function deleteRouteQueues(routeNames: string[]): Promise<void> {
  const connection = await connect(AMQP_URL);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    for (const name of routeNames) {
      await channel.deleteQueue(name);
      await channel.deleteQueue(`${name}.dead-letter`);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A fresh UUID that no user or order has. */
export function randomUuid(): string {
  return randomUUID();
}
