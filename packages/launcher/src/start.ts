import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { REPOSITORY_ROOT, Suite } from './suite';

// `npm start`: migrate, start the three services, wait until each is ready, print where to go.
// Ctrl-C (or SIGTERM) stops them cleanly.

const ARROW = process.stdout.isTTY ? '\x1b[1m==>\x1b[0m' : '==>';

function step(message: string): void {
  process.stdout.write(`${ARROW} ${message}\n`);
}

async function main(): Promise<void> {
  for (const worker of ['users', 'orders']) {
    step(`migrating the ${worker} database`);
    execFileSync(process.execPath, [resolve(REPOSITORY_ROOT, 'services', worker, 'dist', 'migrate.js')], {
      stdio: 'inherit',
      env: { ...process.env, LOG_PRETTY: process.env.LOG_PRETTY ?? String(process.stdout.isTTY === true) },
    });
  }

  const suite = new Suite({
    gatewayPort: Number(process.env.PORT ?? 8080),
    environment: {
      MIGRATE_ON_START: 'false',
      LOG_PRETTY: process.env.LOG_PRETTY ?? String(process.stdout.isTTY === true),
    },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    step(`${signal}: stopping the services`);
    await suite.stop();
    step('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  step('starting users, orders and gateway');
  try {
    await suite.start();
  } catch (error) {
    process.stderr.write(`start failed: ${(error as Error).message}\n`);
    await suite.stop();
    process.exit(1);
  }

  const api = suite.gatewayUrl;
  step('Warren is up:');
  process.stdout.write(
    [
      `    API             ${api}/v1/users`,
      `    API docs        ${api}/docs   (OpenAPI: ${api}/openapi.json)`,
      `    gateway metrics ${api}/metrics`,
      `    users worker    ${suite.opsUrl('users')}/readyz  ${suite.opsUrl('users')}/metrics`,
      `    orders worker   ${suite.opsUrl('orders')}/readyz  ${suite.opsUrl('orders')}/metrics`,
      `    RabbitMQ        http://127.0.0.1:15672  (warren / warren)`,
      `    try: curl -s -X POST ${api}/v1/users -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@example.com"}'`,
      '    Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

void main();
