-- Up Migration
CREATE TABLE orders (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  items jsonb NOT NULL,
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Keyset listing of one user's orders, newest first: WHERE user_id = $1 AND id < $2 ORDER BY id DESC.
CREATE INDEX orders_user_id_id_idx ON orders (user_id, id);

-- Idempotency keys of orders.create: the key and the order it created, written in the same transaction.
CREATE TABLE processed_commands (
  key text PRIMARY KEY,
  entity_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE processed_commands;
DROP TABLE orders;
