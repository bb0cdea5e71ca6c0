import { usersCreate, usersGet, usersList, usersUpdate, type User } from '@warren/contracts';
import {
  IDEMPOTENCY_KEY_HEADER,
  RpcClient,
  RpcRemoteError,
  RpcServer,
  RpcTimeoutError,
  type RouteDefinition,
} from '@warren/rpc';
import { createMetricsRegistry, createPool, encodeCursor } from '@warren/service-kit';
import { Client, type Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { statementsWaitingOnLocks } from '../../../../packages/service-kit/test/lock-waits';
import { UsersRepository } from '../../src/db/users-repository';
import { registerUsersHandlers } from '../../src/handlers/users-handlers';
import { config, deleteRouteQueues, migrate, randomHex, silentLogger, uniqueEmail } from './support';

jest.setTimeout(30_000);

/*
 * Another users worker (a developer's, or an end-to-end test's) may be consuming the real users.*
 * queues while this runs. So the handlers are served, unchanged, on queues of their own: the server
 * and this test's client share a random queue prefix (`test1a2b3c4d5e.users.get`).
 */
const queuePrefix = `test${randomHex()}.`;
const routes = { create: usersCreate, get: usersGet, list: usersList, update: usersUpdate };
const queueNames = Object.values(routes).map((route) => `${queuePrefix}${route.name}`);

describe('users handlers over a real broker', () => {
  let pool: Pool;
  let server: RpcServer;
  let client: RpcClient;

  beforeAll(async () => {
    await migrate();
    const registry = createMetricsRegistry('users-test');
    pool = createPool(
      {
        databaseUrl: config.databaseUrl,
        poolSize: 10,
        connectionTimeoutMs: 2000,
        statementTimeoutMs: 5000,
        applicationName: 'users-test',
      },
      registry,
      silentLogger,
    );
    server = new RpcServer({
      url: config.amqpUrl,
      connectionName: `users-test-${queuePrefix}server`,
      queuePrefix,
      registry,
      logger: silentLogger,
    });
    registerUsersHandlers(server, { repository: new UsersRepository(pool), concurrency: 8 });
    await server.start();
    client = new RpcClient({
      url: config.amqpUrl,
      connectionName: `users-test-${queuePrefix}client`,
      queuePrefix,
      registry,
      logger: silentLogger,
      defaultTimeoutMs: 5000,
    });
    await client.start();
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await pool?.end();
    if (server) await deleteRouteQueues(queueNames);
  });

  it('serves all four routes, on the prefixed queues', async () => {
    expect(server.isConsuming).toBe(true);
    // routeStatus asks for the client's prefixed queue: each has this test's server as its consumer.
    for (const route of Object.values(routes)) {
      expect(await client.routeStatus(route.name)).toMatchObject({ exists: true, consumers: 1 });
    }
  });

  it('round-trips create, get, update and list', async () => {
    const email = uniqueEmail('Round');
    const created = await client.call(routes.create, { name: '  Round Trip  ', email });
    // The contract trims names; the email is kept as given.
    expect(created).toMatchObject({ name: 'Round Trip', email });

    await expect(client.call(routes.get, { id: created.id })).resolves.toEqual(created);

    const updated = await client.call(routes.update, { id: created.id, name: 'Renamed' });
    expect(updated).toMatchObject({ id: created.id, name: 'Renamed', email, createdAt: created.createdAt });
    await expect(client.call(routes.get, { id: created.id })).resolves.toEqual(updated);

    // A second user, so that a page of one has a next page even on a fresh database.
    await client.call(routes.create, { name: 'Second', email: uniqueEmail('RoundSecond') });
    const page = await client.call(routes.list, { limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(typeof page.nextCursor).toBe('string');
  });

  it('lists users page by page through the cursor', async () => {
    const start = encodeCursor(uuidv7());
    const created: User[] = [];
    for (let index = 0; index < 5; index++) {
      created.push(await client.call(routes.create, { name: `Lister ${index}`, email: uniqueEmail(`Lister${index}`) }));
    }
    const ours = new Set(created.map((user) => user.id));
    const seen: User[] = [];
    let cursor: string | null = start;
    for (let pages = 0; cursor !== null && seen.length < created.length; pages++) {
      expect(pages).toBeLessThan(1000);
      const page: { items: User[]; nextCursor: string | null } = await client.call(routes.list, { limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.filter((user) => ours.has(user.id)));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(created);
  });

  it('answers an unknown id with not_found', async () => {
    const id = uuidv7();
    // Called one at a time: a second call made up front would reject unobserved while the first is awaited.
    const calls = [() => client.call(routes.get, { id }), () => client.call(routes.update, { id, name: 'Nobody' })];
    for (const call of calls) {
      const error = await call().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(RpcRemoteError);
      expect(error).toMatchObject({ code: 'not_found', retriable: false, details: { id } });
    }
  });

  it('answers a taken email, in any letter case, with conflict', async () => {
    const email = uniqueEmail('Conflict');
    const first = await client.call(routes.create, { name: 'First', email });
    const second = await client.call(routes.create, { name: 'Second', email: uniqueEmail('Second') });

    const onCreate = await client
      .call(routes.create, { name: 'Copy', email: email.toUpperCase() })
      .catch((failure: unknown) => failure);
    expect(onCreate).toBeInstanceOf(RpcRemoteError);
    expect(onCreate).toMatchObject({ code: 'conflict' });

    const onUpdate = await client
      .call(routes.update, { id: second.id, email: first.email.toLowerCase() })
      .catch((failure: unknown) => failure);
    expect(onUpdate).toBeInstanceOf(RpcRemoteError);
    expect(onUpdate).toMatchObject({ code: 'conflict' });
  });

  it('answers a request that breaks its schema with invalid_argument', async () => {
    const invalid: [RouteDefinition, unknown][] = [
      [routes.create, { name: 'No Email' }],
      [routes.create, { name: 'Bad', email: 'not-an-email' }],
      [routes.create, { name: 'Extra', email: uniqueEmail(), isAdmin: true }],
      [routes.get, { id: 'not-a-uuid' }],
      [routes.update, { id: uuidv7() }],
      [routes.list, { limit: 1000 }],
    ];
    for (const [route, payload] of invalid) {
      const error = await client.call(route, payload).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(RpcRemoteError);
      expect(error).toMatchObject({ code: 'invalid_argument' });
    }
    await expect(client.call(routes.list, { limit: 5, cursor: 'forged' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  it('creates once per x-idempotency-key header', async () => {
    const key = `handler-${randomHex(8)}`;
    const headers = { [IDEMPOTENCY_KEY_HEADER]: key };
    const email = uniqueEmail('Idem');
    const results = await Promise.all(
      Array.from({ length: 4 }, () => client.call(routes.create, { name: 'Idem', email }, { headers })),
    );
    expect(new Set(results.map((user) => user.id)).size).toBe(1);
    const again = await client.call(routes.create, { name: 'Idem', email }, { headers });
    expect(again).toEqual(results[0]);

    // Without the header, the same body is a new command, and the email is taken by then.
    await expect(client.call(routes.create, { name: 'Idem', email })).rejects.toMatchObject({ code: 'conflict' });

    const tooLong = { [IDEMPOTENCY_KEY_HEADER]: 'k'.repeat(256) };
    await expect(
      client.call(routes.create, { name: 'Long', email: uniqueEmail() }, { headers: tooLong }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it("cancels a statement still waiting at the request's deadline: an update blocked on a row lock stops, and is never applied", async () => {
    const user = await client.call(routes.create, { name: 'Locked', email: uniqueEmail('Locked') });
    const holder = new Client({ connectionString: config.databaseUrl });
    await holder.connect();
    try {
      // Another transaction holds the user's row, so the worker's UPDATE waits on its lock.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [user.id]);

      const update = client.call(routes.update, { id: user.id, name: 'Changed' }, { timeoutMs: 600 });
      await expect(update).rejects.toBeInstanceOf(RpcTimeoutError);
      // statement_timeout is 5 s here: without the cancel at the deadline the UPDATE would wait that long.
      expect(await statementsWaitingOnLocks(holder, 'UPDATE users')).toBe(0);

      await holder.query('ROLLBACK');
      await expect(client.call(routes.get, { id: user.id })).resolves.toMatchObject({ name: 'Locked' });
    } finally {
      await holder.end();
    }
  });

  describe('for a caller (its token subject and scopes, as the gateway verified them)', () => {
    const alice = { subject: `alice-${randomHex()}`, scopes: ['users:read', 'users:write'] };
    const bob = { subject: `bob-${randomHex()}`, scopes: ['users:read', 'users:write'] };
    const admin = { subject: `ops-${randomHex()}`, scopes: ['admin'] };
    const as = (caller: typeof alice) => ({ parent: { caller } });

    it('binds a new user to its creator, and lets only that subject or an admin read, list or change it', async () => {
      const own = await client.call(routes.create, { name: 'Alice', email: uniqueEmail('Alice') }, as(alice));
      expect(own.subject).toBe(alice.subject);
      const bobs = await client.call(routes.create, { name: 'Bob', email: uniqueEmail('Bob') }, as(bob));

      expect(await client.call(routes.get, { id: own.id }, as(alice))).toEqual(own);
      // Another subject's user is not found: a caller learns nothing of users that are not its own.
      await expect(client.call(routes.get, { id: bobs.id }, as(alice))).rejects.toMatchObject({ code: 'not_found' });
      await expect(client.call(routes.update, { id: bobs.id, name: 'Mallory' }, as(alice))).rejects.toMatchObject({
        code: 'not_found',
      });
      expect((await client.call(routes.get, { id: bobs.id }, as(admin))).name).toBe('Bob');

      const page = await client.call(routes.list, { limit: 100 }, as(alice));
      expect(page).toEqual({ items: [own], nextCursor: null });
      const renamed = await client.call(routes.update, { id: own.id, name: 'Alice B.' }, as(alice));
      expect(renamed).toMatchObject({ id: own.id, name: 'Alice B.', subject: alice.subject });
      expect(await client.call(routes.update, { id: bobs.id, name: 'Bob B.' }, as(admin))).toMatchObject({
        name: 'Bob B.',
        subject: bob.subject,
      });
    });

    it('gives a subject one user, and lets only an admin create one for another subject', async () => {
      const carol = { subject: `carol-${randomHex()}`, scopes: ['users:write'] };
      await client.call(routes.create, { name: 'Carol', email: uniqueEmail('Carol') }, as(carol));
      await expect(
        client.call(routes.create, { name: 'Carol 2', email: uniqueEmail('Carol') }, as(carol)),
      ).rejects.toMatchObject({ code: 'conflict', message: 'a user is already bound to this subject' });
      const forOther = { name: 'Dan', email: uniqueEmail('Dan'), subject: `dan-${randomHex()}` };
      await expect(client.call(routes.create, forOther, as(carol))).rejects.toMatchObject({
        code: 'permission_denied',
      });
      expect((await client.call(routes.create, forOther, as(admin))).subject).toBe(forOther.subject);
      // An admin names none: a user no token acts as.
      expect((await client.call(routes.create, { name: 'Eve', email: uniqueEmail('Eve') }, as(admin))).subject).toBe(
        null,
      );
    });

    it('replays an idempotency key only to the subject that used it first', async () => {
      const headers = { [IDEMPOTENCY_KEY_HEADER]: `owned-${randomHex(8)}` };
      const first = await client.call(
        routes.create,
        { name: 'Keyed', email: uniqueEmail('Keyed') },
        { ...as({ subject: `keyed-${randomHex()}`, scopes: [] }), headers },
      );
      expect(first.subject).toMatch(/^keyed-/);
      await expect(
        client.call(routes.create, { name: 'Keyed', email: uniqueEmail('Keyed') }, { ...as(bob), headers }),
      ).rejects.toMatchObject({ code: 'conflict', message: 'the idempotency key is already used' });
    });
  });
});
