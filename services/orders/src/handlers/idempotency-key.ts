import type { HandlerContext } from '@warren/rpc';
import { InvalidIdempotencyKeyError } from '../errors';

export const IDEMPOTENCY_KEY_HEADER = 'x-idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** The request's idempotency key, undefined when it has none; InvalidIdempotencyKeyError when it is unusable. */
export function idempotencyKeyOf(headers: HandlerContext['headers']): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidIdempotencyKeyError('must be a string');
  if (value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(`must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  return value;
}
