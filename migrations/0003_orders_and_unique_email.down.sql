-- (MySQL and MariaDB name the table: DROP INDEX users_email_key ON users;)
DROP TABLE orders;
DROP INDEX users_email_key;
