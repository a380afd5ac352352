-- A data cleanup: invited users who never signed up go. Their rows are
-- backed up first (into a table migrate keeps for 30 days), the delete must
-- remove exactly the rows the backup saved, and no order may lose its user.
-- The down file puts them back from the backup and proves it.
-- backup: users keep 30d where status = 'invited'
-- check: rows users delta -backup
-- check: empty SELECT id FROM orders WHERE user_id NOT IN (SELECT id FROM users)

DELETE FROM users WHERE status = 'invited';
