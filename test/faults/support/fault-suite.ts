import { Suite, type RunningService, type ServiceName } from '@warren/launcher';
import { Client } from 'pg';
import type { AuditResult } from './audit';
import { succeeded, type LoadSummary, type RequestRecord } from './load-driver';
import { freePort, type PrivateServices } from './private-services';

/** The gateway's RPC deadline in the fault tests: a call nobody answers becomes a 504 after this. */
export const GATEWAY_RPC_TIMEOUT_MS = 3000;
/**
 * Every insert into users and orders is slowed down by this much (a trigger), so that whenever a fault strikes,
 * some requests are in the middle of their transaction: a kill, a restart or a drain always has work in flight.
 */
export const INSERT_DELAY_MS = 100;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The three services, built (`npx tsc -b`), against the private servers; their logs go to `logPath`. */
export async function startFaultSuite(services: PrivateServices, logPath: string): Promise<Suite> {
  const suite = new Suite({
    // What fails here is the broker, the database, Redis and the processes, not who is calling.
    authentication: 'disabled',
    gatewayPort: await freePort(),
    usersOpsPort: await freePort(),
    ordersOpsPort: await freePort(),
    environment: {
      AMQP_URL: services.rabbitmq.amqpUrl,
      REDIS_URL: services.redis.url,
      MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'info',
      OTEL_TRACES_EXPORTER: 'none',
      // The driver is one client address; the rate limit is not what is under test.
      RATE_LIMIT_PER_MINUTE: '1000000',
    },
    serviceEnvironment: {
      gateway: { RPC_TIMEOUT_MS: String(GATEWAY_RPC_TIMEOUT_MS) },
      users: { DATABASE_URL: services.postgres.urlFor('warren_users') },
      orders: { DATABASE_URL: services.postgres.urlFor('warren_orders') },
    },
    // Straight into the file, as into a container runtime's log pipe: none of it passes through this process,
    // which also runs the load driver whose timings the tests check.
    output: { kind: 'direct', path: logPath },
  });
  try {
    await suite.start();
    // The workers have migrated their databases by now.
    await delayInserts(services.postgres.urlFor('warren_users'), 'users', INSERT_DELAY_MS);
    await delayInserts(services.postgres.urlFor('warren_orders'), 'orders', INSERT_DELAY_MS);
  } catch (error) {
    await suite.stop();
    throw error;
  }
  return suite;
}

/** (Re)creates a trigger that makes every insert into `table` take `ms` milliseconds longer (0: none). */
async function delayInserts(databaseUrl: string, table: 'users' | 'orders', ms: number): Promise<void> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP TRIGGER IF EXISTS faults_delay_insert ON ${table}`);
    if (ms <= 0) return;
    await client.query(`CREATE OR REPLACE FUNCTION faults_delay_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(${ms / 1000}); RETURN NEW; END $$`);
    await client.query(
      `CREATE TRIGGER faults_delay_insert BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION faults_delay_insert()`,
    );
  } finally {
    await client.end();
  }
}

/** True when `/readyz` answers 200 right now. */
export async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2500) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls every `/readyz` until all are green; resolves with the milliseconds it took, throws after `timeoutMs`. */
export async function waitUntilAllReady(baseUrls: string[], timeoutMs = 30_000): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    const ready = await Promise.all(baseUrls.map(isReady));
    if (ready.every(Boolean)) return Date.now() - startedAt;
    await sleep(100);
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${baseUrls.join(', ')}`);
}

/** Polls until some `/readyz` goes red (the fault was noticed); resolves with the milliseconds it took, or null. */
export async function waitUntilNotReady(baseUrls: string[], timeoutMs = 15_000): Promise<number | null> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    const ready = await Promise.all(baseUrls.map(isReady));
    if (!ready.every(Boolean)) return Date.now() - startedAt;
    await sleep(100);
  }
  return null;
}

/**
 * Waits until a service has RPC work in flight on `route` (its `rpc_server_in_flight` gauge, or the caller's
 * `rpc_client_in_flight`, above 0), so that a fault injected right after catches some. Resolves with what it saw.
 */
export async function waitForWorkInFlight(
  opsUrl: string,
  metric: 'rpc_server_in_flight' | 'rpc_client_in_flight',
  route: string,
  timeoutMs = 10_000,
): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    const text = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(2000) })
      .then((response) => response.text())
      .catch(() => '');
    let inFlight = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${metric}{`) && line.includes(`route="${route}"`))
        inFlight += Number(line.split(' ').at(-1));
    }
    if (inFlight > 0) return inFlight;
    await sleep(5);
  }
  throw new Error(`${opsUrl} had no ${metric} within ${timeoutMs} ms`);
}

export const opsUrls = (suite: Suite, names: ServiceName[] = ['gateway', 'users', 'orders']) =>
  names.map((name) => suite.opsUrl(name));

/** Process ids of the running services, to show that none was restarted. */
export function pids(suite: Suite): Record<ServiceName, number | undefined> {
  const pid = (service: RunningService) => (service.process.exitCode === null ? service.process.pid : undefined);
  return {
    gateway: pid(suite.service('gateway')),
    users: pid(suite.service('users')),
    orders: pid(suite.service('orders')),
  };
}

/** One row of the summary printed after each scenario (and all of them at the end). */
export interface ScenarioFigures {
  scenario: string;
  load: LoadSummary;
  audit: AuditResult;
  /** The fault struck → the party was started again. */
  outageMs?: number | undefined;
  /** The party was started again → every /readyz green (for Redis: the gateway uses it again). */
  recoveryMs?: number | undefined;
  /** The party was started again → the end of the first attempt answered with success after it (`firstSuccessAfter`). */
  firstSuccessMs?: number | undefined;
}

/**
 * Milliseconds from `at` (driver.now()) to the end of the first attempt that was answered with success and ended after it;
 * undefined when none did. With the driver's steady stream of requests and retries, this is how long after `at`
 * calls succeed again, to within the spacing of the attempts (about 25 ms).
 */
export function firstSuccessAfter(records: RequestRecord[], at: number): number | undefined {
  let first = Infinity;
  for (const record of records) {
    for (const attempt of record.attempts) {
      const end = attempt.at + attempt.ms;
      if (succeeded(attempt) && end >= at && end < first) first = end;
    }
  }
  return first === Infinity ? undefined : Math.round(first - at);
}

const COLUMNS: [string, (figures: ScenarioFigures) => string | number][] = [
  ['scenario', (f) => f.scenario],
  ['requests', (f) => f.load.requests],
  ['ok', (f) => f.load.succeeded],
  ['PATCH/cancel ok', (f) => f.load.changes],
  ['failed', (f) => f.load.failed],
  ['attempts', (f) => f.load.attempts],
  ['retried', (f) => f.load.retried],
  ['503', (f) => f.load.status503],
  ['504', (f) => f.load.status504],
  ['409', (f) => f.load.status409],
  ['conn err', (f) => f.load.connectionErrors],
  ['timeout', (f) => f.load.timeouts],
  ['other', (f) => f.load.otherStatuses],
  ['p50 ms', (f) => f.load.p50Ms],
  ['p99 ms', (f) => f.load.p99Ms],
  ['max ms', (f) => f.load.maxMs],
  ['max 503/504 ms', (f) => f.load.maxFailureMs],
  ['max total ms', (f) => f.load.maxTotalMs],
  ['down ms', (f) => (f.outageMs === undefined ? '-' : Math.round(f.outageMs))],
  ['recovery ms', (f) => f.recoveryMs ?? '-'],
  ['1st ok ms', (f) => f.firstSuccessMs ?? '-'],
  ['rows', (f) => f.audit.rows],
  ['dup', (f) => f.audit.duplicated.length],
  ['missing', (f) => f.audit.missing.length],
  ['unkeyed', (f) => f.audit.unkeyed.length],
  ['written w/o 201', (f) => f.audit.writtenWithout201],
  ['deduped', (f) => f.audit.deduplicated],
];

/** A Markdown table: the same text reads in the jest output and pastes into RELIABILITY.md. */
export function summaryTable(rows: ScenarioFigures[]): string {
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, value]) => String(value(row))))];
  const widths = COLUMNS.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  const format = (line: string[]) => `| ${line.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const separator = `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`;
  return [format(cells[0]!), separator, ...cells.slice(1).map(format)].join('\n');
}
