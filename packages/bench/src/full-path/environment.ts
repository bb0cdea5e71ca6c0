/**
 * Everything a run stands on, brought up and torn down by the orchestrating
 * process: a RabbitMQ virtual host of its own (so no other suite's workers on
 * this broker take its messages), a local Jaeger, the suite (gateway, users,
 * orders) from @warren/launcher, seeded users, the three floor processes
 * and the load generator.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JAEGER_BINARY, startJaeger, Suite, type RunningJaeger } from '@warren/launcher';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { CleanupStack } from '../core/cleanup';
import type { Progress } from '../core/program';
import { RoleProcess } from '../core/roles';
import type { ChildRole, FullPathConfig } from './config';
import type { FloorHttpSettings, FloorOrdersWorkerSettings, FloorQueues, FloorWorkerSettings } from './floor';
import type { GeneratorSettings } from './generator';
import { benchEmail, runEmailPattern } from './workload';

/** The users worker's defaults (services/users/src/config.ts), given to it and to the floor worker alike. */
export const USERS_PG_POOL_SIZE = 10;
export const USERS_RPC_CONCURRENCY = 32;
/** The orders worker's defaults (the same worker defaults, services/orders/src/config.ts), to it and its floor. */
export const ORDERS_PG_POOL_SIZE = 10;
export const ORDERS_RPC_CONCURRENCY = 32;
/** High enough that the rate limit never sheds benchmark load (it still runs: one Redis call a request). */
const RATE_LIMIT_PER_MINUTE = 100_000_000;
const START_TIMEOUT_MS = 60_000;
const SEED_BATCH = 5000;

export type ProcessName =
  'generator' | 'gateway' | 'users' | 'orders' | 'floorHttp' | 'floorWorker' | 'floorOrdersWorker' | 'jaeger';

export interface BenchEnvironment {
  runId: string;
  vhost: string;
  gatewayUrl: string;
  generator: RoleProcess;
  /** The processes whose CPU time the reports show. */
  pids(): Partial<Record<ProcessName, number>>;
  /** What tracing does in this run, for the report. */
  tracingNote: string;
  /** Versions of RabbitMQ and PostgreSQL, for the report. */
  serversNote: string;
  logPath: string;
  /** A process failing ends the measurement instead of leaving it waiting. */
  failed: Promise<never>;
}

/** Brings everything up, runs `body`, and tears everything down whatever happened. */
export async function withEnvironment<T>(
  config: FullPathConfig,
  scriptPath: string,
  progress: Progress,
  body: (environment: BenchEnvironment) => Promise<T>,
): Promise<T> {
  const cleanups = new CleanupStack(progress);
  const runId = randomBytes(4).toString('hex');
  const vhost = `warren-bench-${runId}`;
  const logPath = join(tmpdir(), `warren-bench-${runId}.log`);
  let succeeded = false;
  try {
    progress(`run ${runId}: RabbitMQ virtual host ${vhost}`);
    await createVhost(config, vhost);
    cleanups.defer(() => management(config, 'DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`));
    const amqpUrl = vhostUrl(config.amqpUrl, vhost);

    const tracing = await startTracing(config, progress);
    if (tracing.jaeger) cleanups.defer(() => tracing.jaeger!.stop());

    const [gatewayPort, usersOpsPort, ordersOpsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const profiling = (service: string): string[] =>
      config.cpuProfileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`, `--cpu-prof-name=${service}-${runId}.cpuprofile`]
        : [];
    const suite = new Suite({
      // Token verification is not measured yet: the floor has no counterpart to it.
      authentication: 'disabled',
      gatewayPort,
      usersOpsPort,
      ordersOpsPort,
      output: { kind: 'direct', path: logPath },
      readyTimeoutMs: START_TIMEOUT_MS,
      environment: {
        NODE_ENV: 'production',
        AMQP_URL: amqpUrl,
        REDIS_URL: config.redisUrl,
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        ...tracing.environment,
        ...config.serviceEnvironment.all,
      },
      serviceEnvironment: {
        gateway: {
          RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
          ...(config.maxInFlight === undefined ? {} : { MAX_IN_FLIGHT_RPC: String(config.maxInFlight) }),
          ...config.serviceEnvironment.gateway,
        },
        users: {
          DATABASE_URL: config.databaseUrl,
          PG_POOL_SIZE: String(USERS_PG_POOL_SIZE),
          RPC_CONCURRENCY: String(USERS_RPC_CONCURRENCY),
          ...config.serviceEnvironment.users,
        },
        orders: {
          DATABASE_URL: config.ordersDatabaseUrl,
          PG_POOL_SIZE: String(ORDERS_PG_POOL_SIZE),
          RPC_CONCURRENCY: String(ORDERS_RPC_CONCURRENCY),
          ...config.serviceEnvironment.orders,
        },
      },
      serviceExecArgv: { gateway: profiling('gateway'), users: profiling('users'), orders: profiling('orders') },
    });
    progress(`starting the suite (service logs: ${logPath})`);
    // Every order of the run is placed for a user seeded for it (workload.ts), through either implementation;
    // they are deleted once the suite has stopped, so no order still being handled escapes.
    let seededUserIds: readonly string[] = [];
    cleanups.defer(() => deleteRunOrders(config, seededUserIds));
    cleanups.defer(() => suite.stop());
    await suite.start();
    cleanups.defer(() => deleteRunUsers(config, runId));

    progress(`seeding ${config.seedUsers} users to read and to place orders for`);
    const seedIds = await seedUsers(config, runId, config.seedUsers);
    seededUserIds = seedIds;
    const serversNote = await describeServers(config);

    const queues: FloorQueues = {
      create: `bench.floorCreate${runId}`,
      get: `bench.floorGet${runId}`,
      order: `bench.floorOrder${runId}`,
    };
    const floorWorker = await startRole(scriptPath, 'floor-worker', cleanups, {
      amqpUrl,
      databaseUrl: config.databaseUrl,
      queues,
      prefetch: USERS_RPC_CONCURRENCY,
      poolSize: USERS_PG_POOL_SIZE,
    } satisfies FloorWorkerSettings);
    const floorOrdersWorker = await startRole(scriptPath, 'floor-orders-worker', cleanups, {
      amqpUrl,
      databaseUrl: config.ordersDatabaseUrl,
      queues,
      prefetch: ORDERS_RPC_CONCURRENCY,
      poolSize: ORDERS_PG_POOL_SIZE,
    } satisfies FloorOrdersWorkerSettings);
    const floorHttp = await startRole<{ port: number }>(scriptPath, 'floor-http', cleanups, {
      amqpUrl,
      queues,
    } satisfies FloorHttpSettings);
    const generator = await startRole(scriptPath, 'generator', cleanups, {
      runId,
      targets: {
        warren: { host: '127.0.0.1', port: gatewayPort },
        floor: { host: '127.0.0.1', port: floorHttp.info.port },
      },
      seedIds,
      maxConcurrency: Math.max(64, ...config.concurrencies),
    } satisfies GeneratorSettings);

    const services = () => ({
      gateway: suite.service('gateway').process.pid ?? -1,
      users: suite.service('users').process.pid ?? -1,
      orders: suite.service('orders').process.pid ?? -1,
    });
    const failed = Promise.race([
      generator.process.failed,
      floorHttp.process.failed,
      floorWorker.process.failed,
      floorOrdersWorker.process.failed,
      serviceExit(suite),
    ]);
    failed.catch(() => undefined);
    const result = await body({
      runId,
      vhost,
      gatewayUrl: suite.gatewayUrl,
      generator: generator.process,
      pids: () => ({
        generator: generator.process.pid,
        ...services(),
        floorHttp: floorHttp.process.pid,
        floorWorker: floorWorker.process.pid,
        floorOrdersWorker: floorOrdersWorker.process.pid,
        ...(tracing.jaeger?.process.pid ? { jaeger: tracing.jaeger.process.pid } : {}),
      }),
      tracingNote: tracing.note,
      serversNote,
      logPath,
      failed,
    });
    succeeded = true;
    return result;
  } finally {
    progress('cleaning up');
    await cleanups.runAll();
    if (existsSync(logPath)) {
      const megabytes = (statSync(logPath).size / 1e6).toFixed(1);
      if (succeeded && !config.keepLogs) rmSync(logPath, { force: true });
      else progress(`service logs kept: ${logPath} (${megabytes} MB)`);
    }
    if (config.cpuProfileDir) {
      progress(`CPU profiles of the gateway, the users and the orders worker: ${config.cpuProfileDir}`);
    }
  }
}

async function startRole<Info = unknown>(
  scriptPath: string,
  role: ChildRole,
  cleanups: CleanupStack,
  settings: unknown,
): Promise<{ process: RoleProcess; info: Info }> {
  const started = await RoleProcess.start<Info>(scriptPath, role, settings, START_TIMEOUT_MS);
  cleanups.defer(() => started.process.stop());
  return started;
}

/** Rejects when a service of the suite exits while the benchmark runs. */
function serviceExit(suite: Suite): Promise<never> {
  return new Promise<never>((_, reject) => {
    for (const name of ['gateway', 'users', 'orders'] as const) {
      suite.service(name).process.once('exit', (code, signal) => {
        reject(new Error(`${name} exited during the run (${signal ?? `code ${code}`})`));
      });
    }
  });
}

interface Tracing {
  environment: Record<string, string>;
  jaeger: RunningJaeger | undefined;
  note: string;
}

async function startTracing(config: FullPathConfig, progress: Progress): Promise<Tracing> {
  const none: Tracing = {
    environment: { OTEL_TRACES_EXPORTER: 'none' },
    jaeger: undefined,
    note: 'spans created at the default sampler (parentbased_always_on), exported nowhere (OTEL_TRACES_EXPORTER=none)',
  };
  if (config.traces === 'none') return none;
  if (!existsSync(JAEGER_BINARY)) {
    progress(`no Jaeger at ${JAEGER_BINARY} (scripts/tools.sh jaeger builds it): spans are not exported`);
    return none;
  }
  const [otlpHttpPort, queryPort] = await Promise.all([freePort(), freePort()]);
  progress('starting Jaeger v2 (in memory) to export spans to');
  const jaeger = await startJaeger({ otlpHttpPort, queryPort });
  return {
    environment: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint },
    jaeger,
    note:
      'every request traced (default sampler parentbased_always_on) and exported over OTLP/HTTP to a local ' +
      'Jaeger v2 (in-memory storage), whose CPU is shown apart',
  };
}

/** A port free on loopback right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function vhostUrl(amqpUrl: string, vhost: string): string {
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

/** A call to RabbitMQ's management API with the AMQP URL's credentials. */
async function management(config: FullPathConfig, method: string, path: string, body?: unknown): Promise<void> {
  const amqp = new URL(config.amqpUrl);
  const credentials = `${decodeURIComponent(amqp.username)}:${decodeURIComponent(amqp.password)}`;
  const response = await fetch(new URL(path, config.managementUrl), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok)
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
}

async function createVhost(config: FullPathConfig, vhost: string): Promise<void> {
  const name = encodeURIComponent(vhost);
  const user = encodeURIComponent(decodeURIComponent(new URL(config.amqpUrl).username));
  await management(config, 'PUT', `/api/vhosts/${name}`, { description: 'warren full-path benchmark run' });
  await management(config, 'PUT', `/api/permissions/${name}/${user}`, { configure: '.*', write: '.*', read: '.*' });
}

async function describeServers(config: FullPathConfig): Promise<string> {
  const amqp = new URL(config.amqpUrl);
  const credentials = `${decodeURIComponent(amqp.username)}:${decodeURIComponent(amqp.password)}`;
  let rabbit = 'unknown';
  try {
    const response = await fetch(new URL('/api/overview', config.managementUrl), {
      headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      signal: AbortSignal.timeout(10_000),
    });
    rabbit = ((await response.json()) as { rabbitmq_version?: string }).rabbitmq_version ?? rabbit;
  } catch {
    // the version is only for the report
  }
  const client = new Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return `RabbitMQ ${rabbit} (quorum queues), PostgreSQL ${rows[0]?.server_version ?? 'unknown'}, all on this machine`;
  } finally {
    await client.end();
  }
}

/** Inserts `count` users directly (not through either implementation) and returns their ids. */
async function seedUsers(config: FullPathConfig, runId: string, count: number): Promise<string[]> {
  const client = new Client({ connectionString: config.databaseUrl });
  await client.connect();
  const ids: string[] = [];
  try {
    for (let start = 0; start < count; start += SEED_BATCH) {
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - start) }, () => uuidv7());
      await client.query(
        'INSERT INTO users (id, name, email) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])',
        [batch, batch.map(() => 'Seeded User'), batch.map((_, index) => benchEmail('s', start + index, runId))],
      );
      ids.push(...batch);
    }
    // Fresh statistics, as a table that has been in use would have.
    await client.query('ANALYZE users');
  } finally {
    await client.end();
  }
  return ids;
}

/** Deletes every user the run created: seeded, through the floor or through the gateway. */
async function deleteRunUsers(config: FullPathConfig, runId: string): Promise<void> {
  const client = new Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM users WHERE email LIKE $1', [runEmailPattern(runId)]);
  } finally {
    await client.end();
  }
}

/** Deletes every order the run placed: all of them are for users seeded for the run (`userIds`). */
async function deleteRunOrders(config: FullPathConfig, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const client = new Client({ connectionString: config.ordersDatabaseUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM orders WHERE user_id = ANY($1::uuid[])', [userIds]);
  } finally {
    await client.end();
  }
}
