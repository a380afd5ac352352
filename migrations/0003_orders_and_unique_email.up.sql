-- A unique index fails on duplicates: find them before anything runs.
-- check:pre empty SELECT email FROM users GROUP BY email HAVING count(*) > 1
-- check: true SELECT count(*) = 2 FROM orders

CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    total_cents INTEGER NOT NULL CHECK (total_cents >= 0)
);
CREATE INDEX orders_user_id ON orders (user_id);

INSERT INTO orders (id, user_id, total_cents) VALUES (1, 1, 4200), (2, 2, 999);
