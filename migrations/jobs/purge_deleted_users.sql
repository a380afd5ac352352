-- Every day: delete the users soft-deleted more than 30 days ago, 1,000
-- per batch (each batch its own short transaction), for at most 10
-- minutes; what is left goes with the next run. Cron or a systemd timer
-- runs `migrate job run --due` (MIGRATING.md, "Jobs").
-- job:every 1d
-- job:batch max 10m
-- Each batch first saves the rows it is about to delete into a backup
-- table of its own, named from the batch's ledger event and kept 30 days
-- (`migrate restore --job purge_deleted_users` puts them back), and must
-- delete exactly those rows:
-- backup: users keep 30d where id IN (SELECT id FROM users WHERE deleted_at < datetime('now', '-30 days') ORDER BY id LIMIT 1000)
-- check: rows users delta -backup
-- A user with orders is never purged: nothing runs while one is due
-- (support has to close the orders first), and no order loses its user:
-- check:pre empty SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE u.deleted_at < datetime('now', '-30 days')
-- check: empty SELECT o.id FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL
-- (SQLite, as the demo; PostgreSQL: now() - interval '30 days'. MySQL
-- takes no LIMIT in an IN subquery: wrap it in a derived table, in the
-- backup's where and the DELETE alike: id IN (SELECT id FROM (SELECT id
-- FROM users WHERE ... ORDER BY id LIMIT 1000) AS batch).)

DELETE FROM users WHERE id IN (
    SELECT id FROM users
    WHERE deleted_at < datetime('now', '-30 days')
    ORDER BY id
    LIMIT 1000
);
