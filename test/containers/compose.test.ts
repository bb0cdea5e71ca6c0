/**
 * docker-compose.yml for real: the images scripts/images.sh built from the services' Dockerfiles (and, where no
 * registry answers, the stand-ins of scripts/standins), `up --wait` until every healthcheck is green, the API
 * end-to-end scenarios against the compose gateway, one trace of POST /v1/orders in the compose Jaeger, the
 * services scraped by the compose Prometheus, and a users container killed with SIGKILL mid-traffic, then `down -v`.
 * Grafana stays out (its compose profile): it is AGPL, and no source this project may use offers it.
 */
import { routeQueueDeclaration, routeQueuePolicy } from '@warren/rpc';
import { describeApiEndToEnd, type ApiTarget } from '../e2e/support/api-scenarios';
import { traceOneOrder } from '../e2e/support/order-trace';
import { poll } from '../e2e/support/poll';
import { auditDatabases } from '../faults/support/audit';
import { expectExactlyOnce } from '../faults/support/expectations';
import { summaryTable } from '../faults/support/fault-suite';
import { LoadDriver, summarize } from '../faults/support/load-driver';
import { ComposeStack, containerEngineProblem } from './support/compose-stack';

jest.setTimeout(120_000);

const UP_TIMEOUT_SECONDS = 240;
/** The services built from this repository's Dockerfiles, with the port each serves /readyz and /metrics on. */
const WARREN_SERVICES = { gateway: 8080, users: 9101, orders: 9102 } as const;
/** Services that run once, before the others start, and exit. */
const ONE_SHOT_SERVICES = ['rabbitmq-policy'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => process.stdout.write(`[containers] ${text}\n`);

const problem = containerEngineProblem();
// .ci/run sets WARREN_REQUIRE_CONTAINERS: on the project's own machines the engine must run, never be skipped.
const required = process.env.WARREN_REQUIRE_CONTAINERS === 'true';

if (problem !== undefined && !required) {
  describe('the compose stack', () => {
    say(`SKIPPED: no container engine answers (${problem}); scripts/container-engine.sh up starts one`);
    it.skip(`skipped: no container engine (${problem})`, () => undefined);
  });
} else {
  describe('the compose stack, built from the Dockerfiles and run with Docker Compose', () => {
    const stack = new ComposeStack();
    let target: ApiTarget;
    let gatewayUrl: string;

    beforeAll(
      async () => {
        if (problem !== undefined)
          throw new Error(`no container engine, and WARREN_REQUIRE_CONTAINERS=true: ${problem}`);
        await stack.down(); // a run that was interrupted leaves its project behind
        const started = performance.now();
        try {
          await stack.up(UP_TIMEOUT_SECONDS);
        } catch (error) {
          const { stdout } = await stack.compose(['ps', '--all']);
          throw new Error(`compose up --wait failed: ${(error as Error).message}\n${stdout}`);
        }
        say(
          `compose up --wait: every service running and healthy in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        gatewayUrl = await stack.url('gateway', WARREN_SERVICES.gateway);
        const opsUrls = {
          users: await stack.url('users', WARREN_SERVICES.users),
          orders: await stack.url('orders', WARREN_SERVICES.orders),
        };
        target = { baseUrl: gatewayUrl, opsUrl: (worker) => opsUrls[worker] };
      },
      (UP_TIMEOUT_SECONDS + 120) * 1000,
    );

    afterAll(async () => {
      const started = performance.now();
      await stack.down();
      stack.dispose();
      say(`compose down -v in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }, 150_000);

    it('starts every service but Grafana, which its profile keeps out; each healthcheck turns healthy', async () => {
      const services = await stack.services();
      expect(services).not.toContain('grafana');
      expect(services).toEqual(
        expect.arrayContaining(['rabbitmq', 'postgres', 'redis', 'users', 'orders', 'gateway', 'jaeger', 'prometheus']),
      );
      say('grafana: left out of this run by its compose profile "grafana" (AGPL: no allowed source here)');
      for (const service of services) {
        const state = await stack.state(service);
        if (ONE_SHOT_SERVICES.includes(service)) {
          expect({ service, status: state.status, exitCode: state.exitCode }).toEqual({
            service,
            status: 'exited',
            exitCode: 0,
          });
          continue;
        }
        expect({ service, status: state.status }).toEqual({ service, status: 'running' });
        if (state.health !== undefined)
          expect({ service, health: state.health }).toEqual({ service, health: 'healthy' });
      }
      // The backing services and Warren's own have healthchecks (Jaeger and Prometheus have none in the file).
      for (const service of ['rabbitmq', 'postgres', 'redis', ...Object.keys(WARREN_SERVICES)]) {
        expect({ service, health: (await stack.state(service)).health }).toEqual({ service, health: 'healthy' });
      }
    });

    it("runs Warren's services as uid 1000, read-only, with their Dockerfiles' CMD", async () => {
      for (const service of Object.keys(WARREN_SERVICES)) {
        const state = await stack.state(service);
        expect({ service, user: state.user, readOnly: state.readOnlyRootFilesystem }).toEqual({
          service,
          user: '1000:1000',
          readOnly: true,
        });
        expect((await stack.exec(service, ['id', '-u'])).trim()).toBe('1000');
        // Production dependencies only: `exec` fails if a dev-only package is in the image.
        await stack.exec(service, [
          'sh',
          '-c',
          'test ! -e /app/node_modules/typescript && test ! -e /app/node_modules/jest',
        ]);
        const command = await stack.exec(service, ['cat', '/proc/1/cmdline']);
        expect(command.split('\0').filter(Boolean)).toEqual(['node', 'dist/main.js']);
      }
    });

    it("gives the workers' route queues their dead-lettering and delivery limit from the broker policy", async () => {
      const management = await stack.url('rabbitmq', 15672);
      for (const queue of ['users.create', 'orders.create']) {
        const response = await fetch(`${management}/api/queues/%2F/${queue}`, {
          headers: { authorization: `Basic ${Buffer.from('warren:warren').toString('base64')}` },
        });
        expect(response.status).toBe(200);
        const status = (await response.json()) as { arguments: object; effective_policy_definition?: object };
        expect({ queue, arguments: status.arguments, policy: status.effective_policy_definition }).toEqual({
          queue,
          arguments: routeQueueDeclaration().queueArguments,
          policy: routeQueuePolicy().definition,
        });
      }
    });

    it('ships the dead-letter command in both worker images: node dist/dlq.js lists a route against the stack', async () => {
      for (const [service, route] of [
        ['users', 'users.create'],
        ['orders', 'orders.create'],
      ] as const) {
        const output = await stack.exec(service, ['node', 'dist/dlq.js', 'list', route]);
        expect(output).toMatch(new RegExp(`^${route.replace('.', '\\.')}\\.dead-letter: \\d+ messages?`, 'm'));
      }
    });

    describeApiEndToEnd(() => target);

    it('traces POST /v1/orders through gateway, orders and users into the compose Jaeger', async () => {
      const trace = await traceOneOrder(gatewayUrl, await stack.url('jaeger', 16686), 45_000);
      say(`trace ${trace.traceId}: ${trace.spans.length} spans from ${trace.services.join(', ')}`);
    });

    it('has the compose Prometheus scrape the gateway, both workers and RabbitMQ', async () => {
      const prometheus = await stack.url('prometheus', 9090);
      const jobs = ['warren-gateway', 'warren-users', 'warren-orders', 'warren-rabbitmq'];
      // The first scrape of each job comes within one scrape_interval (15 s) of Prometheus starting.
      const healthy = await poll('every warren-* target up', 60_000, async () => {
        const response = await fetch(`${prometheus}/api/v1/targets?state=active`);
        const body = (await response.json()) as {
          data: { activeTargets: { labels: { job: string }; health: string }[] };
        };
        const up = body.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.job);
        return jobs.every((job) => up.includes(job)) ? up : undefined;
      });
      expect(healthy).toEqual(expect.arrayContaining(jobs));
      // Both workers' RPC histograms, once a scrape follows the calls the tests above made (one interval, 15 s).
      const query = `${prometheus}/api/v1/query?query=${encodeURIComponent('count by (job) (rpc_server_duration_seconds_count)')}`;
      const workers = await poll("both workers' rpc_server_duration_seconds scraped", 45_000, async () => {
        const result = ((await (await fetch(query)).json()) as { data: { result: { metric: { job: string } }[] } }).data
          .result;
        const found = result.map((series) => series.metric.job).sort();
        return found.length === 2 ? found : undefined;
      });
      expect(workers).toEqual(['warren-orders', 'warren-users']);
    });

    it('recovers a users container killed with SIGKILL mid-traffic: no acknowledged write lost or doubled', async () => {
      const before = await stack.state('users');
      const driver = new LoadDriver({ gateways: [gatewayUrl], ratePerSecond: 20, maxDurationMs: 25_000 }).start();
      let killedAt = 0;
      let healthyAt = 0;
      try {
        await sleep(5_000);
        killedAt = driver.now();
        await stack.crash('users');
        await poll('the users container restarted and healthy', 90_000, async () => {
          const state = await stack.state('users');
          return state.restartCount > before.restartCount && state.health === 'healthy' ? state : undefined;
        });
        healthyAt = driver.now();
      } finally {
        await driver.stop();
      }
      // The compose file's PostgreSQL credentials (local development ones).
      const postgres = await stack.address('postgres', 5432);
      const row = {
        scenario: 'kill -9 users container',
        load: summarize(driver.records),
        audit: await auditDatabases(
          { urlFor: (database) => `postgres://warren:warren@${postgres}/${database}` },
          driver.runId,
          driver.records,
        ),
        outageMs: healthyAt - killedAt,
      };
      say(
        `kill -9 of the users container (killed → restarted and healthy: ${Math.round(healthyAt - killedAt)} ms):\n${summaryTable([row])}`,
      );
      const after = await stack.state('users');
      expect(after.restartCount).toBe(before.restartCount + 1);
      expect(after.pid).not.toBe(before.pid);
      expectExactlyOnce(row);
      expect(row.load.requests).toBeGreaterThan(100);
      // The kill was felt: some attempts were refused while no users worker was there.
      expect(row.load.retried).toBeGreaterThan(0);
    }, 180_000);
  });
}
