import type { User } from '@warren/contracts';
import { RpcError } from '@warren/rpc';
import { asUnavailableWhenDatabaseIsDown, decodeCursor, toPage } from '@warren/service-kit';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { EmailTakenError, UserNotFoundError } from '../errors';

export interface NewUser {
  name: string;
  email: string;
}

export interface UserChanges {
  name?: string | undefined;
  email?: string | undefined;
}

export interface CreateUserOptions {
  /** The caller's idempotency key: a repeat returns the user the first call created. */
  idempotencyKey?: string | undefined;
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

/** Every read and write of the users database. Failures are RpcErrors with stable codes. */
export interface UsersRepository {
  /** Inserts a user; EmailTakenError when another user has the email in any letter case. */
  create(user: NewUser, options?: CreateUserOptions): Promise<User>;
  /** The user, or UserNotFoundError. */
  get(id: string): Promise<User>;
  /** A page of users in id order (creation order: ids are UUIDv7). */
  list(query: ListUsersQuery): Promise<UsersPage>;
  /** Changes the given fields and `updatedAt`; UserNotFoundError or EmailTakenError. */
  update(id: string, changes: UserChanges): Promise<User>;
}

interface UserRow {
  id: string;
  name: string;
  email: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, email, created_at, updated_at';
const UNIQUE_VIOLATION = '23505';
const EMAIL_INDEX = 'users_email_lower_key';

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Unique violations become `conflict`; a database that is down becomes `unavailable`; the rest is unchanged. */
function translate(error: unknown): unknown {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code === UNIQUE_VIOLATION) {
    if (constraint === EMAIL_INDEX) return new EmailTakenError({ cause: error });
    return new RpcError('conflict', 'the user conflicts with an existing one', { cause: error });
  }
  return asUnavailableWhenDatabaseIsDown(error);
}

export function createUsersRepository(pool: Pool): UsersRepository {
  async function query(text: string, values: unknown[]): Promise<UserRow[]> {
    try {
      const result = await pool.query<UserRow>(text, values);
      return result.rows;
    } catch (error) {
      throw translate(error);
    }
  }

  /**
   * Creates the user and records (key → id) in processed_commands in one transaction.
   * The key is claimed first: a concurrent duplicate blocks on it until the first
   * transaction ends, then finds the key taken and returns the first one's user
   * (and never trips over the email the first one just inserted).
   */
  async function createOnce(user: NewUser, idempotencyKey: string): Promise<User> {
    const client = await pool.connect().catch((error: unknown) => {
      throw translate(error);
    });
    const id = uuidv7();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const claimed = await client.query(
        'INSERT INTO processed_commands (key, entity_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
        [idempotencyKey, id],
      );
      let row: UserRow | undefined;
      if (claimed.rowCount === 0) {
        const earlier = await client.query<UserRow>(
          `SELECT u.id, u.name, u.email, u.created_at, u.updated_at
             FROM processed_commands pc JOIN users u ON u.id = pc.entity_id
            WHERE pc.key = $1`,
          [idempotencyKey],
        );
        row = earlier.rows[0];
        if (!row) throw new RpcError('internal', 'idempotency key refers to a missing user');
      } else {
        const inserted = await client.query<UserRow>(
          `INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
          [id, user.name, user.email],
        );
        row = inserted.rows[0]!;
      }
      await client.query('COMMIT');
      return toUser(row);
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw translate(error);
    } finally {
      // A connection that could not even roll back is discarded rather than reused.
      client.release(broken);
    }
  }

  return {
    async create(user, options = {}) {
      if (options.idempotencyKey !== undefined) return createOnce(user, options.idempotencyKey);
      const [row] = await query(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
        uuidv7(),
        user.name,
        user.email,
      ]);
      return toUser(row!);
    },

    async get(id) {
      const [row] = await query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      if (!row) throw new UserNotFoundError(id);
      return toUser(row);
    },

    async list({ limit, cursor }) {
      // One row more than the page says whether another page follows.
      const rows =
        cursor === undefined
          ? await query(`SELECT ${COLUMNS} FROM users ORDER BY id LIMIT $1`, [limit + 1])
          : await query(`SELECT ${COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2`, [
              decodeCursor(cursor),
              limit + 1,
            ]);
      const page = toPage(rows, limit);
      return { items: page.items.map(toUser), nextCursor: page.nextCursor };
    },

    async update(id, changes) {
      const [row] = await query(
        `UPDATE users
            SET name = COALESCE($2, name), email = COALESCE($3, email), updated_at = now()
          WHERE id = $1
          RETURNING ${COLUMNS}`,
        [id, changes.name ?? null, changes.email ?? null],
      );
      if (!row) throw new UserNotFoundError(id);
      return toUser(row);
    },
  };
}
