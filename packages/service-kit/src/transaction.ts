import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on a connection of its own: committed when it resolves, rolled back when it throws
 * (the error is rethrown unchanged, for the repository to translate). A connection that cannot even roll back is
 * destroyed rather than returned to the pool.
 */
export async function withTransaction<Result>(
  pool: Pool,
  work: (client: PoolClient) => Promise<Result>,
): Promise<Result> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Claims an idempotency key for the entity a command is about to create, inside the command's transaction: true when
 * the key is new (go on and write), false when a command with this key was already carried out (read what it made).
 * A concurrent duplicate blocks on the key's unique index until the first transaction ends, then finds it taken, so
 * two deliveries of one command never both write.
 */
export async function claimCommand(client: PoolClient, idempotencyKey: string, entityId: string): Promise<boolean> {
  const claimed = await client.query(
    'INSERT INTO processed_commands (key, entity_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
    [idempotencyKey, entityId],
  );
  return claimed.rowCount === 1;
}
