DROP TABLE orders;
DROP INDEX users_email_key;
