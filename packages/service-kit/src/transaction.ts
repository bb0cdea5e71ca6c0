import type { Pool, PoolClient } from 'pg';
import { RpcError } from '@warren/rpc';
import { cancelStatementsOnAbort, connectUnlessAborted, withCancellableClient } from './statement-cancellation';

/**
 * Runs `work` in one transaction on a connection of its own: committed when it resolves, rolled back when it throws
 * (the error is rethrown unchanged, for the repository to translate). A connection that cannot even roll back is
 * destroyed rather than returned to the pool. Should `signal` abort first, the running statement is cancelled, the
 * transaction rolled back, and the signal's reason thrown instead (see `cancelStatementsOnAbort`).
 */
export async function withTransaction<Result>(
  pool: Pool,
  work: (client: PoolClient) => Promise<Result>,
  signal?: AbortSignal,
): Promise<Result> {
  const client = await connectUnlessAborted(pool, signal);
  const cancellation = cancelStatementsOnAbort(client, signal);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw cancellation.failure(error);
  } finally {
    client.release(cancellation.end() ?? broken);
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

/** A query runner: a pooled connection when a command runs alone, the transaction's when it runs once per key. */
export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

/**
 * Runs an update command (a PATCH, a cancel) at most once per idempotency key. The key is claimed and the command's
 * reply stored in the same transaction as its write, so a redelivery or a client's retry gets the first reply back
 * unchanged instead of running the command again (a second cancel would be a conflict; a second PATCH could undo a
 * later one). A failed command rolls back with its claim: the retry runs it afresh. Without a key the command runs
 * on a pooled connection as it is. A key already spent on another command or entity is a `conflict`. Should
 * `signal` abort first, the running statement is cancelled.
 */
export async function runCommandOnce<Result>(
  pool: Pool,
  idempotencyKey: string | undefined,
  entityId: string,
  command: (queryable: Queryable) => Promise<Result>,
  signal?: AbortSignal,
): Promise<Result> {
  if (idempotencyKey === undefined) return withCancellableClient(pool, signal, command);
  return withTransaction(
    pool,
    async (client) => {
      if (await claimCommand(client, idempotencyKey, entityId)) {
        const result = await command(client);
        await client.query('UPDATE processed_commands SET outcome = $2 WHERE key = $1', [
          idempotencyKey,
          JSON.stringify(result),
        ]);
        return result;
      }
      const earlier = await client.query<{ entity_id: string; outcome: Result | null }>(
        'SELECT entity_id, outcome FROM processed_commands WHERE key = $1',
        [idempotencyKey],
      );
      const row = earlier.rows[0];
      if (row?.outcome == null || row.entity_id !== entityId) {
        throw new RpcError('conflict', 'the Idempotency-Key was already used for another request');
      }
      return row.outcome;
    },
    signal,
  );
}
