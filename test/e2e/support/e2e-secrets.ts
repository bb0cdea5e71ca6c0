import { join } from 'node:path';

/**
 * What the e2e project's globalSetup (support/global-setup.ts) makes for one run and hands to every test worker
 * through the environment: a log directory of this run's own, a RabbitMQ user and a PostgreSQL role with random
 * passwords (what the services of every suite connect with), and a bearer token that tests send in
 * `Authorization` headers. globalTeardown then greps every log of the run for all of them.
 *
 * Outside that setup (a test file run by another project, a helper script) none is set: suites fall back to the
 * local defaults and logs go to /tmp, as before.
 */
export const E2E_ENV = {
  logDir: 'WARREN_E2E_LOG_DIR',
  amqpUser: 'WARREN_E2E_AMQP_USER',
  amqpPassword: 'WARREN_E2E_AMQP_PASSWORD',
  pgUser: 'WARREN_E2E_PG_USER',
  pgPassword: 'WARREN_E2E_PG_PASSWORD',
  authToken: 'WARREN_E2E_AUTH_TOKEN',
} as const;

/** The local administrator every setup step uses (scripts/services.sh creates it; CI's containers too). */
export const LOCAL_ADMIN = { user: 'warren', password: 'warren' } as const;
export const RABBITMQ_MANAGEMENT_URL = 'http://127.0.0.1:15672';
export const ADMIN_DATABASE_URL = 'postgres://warren:warren@127.0.0.1:5432/warren_users';
export const WORKER_DATABASES = { users: 'warren_users', orders: 'warren_orders' } as const;

export interface E2eCredentials {
  amqp: { user: string; password: string };
  pg: { user: string; password: string };
  authToken: string;
}

/** This run's credentials, when the e2e globalSetup made them. */
export function e2eCredentials(): E2eCredentials | undefined {
  const env = process.env;
  const amqpUser = env[E2E_ENV.amqpUser];
  const amqpPassword = env[E2E_ENV.amqpPassword];
  const pgUser = env[E2E_ENV.pgUser];
  const pgPassword = env[E2E_ENV.pgPassword];
  const authToken = env[E2E_ENV.authToken];
  if (!amqpUser || !amqpPassword || !pgUser || !pgPassword || !authToken) return undefined;
  return { amqp: { user: amqpUser, password: amqpPassword }, pg: { user: pgUser, password: pgPassword }, authToken };
}

/** Where a suite's service output goes: this run's log directory (or /tmp outside the e2e project). */
export function e2eLogPath(name: string): string {
  return join(process.env[E2E_ENV.logDir] ?? '/tmp', `warren-e2e-${name}.log`);
}

/** A worker's DATABASE_URL as this run's role, when there is one. */
export function workerDatabaseUrl(database: string): string | undefined {
  const credentials = e2eCredentials();
  if (!credentials) return undefined;
  const { user, password } = credentials.pg;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:5432/${database}`;
}

/** The `Authorization` header tests send, so the log grep can prove it never reaches a log line. */
export function authorizationHeader(): Record<string, string> {
  const token = e2eCredentials()?.authToken;
  return token ? { authorization: `Bearer ${token}` } : {};
}
