import { Registry } from 'prom-client';
import {
  defineRoute,
  RpcClient,
  RpcRemoteError,
  RpcServer,
  RpcTimeoutError,
  RpcUnavailableError,
  type RpcClientOptions,
} from '../../src';
import { AMQP_URL, eventually, rawChannel, deleteRouteQueues, uniqueName } from '../broker';
import { echoSchemas, sleep, startEchoPair } from '../fixture';
import { SilentBrokerProxy } from '../silent-broker';

/**
 * A broker that stops answering without closing its sockets (a paused or wedged node: here a proxy that falls
 * silent) must not hold anyone past their deadline: calls in flight, calls made meanwhile, route probes, nested
 * calls, reconnect attempts and shutdown all end by their own bound, and the client recovers when the broker speaks
 * again. Every bound below is the call's own deadline plus SLACK_MS, for a busy shared machine.
 */

jest.setTimeout(60_000);

const SLACK_MS = 400;
const TIMEOUT = RpcTimeoutError.name;
const UNAVAILABLE = RpcUnavailableError.name;

/** Milliseconds `work` took to settle, and how: the error's class name, or 'fulfilled'. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; outcome: string }> {
  const startedAt = performance.now();
  const outcome = await work.then(
    () => 'fulfilled',
    (error: Error) => error.constructor.name,
  );
  return { ms: performance.now() - startedAt, outcome };
}

describe('when the broker stops answering without closing the connection', () => {
  let pair: Awaited<ReturnType<typeof startEchoPair>>;
  let proxy: SilentBrokerProxy;
  // Everything a test opens is closed after it, whatever it asserted: a recovering connection left open would keep
  // jest from exiting.
  const clients: RpcClient[] = [];
  const servers: RpcServer[] = [];

  /** A client whose connection goes through the proxy. */
  async function silencedClient(options: Partial<RpcClientOptions> = {}): Promise<RpcClient> {
    const client = new RpcClient({
      url: proxy.url,
      connectionName: uniqueName('silent-client'),
      registry: new Registry(),
      heartbeatSeconds: 2,
      connectTimeoutMs: 1000,
      maxReconnectDelayMs: 300,
      closeTimeoutMs: 300,
      ...options,
    });
    clients.push(client);
    await client.start();
    return client;
  }

  beforeEach(async () => {
    // The echo server talks to the broker directly; only the clients under test go through the proxy.
    pair = await startEchoPair();
    proxy = await SilentBrokerProxy.start(AMQP_URL);
  });
  afterEach(async () => {
    proxy.restore();
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await proxy.close();
    await pair.stop();
  });

  it('ends every call, in flight or new, by its deadline, and every route probe by its timeout', async () => {
    const client = await silencedClient();
    await expect(client.call(pair.route, { text: 'before' })).resolves.toMatchObject({ text: 'before' });

    // In flight when the broker falls silent: the worker is still working on them.
    const inFlight = Array.from({ length: 10 }, (_, index) =>
      timed(client.call(pair.route, { text: `in-flight-${index}`, delayMs: 200 }, { timeoutMs: 600 })),
    );
    await sleep(20);
    proxy.silence();
    // Made while it is silent: some with a timeout, some with an absolute deadline taken earlier.
    const acceptedAt = Date.now();
    await sleep(100);
    const made = [
      ...Array.from({ length: 10 }, (_, index) =>
        timed(client.call(pair.route, { text: `silent-${index}` }, { timeoutMs: 500 })),
      ),
      ...Array.from({ length: 10 }, (_, index) =>
        timed(client.call(pair.route, { text: `deadline-${index}` }, { deadline: acceptedAt + 500 })),
      ),
    ];
    const probe = timed(client.routeStatus(pair.route.name, { timeoutMs: 300 }));

    for (const result of await Promise.all(inFlight)) {
      expect(result.outcome).toBe(TIMEOUT);
      expect(result.ms).toBeLessThan(600 + SLACK_MS);
    }
    const results = await Promise.all(made);
    for (const result of results.slice(0, 10)) {
      expect(result.outcome).toBe(TIMEOUT);
      expect(result.ms).toBeLessThan(500 + SLACK_MS);
    }
    // Taken 100 ms before the call: the call ends 400 ms after it was made.
    for (const result of results.slice(10)) {
      expect(result.outcome).toBe(TIMEOUT);
      expect(result.ms).toBeLessThan(400 + SLACK_MS);
    }
    expect(await probe).toMatchObject({ outcome: TIMEOUT });
    expect((await probe).ms).toBeLessThan(300 + SLACK_MS);
    expect(client.pendingCount).toBe(0);

    // A deadline already gone: refused at once, never sent.
    const late = timed(client.call(pair.route, { text: 'late' }, { deadline: Date.now() - 1 }));
    expect(await late).toMatchObject({ outcome: UNAVAILABLE });
    expect((await late).ms).toBeLessThan(SLACK_MS);
    expect(pair.handled.filter((text) => text === 'late')).toEqual([]);
  });

  it('notices the silence by heartbeat, bounds each reconnect attempt, and recovers when the broker answers', async () => {
    const client = await silencedClient();
    await expect(client.call(pair.route, { text: 'before' })).resolves.toMatchObject({ text: 'before' });
    proxy.silence();
    const acceptedBefore = proxy.accepted;

    // Two missed heartbeats of 2 s: the connection is declared dead and calls are refused at once.
    await eventually(() => !client.isConnected, 15_000);
    const refused = await timed(client.call(pair.route, { text: 'while silent' }, { timeoutMs: 5000 }));
    expect(refused.outcome).toBe(UNAVAILABLE);
    expect(refused.ms).toBeLessThan(SLACK_MS);

    // Reconnect attempts reach a host that accepts and never answers: each gives up after connectTimeoutMs (1 s)
    // and another follows, instead of one attempt hanging for ever.
    await eventually(() => proxy.accepted - acceptedBefore >= 3, 10_000);

    proxy.restore();
    await eventually(() => client.isConnected, 10_000);
    await expect(client.call(pair.route, { text: 'after' })).resolves.toMatchObject({ text: 'after' });
  });

  it("bounds a worker's nested call by the deadline of the request it serves", async () => {
    const nestedClient = await silencedClient();
    const outer = defineRoute(uniqueName('test.outer'), echoSchemas);
    const nestedEnded: { ms: number; outcome: string }[] = [];
    const server = new RpcServer({
      url: AMQP_URL,
      connectionName: uniqueName('outer-server'),
      registry: new Registry(),
    });
    server.handle(outer, async ({ text }, context) => {
      // The handler passes its caller's deadline on, as orders does when it asks users.
      const result = await timed(
        nestedClient.call(pair.route, { text }, { timeoutMs: 10_000, deadline: context.deadline }),
      );
      nestedEnded.push(result);
      throw new RpcUnavailableError('users did not answer');
    });
    servers.push(server);
    await server.start();
    try {
      proxy.silence();
      const call = await timed(pair.client.call(outer, { text: 'nested' }, { timeoutMs: 600 }));
      // Both end at the same instant: the caller's own timer, or the handler's answer a moment before it.
      expect([TIMEOUT, RpcRemoteError.name]).toContain(call.outcome);
      expect(call.ms).toBeLessThan(600 + SLACK_MS);
      await eventually(() => nestedEnded.length === 1, 600 + SLACK_MS);
      expect(nestedEnded[0]!.outcome).toBe(TIMEOUT);
      expect(nestedEnded[0]!.ms).toBeLessThan(600 + SLACK_MS);
    } finally {
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, outer.name).catch(() => undefined);
      await connection.close();
    }
  });

  it('closes a client and a server without waiting on the silent broker beyond closeTimeoutMs', async () => {
    const client = await silencedClient();
    const server = new RpcServer({
      url: proxy.url,
      connectionName: uniqueName('silent-server'),
      registry: new Registry(),
      closeTimeoutMs: 300,
    });
    const route = defineRoute(uniqueName('test.silent'), echoSchemas);
    server.handle(route, ({ text }) => ({ text, pid: process.pid }));
    servers.push(server);
    await server.start();
    proxy.silence();
    // Sent into the silence: it can only end through close().
    const pending = client.call(pair.route, { text: 'pending' }, { timeoutMs: 10_000 });

    const clientClose = timed(client.close());
    expect(await timed(pending)).toMatchObject({ outcome: UNAVAILABLE });
    expect((await clientClose).ms).toBeLessThan(300 + SLACK_MS);
    // Cancel, channel close and connection close: three bounded waits.
    expect((await timed(server.close())).ms).toBeLessThan(3 * 300 + SLACK_MS);
    const { connection, channel } = await rawChannel();
    await deleteRouteQueues(channel, route.name).catch(() => undefined);
    await connection.close();
  });
});
