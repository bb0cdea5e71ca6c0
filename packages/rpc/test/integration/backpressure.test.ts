import { Registry } from 'prom-client';
import { defineRoute, RpcClient, RpcServer, RpcTimeoutError, RpcUnavailableError } from '../../src';
import { AMQP_URL, deleteRouteQueues, eventually, rawChannel, uniqueName } from '../broker';
import { echoSchemas, metricValue, startEchoPair, type EchoRoute } from '../fixture';
import { SilentBrokerProxy } from '../silent-broker';

/**
 * A channel's write buffer fills when the socket behind it does not keep up (a flow-controlled broker, a slow link;
 * here a proxy in front of the broker that stops reading). Requests and replies past that point wait for the
 * channel's drain instead of piling up in amqplib's buffer: a request whose deadline passes while it waits is never
 * sent (`unavailable`: safe to retry), the rest go out in order once the link moves again; a reply waits with its
 * ack, the request still in flight.
 */

jest.setTimeout(60_000);

/** Every message of 32 KiB in 4 KiB frames: a few megabytes fill a channel's 1024-frame write buffer. */
const FILLER = 'x'.repeat(32 * 1024);
const withSmallFrames = (url: string) => `${url}${url.includes('?') ? '&' : '?'}frameMax=4096`;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("a channel's write backpressure", () => {
  let proxy: SilentBrokerProxy;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    proxy = await SilentBrokerProxy.start(AMQP_URL);
  });
  afterEach(async () => {
    proxy.restore();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await proxy.close();
  });

  /** A client whose connection goes through the proxy, with its own registry. */
  async function clientThroughProxy(): Promise<{ client: RpcClient; registry: Registry }> {
    const registry = new Registry();
    const client = new RpcClient({
      url: withSmallFrames(proxy.url),
      connectionName: uniqueName('backpressure-client'),
      registry,
      // The silence below lasts seconds: no heartbeat may end the connection meanwhile.
      heartbeatSeconds: 30,
    });
    cleanups.push(() => client.close());
    await client.start();
    return { client, registry };
  }

  /**
   * With the proxy silent, makes calls until `held` of them were held back (the write buffer full); at most 4000.
   * Yields between calls so amqplib moves what it can into the socket first.
   */
  async function callUntilHeld(client: RpcClient, registry: Registry, route: EchoRoute, timeoutMs: number) {
    const calls: { text: string; outcome: Promise<unknown> }[] = [];
    const held = () => metricValue(registry, 'rpc_client_publishes_held_total', { route: route.name });
    while (calls.length < 4000 && (await held()) < 10) {
      const text = `${calls.length}:${FILLER}`;
      const outcome = client.call(route, { text }, { timeoutMs });
      outcome.catch(() => undefined);
      calls.push({ text, outcome });
      if (calls.length % 10 === 0) await nextTurn();
    }
    return { calls, held: await held() };
  }

  it('holds requests while the write buffer is full, then sends every one, in order, on its drain', async () => {
    const pair = await startEchoPair();
    cleanups.push(() => pair.stop());
    const { client, registry } = await clientThroughProxy();

    proxy.silence();
    const { calls, held } = await callUntilHeld(client, registry, pair.route, 30_000);
    expect(held).toBeGreaterThanOrEqual(10);
    proxy.restore();

    const replies = (await Promise.all(calls.map((call) => call.outcome))) as { text: string }[];
    const sequence = (text: string) => Number(text.slice(0, text.indexOf(':')));
    expect(replies.map((reply) => sequence(reply.text))).toEqual(calls.map((call) => sequence(call.text)));
    // Handled in the order called: the held requests went out behind the ones written before them.
    expect(pair.handled.map(sequence)).toEqual(calls.map((call) => sequence(call.text)));
  });

  it('never sends a request whose deadline passed while it was held: unavailable, not a timeout', async () => {
    const pair = await startEchoPair();
    cleanups.push(() => pair.stop());
    const { client, registry } = await clientThroughProxy();

    proxy.silence();
    const { calls } = await callUntilHeld(client, registry, pair.route, 1500);
    const outcomes = await Promise.allSettled(calls.map((call) => call.outcome));
    const failures = outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : null));
    const unsent = failures.filter(
      (error) => error instanceof RpcUnavailableError && /before it was sent/.test(error.message),
    ).length;
    const timedOut = failures.filter((error) => error instanceof RpcTimeoutError).length;
    // (A held request may still have been sent, if the socket took more before it filled up: then it timed out.)
    expect(unsent).toBeGreaterThan(0);
    expect(unsent + timedOut).toBe(calls.length);

    // The link moves again: what was written reaches the worker, past its deadline, and is dropped unhandled; what
    // was held never leaves the client.
    proxy.restore();
    const expired = () => metricValue(pair.registry, 'rpc_server_expired_total', { route: pair.route.name });
    await eventually(async () => (await expired()) === timedOut, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect({ expired: await expired(), handled: pair.handled.length }).toEqual({ expired: timedOut, handled: 0 });
  });

  it('holds replies with their acks while the write buffer is full, the requests still in flight, until it drains', async () => {
    const route = defineRoute(uniqueName('test.backpressure'), echoSchemas);
    const registry = new Registry();
    let entered = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = new RpcServer({
      url: withSmallFrames(proxy.url),
      connectionName: uniqueName('backpressure-server'),
      registry,
      heartbeatSeconds: 30,
    });
    server.handle(
      route,
      async ({ text }) => {
        entered++;
        await released;
        return { text: `${text}:${FILLER}${FILLER}${FILLER}`, pid: process.pid };
      },
      { concurrency: 128 },
    );
    await server.start();
    cleanups.push(async () => {
      await server.close();
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, route.name).catch(() => undefined);
      await connection.close();
    });
    const client = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('client'), registry: new Registry() });
    cleanups.push(() => client.close());
    await client.start();

    // Every request delivered and waiting in its handler, then the worker's link falls silent and they all answer.
    const calls = Array.from({ length: 128 }, (_, index) =>
      client.call(route, { text: String(index) }, { timeoutMs: 30_000 }),
    );
    for (const call of calls) call.catch(() => undefined); // awaited below; not unhandled if a check fails first
    await eventually(() => entered === 128);
    proxy.silence();
    release();
    const held = () => metricValue(registry, 'rpc_server_replies_held_total', { route: route.name });
    await eventually(async () => (await held()) > 0);
    // Some held replies go out as the socket takes more; once it is full the rest stay held, in flight, unacked.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stillHeld = server.inFlightCount;
    expect(stillHeld).toBeGreaterThan(0);
    expect(stillHeld).toBeLessThanOrEqual(await held());

    proxy.restore();
    const replies = await Promise.all(calls);
    expect(replies.map((reply) => reply.text.slice(0, reply.text.indexOf(':')))).toEqual(
      calls.map((_, index) => String(index)),
    );
    await eventually(() => server.inFlightCount === 0);
    // Answered once each: no reply was lost and no request redelivered.
    expect(entered).toBe(128);
  });
});
