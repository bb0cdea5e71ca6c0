import { ConsumerCounts } from './consumer-counts';

function fakeProbe(consumers: () => number | undefined | Promise<number> | 'throw') {
  const probes: string[] = [];
  const probe = async (name: string) => {
    probes.push(name);
    const count = await consumers();
    if (count === 'throw') throw new Error('channel closed');
    return count;
  };
  return { probe, probes };
}

describe('ConsumerCounts', () => {
  it('waits for the first answer, then serves the cached one within the TTL', async () => {
    let count = 2;
    const { probe, probes } = fakeProbe(() => count);
    const counts = new ConsumerCounts(probe, 60_000);
    expect(await counts.consumers('users.get')).toBe(2);
    count = 0;
    expect(await counts.consumers('users.get')).toBe(2);
    expect(probes).toEqual(['users.get']);
  });

  it('refreshes a stale entry in the background while serving the last value', async () => {
    let count = 1;
    const { probe, probes } = fakeProbe(() => count);
    const counts = new ConsumerCounts(probe, 0);
    expect(await counts.consumers('users.get')).toBe(1);
    count = 0;
    expect(await counts.consumers('users.get')).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await counts.consumers('users.get')).toBe(0);
    expect(probes.length).toBeGreaterThanOrEqual(2);
  });

  it('answers undefined when the count cannot be known', async () => {
    expect(await new ConsumerCounts(fakeProbe(() => 'throw').probe, 1000).consumers('a.b')).toBeUndefined();
    expect(await new ConsumerCounts(fakeProbe(() => undefined).probe, 1000).consumers('a.b')).toBeUndefined();
  });

  it("waits for a route's first answer no later than the caller's deadline", async () => {
    const hanging = fakeProbe(() => new Promise<number>(() => undefined));
    const counts = new ConsumerCounts(hanging.probe, 1000);
    const startedAt = Date.now();
    await expect(counts.consumers('a.b', startedAt + 30)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(counts.consumers('a.b', Date.now() - 1)).rejects.toMatchObject({ code: 'unavailable' });
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(hanging.probes).toEqual(['a.b']);
  });

  it('shares one probe between concurrent callers', async () => {
    const { probe, probes } = fakeProbe(() => 3);
    const counts = new ConsumerCounts(probe, 1000);
    const answers = await Promise.all([1, 2, 3].map(() => counts.consumers('orders.get')));
    expect(answers).toEqual([3, 3, 3]);
    expect(probes).toEqual(['orders.get']);
  });
});
