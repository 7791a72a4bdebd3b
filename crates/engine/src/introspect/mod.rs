//! Schema introspection: reads a live database back into a `persona_core::Schema`.

mod mysql;
mod postgres;
mod sqlite;

use persona_core::Schema;

use crate::db::{Database, DbError};

/// Read every user table of the database (PostgreSQL: the connection's current schema) into a
/// `Schema`, with tables sorted by name, columns in ordinal order, and indexes, foreign keys and
/// checks sorted by name.
pub async fn introspect(db: &Database) -> Result<Schema, DbError> {
    match db {
        Database::Postgres(pool) => postgres::introspect(pool).await,
        Database::Mysql(pool) => mysql::introspect(pool).await,
        Database::Sqlite(pool) => sqlite::introspect(pool).await,
    }
}
