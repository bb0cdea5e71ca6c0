import type { Logger } from '@warren/service-kit';
import { isRedisReady, type Redis } from '../redis';

/**
 * What a lookup found: the cached user as JSON text with the token subject it is bound to (null: none), nothing,
 * or no cache at all (Redis down).
 */
export type CacheLookup =
  { status: 'hit'; json: string; subject: string | null } | { status: 'miss' } | { status: 'bypass' };

// An entry is the subject, a newline, then the JSON text (which never holds a raw newline); '' stands for none,
// since a subject is never empty. An entry without the newline (written before subjects were kept) is a miss.
const SUBJECT_END = '\n';

/**
 * Cache-aside for GET /v1/users/:id: a short TTL bounds staleness, and a
 * successful PATCH deletes the entry. Every failure degrades to a bypass:
 * the cache never fails a request. Entries are the JSON text of the response
 * body, stored and served as they are: a user is serialized once. Each keeps the
 * user's token subject, so a hit is served only to a caller who may see it.
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
      const subjectEnd = cached === null ? -1 : cached.indexOf(SUBJECT_END);
      if (cached === null || subjectEnd === -1) return { status: 'miss' };
      const subject = cached.slice(0, subjectEnd);
      return { status: 'hit', json: cached.slice(subjectEnd + 1), subject: subject === '' ? null : subject };
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'user cache read failed');
      return { status: 'bypass' };
    }
  }

  /** Stores a user's JSON text, as it is sent, with the token subject the user is bound to. */
  async set(id: string, json: string, subject: string | null): Promise<void> {
    if (!isRedisReady(this.redis)) return;
    try {
      await this.redis.set(this.key(id), `${subject ?? ''}${SUBJECT_END}${json}`, 'EX', this.ttlSeconds);
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
