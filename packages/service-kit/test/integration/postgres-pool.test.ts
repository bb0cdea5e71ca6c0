import { Client } from 'pg';
import { Registry } from 'prom-client';
import { RpcUnavailableError } from '@warren/rpc';
import { asUnavailableWhenDatabaseIsDown, createLogger, createPool, postgresAnswers } from '../../src';

const DATABASE_URL = process.env.USERS_DATABASE_URL ?? 'postgres://warren:warren@127.0.0.1:5432/warren_users';
const logger = createLogger({ service: 'service-kit-test', level: 'silent', pretty: false });

describe('createPool against a real PostgreSQL', () => {
  it('outlives the server dropping a connection that is checked out, in the middle of a transaction', async () => {
    const pool = createPool(
      {
        databaseUrl: DATABASE_URL,
        poolSize: 2,
        connectionTimeoutMs: 2000,
        statementTimeoutMs: 5000,
        applicationName: `service-kit-pool-test-${process.pid}`,
      },
      new Registry(),
      logger,
    );
    try {
      const client = await pool.connect();
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // What a database restart does to every session: only this test's own session is terminated here.
      const admin = new Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await admin.end();
      // The client hears the termination while checked out and idle; unheard, that 'error' event would crash.
      await new Promise((resolve) => setTimeout(resolve, 200));

      const failure = await client.query('SELECT 1').catch((error: unknown) => error);
      expect(asUnavailableWhenDatabaseIsDown(failure)).toBeInstanceOf(RpcUnavailableError);
      client.release(true);
      expect(await postgresAnswers(pool)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
