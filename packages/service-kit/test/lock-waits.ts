import type { ClientBase } from 'pg';

/**
 * How many statements starting with `statementStart` still wait on a lock in `client`'s database, polled until none
 * does or `timeoutMs` passes: what a test that blocks a worker's statement behind a row lock reads to see it cancelled.
 */
export async function statementsWaitingOnLocks(
  client: ClientBase,
  statementStart: string,
  timeoutMs = 3000,
): Promise<number> {
  const waiting = async () =>
    Number(
      (
        await client.query<{ count: string }>(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND starts_with(query, $1)",
          [statementStart],
        )
      ).rows[0]!.count,
    );
  const startedAt = Date.now();
  let count = await waiting();
  while (count > 0 && Date.now() - startedAt < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = await waiting();
  }
  return count;
}
