import { usersCreate, usersGet, usersList, usersUpdate } from '@warren/contracts';
import { confinedSubjectOf, PermissionDeniedError, type RpcServer } from '@warren/rpc';
import type { UsersRepository } from '../db/users-repository';

export interface UsersHandlersDependencies {
  repository: UsersRepository;
  /** Messages each route handles at once (RPC_CONCURRENCY). */
  concurrency: number;
}

/**
 * The subject a new user is bound to: a user-scoped caller's own (it may name no other); whatever an admin names,
 * or none; what the body says when there is no caller at all (authentication off).
 */
function subjectOfNewUser(requested: string | undefined, confinedTo: string | undefined): string | null {
  if (confinedTo === undefined) return requested ?? null;
  if (requested !== undefined && requested !== confinedTo) {
    throw new PermissionDeniedError('only an admin may create a user for another subject');
  }
  return confinedTo;
}

/**
 * Serves the users.* routes. Requests arrive already validated against the contracts' schemas; failures are the
 * repository's typed RpcErrors. Every read and change is confined to the caller's own user unless it is an admin, and
 * its statements are cancelled at the request's deadline (`context.signal`).
 */
export function registerUsersHandlers(server: RpcServer, { repository, concurrency }: UsersHandlersDependencies): void {
  const options = { concurrency };
  server
    .handle(
      usersCreate,
      ({ name, email, subject }, context) => {
        const bound = subjectOfNewUser(subject, confinedSubjectOf(context.caller));
        return repository.create({ name, email, subject: bound }, context.idempotencyKey, context.signal);
      },
      options,
    )
    .handle(
      usersGet,
      ({ id }, context) => repository.get(id, confinedSubjectOf(context.caller), context.signal),
      options,
    )
    .handle(
      usersList,
      ({ limit, cursor }, context) =>
        repository.list({ limit, cursor }, confinedSubjectOf(context.caller), context.signal),
      options,
    )
    .handle(
      usersUpdate,
      ({ id, name, email }, context) =>
        repository.update(
          id,
          { name, email },
          context.idempotencyKey,
          confinedSubjectOf(context.caller),
          context.signal,
        ),
      options,
    );
}
