-- Personas and their versions. A persona's identity (id, unique name) lives in `personas`;
-- every saved definition is a row of `persona_versions`, never rewritten.
CREATE TABLE personas (
    persona_id     TEXT   NOT NULL PRIMARY KEY,
    name           TEXT   NOT NULL UNIQUE,
    latest_version BIGINT NOT NULL CHECK (latest_version >= 1),
    created_at     TEXT   NOT NULL,
    updated_at     TEXT   NOT NULL
);

CREATE TABLE persona_versions (
    persona_id  TEXT   NOT NULL REFERENCES personas (persona_id) ON DELETE CASCADE,
    version     BIGINT NOT NULL CHECK (version >= 1),
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    -- JSON array of strings.
    tags        TEXT   NOT NULL,
    table_count BIGINT NOT NULL,
    -- The full PersonaDefinition.
    definition  JSONB  NOT NULL,
    note        TEXT   NOT NULL DEFAULT '',
    created_at  TEXT   NOT NULL,
    PRIMARY KEY (persona_id, version)
);
