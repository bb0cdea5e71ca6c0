import { createHash, randomUUID } from 'node:crypto';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '@warren/contracts';
import type { Logger } from '@warren/service-kit';
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import { identityOf } from '../auth/authenticate';
import {
  IdempotencyKeyReusedError,
  IdempotencyRequestInFlightError,
  IdempotencyUnavailableError,
  ValidationError,
} from '../errors/http-errors';
import { isRedisReady, type Redis } from '../redis';
import { deadlineOf } from './request-deadline';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const DEFAULT_IN_FLIGHT_MARGIN_MS = 1000;

/**
 * A usable Idempotency-Key: 1–255 printable ASCII characters, not starting or
 * ending with a space (HTTP trims those, so they could not round-trip).
 */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(MAX_IDEMPOTENCY_KEY_LENGTH)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'printable ASCII characters');

export function isValidIdempotencyKey(key: string): boolean {
  return idempotencyKeySchema.safeParse(key).success;
}

/** JSON with object keys sorted at every level, so equal bodies serialize equally. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** What identifies "the same request": method, path and canonical body, hashed. */
export function idempotencyFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/**
 * Where a key's record lives: under the caller's verified subject, so the same key from two callers is two keys and
 * nobody is ever replayed another subject's response (Stripe scopes keys per account the same way). Without
 * authentication every caller shares one space. The subject is URI-encoded so it cannot contain the separator.
 */
export function idempotencyRedisKey(keyPrefix: string, subject: string | undefined, key: string): string {
  const owner = subject === undefined ? 'anonymous' : `subject:${encodeURIComponent(subject)}`;
  return `${keyPrefix}${owner}:${key}`;
}

type InFlightRecord = { state: 'in_flight'; fingerprint: string; token: string };
type DoneRecord = {
  state: 'done';
  fingerprint: string;
  status: number;
  body: string;
  contentType: string | undefined;
  location: string | undefined;
};
type StoredRecord = InFlightRecord | DoneRecord;

// Only the request that claimed the key may complete or release it.
const COMPLETE_IF_OWNER = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).token ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;
const RELEASE_IF_OWNER = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).token ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

export interface IdempotencyOptions {
  redis: Redis;
  /** How long a completed response is replayed. */
  ttlSeconds: number;
  /**
   * How long past the request's own deadline an unfinished claim still blocks its key (default 1000 ms). A gateway
   * killed mid-request leaves the key "in progress" (409) no longer than that; a retry after it reaches the worker,
   * whose dedupe answers with the first attempt's outcome.
   */
  inFlightMarginMs?: number;
  keyPrefix: string;
  logger: Logger;
}

function parseRecord(raw: string): StoredRecord {
  const record = JSON.parse(raw) as StoredRecord;
  if (record?.state !== 'in_flight' && record?.state !== 'done') throw new Error('unknown idempotency record');
  return record;
}

function replay(res: Response, record: DoneRecord): void {
  res.status(record.status);
  res.set(IDEMPOTENT_REPLAYED_HEADER, 'true');
  if (record.location) res.location(record.location);
  if (record.contentType) res.set('Content-Type', record.contentType);
  res.send(Buffer.from(record.body));
}

/**
 * Stripe-style idempotency for the routes marked idempotent (POSTs, PATCH, cancel). With an Idempotency-Key the first
 * request claims the key atomically (SET NX PX until the request's deadline plus a margin, an in-flight marker with the
 * request's fingerprint); its final response is stored for `ttlSeconds` and
 * replayed to later requests from the same subject with the same key and body. The same key with a
 * different body is a 422, a duplicate while the first is running a 409. A 5xx
 * outcome releases the key so the client can retry. Without Redis such requests
 * answer 503: running them unprotected could do the work twice.
 */
export function idempotency(options: IdempotencyOptions): RequestHandler {
  const { redis, keyPrefix, logger } = options;
  const ttlMs = options.ttlSeconds * 1000;
  const inFlightMarginMs = options.inFlightMarginMs ?? DEFAULT_IN_FLIGHT_MARGIN_MS;

  return async (req, res, next) => {
    const key = req.get(IDEMPOTENCY_KEY_HEADER);
    if (key === undefined) {
      next();
      return;
    }
    if (!isValidIdempotencyKey(key)) {
      throw new ValidationError('the Idempotency-Key header is invalid', [
        { path: IDEMPOTENCY_KEY_HEADER, message: 'must be 1 to 255 printable ASCII characters' },
      ]);
    }
    if (!isRedisReady(redis)) throw new IdempotencyUnavailableError();

    const redisKey = idempotencyRedisKey(keyPrefix, identityOf(res)?.subject, key);
    const fingerprint = idempotencyFingerprint(req.method, req.baseUrl + req.path, req.body);
    const token = randomUUID();
    const marker: InFlightRecord = { state: 'in_flight', fingerprint, token };
    const deadline = deadlineOf(req);
    if (deadline === undefined) throw new Error('idempotency needs the request deadline: mount requestDeadline first');
    const inFlightTtlMs = Math.max(1, deadline - Date.now()) + inFlightMarginMs;

    let existing: StoredRecord | null = null;
    try {
      // Two attempts: the record may expire between a failed claim and the read.
      for (let attempt = 0; attempt < 2; attempt++) {
        const claimed = await redis.set(redisKey, JSON.stringify(marker), 'PX', inFlightTtlMs, 'NX');
        if (claimed === 'OK') {
          existing = null;
          break;
        }
        const raw = await redis.get(redisKey);
        if (raw !== null) {
          existing = parseRecord(raw);
          break;
        }
      }
    } catch (error) {
      throw new IdempotencyUnavailableError(error);
    }

    if (existing) {
      if (existing.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      if (existing.state === 'in_flight') throw new IdempotencyRequestInFlightError();
      replay(res, existing);
      return;
    }

    // Claimed: record the outcome before the response leaves, whatever produces it.
    let settled = false;
    const settle = async (status: number, body: string | undefined): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        if (status >= 500 || body === undefined) {
          await redis.eval(RELEASE_IF_OWNER, 1, redisKey, token);
        } else {
          const record: DoneRecord = {
            state: 'done',
            fingerprint,
            status,
            body,
            // res.json sets the type only after this runs, unless the handler chose one (problem+json).
            contentType: res.get('Content-Type') ?? 'application/json; charset=utf-8',
            location: res.get('Location'),
          };
          await redis.eval(COMPLETE_IF_OWNER, 1, redisKey, token, JSON.stringify(record), String(ttlMs));
        }
      } catch (error) {
        // The in-flight marker expires on its own; until then duplicates get a 409.
        logger.warn({ err: (error as Error).message }, 'could not record the idempotent outcome');
      }
    };

    const originalJson = res.json.bind(res);
    res.json = (body: unknown) => {
      res.json = originalJson;
      const serialized = JSON.stringify(body);
      void settle(res.statusCode, serialized).finally(() => originalJson(body));
      return res;
    };
    // A response sent some other way than res.json releases the key. A client that hangs up
    // early does not: the handler still ends in res.json, which records the outcome.
    res.on('close', () => {
      if (res.writableFinished) void settle(500, undefined);
    });
    next();
  };
}
