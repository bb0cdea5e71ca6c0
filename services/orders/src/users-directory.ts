import { usersGet } from '@warren/contracts';
import { RETRIABLE_CODES, RpcError, RpcRemoteError, type CallParent, type RpcClient } from '@warren/rpc';
import { UnknownUserError, UsersServiceUnavailableError } from './errors';

export interface UsersDirectoryOptions {
  client: RpcClient;
  /** Cap on one users.get call (RPC_TIMEOUT_MS); the caller's remaining deadline may shorten it. */
  timeoutMs: number;
}

const USERS_DOWN_CODES: ReadonlySet<string> = new Set(RETRIABLE_CODES);
/**
 * What a failed users.get means to orders.create: an unknown user is the
 * caller's mistake (invalid_argument); a users service that is slow, down or
 * absent is a retriable `unavailable`. Anything else is a fault of ours.
 */
export function translateUsersError(userId: string, error: unknown): Error {
  if (error instanceof RpcRemoteError && error.code === 'not_found') return new UnknownUserError(userId);
  if (error instanceof RpcError && (USERS_DOWN_CODES.has(error.code) || error.retriable)) {
    return new UsersServiceUnavailableError(error.code, error);
  }
  return new Error(`users.get failed for ${userId}`, { cause: error });
}

/** Asks the users service, over RPC, whether users exist. */
export class UsersDirectory {
  private readonly client: RpcClient;
  private readonly timeoutMs: number;

  constructor(options: UsersDirectoryOptions) {
    this.client = options.client;
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * The token subject the user is bound to (null: none), when the user exists and the parent's caller may see it;
   * UnknownUserError when not, UsersServiceUnavailableError when nobody can say. The users service decides what the
   * caller may see: the caller travels with the parent.
   */
  async subjectOfUser(userId: string, parent: CallParent): Promise<string | null> {
    try {
      // The parent's deadline bounds the nested call too: nobody waits for a reply after it.
      const user = await this.client.call(usersGet, { id: userId }, { timeoutMs: this.timeoutMs, parent });
      return user.subject;
    } catch (error) {
      throw translateUsersError(userId, error);
    }
  }
}
