import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createLogger, runMigrations } from '../../src';

const ADMIN_URL = process.env.USERS_DATABASE_URL ?? 'postgres://warren:warren@127.0.0.1:5432/warren_users';
const logger = createLogger({ service: 'service-kit-test', level: 'silent', pretty: false });

describe('runMigrations against a real PostgreSQL', () => {
  const database = `warren_migrations_${process.pid}_${Date.now()}`;
  const databaseUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString();
  const directory = mkdtempSync(join(tmpdir(), 'migrations-'));

  beforeAll(async () => {
    writeFileSync(
      join(directory, '0001_create_things.sql'),
      '-- Up Migration\nCREATE TABLE things (id int PRIMARY KEY);\n-- Down Migration\nDROP TABLE things;\n',
    );
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
  });
  afterAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('applies each migration once even when several processes migrate at the same time', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => runMigrations({ databaseUrl, directory, logger })));
    expect(runs.flat()).toEqual(['0001_create_things']);
    expect(await runMigrations({ databaseUrl, directory, logger })).toEqual([]);

    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query("select to_regclass('public.things') as name");
    await client.end();
    expect(rows[0].name).toBe('things');
  });
});
