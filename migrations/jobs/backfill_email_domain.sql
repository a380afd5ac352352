-- A one-off backfill in batches: set users.email_domain, 1,000 rows per
-- batch, for at most 10 minutes per run (`migrate job run
-- backfill_email_domain`; run it again to continue where it stopped).
-- It has no job:every: it runs only when named.
-- job:batch max 10m
-- Every domain written is the email's own:
-- check: empty SELECT id FROM users WHERE email_domain IS NOT NULL AND email_domain <> lower(substr(email, instr(email, '@') + 1))
-- (SQLite, as the demo; PostgreSQL: split_part(email, '@', 2).)

UPDATE users SET email_domain = lower(substr(email, instr(email, '@') + 1))
WHERE id IN (
    SELECT id FROM users WHERE email_domain IS NULL ORDER BY id LIMIT 1000
);
