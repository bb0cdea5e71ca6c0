-- Up Migration
-- The first reply of an update command (PATCH, cancel) with an Idempotency-Key: a retry gets it back unchanged.
-- Creates leave it NULL and answer with the entity they created (entity_id).
ALTER TABLE processed_commands ADD COLUMN outcome jsonb;

-- Down Migration
ALTER TABLE processed_commands DROP COLUMN outcome;
