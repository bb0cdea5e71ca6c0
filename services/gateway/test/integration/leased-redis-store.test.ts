import type { Options } from 'express-rate-limit';
import { LeasedRedisStore } from '../../src/middleware/leased-redis-store';
import { closeRedis, createRedis, type Redis } from '../../src/redis';
import { logger, REDIS_URL, uniqueName } from './harness';

jest.setTimeout(30_000);

/** Two gateways' stores on one Redis, sharing the limit of `limit` hits a minute for each client. */
describe('LeasedRedisStore: one limit for every replica, claimed a lease at a time (real Redis)', () => {
  const redises: Redis[] = [];
  afterAll(async () => {
    for (const redis of redises) await closeRedis(redis);
  });

  /** A replica's store, with the claims it sends Redis counted (EVALSHA; a first EVAL loads the script). */
  async function replica(prefix: string, limit: number) {
    const redis = createRedis(REDIS_URL, logger);
    redises.push(redis);
    await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
    const store = new LeasedRedisStore({ redis, prefix });
    store.init({ limit, windowMs: 60_000 } as Options);
    const calls = { count: 0 };
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
      if (args[0].name === 'evalsha') calls.count++;
      return sendCommand(...args);
    }) as Redis['sendCommand'];
    return { store, calls, redis };
  }

  it('never lets more than the limit through across replicas, and asks Redis once per lease', async () => {
    const prefix = `${uniqueName('ratelimit')}:`;
    const limit = 1000; // leases of 10 hits
    const [first, second] = [await replica(prefix, limit), await replica(prefix, limit)];
    let allowed = 0;
    // 1,400 hits of one client, alternating between the replicas, 20 at a time.
    for (let round = 0; round < 70; round++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) => (index % 2 ? first : second).store.increment('203.0.113.7')),
      );
      allowed += results.filter((result) => result.totalHits <= limit).length;
    }
    expect(allowed).toBeLessThanOrEqual(limit);
    // At most each replica's last lease, less one, goes unused.
    expect(allowed).toBeGreaterThanOrEqual(limit - 2 * 9);
    // About a hundred claims for a thousand hits; once the limit is claimed, no more.
    expect(first.calls.count + second.calls.count).toBeLessThanOrEqual(limit / 10 + 2);
    const claimed = Number(await first.redis.get(`${prefix}203.0.113.7`));
    expect(claimed).toBeLessThanOrEqual(limit + 2 * 10);
    await first.store.resetKey('203.0.113.7');
  });

  it('is exact for a small limit (leases of one hit), and tells when the window ends', async () => {
    const prefix = `${uniqueName('ratelimit')}:`;
    const { store, calls } = await replica(prefix, 3);
    const hits = [];
    for (let index = 0; index < 5; index++) hits.push(await store.increment('198.51.100.1'));
    expect(hits.map((hit) => hit.totalHits)).toEqual([1, 2, 3, 4, 4]);
    // The fourth and fifth were refused without asking Redis: the whole limit was claimed already.
    expect(calls.count).toBe(3);
    const remainingMs = hits[0]!.resetTime!.getTime() - Date.now();
    expect(remainingMs).toBeGreaterThan(50_000);
    expect(remainingMs).toBeLessThanOrEqual(60_000);
    await store.resetKey('198.51.100.1');
  });
});
