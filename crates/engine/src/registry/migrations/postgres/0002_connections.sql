-- Saved target-database connections. The URL never carries a password: `secret` says where
-- the password comes from at use (`none`, `env:VAR`, `pgpass`, `prompt`).
CREATE TABLE connections (
    connection_id TEXT NOT NULL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL DEFAULT 'none',
    created_at    TEXT NOT NULL
);
