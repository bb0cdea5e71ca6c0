import { randomUUID } from 'node:crypto';
import type { User } from '@warren/contracts';
import { RpcServer } from '@warren/rpc';
import request from 'supertest';
import { EventLoopDelayMonitor } from '../../src/overload/event-loop-delay';
import { LoadShedder } from '../../src/overload/load-shedder';
import {
  AMQP_URL,
  deleteRouteQueues,
  eventually,
  newUserBody,
  startGateway,
  uniqueName,
  queueNamesOf,
  routes,
  uniqueQueuePrefix,
  type TestGateway,
} from './harness';

jest.setTimeout(30_000);

const MAX_IN_FLIGHT = 2;

/** The value of an unlabelled series, or the sum of a labelled metric's series, from the gateway's registry. */
async function metricValue(gateway: TestGateway, name: string): Promise<number> {
  const metric = gateway.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

/**
 * A users.create worker that holds every request until the test opens the gate, so calls stay in flight
 * for as long as the test needs them to, with no timing involved.
 */
class GatedWorker {
  readonly received: string[] = [];
  private openGate: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));
  private server: RpcServer | undefined;

  constructor(private readonly queuePrefix: string) {}

  async start(): Promise<void> {
    this.server = new RpcServer({
      url: AMQP_URL,
      connectionName: uniqueName('gwtest-gated'),
      drainTimeoutMs: 3000,
      queuePrefix: this.queuePrefix,
    });
    this.server.handle(
      routes.usersCreate,
      async (body): Promise<User> => {
        this.received.push(body.email);
        await this.gate;
        const now = new Date().toISOString();
        return { id: randomUUID(), ...body, subject: null, createdAt: now, updatedAt: now };
      },
      { concurrency: 16 },
    );
    await this.server.start();
  }

  release(): void {
    this.openGate();
  }

  async stop(): Promise<void> {
    this.release();
    await this.server?.close();
  }
}

describe(`with MAX_IN_FLIGHT_RPC=${MAX_IN_FLIGHT}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A gateway with the small limit in front of a gated worker, on routes of its own. */
  async function setUp() {
    const queuePrefix = uniqueQueuePrefix();
    const worker = new GatedWorker(queuePrefix);
    cleanups.push(() => deleteRouteQueues(queueNamesOf(queuePrefix)));
    cleanups.push(() => worker.stop());
    await worker.start();
    // A deadline far beyond the test's: held calls never time out while the test holds them.
    const gateway = await startGateway({
      queuePrefix,
      maxInFlightRpc: MAX_IN_FLIGHT,
      config: { rpcTimeoutMs: 60_000 },
    });
    cleanups.push(() => gateway.close());
    const http = () => request(gateway.app);
    /** Fills the limit with requests the worker holds, and resolves once it holds them all. */
    const fillTheLimit = async () => {
      const held = Array.from({ length: MAX_IN_FLIGHT }, (_, index) =>
        // `then` sends the request now; its response is awaited later.
        http()
          .post('/v1/users')
          .send(newUserBody(`Held ${index}`))
          .then((response) => response),
      );
      await eventually(() => worker.received.length === MAX_IN_FLIGHT);
      return held;
    };
    return { worker, gateway, http, fillTheLimit };
  }

  it('sheds what is past the limit with 503 and Retry-After at once, serves the rest, and ends at 0 in flight', async () => {
    const { worker, gateway, http, fillTheLimit } = await setUp();
    const held = await fillTheLimit();
    expect(await metricValue(gateway, 'rpc_client_in_flight')).toBe(MAX_IN_FLIGHT);

    // Every further request is answered while the first ones are still held: shed, never queued.
    const shed = await Promise.all(
      ['Third', 'Fourth', 'Fifth'].map((name) => http().post('/v1/users').send(newUserBody(name))),
    );
    for (const response of shed) {
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.body).toMatchObject({ status: 503, type: 'urn:warren:problem:overloaded' });
      expect(typeof response.body.requestId).toBe('string');
    }
    expect(worker.received).toHaveLength(MAX_IN_FLIGHT);
    // Refused on arrival, before routing (and before the access log, the rate limit and body parsing).
    const shedCounter = await gateway.registry.getSingleMetric('rpc_client_shed_total')!.get();
    expect(shedCounter.values).toEqual([
      expect.objectContaining({ value: shed.length, labels: expect.objectContaining({ route: '*' }) }),
    ]);

    worker.release();
    for (const response of await Promise.all(held)) expect(response.status).toBe(201);
    await eventually(async () => (await metricValue(gateway, 'rpc_client_in_flight')) === 0);
    expect(gateway.rpc.pendingCount).toBe(0);

    // With room again, the next request goes through.
    await http().post('/v1/users').send(newUserBody('After')).expect(201);
    expect(await metricValue(gateway, 'rpc_client_in_flight')).toBe(0);
  });

  it('releases the Idempotency-Key of a shed request, so that its retry is carried out', async () => {
    const { worker, gateway, http, fillTheLimit } = await setUp();
    const held = await fillTheLimit();
    const key = uniqueName('shed-key');
    const body = newUserBody('Retried');
    await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(503);

    worker.release();
    for (const response of await Promise.all(held)) expect(response.status).toBe(201);
    await eventually(async () => (await metricValue(gateway, 'rpc_client_in_flight')) === 0);
    const retried = await http().post('/v1/users').set('Idempotency-Key', key).send(body).expect(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(worker.received).toContain(body.email);
  });
});

describe('with the event loop running late (MAX_EVENT_LOOP_DELAY_MS=50)', () => {
  /** Keeps the loop blocked 100 ms at a time until `until` resolves, as a gateway saturated with work would be. */
  async function blockTheLoopUntil(until: Promise<unknown>): Promise<void> {
    let done = false;
    void until.finally(() => (done = true));
    while (!done) {
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const end = performance.now() + 100;
          while (performance.now() < end) {
            // Busy: nothing else runs in this process meanwhile.
          }
          resolve();
        }),
      );
    }
  }

  it('refuses API requests with 503 and Retry-After before any work while late, never the ops endpoints, and serves again once on time', async () => {
    const queuePrefix = uniqueQueuePrefix();
    const worker = new GatedWorker(queuePrefix);
    await worker.start();
    worker.release();
    const monitor = new EventLoopDelayMonitor();
    monitor.start();
    const gateway = await startGateway({
      queuePrefix,
      shedder: new LoadShedder({ eventLoopDelay: monitor, maxEventLoopDelayMs: 50 }),
    });
    try {
      const http = () => request(gateway.app);
      await http().post('/v1/users').send(newUserBody('On time')).expect(201);
      const receivedBefore = worker.received.length;

      let stopBlocking: () => void = () => undefined;
      const blocking = blockTheLoopUntil(new Promise<void>((resolve) => (stopBlocking = resolve)));
      // Late at two timer runs in a row: overloaded, not one pause.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const requests = Promise.all([
        ...Array.from({ length: 5 }, (_, index) =>
          http()
            .post('/v1/users')
            .send(newUserBody(`Late ${index}`))
            .then((response) => response),
        ),
        http()
          .get('/healthz')
          .then((response) => response),
      ]);
      void requests.finally(stopBlocking);
      await blocking;
      const responses = await requests;
      const health = responses.pop()!;
      expect(health.status).toBe(200);
      for (const response of responses) {
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.body).toMatchObject({ status: 503, type: 'urn:warren:problem:overloaded' });
      }
      // Refused before the RPC call: the worker saw none of them.
      expect(worker.received.length).toBe(receivedBefore);
      expect(await metricValue(gateway, 'http_requests_shed_total')).toBe(responses.length);

      await eventually(() => monitor.delayMs() < 50);
      await http().post('/v1/users').send(newUserBody('On time again')).expect(201);
    } finally {
      monitor.stop();
      await gateway.close();
      await worker.stop();
      await deleteRouteQueues(queueNamesOf(queuePrefix));
    }
  });
});
