import {
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
} from '@warren/rpc';
import { UnknownUserError, UsersServiceUnavailableError } from './errors';
import { translateUsersError } from './users-directory';

const userId = '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60';

describe('translateUsersError', () => {
  it('turns not_found into UnknownUserError: invalid_argument naming userId', () => {
    const error = translateUsersError(userId, new RpcRemoteError('users.get', 'not_found', 'nope', undefined, false));
    expect(error).toBeInstanceOf(UnknownUserError);
    expect(error).toMatchObject({
      code: 'invalid_argument',
      retriable: false,
      details: [{ path: 'userId', message: 'no such user' }],
    });
  });

  it.each([
    ['a timeout', new RpcTimeoutError('users.get', 2000)],
    ['a lost broker', new RpcUnavailableError('lost the broker connection')],
    ['no users worker', new RpcNoRouteError('users.get')],
    [
      'users own database down',
      new RpcRemoteError('users.get', 'unavailable', 'database unavailable', undefined, true),
    ],
  ])('turns %s into a retriable unavailable', (_what, cause) => {
    const error = translateUsersError(userId, cause);
    expect(error).toBeInstanceOf(UsersServiceUnavailableError);
    expect(error).toMatchObject({ code: 'unavailable', retriable: true, cause });
  });

  it('does not pass other remote errors on as if they were the caller’s', () => {
    for (const cause of [
      new RpcRemoteError('users.get', 'invalid_argument', 'bad id', [{ path: 'id' }], false),
      new RpcRemoteError('users.get', 'internal', 'internal error', undefined, false),
      new RpcAbortedError('users.get'),
      new Error('boom'),
    ]) {
      const error = translateUsersError(userId, cause);
      expect(error).not.toBeInstanceOf(RpcError);
      expect(error.cause).toBe(cause);
    }
  });
});
