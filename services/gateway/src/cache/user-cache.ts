import type { Logger } from '@warren/service-kit';
import { isRedisReady, type Redis } from '../redis';

/** What a lookup found: the cached user as JSON text, nothing, or no cache at all (Redis down). */
export type CacheLookup = { status: 'hit'; json: string } | { status: 'miss' } | { status: 'bypass' };

/**
 * Cache-aside for GET /v1/users/:id: a short TTL bounds staleness, and a
 * successful PATCH deletes the entry. Every failure degrades to a bypass:
 * the cache never fails a request. Entries are the JSON text of the response
 * body, stored and served as they are: a user is serialized once.
 */
export class UserCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    private readonly keyPrefix = 'warren:gateway:user:',
  ) {}

  key(id: string): string {
    return `${this.keyPrefix}${id}`;
  }

  async get(id: string): Promise<CacheLookup> {
    if (!isRedisReady(this.redis)) return { status: 'bypass' };
    try {
      const cached = await this.redis.get(this.key(id));
      if (cached === null) return { status: 'miss' };
      return { status: 'hit', json: cached };
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'user cache read failed');
      return { status: 'bypass' };
    }
  }

  /** Stores a user's JSON text, as it is sent. */
  async set(id: string, json: string): Promise<void> {
    if (!isRedisReady(this.redis)) return;
    try {
      await this.redis.set(this.key(id), json, 'EX', this.ttlSeconds);
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'user cache write failed');
    }
  }

  /** Deletes the entry; when Redis is down it cannot, and the TTL bounds the staleness. */
  async invalidate(id: string): Promise<void> {
    try {
      await this.redis.del(this.key(id));
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, userId: id }, 'user cache invalidation failed');
    }
  }
}
