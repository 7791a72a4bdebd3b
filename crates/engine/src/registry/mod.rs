//! The persona registry: durable, versioned storage of personas (SQLite by default, PostgreSQL
//! for teams), with migrations run at start-up.
