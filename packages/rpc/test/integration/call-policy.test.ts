import { Registry } from 'prom-client';
import { z } from 'zod';
import {
  defineRoute,
  RpcClient,
  RpcOverloadedError,
  RpcServer,
  type HandlerContext,
  type RpcClientOptions,
} from '../../src';
import { AMQP_URL, deleteRouteQueues, rawChannel, uniqueName } from '../broker';
import { metricValue } from '../fixture';

jest.setTimeout(30_000);

// One fixed route name: the queue prefix alone keeps each test's queues apart.
const route = defineRoute('test.policy', {
  request: z.object({ text: z.string() }),
  reply: z.object({ text: z.string() }),
});

/** A server on `queuePrefix` that holds every call until `release()`, and records what each handler was given. */
async function startGatedServer(queuePrefix: string) {
  const seen: HandlerContext[] = [];
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('policy-server'), queuePrefix });
  server.handle(route, async ({ text }, context) => {
    seen.push(context);
    await gate;
    return { text };
  });
  await server.start();
  return { server, seen, release: () => open() };
}

describe('call policy in RpcClient', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function client(options: Partial<RpcClientOptions> = {}): Promise<RpcClient> {
    const rpc = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('policy-client'), ...options });
    await rpc.start();
    cleanups.push(() => rpc.close());
    return rpc;
  }

  /** A gated server on a new prefix, closed and its queues deleted after the test; `released` opens its gate now. */
  async function serverOnNewPrefix(options: { released: boolean }) {
    const queuePrefix = `${uniqueName('prefix')}.`;
    cleanups.push(async () => {
      const { connection, channel } = await rawChannel();
      await deleteRouteQueues(channel, `${queuePrefix}${route.name}`);
      await connection.close();
    });
    const gated = await startGatedServer(queuePrefix);
    cleanups.push(() => gated.server.close());
    if (options.released) gated.release();
    return { queuePrefix, ...gated };
  }

  it('serves and calls a route on the queue of a prefix, which a client without it does not reach', async () => {
    const { queuePrefix } = await serverOnNewPrefix({ released: true });
    const prefixed = await client({ queuePrefix });
    await expect(prefixed.call(route, { text: 'hello' })).resolves.toEqual({ text: 'hello' });
    await expect(prefixed.routeStatus(route.name)).resolves.toMatchObject({ exists: true, consumers: 1 });
    // Without the prefix the route has no queue (test.policy is nobody's): returned at once as no_route.
    await expect((await client()).call(route, { text: 'lost' })).rejects.toMatchObject({ code: 'no_route' });
  });

  it('refuses at once what is past maxInFlight, counts it, and takes calls again once there is room', async () => {
    const { queuePrefix, release } = await serverOnNewPrefix({ released: false });
    const registry = new Registry();
    const rpc = await client({ queuePrefix, maxInFlight: 2, registry });

    const held = [rpc.call(route, { text: 'one' }), rpc.call(route, { text: 'two' })];
    expect(rpc.pendingCount).toBe(2);
    const refused = await rpc.call(route, { text: 'three' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RpcOverloadedError);
    expect(refused).toMatchObject({ code: 'unavailable', retriable: true });
    expect(rpc.pendingCount).toBe(2);
    // A server asks on a request's arrival, before it spends anything on it.
    expect(() => rpc.assertCapacity()).toThrow(RpcOverloadedError);
    expect(await metricValue(registry, 'rpc_client_shed_total', { route: route.name })).toBe(1);
    expect(await metricValue(registry, 'rpc_client_shed_total', { route: '*' })).toBe(1);

    release();
    await expect(Promise.all(held)).resolves.toEqual([{ text: 'one' }, { text: 'two' }]);
    expect(() => rpc.assertCapacity()).not.toThrow();
    await expect(rpc.call(route, { text: 'four' })).resolves.toEqual({ text: 'four' });
  });

  it('with failFastWithoutConsumer, refuses at once a call to a queue nobody consumes; without it, waits', async () => {
    // Declared, then left without a consumer: a worker that stopped.
    const { queuePrefix, server } = await serverOnNewPrefix({ released: true });
    await server.close();

    const failFast = await client({ queuePrefix, failFastWithoutConsumer: true, consumerCountTtlMs: 50 });
    const refused = await failFast.call(route, { text: 'x' }, { timeoutMs: 5000 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'unavailable', message: expect.stringContaining('no consumer') });
    expect(await failFast.consumerCount(route.name)).toBe(0);

    const patient = await client({ queuePrefix });
    await expect(patient.call(route, { text: 'x' }, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'deadline_exceeded',
    });
  });

  it("carries a parent's deadline and idempotency key to the call it makes", async () => {
    const { queuePrefix, seen } = await serverOnNewPrefix({ released: true });
    const rpc = await client({ queuePrefix });

    const parentDeadline = Date.now() + 1500;
    await rpc.call(
      route,
      { text: 'nested' },
      { timeoutMs: 5000, parent: { deadline: parentDeadline, idempotencyKey: 'k-1' } },
    );
    // The earlier of the parent's deadline and the call's own timeout.
    expect(seen[0]).toMatchObject({ deadline: parentDeadline, idempotencyKey: 'k-1' });

    // A handler's context is a parent as it is: what it was given goes on.
    await rpc.call(route, { text: 'again' }, { parent: seen[0] });
    expect(seen[1]).toMatchObject({ deadline: parentDeadline, idempotencyKey: 'k-1' });
  });

  it('carries the caller a call is made for to the handler, and on to the calls the handler makes', async () => {
    const { queuePrefix, seen } = await serverOnNewPrefix({ released: true });
    const rpc = await client({ queuePrefix });
    const caller = { subject: 'alice', scopes: ['users:read', 'orders:write'] };

    await rpc.call(route, { text: 'for alice' }, { parent: { caller } });
    expect(seen[0]).toMatchObject({ caller });
    await rpc.call(route, { text: 'nested' }, { parent: seen[0] });
    expect(seen[1]).toMatchObject({ caller });

    // A call made for no one names no one.
    await rpc.call(route, { text: 'anonymous' });
    expect(seen[2]!.caller).toBeUndefined();

    // Unusable caller headers are refused, never read as "no caller" (which would be unrestricted).
    await expect(
      rpc.call(route, { text: 'forged' }, { headers: { 'x-caller-scopes': 'admin' } }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(seen).toHaveLength(3);
  });

  it('refuses a message whose idempotency key is not a usable one, without running the handler', async () => {
    const { queuePrefix, seen } = await serverOnNewPrefix({ released: true });
    const rpc = await client({ queuePrefix });
    await expect(
      rpc.call(route, { text: 'x' }, { headers: { 'x-idempotency-key': 'k'.repeat(256) } }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(seen).toHaveLength(0);
  });
});
