import type { Logger } from '@warren/service-kit';
import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

export interface RedisOptions {
  /** Longest wait to open a connection. */
  connectTimeoutMs?: number;
  /** Longest wait for any one command; a slow Redis must not hold requests up. */
  commandTimeoutMs?: number;
  /** Cap of the reconnect backoff. */
  maxReconnectDelayMs?: number;
}

/**
 * A Redis client that fails fast: with no offline queue a command sent while
 * Redis is down rejects at once instead of waiting, each command is bounded in
 * time, and reconnects back off up to a cap forever. Errors are logged once per
 * outage, never thrown at the process.
 */
export function createRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    enableReadyCheck: true,
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(
      { err: error.message },
      'redis unavailable: cache and rate limit bypassed, idempotent requests refused',
    );
  });
  redis.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  return redis;
}

/** True while commands can be sent. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** Closes politely when Redis answers, at once otherwise. */
export async function closeRedis(redis: Redis, timeoutMs = 1000): Promise<void> {
  if (isRedisReady(redis)) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      redis.quit().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
  redis.disconnect();
}
