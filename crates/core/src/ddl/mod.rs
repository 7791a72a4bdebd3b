//! Per-dialect DDL generation (create and drop a schema) and dialect normalization (what a
//! schema looks like after a round trip through a dialect's database).
//!
//! Output is deterministic, every identifier is quoted for its dialect, and statements carry no
//! trailing semicolon (join them with [`script`]).

mod mysql;
mod postgres;
mod sqlite;

use crate::{DataType, Dialect, Schema};

/// Statements that create every table, index, foreign key and check of `schema`, in an order
/// the dialect accepts (tables first, foreign keys after, so cycles work where they can).
pub fn create_schema(schema: &Schema, dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Postgres => postgres::create_schema(schema),
        Dialect::Mysql => mysql::create_schema(schema),
        Dialect::Sqlite => sqlite::create_schema(schema),
    }
}

/// Statements that drop every table of `schema` (the exact reverse of [`create_schema`]).
pub fn drop_schema(schema: &Schema, dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Postgres => postgres::drop_schema(schema),
        Dialect::Mysql => mysql::drop_schema(schema),
        Dialect::Sqlite => sqlite::drop_schema(schema),
    }
}

/// The dialect's spelling of a logical type.
pub fn column_type(data_type: DataType, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => postgres::column_type(data_type),
        Dialect::Mysql => mysql::column_type(data_type),
        Dialect::Sqlite => sqlite::column_type(data_type),
    }
}

/// What `schema` looks like after being created in `dialect` and introspected back: tables
/// sorted by name; indexes, foreign keys and checks sorted by name; types, defaults and
/// expressions in the dialect's canonical form. `normalize(s, d) == introspect(provision(s))`
/// is the round-trip law the engine's tests check.
pub fn normalize(schema: &Schema, dialect: Dialect) -> Schema {
    let mut out = schema.clone();
    out.fill_default_names();
    let mut out = match dialect {
        Dialect::Postgres => postgres::normalize(out),
        Dialect::Mysql => mysql::normalize(out),
        Dialect::Sqlite => sqlite::normalize(out),
    };
    out.sort_canonically();
    out
}

/// Join statements into a script, one per line group, each ending with `;`.
pub fn script(statements: &[String]) -> String {
    let mut out = String::new();
    for s in statements {
        out.push_str(s);
        out.push_str(";\n");
    }
    out
}
