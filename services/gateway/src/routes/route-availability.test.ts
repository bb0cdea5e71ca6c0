import type { RouteStatus } from '@warren/rpc';
import type { GatewayRpcClient } from './gateway-routes';
import { RouteAvailability } from './route-availability';

function fakeRpc(consumers: () => number | Promise<number> | 'throw', connected = true) {
  const probes: string[] = [];
  const rpc = {
    isConnected: connected,
    async routeStatus(name: string): Promise<RouteStatus> {
      probes.push(name);
      const count = await consumers();
      if (count === 'throw') throw new Error('channel closed');
      return { exists: true, consumers: count, messages: 0 };
    },
    call: () => Promise.reject(new Error('not used')),
  } as unknown as GatewayRpcClient;
  return { rpc, probes };
}

describe('RouteAvailability', () => {
  it('waits for the first answer, then serves the cached one within the TTL', async () => {
    let count = 2;
    const { rpc, probes } = fakeRpc(() => count);
    const availability = new RouteAvailability(rpc, 60_000);
    expect(await availability.consumers('users.get')).toBe(2);
    count = 0;
    expect(await availability.consumers('users.get')).toBe(2);
    expect(probes).toEqual(['users.get']);
  });

  it('refreshes a stale entry in the background while serving the last value', async () => {
    let count = 1;
    const { rpc, probes } = fakeRpc(() => count);
    const availability = new RouteAvailability(rpc, 0);
    expect(await availability.consumers('users.get')).toBe(1);
    count = 0;
    expect(await availability.consumers('users.get')).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await availability.consumers('users.get')).toBe(0);
    expect(probes.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a call at once when the route has no consumer', async () => {
    const { rpc } = fakeRpc(() => 0);
    await expect(new RouteAvailability(rpc).assertServed('users.get')).rejects.toMatchObject({
      code: 'unavailable',
      retriable: true,
    });
  });

  it('lets the call go ahead when the count cannot be known', async () => {
    await expect(new RouteAvailability(fakeRpc(() => 'throw').rpc).assertServed('a.b')).resolves.toBeUndefined();
    await expect(new RouteAvailability(fakeRpc(() => 0, false).rpc).assertServed('a.b')).resolves.toBeUndefined();
  });

  it('passes its probe timeout to routeStatus, which bounds the probe', async () => {
    const seen: unknown[] = [];
    const rpc = {
      isConnected: true,
      routeStatus: (_name: string, options: unknown) => {
        seen.push(options);
        return Promise.resolve({ exists: true, consumers: 1, messages: 0 });
      },
    } as unknown as GatewayRpcClient;
    await new RouteAvailability(rpc, 1000, 250).consumers('a.b');
    expect(seen).toEqual([{ timeoutMs: 250 }]);
  });

  it("waits for a route's first answer no later than the caller's deadline", async () => {
    const hanging = fakeRpc(() => new Promise<number>(() => undefined));
    const availability = new RouteAvailability(hanging.rpc);
    const startedAt = Date.now();
    await expect(availability.consumers('a.b', startedAt + 30)).resolves.toBeUndefined();
    await expect(availability.assertServed('a.b', Date.now() - 1)).resolves.toBeUndefined();
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(hanging.probes).toEqual(['a.b']);
  });

  it('shares one probe between concurrent callers', async () => {
    const { rpc, probes } = fakeRpc(() => 3);
    const availability = new RouteAvailability(rpc);
    const answers = await Promise.all([1, 2, 3].map(() => availability.consumers('orders.get')));
    expect(answers).toEqual([3, 3, 3]);
    expect(probes).toEqual(['orders.get']);
  });
});
