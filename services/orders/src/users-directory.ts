import { RPC_HEADERS, usersGet } from '@warren/contracts';
import { RpcError, RpcRemoteError, type HandlerContext, type RpcClient } from '@warren/rpc';
import { UnknownUserError, UsersServiceUnavailableError } from './errors';

/** The route asked whether a user exists: `users.get`, or a stand-in with the same schemas in tests. */
export type UsersGetRoute = typeof usersGet;

/** What of the incoming request a nested call carries on: its deadline and request id. */
export type CallerContext = Pick<HandlerContext, 'deadline' | 'headers'>;

export interface UsersDirectoryOptions {
  client: RpcClient;
  /** Cap on one users.get call (RPC_TIMEOUT_MS); the caller's remaining deadline may shorten it. */
  timeoutMs: number;
  route?: UsersGetRoute;
}

const REQUEST_ID_HEADER = RPC_HEADERS.requestId;
const USERS_DOWN_CODES: ReadonlySet<string> = new Set(['unavailable', 'deadline_exceeded', 'no_route']);

/** The headers a nested call forwards: the request id when the caller sent one. */
export function forwardedHeaders(headers: CallerContext['headers']): Record<string, string> {
  const requestId = headers[REQUEST_ID_HEADER];
  return typeof requestId === 'string' && requestId !== '' ? { [REQUEST_ID_HEADER]: requestId } : {};
}

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
  private readonly route: UsersGetRoute;

  constructor(options: UsersDirectoryOptions) {
    this.client = options.client;
    this.timeoutMs = options.timeoutMs;
    this.route = options.route ?? usersGet;
  }

  /** Resolves when the user exists; UnknownUserError when it does not, UsersServiceUnavailableError when nobody can say. */
  async assertUserExists(userId: string, caller: CallerContext): Promise<void> {
    try {
      // The caller's deadline bounds the nested call too: nobody waits for a reply after it.
      await this.client.call(
        this.route,
        { id: userId },
        { timeoutMs: this.timeoutMs, deadline: caller.deadline, headers: forwardedHeaders(caller.headers) },
      );
    } catch (error) {
      throw translateUsersError(userId, error);
    }
  }
}
