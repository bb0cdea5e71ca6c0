/**
 * The orders database's statements that the benchmark's floor runs too. Kept apart from the repository so that
 * the floor runs exactly these (`@warren/orders/statements`), and cannot drift from what the worker does.
 */
import type { Order, OrderItem } from '@warren/contracts';

export const ORDER_COLUMN_NAMES = [
  'id',
  'user_id',
  'items',
  'total_cents',
  'currency',
  'status',
  'owner_subject',
  'created_at',
  'updated_at',
] as const;

/**
 * A confirmed order. `items` ($3) is JSON text: pg would turn a JavaScript array into a PostgreSQL array. $6: the
 * token subject it belongs to, or NULL.
 */
export const INSERT_ORDER = `INSERT INTO orders (id, user_id, items, total_cents, currency, status, owner_subject)
  VALUES ($1, $2, $3::jsonb, $4, $5, 'confirmed', $6) RETURNING ${ORDER_COLUMN_NAMES.join(', ')}`;

/** A row of `orders`, as pg returns it. */
export interface OrderRow {
  id: string;
  user_id: string;
  items: OrderItem[];
  // pg returns bigint as a string: it may not fit in a JavaScript number.
  total_cents: string;
  currency: string;
  status: Order['status'];
  owner_subject: string | null;
  created_at: Date;
  updated_at: Date;
}
