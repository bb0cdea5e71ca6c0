import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  ADMIN_DATABASE_URL,
  E2E_ENV,
  LOCAL_ADMIN,
  RABBITMQ_MANAGEMENT_URL,
  WORKER_DATABASES,
  type E2eCredentials,
} from './e2e-secrets';

// Imported by relative path from jest's globalSetup and globalTeardown: no `@warren/*` module mapping there.

/** What globalTeardown needs to undo; globalSetup and globalTeardown run in the same process. */
export interface E2eRun {
  logDir: string;
  credentials: E2eCredentials;
}

declare global {
  var __warrenE2eRun: E2eRun | undefined;
}

export async function rabbitManagement(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${RABBITMQ_MANAGEMENT_URL}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${LOCAL_ADMIN.user}:${LOCAL_ADMIN.password}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok && !(method === 'DELETE' && response.status === 404)) {
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response;
}

/**
 * Runs SQL as a role allowed to create roles: the local administrator when it may (CI's `warren` is the container's
 * superuser), else — the local setup of scripts/services.sh, where `warren` may not — the `postgres` superuser
 * through `runuser`, as services.sh itself does.
 */
export async function asRoleAdmin(statements: string[], database: string = WORKER_DATABASES.users): Promise<void> {
  const client = new Client({
    connectionString: ADMIN_DATABASE_URL.replace(/\/[^/]*$/, `/${database}`),
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ allowed: boolean }>(
      'select rolsuper or rolcreaterole as allowed from pg_roles where rolname = current_user',
    );
    if (rows[0]?.allowed) {
      for (const statement of statements) await client.query(statement);
      return;
    }
  } finally {
    await client.end();
  }
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database], {
      input: `${statements.join(';\n')};\n`,
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 30_000,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `the e2e setup needs a PostgreSQL role that may create roles: ${LOCAL_ADMIN.user} may not, and running psql ` +
        `as postgres failed (${stderr || (error as Error).message}). Give it the right once: ` +
        `ALTER ROLE ${LOCAL_ADMIN.user} CREATEROLE (as a superuser).`,
    );
  }
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * The e2e project's globalSetup: one log directory for this run (every suite's service output goes there, so the
 * teardown's grep covers exactly this run), and credentials nobody else uses — a RabbitMQ user and a PostgreSQL
 * role with random passwords — so a password in a log line can be found by grep (`warren` is everywhere).
 */
export default async function globalSetup(): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const credentials: E2eCredentials = {
    amqp: { user: `warren-e2e-${suffix}`, password: randomBytes(18).toString('hex') },
    pg: { user: `warren_e2e_${suffix}`, password: randomBytes(18).toString('hex') },
    authToken: randomBytes(24).toString('hex'),
  };
  const logDir = mkdtempSync(join(tmpdir(), 'warren-e2e-run-'));

  await rabbitManagement('PUT', `/api/users/${encodeURIComponent(credentials.amqp.user)}`, {
    password: credentials.amqp.password,
    tags: '',
  });
  // A member of `warren` that becomes it on login: the same privileges, and whatever a migration creates is owned
  // by `warren` as usual (so dropping this role later leaves nothing behind).
  const role = quoteIdentifier(credentials.pg.user);
  await asRoleAdmin([
    `CREATE ROLE ${role} LOGIN PASSWORD ${quoteLiteral(credentials.pg.password)} IN ROLE ${LOCAL_ADMIN.user}`,
    `ALTER ROLE ${role} SET role = ${quoteLiteral(LOCAL_ADMIN.user)}`,
  ]);

  process.env[E2E_ENV.logDir] = logDir;
  process.env[E2E_ENV.amqpUser] = credentials.amqp.user;
  process.env[E2E_ENV.amqpPassword] = credentials.amqp.password;
  process.env[E2E_ENV.pgUser] = credentials.pg.user;
  process.env[E2E_ENV.pgPassword] = credentials.pg.password;
  process.env[E2E_ENV.authToken] = credentials.authToken;
  globalThis.__warrenE2eRun = { logDir, credentials };
}
