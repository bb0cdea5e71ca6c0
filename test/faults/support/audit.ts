import { Client } from 'pg';
import type { RequestRecord } from './load-driver';

/**
 * What the databases hold for one load run, checked request by request: every 201 has exactly one row (the id it
 * answered, recorded under its key in processed_commands), no request has two rows, and no row of the run lacks
 * its processed_commands key (a write that escaped deduplication). Every PATCH or cancel answered 200 has its key
 * recorded once, for the entity it changed, with the outcome a retry is answered with; a change applied twice
 * would show as a 409 "already cancelled" (an `other` status in the load summary) or as a missing key.
 */
export interface AuditResult {
  /** Rows of the run in users and orders. */
  rows: number;
  /** Requests with more than one row. */
  duplicated: string[];
  /** 201 answers without their row, or whose row or key names another id; 200s of changes without their key. */
  missing: string[];
  /** Rows of the run with no processed_commands key. */
  unkeyed: string[];
  /** Requests that never got a 201 but whose row exists (committed; the caller gave up): allowed, reported. */
  writtenWithout201: number;
  /**
   * 201s answered from processed_commands: the row was committed before the attempt that got the 201 even started,
   * by an earlier attempt whose answer was lost (a lower bound: a duplicate handled at the same time is not seen).
   */
  deduplicated: number;
}

interface Row {
  id: string;
  natural_key: string;
  key: string | null;
  /** When the key was recorded (the inserting transaction's start), epoch ms. */
  key_recorded_ms: number | null;
}

async function select(url: string, sql: string, prefix: string): Promise<Row[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
  await client.connect();
  try {
    return (await client.query<Row>(sql, [`${prefix}-%`])).rows;
  } finally {
    await client.end();
  }
}

/** Where the audit reads: a connection URL for each worker database (a private server, or the compose stack's). */
export interface DatabaseUrls {
  urlFor(database: 'warren_users' | 'warren_orders'): string;
}

export async function auditDatabases(postgres: DatabaseUrls, runId: string, records: RequestRecord[]) {
  // Each row of the run with the processed_commands key that points at it, if any.
  const users = await select(
    postgres.urlFor('warren_users'),
    `SELECT u.id, u.email AS natural_key, pc.key, (extract(epoch FROM pc.created_at) * 1000)::float8 AS key_recorded_ms
       FROM users u LEFT JOIN processed_commands pc ON pc.entity_id = u.id AND pc.outcome IS NULL
      WHERE u.email LIKE $1`,
    runId,
  );
  const orders = await select(
    postgres.urlFor('warren_orders'),
    `SELECT o.id, o.items->0->>'sku' AS natural_key, pc.key, (extract(epoch FROM pc.created_at) * 1000)::float8 AS key_recorded_ms
       FROM orders o LEFT JOIN processed_commands pc ON pc.entity_id = o.id AND pc.outcome IS NULL
      WHERE o.items->0->>'sku' LIKE $1`,
    runId,
  );
  // Changes (PATCH, cancel) are the keys that recorded an outcome; their natural key is the entity they changed.
  const changeSql = `SELECT entity_id AS id, entity_id::text AS natural_key, key,
       (extract(epoch FROM created_at) * 1000)::float8 AS key_recorded_ms
     FROM processed_commands WHERE key LIKE $1 AND outcome IS NOT NULL`;
  const changes = new Map(
    [
      ...(await select(postgres.urlFor('warren_users'), changeSql, runId)),
      ...(await select(postgres.urlFor('warren_orders'), changeSql, runId)),
    ].map((row) => [row.key, row]),
  );
  const rowsByNaturalKey = new Map<string, Row[]>();
  for (const row of [...users, ...orders]) {
    const rows = rowsByNaturalKey.get(row.natural_key) ?? [];
    rows.push(row);
    rowsByNaturalKey.set(row.natural_key, rows);
  }

  const result: AuditResult = {
    rows: users.length + orders.length,
    duplicated: [],
    missing: [],
    unkeyed: [...users, ...orders].filter((row) => row.key === null).map((row) => row.natural_key),
    writtenWithout201: 0,
    deduplicated: 0,
  };
  for (const record of records) {
    if (record.kind === 'patch' || record.kind === 'cancel') {
      const change = changes.get(record.key);
      if (record.final === 200) {
        if (change?.id !== record.naturalKey) result.missing.push(record.key);
        else if (change.key_recorded_ms! < record.attempts.at(-1)!.epochMs) result.deduplicated++;
      }
      continue;
    }
    const rows = rowsByNaturalKey.get(record.naturalKey) ?? [];
    if (rows.length > 1) result.duplicated.push(record.key);
    if (record.final === 201) {
      const row = rows[0];
      if (rows.length === 0 || row?.id !== record.entityId || row?.key !== record.key) result.missing.push(record.key);
      const answeredBy = record.attempts.at(-1)!;
      if (row?.key_recorded_ms != null && row.key_recorded_ms < answeredBy.epochMs) result.deduplicated++;
    } else if (rows.length > 0) {
      result.writtenWithout201++;
    }
  }
  return result;
}
