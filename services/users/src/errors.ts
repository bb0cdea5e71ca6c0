import { RpcError } from '@warren/rpc';

/** No user has this id. */
export class UserNotFoundError extends RpcError {
  constructor(id: string) {
    super('not_found', `user ${id} not found`, { details: { id } });
  }
}

/** Another user already has this email address, compared case-insensitively. */
export class EmailTakenError extends RpcError {
  constructor(options: { cause?: unknown } = {}) {
    super('conflict', 'a user with this email already exists', { details: { field: 'email' }, cause: options.cause });
  }
}

/** The `x-idempotency-key` header is present but is not a usable key. */
export class InvalidIdempotencyKeyError extends RpcError {
  constructor(reason: string) {
    super('invalid_argument', `x-idempotency-key ${reason}`, {
      details: [{ path: 'x-idempotency-key', message: reason }],
    });
  }
}
