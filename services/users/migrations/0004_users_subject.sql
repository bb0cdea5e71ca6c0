-- Up Migration
-- The access token subject a user is bound to (issue 17): a user-scoped token reads and changes only the user whose
-- subject is its `sub`. NULL for users created before, or by an admin for no one; one user per subject.
ALTER TABLE users ADD COLUMN subject text;
CREATE UNIQUE INDEX users_subject_key ON users (subject);

-- Down Migration
DROP INDEX users_subject_key;
ALTER TABLE users DROP COLUMN subject;
