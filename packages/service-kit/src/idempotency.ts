import { MAX_IDEMPOTENCY_KEY_LENGTH, RPC_HEADERS } from '@warren/contracts';
import { RpcError } from '@warren/rpc';

/** The idempotency-key header is present but is not a usable key. */
export class InvalidIdempotencyKeyError extends RpcError {
  constructor(reason: string) {
    super('invalid_argument', `invalid idempotency key: ${reason}`, {
      details: [{ path: RPC_HEADERS.idempotencyKey, message: reason }],
    });
  }
}

/**
 * The idempotency key of a command, or undefined when the caller sent none.
 * A header that is present but empty, too long or not a string is refused
 * rather than ignored: ignoring it would silently drop the caller's guarantee.
 */
export function idempotencyKeyFrom(headers: Readonly<Record<string, unknown>>): string | undefined {
  const value = headers[RPC_HEADERS.idempotencyKey];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidIdempotencyKeyError('must be a string');
  if (value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(`must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  return value;
}
