-- Up Migration
CREATE TABLE users (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique case-insensitively; the address is stored as given.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Idempotency keys of commands already carried out (x-idempotency-key), with the entity each one created.
CREATE TABLE processed_commands (
  key text PRIMARY KEY,
  entity_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE processed_commands;
DROP TABLE users;
