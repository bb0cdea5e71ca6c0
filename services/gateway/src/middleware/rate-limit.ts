import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { identityOf } from '../auth/authenticate';
import { TooManyRequestsError } from '../errors/http-errors';
import { isRedisReady, type Redis } from '../redis';
import { LeasedRedisStore } from './leased-redis-store';

export interface RateLimitOptions {
  redis: Redis;
  /** Requests allowed per client (token subject, else IP) in each window. */
  limit: number;
  windowMs: number;
  keyPrefix: string;
}

/**
 * Per-client fixed-window rate limit — per token subject once `authenticate` has verified one (a client keeps its
 * allowance across addresses, and clients behind one NAT do not share theirs), per IP otherwise — shared by every gateway through Redis, claimed in leases rather than
 * asked per request (LeasedRedisStore), with the IETF draft-8 `RateLimit`/`RateLimit-Policy` headers and
 * Retry-After on a 429. Redis down never blocks traffic: the limit is skipped while Redis is not ready, and a
 * store error lets the request through.
 */
export function createRateLimiter(options: RateLimitOptions): RequestHandler {
  const { redis } = options;
  const store = new LeasedRedisStore({ redis, prefix: options.keyPrefix });

  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store,
    keyGenerator: (req, res) => {
      const identity = identityOf(res);
      return identity ? `subject:${identity.subject}` : (req.ip ?? '');
    },
    passOnStoreError: true,
    skip: () => !isRedisReady(redis),
    handler: (_req, res, next) => {
      const retryAfter = Number(res.getHeader('Retry-After'));
      next(new TooManyRequestsError(Number.isFinite(retryAfter) ? retryAfter : options.windowMs / 1000));
    },
  });
}
