import { userSchema, type User } from '@warren/contracts';
import { RpcError } from '@warren/rpc';
import { createMetricsRegistry, createPool, encodeCursor } from '@warren/service-kit';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { UsersRepository } from '../../src/db/users-repository';
import { EmailTakenError, UserNotFoundError } from '../../src/errors';
import { config, migrate, randomHex, silentLogger, uniqueEmail } from './support';

jest.setTimeout(30_000);

function poolFor(databaseUrl: string, poolSize = 20): Pool {
  return createPool(
    { databaseUrl, poolSize, connectionTimeoutMs: 2000, statementTimeoutMs: 5000, applicationName: 'users-test' },
    createMetricsRegistry('users-test'),
    silentLogger,
  );
}

describe('users repository against PostgreSQL', () => {
  let pool: Pool;
  let users: UsersRepository;

  beforeAll(async () => {
    await migrate();
    pool = poolFor(config.databaseUrl);
    users = new UsersRepository(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  async function rowsWithEmail(email: string): Promise<number> {
    const { rows } = await pool.query<{ count: string }>('SELECT count(*) FROM users WHERE lower(email) = lower($1)', [
      email,
    ]);
    return Number(rows[0]!.count);
  }

  it('creates a user with a UUIDv7 id and ISO-8601 UTC timestamps, storing the email as given', async () => {
    const email = uniqueEmail('Ada');
    const user = await users.create({ name: 'Ada Lovelace', email });
    expect(userSchema.parse(user)).toEqual(user);
    expect(user).toMatchObject({ name: 'Ada Lovelace', email });
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(user.createdAt).toMatch(/Z$/);
    expect(user.updatedAt).toBe(user.createdAt);
    expect(Math.abs(Date.parse(user.createdAt) - Date.now())).toBeLessThan(60_000);
    await expect(users.get(user.id)).resolves.toEqual(user);
  });

  it('reports an unknown id as UserNotFoundError (not_found), on get and on update', async () => {
    const id = uuidv7();
    await expect(users.get(id)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(users.get(id)).rejects.toMatchObject({ code: 'not_found', details: { id } });
    await expect(users.update(id, { name: 'Nobody' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a second user with the same email in another letter case (conflict)', async () => {
    const email = uniqueEmail('Grace');
    await users.create({ name: 'Grace', email });
    const duplicate = users.create({ name: 'Other Grace', email: email.toUpperCase() });
    await expect(duplicate).rejects.toBeInstanceOf(EmailTakenError);
    await expect(users.create({ name: 'x', email: email.toLowerCase() })).rejects.toMatchObject({
      code: 'conflict',
      retriable: false,
    });
    expect(await rowsWithEmail(email)).toBe(1);
  });

  it('updates the given fields and updatedAt, and refuses an email another user has', async () => {
    const created = await users.create({ name: 'Alan', email: uniqueEmail('Alan') });
    const other = await users.create({ name: 'Alonzo', email: uniqueEmail('Alonzo') });

    const renamed = await users.update(created.id, { name: 'Alan Turing' });
    expect(renamed).toMatchObject({ id: created.id, name: 'Alan Turing', email: created.email });
    expect(renamed.createdAt).toBe(created.createdAt);
    expect(Date.parse(renamed.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt) - 1);
    expect(renamed.updatedAt).not.toBe(created.updatedAt);

    // A user may change the letter case of its own email.
    const recased = await users.update(created.id, { email: created.email.toUpperCase() });
    expect(recased.email).toBe(created.email.toUpperCase());

    await expect(users.update(created.id, { email: other.email.toLowerCase() })).rejects.toBeInstanceOf(
      EmailTakenError,
    );
    await expect(users.get(created.id)).resolves.toEqual(recased);

    const both = await users.update(created.id, { name: 'A. M. Turing', email: uniqueEmail('Turing') });
    await expect(users.get(created.id)).resolves.toEqual(both);
  });

  it('pages through users in id order with an opaque cursor, every user once, the same way twice', async () => {
    // Every id generated from here on sorts after this one, so the walk starts just before our users.
    const start = encodeCursor(uuidv7());
    const created: User[] = [];
    for (let index = 0; index < 8; index++) {
      created.push(await users.create({ name: `Pager ${index}`, email: uniqueEmail(`Pager${index}`) }));
    }
    const ours = new Set(created.map((user) => user.id));

    // Other tests may create users meanwhile: they can only show up between or after ours.
    const walk = async (limit: number) => {
      const pages: User[][] = [];
      let cursor: string | null = start;
      while (cursor !== null && pages.flat().filter((user) => ours.has(user.id)).length < ours.size) {
        const page: { items: User[]; nextCursor: string | null } = await users.list({ limit, cursor });
        pages.push(page.items);
        if (page.nextCursor !== null) {
          expect(page.items).toHaveLength(limit);
          expect(page.nextCursor).not.toContain(page.items.at(-1)!.id); // opaque, not the raw id
        }
        cursor = page.nextCursor;
        expect(pages.length).toBeLessThan(1000);
      }
      return pages;
    };

    const pages = await walk(3);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const ids = pages.flat().map((user) => user.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(pages.flat().filter((user) => ours.has(user.id))).toEqual(created);

    const again = await walk(3);
    expect(again.flat().filter((user) => ours.has(user.id))).toEqual(created);

    const firstPage = await users.list({ limit: 2 });
    expect(firstPage.items.length).toBeLessThanOrEqual(2);
    expect(firstPage.nextCursor).not.toBeNull();
  });

  it('refuses a cursor it did not issue with invalid_argument', async () => {
    await expect(users.list({ limit: 5, cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  describe('idempotent create', () => {
    async function processedCommands(key: string): Promise<number> {
      const { rows } = await pool.query<{ count: string }>('SELECT count(*) FROM processed_commands WHERE key = $1', [
        key,
      ]);
      return Number(rows[0]!.count);
    }

    it('returns the user created the first time for a repeated key, without a second row', async () => {
      const key = `key-${randomHex(8)}`;
      const email = uniqueEmail('Once');
      const first = await users.create({ name: 'Once', email }, key);
      const second = await users.create({ name: 'Once', email }, key);
      expect(second).toEqual(first);
      // The key decides: a repeat carrying a different body still gets the first user back.
      const third = await users.create({ name: 'Changed', email: uniqueEmail('Changed') }, key);
      expect(third).toEqual(first);
      expect(await rowsWithEmail(email)).toBe(1);
      expect(await processedCommands(key)).toBe(1);
    });

    it('gives racing duplicates of one command the same user and inserts one row', async () => {
      const racers = 12;
      for (let round = 0; round < 5; round++) {
        // Open a connection per racer first, so that every transaction starts at once rather than
        // one by one as new connections come up (which would let the first commit before the rest).
        await Promise.all(Array.from({ length: racers }, () => pool.query('SELECT pg_sleep(0.02)')));
        const key = `race-${randomHex(8)}`;
        const email = uniqueEmail('Race');
        const results = await Promise.all(
          Array.from({ length: racers }, () => users.create({ name: 'Racer', email }, key)),
        );
        expect(new Set(results.map((user) => user.id)).size).toBe(1);
        for (const user of results) expect(user).toEqual(results[0]);
        expect(await rowsWithEmail(email)).toBe(1);
        expect(await processedCommands(key)).toBe(1);
      }
    });

    it('still reports a taken email as conflict, and records nothing for the key', async () => {
      const email = uniqueEmail('Taken');
      await users.create({ name: 'First', email });
      const key = `taken-${randomHex(8)}`;
      await expect(users.create({ name: 'Second', email: email.toLowerCase() }, key)).rejects.toBeInstanceOf(
        EmailTakenError,
      );
      expect(await processedCommands(key)).toBe(0);
    });

    it('keeps different keys apart', async () => {
      const a = await users.create({ name: 'A', email: uniqueEmail('A') }, `a-${randomHex(8)}`);
      const b = await users.create({ name: 'B', email: uniqueEmail('B') }, `b-${randomHex(8)}`);
      expect(a.id).not.toBe(b.id);
    });
  });

  describe('idempotent update', () => {
    it('applies a keyed change once: a repeat gets the first outcome back even after a later change', async () => {
      const user = await users.create({ name: 'Before', email: uniqueEmail('Patch') });
      const key = `patch-${randomHex(8)}`;
      const first = await users.update(user.id, { name: 'First change' }, key);
      expect(first).toMatchObject({ id: user.id, name: 'First change' });
      const later = await users.update(user.id, { name: 'Later change' });
      // A redelivered or retried first PATCH must not undo the later one.
      await expect(users.update(user.id, { name: 'First change' }, key)).resolves.toEqual(first);
      await expect(users.get(user.id)).resolves.toEqual(later);
    });

    it('gives racing duplicates of one keyed change the same outcome', async () => {
      const user = await users.create({ name: 'Racing', email: uniqueEmail('PatchRace') });
      const key = `patch-race-${randomHex(8)}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => users.update(user.id, { email: uniqueEmail('Raced') }, key)),
      );
      for (const result of results) expect(result).toEqual(results[0]);
      await expect(users.get(user.id)).resolves.toEqual(results[0]);
    });

    it('records nothing for a change that failed, so its retry runs again', async () => {
      const taken = uniqueEmail('TakenByOther');
      await users.create({ name: 'Other', email: taken });
      const user = await users.create({ name: 'Mover', email: uniqueEmail('Mover') });
      const key = `patch-fail-${randomHex(8)}`;
      await expect(users.update(user.id, { email: taken }, key)).rejects.toBeInstanceOf(EmailTakenError);
      await expect(users.update(user.id, { name: 'Renamed' }, key)).resolves.toMatchObject({ name: 'Renamed' });
    });
  });

  it('fails fast with a retriable unavailable error when the database cannot be reached', async () => {
    const deadPool = poolFor('postgres://warren:warren@127.0.0.1:1/warren_users', 2);
    const unreachable = new UsersRepository(deadPool);
    try {
      const startedAt = Date.now();
      const failure = await unreachable.get(uuidv7()).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RpcError);
      expect(failure).toMatchObject({ code: 'unavailable', retriable: true });
      await expect(unreachable.create({ name: 'x', email: uniqueEmail() }, randomHex())).rejects.toMatchObject({
        code: 'unavailable',
      });
      expect(Date.now() - startedAt).toBeLessThan(5000);
    } finally {
      await deadPool.end();
    }
  });
});
