-- check: rows users unchanged
ALTER TABLE users DROP COLUMN email_domain;
ALTER TABLE users DROP COLUMN deleted_at;
