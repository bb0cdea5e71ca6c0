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

/** Another user is already bound to this token subject. */
export class SubjectTakenError extends RpcError {
  constructor(options: { cause?: unknown } = {}) {
    super('conflict', 'a user is already bound to this subject', {
      details: { field: 'subject' },
      cause: options.cause,
    });
  }
}
