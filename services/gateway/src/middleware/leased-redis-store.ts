import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Redis } from '../redis';

/**
 * Claims `ARGV[1]` hits of a fixed window at once and says how many all replicas have claimed in it, and how long
 * the window still runs (the first claim of a window starts it).
 */
const CLAIM_SCRIPT = `
local claimed = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return { claimed, ttl }`;

/** The script as a command of its own (ioredis sends EVALSHA, and the script itself only when Redis lacks it). */
type ClaimingRedis = Redis & {
  claimRateLimitLease(key: string, hits: number, windowMs: number): Promise<[number, number]>;
};

function withClaimCommand(redis: Redis): ClaimingRedis {
  if (!('claimRateLimitLease' in redis))
    redis.defineCommand('claimRateLimitLease', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  return redis as ClaimingRedis;
}

interface Lease {
  /** Hits claimed by anyone in this window before this lease. */
  before: number;
  /** Hits of this lease this replica may still count out: its size, cut at the limit. */
  usable: number;
  used: number;
  resetTime: number;
  /** A claim in progress, shared by the requests that wait for it. */
  claiming: Promise<void> | undefined;
}

export interface LeasedRedisStoreOptions {
  redis: Redis;
  prefix: string;
  /** Leases each client's limit is cut into (default 100): the larger, the more exact, the more Redis calls. */
  leasesPerWindow?: number;
  /** The largest lease (default 100 hits). */
  maxLease?: number;
}

/**
 * An express-rate-limit store for one limit shared by every gateway replica through Redis, without a Redis round
 * trip per request: a replica claims a client's hits from Redis a lease at a time (one INCRBY for, by default, a
 * hundredth of the limit, at most 100) and counts them out locally. The limit is never exceeded: a hit is allowed
 * only against a claim, and claims past the limit are refused. The price is that a replica's unused claims are lost
 * to the others until the window ends, so a client may be refused up to (replicas × (lease − 1)) hits early; a limit
 * of 100 hits or less per window has leases of 1 and is exact.
 */
export class LeasedRedisStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly redis: ClaimingRedis;
  private readonly leasesPerWindow: number;
  private readonly maxLease: number;
  private readonly leases = new Map<string, Lease>();
  private limit = 1;
  private windowMs = 60_000;
  private leaseSize = 1;
  private sweepAt = 1024;

  constructor(options: LeasedRedisStoreOptions) {
    this.redis = withClaimCommand(options.redis);
    this.prefix = options.prefix;
    this.leasesPerWindow = options.leasesPerWindow ?? 100;
    this.maxLease = options.maxLease ?? 100;
  }

  init(options: Options): void {
    if (typeof options.limit !== 'number') throw new TypeError('LeasedRedisStore needs a fixed numeric limit');
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.leaseSize = Math.max(1, Math.min(this.maxLease, Math.floor(this.limit / this.leasesPerWindow)));
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    for (;;) {
      const lease = this.leases.get(key);
      if (lease && lease.resetTime > Date.now()) {
        if (lease.used < lease.usable) {
          lease.used++;
          return { totalHits: lease.before + lease.used, resetTime: new Date(lease.resetTime) };
        }
        // Claimed up to the limit already: refused until the window ends, without asking Redis again.
        if (lease.before + lease.usable >= this.limit && !lease.claiming) {
          return { totalHits: this.limit + 1, resetTime: new Date(lease.resetTime) };
        }
      }
      await this.claim(key, lease);
    }
  }

  /** Not used by the gateway (no skipped requests): a hit counted out cannot be given back to Redis's count. */
  decrement(key: string): void {
    const lease = this.leases.get(key);
    if (lease && lease.used > 0) lease.used--;
  }

  async resetKey(key: string): Promise<void> {
    this.leases.delete(key);
    await this.redis.del(`${this.prefix}${key}`);
  }

  private claim(key: string, current: Lease | undefined): Promise<void> {
    if (current?.claiming) return current.claiming;
    const lease: Lease = current ?? { before: 0, usable: 0, used: 0, resetTime: 0, claiming: undefined };
    this.leases.set(key, lease);
    lease.claiming = (async () => {
      try {
        const [claimed, ttlMs] = await this.redis.claimRateLimitLease(
          `${this.prefix}${key}`,
          this.leaseSize,
          this.windowMs,
        );
        lease.before = claimed - this.leaseSize;
        lease.usable = Math.max(0, Math.min(this.leaseSize, this.limit - lease.before));
        lease.used = 0;
        lease.resetTime = Date.now() + ttlMs;
      } finally {
        lease.claiming = undefined;
      }
    })();
    this.sweep();
    return lease.claiming;
  }

  /** Forgets the leases of windows that are over, once the map has doubled since the last sweep. */
  private sweep(): void {
    if (this.leases.size < this.sweepAt) return;
    const now = Date.now();
    for (const [key, lease] of this.leases) if (lease.resetTime <= now && !lease.claiming) this.leases.delete(key);
    this.sweepAt = Math.max(1024, this.leases.size * 2);
  }
}
