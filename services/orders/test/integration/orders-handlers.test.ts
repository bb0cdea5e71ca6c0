import { ordersCancel, ordersCreate, ordersGet, ordersListByUser, usersGet, type User } from '@warren/contracts';
import { defineRoute, RpcClient, RpcError, RpcRemoteError, RpcServer } from '@warren/rpc';
import { type Pool } from 'pg';
import { OrdersRepository } from '../../src/db/orders-repository';
import { registerOrdersHandlers, type OrdersRoutes } from '../../src/handlers/orders-handlers';
import { UsersDirectory, type UsersGetRoute } from '../../src/users-directory';
import { AMQP_URL, deleteRouteQueues, migratedPool, randomUuid, silentLogger, uniqueName } from './support';

jest.setTimeout(30_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const items = [
  { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
  { sku: 'PEN.blue', quantity: 3, unitPriceCents: 99 },
];
const expectedTotal = 2 * 1250 + 3 * 99;

/**
 * A stand-in for the users service: a real RpcServer on the real broker, serving
 * users.get's schemas under a unique route name, so no real users worker is involved.
 */
async function startFakeUsers(options: { delayMs?: number } = {}) {
  const route: UsersGetRoute = defineRoute(`${uniqueName('test.users')}.get`, {
    request: usersGet.request,
    reply: usersGet.reply,
  });
  const known = new Set<string>();
  const calls: { id: string; requestId: unknown; deadline: number | undefined; receivedAt: number }[] = [];
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('orders-test-fake-users') });
  server.handle(route, async ({ id }, context): Promise<User> => {
    calls.push({ id, requestId: context.headers['x-request-id'], deadline: context.deadline, receivedAt: Date.now() });
    if (options.delayMs) await sleep(options.delayMs);
    if (!known.has(id)) throw new RpcError('not_found', `user ${id} not found`);
    const now = new Date().toISOString();
    return { id, name: 'Ada Lovelace', email: 'ada@example.com', createdAt: now, updatedAt: now };
  });
  await server.start();
  return {
    route,
    calls,
    addUser(): string {
      const id = randomUuid();
      known.add(id);
      return id;
    },
    forget(id: string) {
      known.delete(id);
    },
    async stop() {
      await server.close();
      await deleteRouteQueues([route.name]);
    },
  };
}

/** The orders routes' schemas under unique names, so no real orders worker takes the test's messages. */
function uniqueOrdersRoutes(): OrdersRoutes {
  const prefix = uniqueName('test.orders');
  return {
    create: defineRoute(`${prefix}.create`, { request: ordersCreate.request, reply: ordersCreate.reply }),
    get: defineRoute(`${prefix}.get`, { request: ordersGet.request, reply: ordersGet.reply }),
    listByUser: defineRoute(`${prefix}.listByUser`, {
      request: ordersListByUser.request,
      reply: ordersListByUser.reply,
    }),
    cancel: defineRoute(`${prefix}.cancel`, { request: ordersCancel.request, reply: ordersCancel.reply }),
  };
}

/** The orders handlers on a real RpcServer, with their own RpcClient for users.get, on unique route names. */
async function startOrdersWorker(pool: Pool, usersRoute: UsersGetRoute, rpcTimeoutMs = 2000) {
  const routes = uniqueOrdersRoutes();
  const client = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('orders-test-client') });
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('orders-test-server') });
  registerOrdersHandlers(server, {
    repository: new OrdersRepository(pool),
    users: new UsersDirectory({ client, timeoutMs: rpcTimeoutMs, route: usersRoute }),
    logger: silentLogger,
    concurrency: 8,
    routes,
  });
  await client.start();
  await server.start();
  return {
    routes,
    async stop() {
      await server.close();
      await client.close();
      await deleteRouteQueues(Object.values(routes).map((route) => route.name));
    },
  };
}

describe('orders handlers through a real RpcServer and RpcClient', () => {
  let pool: Pool;
  let caller: RpcClient;
  let users: Awaited<ReturnType<typeof startFakeUsers>>;
  let worker: Awaited<ReturnType<typeof startOrdersWorker>>;
  let routes: OrdersRoutes;

  beforeAll(async () => {
    pool = await migratedPool();
    caller = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('orders-test-caller'), defaultTimeoutMs: 5000 });
    await caller.start();
    users = await startFakeUsers();
    worker = await startOrdersWorker(pool, users.route);
    routes = worker.routes;
  });
  afterAll(async () => {
    await worker?.stop();
    await users?.stop();
    await caller?.close();
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

  it('passes the request id and what is left of the deadline on to users.get', async () => {
    const userId = users.addUser();
    const sentAt = Date.now();
    await caller.call(
      routes.create,
      { userId, items, currency: 'EUR' },
      { timeoutMs: 1500, headers: { 'x-request-id': 'req-orders-7' } },
    );
    const call = users.calls.find((recorded) => recorded.id === userId);
    expect(call?.requestId).toBe('req-orders-7');
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

  it('creates once per x-idempotency-key: a retry returns the same order without asking users again', async () => {
    const userId = users.addUser();
    const headers = { 'x-idempotency-key': `test-${randomUuid()}` };
    const first = await caller.call(routes.create, { userId, items, currency: 'EUR' }, { headers });
    users.forget(userId);
    const retry = await caller.call(routes.create, { userId, items, currency: 'EUR' }, { headers });
    expect(retry).toEqual(first);
    expect((await caller.call(routes.listByUser, { userId })).items).toHaveLength(1);
  });

  it('answers unavailable at once, without waiting for a timeout, when no users worker is there', async () => {
    const absentUsers: UsersGetRoute = defineRoute(`${uniqueName('test.absentUsers')}.get`, {
      request: usersGet.request,
      reply: usersGet.reply,
    });
    const lonely = await startOrdersWorker(pool, absentUsers);
    try {
      const started = Date.now();
      const error = await caller
        .call(lonely.routes.create, { userId: randomUuid(), items, currency: 'EUR' }, { timeoutMs: 10_000 })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable', retriable: true });
      expect((error as Error).message).toContain('no_route');
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await lonely.stop();
    }
  });

  it('answers unavailable when the users service does not reply within RPC_TIMEOUT_MS', async () => {
    const slowUsers = await startFakeUsers({ delayMs: 1000 });
    const impatient = await startOrdersWorker(pool, slowUsers.route, 200);
    try {
      const started = Date.now();
      const error = await caller
        .call(impatient.routes.create, { userId: slowUsers.addUser(), items, currency: 'EUR' }, { timeoutMs: 5000 })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable', retriable: true });
      expect((error as Error).message).toContain('deadline_exceeded');
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      await impatient.stop();
      await slowUsers.stop();
    }
  });
});
