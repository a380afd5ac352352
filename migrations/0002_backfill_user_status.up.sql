-- Add a column and backfill it. The checks prove that no user was lost or
-- changed on the way, and that every row got a valid status.
-- check: rows users unchanged
-- check: data users (id, email, name) unchanged
-- check: empty SELECT id FROM users WHERE status NOT IN ('active', 'invited')

ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
UPDATE users SET status = 'invited' WHERE name IS NULL;
