-- The first table, with a few rows so that the later checks have data.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT
);

INSERT INTO users (id, email, name) VALUES
    (1, 'ada@example.com', 'Ada Lovelace'),
    (2, 'grace@example.com', 'Grace Hopper'),
    (3, 'edsger@example.com', NULL);
