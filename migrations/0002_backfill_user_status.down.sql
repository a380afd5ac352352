-- check: rows users unchanged
ALTER TABLE users DROP COLUMN status;
