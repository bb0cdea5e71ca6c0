import type { User } from '@warren/contracts';
import { RpcError } from '@warren/rpc';
import {
  asUnavailableWhenDatabaseIsDown,
  claimCommand,
  decodeCursor,
  runCommandOnce,
  toPage,
  withCancellableClient,
  withTransaction,
} from '@warren/service-kit';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { EmailTakenError, SubjectTakenError, UserNotFoundError } from '../errors';
import {
  INSERT_USER,
  LIST_USERS,
  LIST_USERS_AFTER,
  LIST_USERS_OF_SUBJECT,
  LIST_USERS_OF_SUBJECT_AFTER,
  SELECT_USER,
  SELECT_USER_BY_COMMAND,
  UPDATE_USER,
  type UserRow,
} from './users-statements';

export interface NewUser {
  name: string;
  email: string;
  /** The token subject the user is bound to (default null: none). */
  subject?: string | null | undefined;
}

export interface UserChanges {
  name?: string | undefined;
  email?: string | undefined;
}

export interface ListUsersQuery {
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | undefined;
}

export interface UsersPage {
  items: User[];
  nextCursor: string | null;
}

const UNIQUE_VIOLATION = '23505';
const EMAIL_INDEX = 'users_email_lower_key';
const SUBJECT_INDEX = 'users_subject_key';

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    subject: row.subject,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Unique violations become `conflict`; a database that is down becomes `unavailable`; the rest is unchanged. */
function translate(error: unknown): unknown {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code === UNIQUE_VIOLATION) {
    if (constraint === EMAIL_INDEX) return new EmailTakenError({ cause: error });
    if (constraint === SUBJECT_INDEX) return new SubjectTakenError({ cause: error });
    return new RpcError('conflict', 'the user conflicts with an existing one', { cause: error });
  }
  return asUnavailableWhenDatabaseIsDown(error);
}

/**
 * Every read and write of the users database. Failures are RpcErrors with stable codes. `confinedTo` (a token
 * subject; undefined: any user) limits a read or change to the user bound to that subject: any other user is
 * not found, so a caller learns nothing of users that are not its own. `signal` (a handler's `context.signal`)
 * cancels the statement running when it aborts: the request's deadline passed.
 */
export class UsersRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Inserts a user; EmailTakenError when another user has the email in any letter case. With an idempotency key the
   * key is claimed in the same transaction, and a repeat returns the user the first call created (and never trips
   * over the email the first one inserted).
   */
  async create(user: NewUser, idempotencyKey?: string, signal?: AbortSignal): Promise<User> {
    const id = uuidv7();
    const subject = user.subject ?? null;
    const values = [id, user.name, user.email, subject];
    if (idempotencyKey === undefined) return toUser((await this.query(INSERT_USER, values, signal))[0]!);
    try {
      const row = await withTransaction(
        this.pool,
        async (client) => {
          if (!(await claimCommand(client, idempotencyKey, id))) {
            const earlier = (await client.query<UserRow>(SELECT_USER_BY_COMMAND, [idempotencyKey])).rows[0];
            if (!earlier) throw new RpcError('internal', 'idempotency key refers to a missing user');
            // Keys are the client's; one that another subject used first replays nothing of that subject's.
            if (earlier.subject !== subject) throw new RpcError('conflict', 'the idempotency key is already used');
            return earlier;
          }
          return (await client.query<UserRow>(INSERT_USER, values)).rows[0]!;
        },
        signal,
      );
      return toUser(row);
    } catch (error) {
      throw translate(error);
    }
  }

  /** The user, or UserNotFoundError. */
  async get(id: string, confinedTo?: string, signal?: AbortSignal): Promise<User> {
    const [row] = await this.query(SELECT_USER, [id], signal);
    if (!row || (confinedTo !== undefined && row.subject !== confinedTo)) throw new UserNotFoundError(id);
    return toUser(row);
  }

  /** A page of users in id order (creation order: ids are UUIDv7). */
  async list({ limit, cursor }: ListUsersQuery, confinedTo?: string, signal?: AbortSignal): Promise<UsersPage> {
    // One row more than the page says whether another page follows.
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows =
      confinedTo === undefined
        ? after === undefined
          ? await this.query(LIST_USERS, [limit + 1], signal)
          : await this.query(LIST_USERS_AFTER, [after, limit + 1], signal)
        : after === undefined
          ? await this.query(LIST_USERS_OF_SUBJECT, [confinedTo, limit + 1], signal)
          : await this.query(LIST_USERS_OF_SUBJECT_AFTER, [confinedTo, after, limit + 1], signal);
    const page = toPage(rows, limit);
    return { items: page.items.map(toUser), nextCursor: page.nextCursor };
  }

  /**
   * Changes the given fields and `updatedAt`; UserNotFoundError or EmailTakenError. With an idempotency key a repeat
   * returns the user as the first call left it, and changes nothing again.
   */
  async update(
    id: string,
    changes: UserChanges,
    idempotencyKey?: string,
    confinedTo?: string,
    signal?: AbortSignal,
  ): Promise<User> {
    let user: User;
    try {
      user = await runCommandOnce(
        this.pool,
        idempotencyKey,
        id,
        async (queryable) => {
          const values = [id, changes.name ?? null, changes.email ?? null, confinedTo ?? null];
          const [row] = (await queryable.query<UserRow>(UPDATE_USER, values)).rows;
          if (!row) throw new UserNotFoundError(id);
          return toUser(row);
        },
        signal,
      );
    } catch (error) {
      throw translate(error);
    }
    // A replay (the key's first outcome) is only for the subject it was made for.
    if (confinedTo !== undefined && user.subject !== confinedTo) throw new UserNotFoundError(id);
    return user;
  }

  private async query(text: string, values: unknown[], signal: AbortSignal | undefined): Promise<UserRow[]> {
    try {
      return (await withCancellableClient(this.pool, signal, (client) => client.query<UserRow>(text, values))).rows;
    } catch (error) {
      throw translate(error);
    }
  }
}
