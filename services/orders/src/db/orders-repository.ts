import { type Order, type OrderItem } from '@warren/contracts';
import { RpcError } from '@warren/rpc';
import {
  asUnavailableWhenDatabaseIsDown,
  claimCommand,
  runCommandOnce,
  decodeCursor,
  toPage,
  withCancellableClient,
  withTransaction,
} from '@warren/service-kit';
import type { Pool } from 'pg';
import { OrderAlreadyCancelledError, OrderNotFoundError } from '../errors';
import { INSERT_ORDER, ORDER_COLUMN_NAMES, type OrderRow } from './orders-statements';

/** An order as the service creates it: id and total already decided, status `confirmed`. */
export interface NewOrder {
  id: string;
  userId: string;
  items: OrderItem[];
  totalCents: number;
  currency: string;
  /** The token subject of the order's user (default null: that user is bound to none). */
  ownerSubject?: string | null | undefined;
}

export interface OrdersPage {
  items: Order[];
  nextCursor: string | null;
}

const COLUMNS = ORDER_COLUMN_NAMES.join(', ');
const ORDER_COLUMNS = ORDER_COLUMN_NAMES.map((column) => `o.${column}`).join(', ');
const UNIQUE_VIOLATION = '23505';

function toOrder(row: OrderRow): Order {
  const totalCents = Number(row.total_cents);
  if (!Number.isSafeInteger(totalCents)) throw new Error(`order ${row.id} has a total beyond the safe-integer range`);
  return {
    id: row.id,
    userId: row.user_id,
    items: row.items,
    totalCents,
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Database failures as the RPC errors callers understand: `unavailable` when it is down, `conflict` on duplicates. */
function translate(error: unknown): unknown {
  const translated = asUnavailableWhenDatabaseIsDown(error);
  if (translated instanceof RpcError) return translated;
  if ((error as { code?: unknown })?.code === UNIQUE_VIOLATION) {
    return new RpcError('conflict', 'the order conflicts with an existing one', { cause: error });
  }
  return error;
}

/** Whether a caller confined to `confinedTo` (undefined: any order) may see the order of this row. */
function isVisibleTo(row: Pick<OrderRow, 'owner_subject'>, confinedTo: string | undefined): boolean {
  return confinedTo === undefined || row.owner_subject === confinedTo;
}

/**
 * All SQL of the orders service. `confinedTo` (a token subject; undefined: any order) limits a read or change to
 * the orders of that subject: any other order is not found. `signal` (a handler's `context.signal`) cancels the
 * statement running when it aborts: the request's deadline passed.
 */
export class OrdersRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Inserts a confirmed order. With an idempotency key, the key is recorded in
   * the same transaction; when the key was already used (also by a concurrent
   * duplicate, which waits on the key's unique index) the order created the
   * first time is returned instead and nothing is inserted.
   */
  async create(order: NewOrder, idempotencyKey?: string, signal?: AbortSignal): Promise<Order> {
    // jsonb is passed as JSON text: pg would turn a JavaScript array into a PostgreSQL array.
    const values = [
      order.id,
      order.userId,
      JSON.stringify(order.items),
      order.totalCents,
      order.currency,
      order.ownerSubject ?? null,
    ];
    // Without a key the INSERT is the whole command: no transaction (two round trips fewer).
    if (idempotencyKey === undefined) {
      return toOrder((await this.query<OrderRow>(INSERT_ORDER, values, signal)).rows[0]!);
    }
    try {
      const created = await withTransaction(
        this.pool,
        async (client) => {
          if (!(await claimCommand(client, idempotencyKey, order.id))) return null;
          return toOrder((await client.query<OrderRow>(INSERT_ORDER, values)).rows[0]!);
        },
        signal,
      );
      if (created) return created;
    } catch (error) {
      throw translate(error);
    }
    const original = await this.findByIdempotencyKey(idempotencyKey, order.ownerSubject ?? undefined, signal);
    if (!original) throw new Error(`idempotency key is recorded but its order is missing`);
    return original;
  }

  /**
   * The order an idempotency key created, or null when the key is new. Keys are the client's: one that another
   * subject used first replays nothing of that subject's (conflict).
   */
  async findByIdempotencyKey(idempotencyKey: string, confinedTo?: string, signal?: AbortSignal): Promise<Order | null> {
    const result = await this.query<OrderRow>(
      `SELECT ${ORDER_COLUMNS}
       FROM processed_commands p JOIN orders o ON o.id = p.entity_id
       WHERE p.key = $1`,
      [idempotencyKey],
      signal,
    );
    const row = result.rows[0];
    if (!row) return null;
    if (!isVisibleTo(row, confinedTo)) throw new RpcError('conflict', 'the idempotency key is already used');
    return toOrder(row);
  }

  /** The order with this id; OrderNotFoundError when there is none. */
  async get(id: string, confinedTo?: string, signal?: AbortSignal): Promise<Order> {
    const result = await this.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1`, [id], signal);
    const row = result.rows[0];
    if (!row || !isVisibleTo(row, confinedTo)) throw new OrderNotFoundError(id);
    return toOrder(row);
  }

  /**
   * One page of a user's orders, newest first (ids are UUIDv7, so id order is
   * creation order). The cursor is the last id of the previous page, and the
   * next page holds the ids that come after it in this descending order.
   */
  async listByUser(
    userId: string,
    page: { limit: number; cursor?: string | undefined },
    confinedTo?: string,
    signal?: AbortSignal,
  ): Promise<OrdersPage> {
    const owner = confinedTo ?? null;
    // One row more than the page says whether another page follows.
    const result =
      page.cursor === undefined
        ? await this.query<OrderRow>(
            `SELECT ${COLUMNS} FROM orders WHERE user_id = $1 AND ($3::text IS NULL OR owner_subject = $3)
             ORDER BY id DESC LIMIT $2`,
            [userId, page.limit + 1, owner],
            signal,
          )
        : await this.query<OrderRow>(
            // "After the cursor" in descending order means smaller ids.
            `SELECT ${COLUMNS} FROM orders WHERE user_id = $1 AND id < $2 AND ($4::text IS NULL OR owner_subject = $4)
             ORDER BY id DESC LIMIT $3`,
            [userId, decodeCursor(page.cursor), page.limit + 1, owner],
            signal,
          );
    return toPage(result.rows.map(toOrder), page.limit);
  }

  /**
   * Cancels a confirmed order in one conditional update. Only when no row changed does it look up why: already
   * cancelled (conflict) or unknown (not found). With an idempotency key a repeat returns the order as the first
   * call cancelled it, not a conflict.
   */
  async cancel(id: string, idempotencyKey?: string, confinedTo?: string, signal?: AbortSignal): Promise<Order> {
    // Checked before anything else, so neither a change nor a key's replay reaches an order that is not the caller's.
    if (confinedTo !== undefined) {
      const owned = await this.query<OrderRow>('SELECT owner_subject FROM orders WHERE id = $1', [id], signal);
      if (!owned.rows[0] || !isVisibleTo(owned.rows[0], confinedTo)) throw new OrderNotFoundError(id);
    }
    try {
      return await runCommandOnce(
        this.pool,
        idempotencyKey,
        id,
        async (queryable) => {
          const updated = await queryable.query<OrderRow>(
            `UPDATE orders SET status = 'cancelled', updated_at = now()
           WHERE id = $1 AND status = 'confirmed'
           RETURNING ${COLUMNS}`,
            [id],
          );
          const row = updated.rows[0];
          if (row) return toOrder(row);
          const existing = await queryable.query<{ status: Order['status'] }>(
            'SELECT status FROM orders WHERE id = $1',
            [id],
          );
          if (existing.rows[0]) throw new OrderAlreadyCancelledError(id);
          throw new OrderNotFoundError(id);
        },
        signal,
      );
    } catch (error) {
      throw translate(error);
    }
  }

  private async query<Row extends object>(text: string, values: unknown[], signal: AbortSignal | undefined) {
    try {
      return await withCancellableClient(this.pool, signal, (client) => client.query<Row>(text, values));
    } catch (error) {
      throw translate(error);
    }
  }
}
