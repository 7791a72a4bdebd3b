-- Canvas layouts: where each table sits on a persona's schema canvas and how it is zoomed, as
-- the GUI's JSON. One row per persona, rewritten on every save; not part of the persona's
-- versions (moving a table is not a schema change) and deleted with the persona.
CREATE TABLE persona_layouts (
    persona_id TEXT NOT NULL PRIMARY KEY REFERENCES personas (persona_id) ON DELETE CASCADE,
    layout     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
