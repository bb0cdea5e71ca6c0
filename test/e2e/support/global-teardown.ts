import { rmSync } from 'node:fs';
import { E2E_ENV, LOCAL_ADMIN, WORKER_DATABASES, type E2eCredentials } from './e2e-secrets';
import { asRoleAdmin, rabbitManagement } from './global-setup';
import { filesUnder, scanForSecrets, secretForms, type Secret } from './secret-scan';

/**
 * The e2e project's globalTeardown, after every test file: no secret ever in a log. It greps everything the
 * services logged during this run (the run's log directory) for the database and broker passwords of this run and
 * for the bearer token the tests sent in Authorization headers, in every form they could be written; a hit fails
 * the run, naming file and line (never the secret). Then the run's RabbitMQ user and PostgreSQL role are removed,
 * and the logs too when they are clean.
 */
export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__warrenE2eRun;
  if (!run) return;
  const { logDir, credentials } = run;
  const secrets: Secret[] = [
    ...secretForms({ name: 'PostgreSQL password', value: credentials.pg.password }, credentials.pg.user),
    ...secretForms({ name: 'RabbitMQ password', value: credentials.amqp.password }, credentials.amqp.user),
    ...secretForms({ name: 'Authorization bearer token', value: credentials.authToken }),
  ];
  let failure: Error | undefined;
  try {
    const files = filesUnder(logDir);
    const hits = scanForSecrets(logDir, secrets);
    if (hits.length > 0) {
      const where = hits.slice(0, 20).map((hit) => `  ${hit.file}:${hit.line}: ${hit.secret}`);
      failure = new Error(
        `a secret reached the services' logs (${hits.length} lines; logs kept in ${logDir}):\n${where.join('\n')}`,
      );
    } else {
      process.stdout.write(
        `\n[e2e] no secret in ${files.length} log file(s) of this run (${E2E_ENV.logDir}=${logDir})\n`,
      );
    }
  } finally {
    await cleanUp(run.credentials).catch((error: Error) =>
      process.stderr.write(`[e2e] could not remove the run's credentials: ${error.message}\n`),
    );
  }
  if (failure) throw failure;
  rmSync(logDir, { recursive: true, force: true });
}

async function cleanUp(credentials: E2eCredentials): Promise<void> {
  await rabbitManagement('DELETE', `/api/users/${encodeURIComponent(credentials.amqp.user)}`);
  const role = `"${credentials.pg.user.replace(/"/g, '""')}"`;
  const literal = `'${credentials.pg.user.replace(/'/g, "''")}'`;
  for (const database of Object.values(WORKER_DATABASES)) {
    // Nothing should be owned by the role (it becomes `warren` on login); make sure, then end its sessions.
    await asRoleAdmin(
      [
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${literal}`,
        `REASSIGN OWNED BY ${role} TO ${LOCAL_ADMIN.user}`,
        `DROP OWNED BY ${role}`,
      ],
      database,
    );
  }
  await asRoleAdmin([`DROP ROLE IF EXISTS ${role}`]);
}
