-- Soft deletes (a user is marked, and purged 30 days later by the job
-- jobs/purge_deleted_users.sql) and the email domain that the job
-- jobs/backfill_email_domain.sql fills in batches.
-- check: rows users unchanged
-- check: data users (id, email, name, status) unchanged

ALTER TABLE users ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE users ADD COLUMN email_domain TEXT;
