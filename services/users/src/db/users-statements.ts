/**
 * The users database's statements. Kept apart from the repository so that the benchmark's floor runs exactly
 * these (`@warren/users/statements`), and cannot drift from what the worker does.
 */
export const USER_COLUMNS = 'id, name, email, subject, created_at, updated_at';

export const INSERT_USER = `INSERT INTO users (id, name, email, subject) VALUES ($1, $2, $3, $4) RETURNING ${USER_COLUMNS}`;
export const SELECT_USER = `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`;
export const LIST_USERS = `SELECT ${USER_COLUMNS} FROM users ORDER BY id LIMIT $1`;
export const LIST_USERS_AFTER = `SELECT ${USER_COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2`;
/** The users a subject may see: its own (at most one, by users_subject_key). */
export const LIST_USERS_OF_SUBJECT = `SELECT ${USER_COLUMNS} FROM users WHERE subject = $1 ORDER BY id LIMIT $2`;
export const LIST_USERS_OF_SUBJECT_AFTER = `SELECT ${USER_COLUMNS} FROM users
  WHERE subject = $1 AND id > $2 ORDER BY id LIMIT $3`;
/** $4: the subject the change is confined to, or NULL for any user. */
export const UPDATE_USER = `UPDATE users
    SET name = COALESCE($2, name), email = COALESCE($3, email), updated_at = now()
  WHERE id = $1 AND ($4::text IS NULL OR subject = $4)
  RETURNING ${USER_COLUMNS}`;
/** The user an idempotency key created. */
export const SELECT_USER_BY_COMMAND = `SELECT ${USER_COLUMNS.split(', ')
  .map((column) => `u.${column}`)
  .join(', ')}
    FROM processed_commands pc JOIN users u ON u.id = pc.entity_id
   WHERE pc.key = $1`;

/** A row of `users`, as pg returns it. */
export interface UserRow {
  id: string;
  name: string;
  email: string;
  subject: string | null;
  created_at: Date;
  updated_at: Date;
}
