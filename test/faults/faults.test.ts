import { randomUUID } from 'node:crypto';
import type { RunningService, Suite } from '@warren/launcher';
import { Client } from 'pg';
import { DEFAULT_IN_FLIGHT_MARGIN_MS } from '../../services/gateway/src/middleware/idempotency';
import { auditDatabases } from './support/audit';
import { expectExactlyOnce } from './support/expectations';
import {
  firstSuccessAfter,
  GATEWAY_RPC_TIMEOUT_MS,
  opsUrls,
  pids,
  sleep,
  startFaultSuite,
  summaryTable,
  waitUntilAllReady,
  waitForWorkInFlight,
  waitUntilNotReady,
  type ScenarioFigures,
} from './support/fault-suite';
import { LoadDriver, succeeded, summarize, type RequestRecord } from './support/load-driver';
import {
  freePort,
  MEMORY_ALARM_WATERMARK,
  NORMAL_WATERMARK,
  startPrivateServices,
  type PrivateServices,
} from './support/private-services';

/**
 * "Proved under faults": while a client keeps creating users and orders (each with its own Idempotency-Key, retried
 * with the same key on 503/504/connection errors), one dependency or service at a time is stopped, killed or
 * restarted. Afterwards every request that got a 201 has exactly one row, no request has two, the services
 * recovered on their own, and the outage was answered quickly (503/504) instead of hanging.
 *
 * The scenarios run one after the other in this one file (they share private RabbitMQ, PostgreSQL and Redis
 * servers, started here on free ports, and the machine's two cores): nothing here touches the shared servers of
 * scripts/services.sh. Each prints a summary row; all rows are printed again at the end.
 * Needs `npx tsc -b` first (the services run from dist/).
 */

jest.setTimeout(150_000);

const LOG_PATH = `/tmp/warren-faults-${process.pid}.log`;
/** Traffic before the fault, and after recovery. */
const WARM_UP_MS = 3000;
const AFTER_RECOVERY_MS = 3000;
/** A request started this long after every /readyz is green again must succeed at its first attempt. */
const SETTLE_MS = 1500;

let services: PrivateServices;
const figures: ScenarioFigures[] = [];

beforeAll(async () => {
  // Set by test/on-rabbitmq4.ts (project faults-on-rabbitmq4): the broker is a container of that image.
  const rabbitmqImage = process.env.WARREN_FAULTS_RABBITMQ_IMAGE;
  services = await startPrivateServices(rabbitmqImage);
  console.log(
    `private servers: RabbitMQ ${rabbitmqImage ?? 'local node'} ${services.rabbitmq.nodeName} amqp :${services.rabbitmq.amqpPort}, ` +
      `PostgreSQL :${services.postgres.port}, Redis :${services.redis.port}; service logs in ${LOG_PATH}`,
  );
}, 180_000);

afterAll(async () => {
  if (figures.length > 0) console.log(`fault tests, all scenarios:\n${summaryTable(figures)}`);
  await services?.destroy();
}, 120_000);

/** driver.now() when the fault struck and when the party was back (started again), and back → all ready. */
interface Measured {
  downAt: number;
  backAt: number;
  recoveryMs: number;
}

interface ScenarioRun {
  driver: LoadDriver;
  records: RequestRecord[];
  figures: ScenarioFigures;
  /** driver.now() when the service or dependency was back, and when every /readyz was green again. */
  backAt?: number | undefined;
  readyAt?: number | undefined;
}

/**
 * Runs the load driver against `gateways`, injects the fault after a warm-up, lets traffic run on after it, then
 * stops the driver, audits both databases and prints the scenario's row. `fault` resolves with its measurements,
 * if it takes them.
 */
async function runScenario(
  scenario: string,
  gateways: string[],
  fault: (driver: LoadDriver) => Promise<Measured | void>,
): Promise<ScenarioRun> {
  const driver = new LoadDriver({ gateways, maxDurationMs: 90_000 }).start();
  let measured: Measured | void;
  try {
    await sleep(WARM_UP_MS);
    measured = await fault(driver);
    await sleep(AFTER_RECOVERY_MS);
  } finally {
    await driver.stop();
  }
  const records = driver.records;
  const row: ScenarioFigures = {
    scenario,
    load: summarize(records),
    audit: await auditDatabases(services.postgres, driver.runId, records),
    outageMs: measured ? measured.backAt - measured.downAt : undefined,
    recoveryMs: measured?.recoveryMs,
    firstSuccessMs: measured ? firstSuccessAfter(records, measured.backAt) : undefined,
  };
  figures.push(row);
  console.log(`${scenario}:\n${summaryTable([row])}`);
  const backAt = measured?.backAt;
  return {
    driver,
    records,
    figures: row,
    backAt,
    readyAt: backAt === undefined || measured?.recoveryMs === undefined ? undefined : backAt + measured.recoveryMs,
  };
}

/** Requests started well after recovery succeed at their first attempt: nothing is left broken. */
function expectHealthyAfter(run: ScenarioRun): void {
  expect(run.readyAt).toBeDefined();
  const late = run.records.filter((record) => record.attempts[0]!.at >= run.readyAt! + SETTLE_MS);
  expect(late.length).toBeGreaterThan(20);
  expect(
    late.filter((record) => record.attempts.length > 1 || !succeeded(record.attempts.at(-1)!)).map((r) => r.key),
  ).toEqual([]);
}

/**
 * The outage was answered with 503/504s rather than hanging: none later than the gateway's RPC deadline plus some
 * slack for a busy shared machine (a hang would end at the driver's own 10 s limit, as a `timeout`, which must be 0).
 */
function expectPromptRefusals({ figures: { load } }: ScenarioRun): void {
  expect(load.status503 + load.status504).toBeGreaterThan(0);
  expect(load.maxFailureMs).toBeLessThan(GATEWAY_RPC_TIMEOUT_MS + 3000);
}

async function withSuite<T>(body: (suite: Suite) => Promise<T>): Promise<T> {
  const suite = await startFaultSuite(services, LOG_PATH);
  try {
    return await body(suite);
  } finally {
    await suite.stop();
  }
}

describe('exactly-once writes under faults (private RabbitMQ, PostgreSQL and Redis)', () => {
  it('1. RabbitMQ stops and starts again mid-stream: quick 503s, recovery without a restart, no duplicate', () =>
    withSuite(async (suite) => {
      const before = pids(suite);
      const run = await runScenario('1 RabbitMQ restart', [suite.gatewayUrl], async (driver) => {
        await waitForWorkInFlight(suite.opsUrl('users'), 'rpc_server_in_flight', 'users.create');
        const downAt = driver.now();
        await services.rabbitmq.stop();
        await services.rabbitmq.start();
        const backAt = driver.now();
        return { downAt, backAt, recoveryMs: await waitUntilAllReady(opsUrls(suite), 60_000) };
      });
      // backAt is when the broker first answered an AMQP handshake again (polled every 50 ms). A figure, not a bound.
      console.log(
        `RabbitMQ accepting connections again → first success: ${run.figures.firstSuccessMs ?? '-'} ms, ` +
          `→ every /readyz green: ${run.figures.recoveryMs ?? '-'} ms (target: calls succeed within 1000 ms)`,
      );
      expect(run.figures.firstSuccessMs).toBeDefined();
      expectExactlyOnce(run.figures);
      expectPromptRefusals(run);
      expectHealthyAfter(run);
      expect(pids(suite)).toEqual(before);
    }));

  it('1b. RabbitMQ raises a memory alarm mid-stream: blocked publishers answer 503 at once, not 504s; no duplicate', () =>
    withSuite(async (suite) => {
      const before = pids(suite);
      const run = await runScenario('1b RabbitMQ memory alarm', [suite.gatewayUrl], async (driver) => {
        await waitForWorkInFlight(suite.gatewayUrl, 'rpc_client_in_flight', 'users.create');
        const downAt = driver.now();
        await services.rabbitmq.setMemoryHighWatermark(MEMORY_ALARM_WATERMARK);
        await sleep(3000);
        await services.rabbitmq.setMemoryHighWatermark(NORMAL_WATERMARK);
        const backAt = driver.now();
        return { downAt, backAt, recoveryMs: await waitUntilAllReady(opsUrls(suite), 30_000) };
      });
      expectExactlyOnce(run.figures);
      expectPromptRefusals(run);
      expectHealthyAfter(run);
      // Once the broker has blocked its connection, the gateway refuses at once (503, retried by the client); only
      // the calls published as the alarm struck wait for their deadline (504). Without that, every call during the
      // alarm would be a 504 after the full RPC deadline.
      const { status503, status504 } = run.figures.load;
      console.log(`memory alarm: ${status503} x 503 at once, ${status504} x 504 at the deadline`);
      expect(status503).toBeGreaterThan(2 * status504);
      expect(pids(suite)).toEqual(before);
    }));

  describe('2. a users worker is killed with SIGKILL mid-stream', () => {
    let suite: Suite;
    let replica: RunningService | undefined;
    beforeAll(async () => {
      suite = await startFaultSuite(services, LOG_PATH);
    }, 120_000);
    afterAll(async () => {
      await suite?.stop();
    }, 120_000);

    it('(a) with a second replica running: its in-flight messages are redelivered to the replica and answered', async () => {
      replica = await suite.startReplica('users', await freePort());
      const redeliveredBefore = await redeliveries('users.create');
      // While the test holds a lock that INSERTs wait for, work the worker has in flight stays in flight: the kill
      // cannot miss it (a scrape of /metrics takes long enough, on a busy machine, for a 100 ms insert to finish).
      const locker = new Client({ connectionString: services.postgres.urlFor('warren_users') });
      await locker.connect();
      const run = await runScenario('2a kill -9 users, replica up', [suite.gatewayUrl], async () => {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
        try {
          await waitForWorkInFlight(suite.opsUrl('users'), 'rpc_server_in_flight', 'users.create');
          expect(await suite.kill('users', 'SIGKILL')).toBe('SIGKILL');
        } finally {
          await locker.query('COMMIT');
        }
        await sleep(3000);
      }).finally(() => locker.end());
      // The broker's queue statistics are sampled (every second on the private node), so they are polled.
      let redelivered = 0;
      for (const until = Date.now() + 15_000; Date.now() < until; await sleep(250)) {
        redelivered = (await redeliveries('users.create')) - redeliveredBefore;
        if (redelivered > 0) break;
      }
      console.log(`users.create messages redelivered after the kill: ${redelivered}`);
      expectExactlyOnce(run.figures);
      expect(redelivered).toBeGreaterThan(0);
      // The replica answered every caller: nothing waited for a deadline.
      expect(run.figures.load.status504).toBe(0);
    });

    it('(b) with no replica left: clean 503/504 until a replacement starts, then no duplicate', async () => {
      const run = await runScenario('2b kill -9 users, none left', [suite.gatewayUrl], async (driver) => {
        expect(replica).toBeDefined();
        await waitForWorkInFlight(replica!.opsUrl, 'rpc_server_in_flight', 'users.create');
        const downAt = driver.now();
        expect(await suite.kill(replica!, 'SIGKILL')).toBe('SIGKILL');
        await sleep(4000);
        await suite.restart('users');
        const backAt = driver.now();
        return { downAt, backAt, recoveryMs: await waitUntilAllReady(opsUrls(suite), 30_000) };
      });
      expectExactlyOnce(run.figures);
      expectPromptRefusals(run);
      expectHealthyAfter(run);
    });
  });

  it('3. PostgreSQL stops and starts again mid-stream: workers stay up (same pid), readyz recovers, no duplicate', () =>
    withSuite(async (suite) => {
      const before = pids(suite);
      const run = await runScenario('3 PostgreSQL restart', [suite.gatewayUrl], async (driver) => {
        await waitForWorkInFlight(suite.opsUrl('users'), 'rpc_server_in_flight', 'users.create');
        const downAt = driver.now();
        await services.postgres.stop();
        const noticedMs = await waitUntilNotReady(opsUrls(suite, ['users', 'orders']), 10_000);
        expect(noticedMs).not.toBeNull();
        await sleep(3000);
        await services.postgres.start();
        const backAt = driver.now();
        return { downAt, backAt, recoveryMs: await waitUntilAllReady(opsUrls(suite), 30_000) };
      });
      expectExactlyOnce(run.figures);
      expectPromptRefusals(run);
      expectHealthyAfter(run);
      expect(pids(suite)).toEqual(before);
    }));

  it('4. Redis stops and starts again mid-stream: keyed requests get 503 meanwhile, none duplicated', () =>
    withSuite(async (suite) => {
      const before = pids(suite);
      const run = await runScenario('4 Redis restart', [suite.gatewayUrl], async (driver) => {
        await waitForWorkInFlight(suite.gatewayUrl, 'rpc_client_in_flight', 'users.create');
        const downAt = driver.now();
        await services.redis.stop();
        await sleep(3000);
        await services.redis.start();
        const backAt = driver.now();
        return { downAt, backAt, recoveryMs: await waitUntilRedisIsUsedAgain(suite.gatewayUrl) };
      });
      expectExactlyOnce(run.figures);
      expectPromptRefusals(run);
      expectHealthyAfter(run);
      expect(pids(suite)).toEqual(before);
    }));

  it('5. rolling restart of gateway, users and orders (replacement first, then SIGTERM): zero failed requests', () =>
    withSuite(async (suite) => {
      const exits: Record<string, number | string | null> = {};
      const run = await runScenario('5 rolling restart', [suite.gatewayUrl], async (driver) => {
        // The gateway: a second one joins the rotation, the first drains while still in it, then leaves it.
        const gateway = await suite.startReplica('gateway', await freePort());
        driver.setGateways([suite.gatewayUrl, gateway.opsUrl]);
        await sleep(1000);
        await waitForWorkInFlight(suite.gatewayUrl, 'rpc_client_in_flight', 'users.create');
        exits.gateway = await suite.kill('gateway', 'SIGTERM');
        driver.setGateways([gateway.opsUrl]);
        for (const worker of ['users', 'orders'] as const) {
          await suite.startReplica(worker, await freePort());
          await sleep(1000);
          await waitForWorkInFlight(suite.opsUrl(worker), 'rpc_server_in_flight', `${worker}.create`);
          exits[worker] = await suite.kill(worker, 'SIGTERM');
        }
      });
      console.log(`rolling restart exit codes: ${JSON.stringify(exits)}`);
      expect(exits).toEqual({ gateway: 0, users: 0, orders: 0 });
      expectExactlyOnce(run.figures);
      // Graceful drain: no request was refused or timed out on the way; only connections to a closed port are retried.
      expect(run.figures.load.status503).toBe(0);
      expect(run.figures.load.status504).toBe(0);
      // A 409 "in progress" would mean a request lost in flight by a gateway that went away.
      expect(run.figures.load.status409).toBe(0);
    }));

  it("6. the gateway is killed with SIGKILL mid-request: the client's retry gets the original user once the in-flight marker lapses", () =>
    withSuite(async (suite) => {
      const key = `${randomUUID()}-gateway-kill`;
      const email = `${key}@faults.example`;
      const send = () =>
        fetch(`${suite.gatewayUrl}/v1/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ name: 'Gateway kill', email }),
          signal: AbortSignal.timeout(10_000),
        });
      const first = send().then(
        (response) => response.status,
        () => 'connection_error' as const,
      );
      // The worker is handling it (and will commit it, with nobody left to answer).
      await waitForWorkInFlight(suite.opsUrl('users'), 'rpc_server_in_flight', 'users.create');
      const handledBy = Date.now();
      expect(await suite.kill('gateway', 'SIGKILL')).toBe('SIGKILL');
      const killedAt = Date.now();
      expect(await first).toBe('connection_error');
      await suite.restart('gateway');
      // The gateway took the request's deadline and claimed the marker until deadline + margin before it called the
      // worker, so before `handledBy`: the marker lapses by this instant at the latest. (Not from when the test sent
      // it: a freshly started gateway on a busy machine may take a few hundred ms to accept its first request.)
      const markerGoneBy = handledBy + GATEWAY_RPC_TIMEOUT_MS + DEFAULT_IN_FLIGHT_MARGIN_MS;

      const retries: { status: number; startedAt: number }[] = [];
      let created: { id: string } | undefined;
      for (const until = Date.now() + 30_000; created === undefined && Date.now() < until; await sleep(100)) {
        const startedAt = Date.now();
        const response = await send();
        retries.push({ status: response.status, startedAt });
        if (response.status === 201) created = (await response.json()) as { id: string };
        else await response.body?.cancel();
      }
      const statuses = retries.map((retry) => retry.status);
      console.log(
        `gateway kill -9: ${retries.length} retries (${statuses.filter((s) => s === 409).length} x 409 in progress, ` +
          `${statuses.filter((s) => s === 503).length} x 503), 201 ${Date.now() - killedAt} ms after the kill; ` +
          `in-flight marker bound ${markerGoneBy - killedAt} ms after the kill (was 15 s)`,
      );
      expect(created).toBeDefined();
      // Every answer was "in progress" or "not ready yet" until the 201, and none came after the marker's bound.
      expect(statuses.filter((status) => ![201, 409, 503].includes(status))).toEqual([]);
      expect(retries.filter((retry) => retry.status === 409 && retry.startedAt > markerGoneBy)).toEqual([]);
      // The original result: one row, made by the killed gateway's request (its key recorded before the retry that
      // got the 201 was even sent).
      const users = new Client({ connectionString: services.postgres.urlFor('warren_users') });
      await users.connect();
      try {
        const { rows } = await users.query<{ id: string; recorded_ms: number }>(
          `SELECT u.id, (extract(epoch FROM pc.created_at) * 1000)::float8 AS recorded_ms
             FROM users u JOIN processed_commands pc ON pc.entity_id = u.id AND pc.key = $2
            WHERE u.email = $1`,
          [email, key],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]!.id).toBe(created!.id);
        expect(rows[0]!.recorded_ms).toBeLessThan(retries.at(-1)!.startedAt);
      } finally {
        await users.end();
      }
    }));
});

/** How many times the broker has redelivered messages of a queue (management API). */
async function redeliveries(queue: string): Promise<number> {
  const stats = await services.rabbitmq.queueStats(queue);
  return stats?.redelivered ?? 0;
}

/** Polls the gateway's /readyz until it reports Redis up again; resolves with the milliseconds it took. */
async function waitUntilRedisIsUsedAgain(gatewayUrl: string, timeoutMs = 30_000): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    try {
      const response = await fetch(`${gatewayUrl}/readyz`, { signal: AbortSignal.timeout(2500) });
      const body = (await response.json()) as { redis?: string };
      if (response.ok && body.redis === 'up') return Date.now() - startedAt;
    } catch {
      // not answering: keep polling
    }
    await sleep(100);
  }
  throw new Error(`the gateway did not see Redis again within ${timeoutMs} ms`);
}
