-- Up Migration
-- The token subject an order belongs to (its user's, when it was placed; issue 17): a user-scoped token reads,
-- lists and cancels only its own orders. NULL for orders placed before, or for a user bound to no subject.
ALTER TABLE orders ADD COLUMN owner_subject text;

-- Down Migration
ALTER TABLE orders DROP COLUMN owner_subject;
