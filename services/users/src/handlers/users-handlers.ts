import { usersCreate, usersGet, usersList, usersUpdate } from '@warren/contracts';
import type { HandleOptions, RpcServer } from '@warren/rpc';
import type { UsersRepository } from '../db/users-repository';
import { idempotencyKeyFrom } from '@warren/service-kit';

export interface UsersHandlersDependencies {
  usersRepository: UsersRepository;
}

/**
 * Serves the users.* routes. Requests arrive already validated against the
 * contracts' schemas; failures are the repository's typed RpcErrors.
 */
export function registerUsersHandlers(
  server: RpcServer,
  { usersRepository }: UsersHandlersDependencies,
  options: HandleOptions = {},
): void {
  server
    .handle(
      usersCreate,
      async ({ name, email }, context) =>
        usersRepository.create({ name, email }, { idempotencyKey: idempotencyKeyFrom(context.headers) }),
      options,
    )
    .handle(usersGet, async ({ id }) => usersRepository.get(id), options)
    .handle(usersList, async ({ limit, cursor }) => usersRepository.list({ limit, cursor }), options)
    .handle(usersUpdate, async ({ id, name, email }) => usersRepository.update(id, { name, email }), options);
}
