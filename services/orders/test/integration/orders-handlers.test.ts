import { ordersCancel, ordersCreate, ordersGet, ordersListByUser, usersGet, type User } from '@warren/contracts';
import { confinedSubjectOf, IDEMPOTENCY_KEY_HEADER, RpcClient, RpcError, RpcRemoteError, RpcServer } from '@warren/rpc';
import { type Pool } from 'pg';
import { statementsWaitingOnLocks } from '../../../../packages/service-kit/test/lock-waits';
import { OrdersRepository } from '../../src/db/orders-repository';
import { registerOrdersHandlers } from '../../src/handlers/orders-handlers';
import { UsersDirectory } from '../../src/users-directory';
import { AMQP_URL, deleteRouteQueues, migratedPool, randomUuid, silentLogger, uniqueName } from './support';

jest.setTimeout(30_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const items = [
  { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
  { sku: 'PEN.blue', quantity: 3, unitPriceCents: 99 },
];
const expectedTotal = 2 * 1250 + 3 * 99;

const routes = { create: ordersCreate, get: ordersGet, listByUser: ordersListByUser, cancel: ordersCancel };

/** Queues of a test's own (`test1a2b….orders.create`): no real worker takes its messages, it meets no real one. */
const uniqueQueuePrefix = () => `${uniqueName('test')}.`;

/**
 * A stand-in for the users service: a real RpcServer on the real broker, serving users.get on the queue of the
 * prefix given, so no real users worker is involved. Like the real one, it shows a caller only the user bound to
 * its subject, unless it is an admin.
 */
async function startFakeUsers(queuePrefix: string, options: { delayMs?: number } = {}) {
  const known = new Map<string, string | null>();
  const calls: {
    id: string;
    idempotencyKey: string | undefined;
    deadline: number | undefined;
    receivedAt: number;
  }[] = [];
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('orders-test-fake-users'), queuePrefix });
  server.handle(usersGet, async ({ id }, context): Promise<User> => {
    calls.push({ id, idempotencyKey: context.idempotencyKey, deadline: context.deadline, receivedAt: Date.now() });
    if (options.delayMs) await sleep(options.delayMs);
    const confinedTo = confinedSubjectOf(context.caller);
    if (!known.has(id) || (confinedTo !== undefined && known.get(id) !== confinedTo)) {
      throw new RpcError('not_found', `user ${id} not found`);
    }
    const now = new Date().toISOString();
    return {
      id,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      subject: known.get(id)!,
      createdAt: now,
      updatedAt: now,
    };
  });
  await server.start();
  return {
    calls,
    /** A user bound to `subject` (default none). */
    addUser(subject: string | null = null): string {
      const id = randomUuid();
      known.set(id, subject);
      return id;
    },
    forget(id: string) {
      known.delete(id);
    },
    async stop() {
      await server.close();
      await deleteRouteQueues([`${queuePrefix}${usersGet.name}`]);
    },
  };
}

/**
 * The orders handlers on a real RpcServer, with their own RpcClient for users.get, and a caller: all on the queues
 * of `queuePrefix`.
 */
async function startOrdersWorker(pool: Pool, queuePrefix: string, rpcTimeoutMs = 2000) {
  const client = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('orders-test-client'), queuePrefix });
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('orders-test-server'), queuePrefix });
  const caller = new RpcClient({
    url: AMQP_URL,
    connectionName: uniqueName('orders-test-caller'),
    defaultTimeoutMs: 5000,
    queuePrefix,
  });
  registerOrdersHandlers(server, {
    repository: new OrdersRepository(pool),
    users: new UsersDirectory({ client, timeoutMs: rpcTimeoutMs }),
    logger: silentLogger,
    concurrency: 8,
  });
  await client.start();
  await server.start();
  await caller.start();
  return {
    caller,
    async stop() {
      await caller.close();
      await server.close();
      await client.close();
      await deleteRouteQueues(Object.values(routes).map((route) => `${queuePrefix}${route.name}`));
    },
  };
}

describe('orders handlers through a real RpcServer and RpcClient', () => {
  let pool: Pool;
  let caller: RpcClient;
  let users: Awaited<ReturnType<typeof startFakeUsers>>;
  let worker: Awaited<ReturnType<typeof startOrdersWorker>>;

  beforeAll(async () => {
    pool = await migratedPool();
    const queuePrefix = uniqueQueuePrefix();
    users = await startFakeUsers(queuePrefix);
    worker = await startOrdersWorker(pool, queuePrefix);
    caller = worker.caller;
  });
  afterAll(async () => {
    await worker?.stop();
    await users?.stop();
    await pool?.end();
  });

  it('creates an order for an existing user, with the total computed by the service', async () => {
    const userId = users.addUser();
    const order = await caller.call(routes.create, { userId, items, currency: 'EUR' });
    expect(order).toMatchObject({ userId, items, currency: 'EUR', status: 'confirmed', totalCents: expectedTotal });
    await expect(caller.call(routes.get, { id: order.id })).resolves.toEqual(order);
  });

  it('rejects a client-supplied total through the schema, before asking the users service', async () => {
    const userId = users.addUser();
    const callsBefore = users.calls.length;
    const error = await caller
      .call(routes.create, { userId, items, currency: 'EUR', totalCents: 1 } as never)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcRemoteError);
    expect(error).toMatchObject({ code: 'invalid_argument' });
    expect(JSON.stringify((error as RpcRemoteError).details)).toContain('totalCents');
    expect(users.calls.length).toBe(callsBefore);
  });

  it('answers invalid_argument naming userId for an unknown user, and creates nothing', async () => {
    const userId = randomUuid();
    await expect(caller.call(routes.create, { userId, items, currency: 'EUR' })).rejects.toMatchObject({
      code: 'invalid_argument',
      retriable: false,
      details: [{ path: 'userId', message: 'no such user' }],
    });
    await expect(caller.call(routes.listByUser, { userId })).resolves.toEqual({ items: [], nextCursor: null });
  });

  it('passes the idempotency key and what is left of the deadline on to users.get', async () => {
    const userId = users.addUser();
    const sentAt = Date.now();
    const idempotencyKey = `test-${randomUuid()}`;
    await caller.call(
      routes.create,
      { userId, items, currency: 'EUR' },
      { timeoutMs: 1500, parent: { idempotencyKey } },
    );
    const call = users.calls.find((recorded) => recorded.id === userId);
    expect(call?.idempotencyKey).toBe(idempotencyKey);
    // The caller's 1.5 s, not the 2 s cap: the nested call never outlives its caller.
    expect(call?.deadline).toBeDefined();
    expect(call!.deadline!).toBeLessThanOrEqual(sentAt + 1500 + 50);
    expect(call!.deadline!).toBeGreaterThan(call!.receivedAt);
  });

  it('lists a user’s orders newest first across pages', async () => {
    const userId = users.addUser();
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      ids.push((await caller.call(routes.create, { userId, items, currency: 'USD' })).id);
    }
    const first = await caller.call(routes.listByUser, { userId, limit: 2 });
    expect(first.items.map((order) => order.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await caller.call(routes.listByUser, { userId, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((order) => order.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    await expect(caller.call(routes.listByUser, { userId, cursor: 'bogus' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  it('cancels an order; cancelling it again is a conflict; unknown ids are not_found', async () => {
    const userId = users.addUser();
    const order = await caller.call(routes.create, { userId, items, currency: 'EUR' });
    await expect(caller.call(routes.cancel, { id: order.id })).resolves.toMatchObject({
      id: order.id,
      status: 'cancelled',
    });
    await expect(caller.call(routes.cancel, { id: order.id })).rejects.toMatchObject({
      code: 'conflict',
      retriable: false,
    });
    await expect(caller.call(routes.get, { id: order.id })).resolves.toMatchObject({ status: 'cancelled' });
    await expect(caller.call(routes.cancel, { id: randomUuid() })).rejects.toMatchObject({ code: 'not_found' });
    await expect(caller.call(routes.get, { id: randomUuid() })).rejects.toMatchObject({ code: 'not_found' });
  });

  it("cancels a statement still waiting at the request's deadline: a cancel blocked on a row lock stops, and is never applied", async () => {
    const order = await caller.call(routes.create, { userId: users.addUser(), items, currency: 'EUR' });
    const holder = await pool.connect();
    try {
      // Another transaction holds the order's row, so the worker's UPDATE waits on its lock (this pool has no
      // statement_timeout: without the cancel it would wait until the lock is released, then cancel the order).
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM orders WHERE id = $1 FOR UPDATE', [order.id]);

      await expect(caller.call(routes.cancel, { id: order.id }, { timeoutMs: 600 })).rejects.toMatchObject({
        code: 'deadline_exceeded',
      });
      expect(await statementsWaitingOnLocks(holder, 'UPDATE orders SET status')).toBe(0);

      await holder.query('ROLLBACK');
      await expect(caller.call(routes.get, { id: order.id })).resolves.toMatchObject({ status: 'confirmed' });
    } finally {
      holder.release();
    }
  });

  it('creates once per x-idempotency-key: a retry returns the same order without asking users again', async () => {
    const userId = users.addUser();
    const headers = { [IDEMPOTENCY_KEY_HEADER]: `test-${randomUuid()}` };
    const first = await caller.call(routes.create, { userId, items, currency: 'EUR' }, { headers });
    users.forget(userId);
    const retry = await caller.call(routes.create, { userId, items, currency: 'EUR' }, { headers });
    expect(retry).toEqual(first);
    expect((await caller.call(routes.listByUser, { userId })).items).toHaveLength(1);
  });

  it('answers unavailable at once, without waiting for a timeout, when no users worker is there', async () => {
    const lonely = await startOrdersWorker(pool, uniqueQueuePrefix());
    try {
      const started = Date.now();
      const error = await lonely.caller
        .call(routes.create, { userId: randomUuid(), items, currency: 'EUR' }, { timeoutMs: 10_000 })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable', retriable: true });
      expect((error as Error).message).toContain('no_route');
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await lonely.stop();
    }
  });

  it('answers unavailable when the users service does not reply within RPC_TIMEOUT_MS', async () => {
    const queuePrefix = uniqueQueuePrefix();
    const slowUsers = await startFakeUsers(queuePrefix, { delayMs: 1000 });
    const impatient = await startOrdersWorker(pool, queuePrefix, 200);
    try {
      const started = Date.now();
      const error = await impatient.caller
        .call(routes.create, { userId: slowUsers.addUser(), items, currency: 'EUR' }, { timeoutMs: 5000 })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable', retriable: true });
      expect((error as Error).message).toContain('deadline_exceeded');
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      await impatient.stop();
      await slowUsers.stop();
    }
  });

  describe('for a caller (its token subject and scopes, as the gateway verified them)', () => {
    const alice = { subject: `alice-${uniqueName('s')}`, scopes: ['orders:read', 'orders:write'] };
    const bob = { subject: `bob-${uniqueName('s')}`, scopes: ['orders:read', 'orders:write'] };
    const admin = { subject: 'ops', scopes: ['admin'] };
    const as = (subject: typeof alice) => ({ parent: { caller: subject } });

    it("places orders only for the caller's own user, and shows, lists and cancels only the caller's own", async () => {
      const alicesUser = users.addUser(alice.subject);
      const bobsUser = users.addUser(bob.subject);
      const order = await caller.call(routes.create, { userId: alicesUser, items, currency: 'EUR' }, as(alice));
      // Bob may not place an order for Alice's user: to him it does not exist.
      await expect(
        caller.call(routes.create, { userId: alicesUser, items, currency: 'EUR' }, as(bob)),
      ).rejects.toMatchObject({ code: 'invalid_argument', details: [{ path: 'userId', message: 'no such user' }] });

      expect(await caller.call(routes.get, { id: order.id }, as(alice))).toEqual(order);
      await expect(caller.call(routes.get, { id: order.id }, as(bob))).rejects.toMatchObject({ code: 'not_found' });
      expect(await caller.call(routes.listByUser, { userId: alicesUser }, as(alice))).toEqual({
        items: [order],
        nextCursor: null,
      });
      expect(await caller.call(routes.listByUser, { userId: alicesUser }, as(bob))).toEqual({
        items: [],
        nextCursor: null,
      });
      await expect(caller.call(routes.cancel, { id: order.id }, as(bob))).rejects.toMatchObject({ code: 'not_found' });
      expect((await caller.call(routes.get, { id: order.id }, as(admin))).status).toBe('confirmed');

      const bobsOrder = await caller.call(routes.create, { userId: bobsUser, items, currency: 'EUR' }, as(admin));
      expect((await caller.call(routes.get, { id: bobsOrder.id }, as(bob))).id).toBe(bobsOrder.id);
      expect((await caller.call(routes.cancel, { id: order.id }, as(alice))).status).toBe('cancelled');
      expect((await caller.call(routes.cancel, { id: bobsOrder.id }, as(admin))).status).toBe('cancelled');
    });

    it('replays an idempotency key only to the subject that used it first', async () => {
      const headers = { [IDEMPOTENCY_KEY_HEADER]: uniqueName('owned-key') };
      const alicesUser = users.addUser(alice.subject);
      const bobsUser = users.addUser(bob.subject);
      await caller.call(routes.create, { userId: alicesUser, items, currency: 'EUR' }, { ...as(alice), headers });
      await expect(
        caller.call(routes.create, { userId: bobsUser, items, currency: 'EUR' }, { ...as(bob), headers }),
      ).rejects.toMatchObject({ code: 'conflict', message: 'the idempotency key is already used' });
    });
  });
});
