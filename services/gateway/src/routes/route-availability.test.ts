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
    const hanging = fakeRpc(() => new Promise<number>(() => undefined));
    await expect(new RouteAvailability(hanging.rpc, 1000, 20).consumers('a.b')).resolves.toBeUndefined();
  });

  it('shares one probe between concurrent callers', async () => {
    const { rpc, probes } = fakeRpc(() => 3);
    const availability = new RouteAvailability(rpc);
    const answers = await Promise.all([1, 2, 3].map(() => availability.consumers('orders.get')));
    expect(answers).toEqual([3, 3, 3]);
    expect(probes).toEqual(['orders.get']);
  });
});
