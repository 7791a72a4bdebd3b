//! Schema introspection: reads a live database back into a `persona_core::Schema`.
//!
//! Expressions the database reports (check constraints, index expressions, partial-index
//! predicates) are returned in canonical form (`persona_core::ddl::canonical_expression_in`),
//! so the result compares equal to `persona_core::ddl::normalize(schema, dialect)` after a
//! round trip. What has no logical equivalent in the model (a column type such as `inet` or an
//! enum, a generated column's expression) is reported as a warning next to the schema.

mod mysql;
mod postgres;
mod sqlite;

use std::fmt;

use persona_core::Schema;

use crate::db::{Database, DbError};

/// A schema read from a database, with what could not be represented exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Introspection {
    pub schema: Schema,
    pub warnings: Vec<IntrospectionWarning>,
}

/// Something in the database the model cannot represent exactly, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionWarning {
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for IntrospectionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "{}.{}: {}", self.table, column, self.message),
            None => write!(f, "{}: {}", self.table, self.message),
        }
    }
}

/// Read every user table of the database (PostgreSQL: the connection's current schema) into a
/// `Schema`, with tables sorted by name, columns in ordinal order, and indexes, foreign keys and
/// checks sorted by name. Warnings are logged; use [`introspect_with_warnings`] to get them.
pub async fn introspect(db: &Database) -> Result<Schema, DbError> {
    let Introspection { schema, warnings } = introspect_with_warnings(db).await?;
    for w in &warnings {
        tracing::warn!("introspection: {w}");
    }
    Ok(schema)
}

/// [`introspect`], returning the warnings instead of logging them.
pub async fn introspect_with_warnings(db: &Database) -> Result<Introspection, DbError> {
    match db {
        Database::Postgres(pool) => postgres::introspect(pool).await,
        Database::Mysql(pool) => mysql::introspect_with_warnings(pool).await,
        Database::Sqlite(pool) => sqlite::introspect_with_warnings(pool).await,
    }
}
