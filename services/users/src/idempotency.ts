import { InvalidIdempotencyKeyError } from './errors';

/** RPC header carrying the caller's idempotency key (the gateway forwards HTTP `Idempotency-Key` as it). */
export const IDEMPOTENCY_KEY_HEADER = 'x-idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The idempotency key of a command, or undefined when the caller sent none.
 * A header that is present but empty, too long or not a string is refused
 * rather than ignored: ignoring it would silently drop the caller's guarantee.
 */
export function idempotencyKeyFrom(headers: Readonly<Record<string, unknown>>): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidIdempotencyKeyError('must be a string');
  if (value.length === 0) throw new InvalidIdempotencyKeyError('must not be empty');
  if (value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(`must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  return value;
}
