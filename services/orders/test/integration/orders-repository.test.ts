import { createPool } from '@warren/service-kit';
import { type Pool } from 'pg';
import { createMetricsRegistry } from '@warren/service-kit';
import { v7 as uuidv7 } from 'uuid';
import { OrdersRepository, type NewOrder } from '../../src/db/orders-repository';
import { OrderAlreadyCancelledError, OrderNotFoundError } from '../../src/errors';
import { migratedPool, randomUuid, silentLogger } from './support';

jest.setTimeout(30_000);

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function newOrder(overrides: Partial<NewOrder> = {}): NewOrder {
  return {
    id: uuidv7(),
    userId: randomUuid(),
    items: [
      { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
      { sku: 'PEN.blue', quantity: 1, unitPriceCents: 99 },
    ],
    totalCents: 2599,
    currency: 'EUR',
    ...overrides,
  };
}

describe('OrdersRepository against PostgreSQL', () => {
  let pool: Pool;
  let repository: OrdersRepository;

  beforeAll(async () => {
    pool = await migratedPool();
    repository = new OrdersRepository(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('creates a confirmed order and reads it back with a numeric total and ISO-8601 UTC timestamps', async () => {
    const input = newOrder();
    const created = await repository.create(input);
    expect(created).toEqual({
      id: input.id,
      userId: input.userId,
      items: input.items,
      totalCents: 2599,
      currency: 'EUR',
      status: 'confirmed',
      createdAt: expect.stringMatching(ISO_UTC),
      updatedAt: expect.stringMatching(ISO_UTC),
    });
    expect(typeof created.totalCents).toBe('number');
    await expect(repository.get(input.id)).resolves.toEqual(created);
  });

  it('keeps totals beyond 2^31 exact (bigint column read back as a number)', async () => {
    const total = 100 * 10_000 * 100_000_000; // the largest order the contracts allow
    const created = await repository.create(newOrder({ totalCents: total }));
    expect((await repository.get(created.id)).totalCents).toBe(total);
  });

  it('answers not_found for an unknown id', async () => {
    await expect(repository.get(randomUuid())).rejects.toBeInstanceOf(OrderNotFoundError);
    await expect(repository.get(randomUuid())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('lists one user’s orders newest first across pages, without gaps or repeats', async () => {
    const userId = randomUuid();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await repository.create(newOrder({ userId }))).id);
    await repository.create(newOrder()); // another user's order stays out of the listing
    const newestFirst = [...ids].reverse();

    const first = await repository.listByUser(userId, { limit: 2 });
    expect(first.items.map((order) => order.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.nextCursor).not.toBeNull();
    const second = await repository.listByUser(userId, { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((order) => order.id)).toEqual(newestFirst.slice(2, 4));
    const third = await repository.listByUser(userId, { limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((order) => order.id)).toEqual(newestFirst.slice(4));
    expect(third.nextCursor).toBeNull();

    const whole = await repository.listByUser(userId, { limit: 5 });
    expect(whole.items.map((order) => order.id)).toEqual(newestFirst);
    expect(whole.nextCursor).toBeNull();
    await expect(repository.listByUser(randomUuid(), { limit: 20 })).resolves.toEqual({ items: [], nextCursor: null });
  });

  it('refuses a cursor it did not issue with invalid_argument', async () => {
    await expect(repository.listByUser(randomUuid(), { limit: 2, cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'invalid_argument',
      details: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  });

  it('cancels a confirmed order once; a second cancel is a conflict; an unknown id is not_found', async () => {
    const created = await repository.create(newOrder());
    const cancelled = await repository.cancel(created.id);
    expect(cancelled).toMatchObject({ id: created.id, status: 'cancelled', totalCents: created.totalCents });
    expect(Date.parse(cancelled.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(cancelled.createdAt).toBe(created.createdAt);

    await expect(repository.cancel(created.id)).rejects.toBeInstanceOf(OrderAlreadyCancelledError);
    await expect(repository.cancel(created.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(repository.get(created.id)).resolves.toMatchObject({ status: 'cancelled' });
    await expect(repository.cancel(randomUuid())).rejects.toBeInstanceOf(OrderNotFoundError);
  });

  it('lets exactly one of many concurrent cancels win', async () => {
    const created = await repository.create(newOrder());
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => repository.cancel(created.id)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
      expect(outcome.reason).toBeInstanceOf(OrderAlreadyCancelledError);
    }
  });

  it('cancels once per idempotency key: a repeat, even racing, gets the first cancellation back, not a conflict', async () => {
    const created = await repository.create(newOrder());
    const key = `cancel-${randomUuid()}`;
    const first = await repository.cancel(created.id, key);
    expect(first).toMatchObject({ id: created.id, status: 'cancelled' });
    await expect(repository.cancel(created.id, key)).resolves.toEqual(first);
    // Another key is another cancel: the order is cancelled already.
    await expect(repository.cancel(created.id, `other-${randomUuid()}`)).rejects.toBeInstanceOf(
      OrderAlreadyCancelledError,
    );

    const raced = await repository.create(newOrder());
    const raceKey = `cancel-race-${randomUuid()}`;
    const results = await Promise.all(Array.from({ length: 5 }, () => repository.cancel(raced.id, raceKey)));
    for (const result of results) expect(result).toEqual(results[0]);
  });

  it('refuses an idempotency key spent on another command, and records nothing for a failed cancel', async () => {
    const key = `spent-${randomUuid()}`;
    const order = await repository.create(newOrder(), key);
    await expect(repository.cancel(order.id, key)).rejects.toMatchObject({ code: 'conflict' });
    await expect(repository.get(order.id)).resolves.toMatchObject({ status: 'confirmed' });

    const missingKey = `missing-${randomUuid()}`;
    const missing = randomUuid();
    await expect(repository.cancel(missing, missingKey)).rejects.toBeInstanceOf(OrderNotFoundError);
    const { rows } = await pool.query('SELECT 1 FROM processed_commands WHERE key = $1', [missingKey]);
    expect(rows).toHaveLength(0);
  });

  it('creates once per idempotency key: a repeat returns the first order and inserts nothing', async () => {
    const key = `test-${randomUuid()}`;
    const userId = randomUuid();
    await expect(repository.findByIdempotencyKey(key)).resolves.toBeNull();
    const first = await repository.create(newOrder({ userId }), key);
    const repeat = await repository.create(newOrder({ userId }), key);
    expect(repeat).toEqual(first);
    await expect(repository.findByIdempotencyKey(key)).resolves.toEqual(first);
    expect((await repository.listByUser(userId, { limit: 10 })).items).toHaveLength(1);
  });

  it('settles concurrent duplicates of one key on a single order', async () => {
    const key = `test-${randomUuid()}`;
    const userId = randomUuid();
    const results = await Promise.all(Array.from({ length: 5 }, () => repository.create(newOrder({ userId }), key)));
    expect(new Set(results.map((order) => order.id)).size).toBe(1);
    expect((await repository.listByUser(userId, { limit: 10 })).items).toHaveLength(1);
  });

  it('fails with a retriable unavailable, promptly, when the database cannot be reached', async () => {
    const unreachable = createPool(
      {
        databaseUrl: 'postgres://warren:warren@127.0.0.1:1/warren_orders',
        poolSize: 1,
        connectionTimeoutMs: 1000,
        statementTimeoutMs: 1000,
        applicationName: 'orders-test-unreachable',
      },
      createMetricsRegistry('orders-test'),
      silentLogger,
    );
    const down = new OrdersRepository(unreachable);
    try {
      const started = Date.now();
      await expect(down.get(randomUuid())).rejects.toMatchObject({ code: 'unavailable', retriable: true });
      await expect(down.create(newOrder(), `test-${randomUuid()}`)).rejects.toMatchObject({ code: 'unavailable' });
      await expect(down.cancel(randomUuid())).rejects.toMatchObject({ code: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await unreachable.end();
    }
  });
});
