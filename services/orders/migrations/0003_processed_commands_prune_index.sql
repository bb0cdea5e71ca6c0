-- Up Migration
-- The pruning of expired idempotency keys (service-kit CommandPruner) finds the oldest rows by created_at. Built in
-- the migration's transaction (SQL migrations cannot build CONCURRENTLY): claims wait for it, once.
CREATE INDEX processed_commands_created_at_idx ON processed_commands (created_at);

-- Down Migration
DROP INDEX processed_commands_created_at_idx;
