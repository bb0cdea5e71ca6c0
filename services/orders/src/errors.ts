import { RpcError } from '@warren/rpc';

/** No order has this id. */
export class OrderNotFoundError extends RpcError {
  constructor(id: string) {
    super('not_found', `order ${id} not found`);
  }
}

/** The order was cancelled before; cancelling is not repeated. */
export class OrderAlreadyCancelledError extends RpcError {
  constructor(id: string) {
    super('conflict', `order ${id} is already cancelled`);
  }
}

/** The order names a user the users service does not know. */
export class UnknownUserError extends RpcError {
  constructor(userId: string) {
    super('invalid_argument', `user ${userId} does not exist`, {
      details: [{ path: 'userId', message: 'no such user' }],
    });
  }
}

/** The users service did not answer (timeout, broker down, no worker): the caller may retry. */
export class UsersServiceUnavailableError extends RpcError {
  constructor(reason: string, cause: unknown) {
    super('unavailable', `users service unavailable: ${reason}`, { cause, retriable: true });
  }
}

/** The order's total does not fit in a safe integer number of cents. */
export class OrderTotalTooLargeError extends RpcError {
  constructor() {
    super('invalid_argument', 'order total is too large', {
      details: [{ path: 'items', message: 'the order total exceeds the largest supported amount' }],
    });
  }
}
