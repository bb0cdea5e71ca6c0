import { usersCreate, usersGet, usersList, usersUpdate } from '@warren/contracts';
import type { RpcServer } from '@warren/rpc';
import type { UsersRepository } from '../db/users-repository';

export interface UsersHandlersDependencies {
  repository: UsersRepository;
  /** Messages each route handles at once (RPC_CONCURRENCY). */
  concurrency: number;
}

/**
 * Serves the users.* routes. Requests arrive already validated against the
 * contracts' schemas; failures are the repository's typed RpcErrors.
 */
export function registerUsersHandlers(server: RpcServer, { repository, concurrency }: UsersHandlersDependencies): void {
  const options = { concurrency };
  server
    .handle(
      usersCreate,
      ({ name, email }, context) => repository.create({ name, email }, context.idempotencyKey),
      options,
    )
    .handle(usersGet, ({ id }) => repository.get(id), options)
    .handle(usersList, ({ limit, cursor }) => repository.list({ limit, cursor }), options)
    .handle(
      usersUpdate,
      ({ id, name, email }, context) => repository.update(id, { name, email }, context.idempotencyKey),
      options,
    );
}
