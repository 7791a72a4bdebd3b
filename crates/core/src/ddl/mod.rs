//! Per-dialect DDL generation (create and drop a schema) and dialect normalization (what a
//! schema looks like after a round trip through a dialect's database).
//!
//! Output is deterministic, every identifier is quoted for its dialect, and statements carry no
//! trailing semicolon (join them with [`script`]).

mod expr;
mod mysql;
mod postgres;
mod sqlite;

pub use expr::{
    canonical_expression, canonical_expression_in, render_expression, stored_expression,
};

use crate::{
    DataType, DefaultValue, Dialect, ForeignKey, ForeignKeyAction, Index, IndexMethod, Schema,
    Table,
};

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

/// The index as `dialect` creates it for `table`, or `None` when the dialect's DDL leaves it out:
/// GIN and GiST exist only on PostgreSQL (MySQL turns `gin` on text columns into `FULLTEXT`,
/// kept here as method `Gin`); hash and BRIN become B-trees elsewhere; SQLite drops INCLUDE;
/// MySQL/MariaDB also drop predicates and INCLUDE and index `lower(col)` / `upper(col)` as
/// `col`. The generators and validation both go by this.
pub fn shaped_index(ix: &Index, table: &Table, dialect: Dialect) -> Option<Index> {
    match dialect {
        Dialect::Postgres => Some(ix.clone()),
        Dialect::Sqlite => {
            (sqlite::kept_method(ix.method) && !ix.columns.is_empty()).then(|| Index {
                include: Vec::new(),
                method: IndexMethod::Btree,
                ..ix.clone()
            })
        }
        Dialect::Mysql => mysql::shape_index(ix.clone(), &mysql::column_types(table)),
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

/// The name `dialect` stores for `name`: PostgreSQL cuts identifiers to 63 bytes (on a
/// character boundary); MySQL and SQLite keep them as given.
pub fn stored_identifier(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => postgres::truncate(name),
        Dialect::Mysql | Dialect::Sqlite => name.to_owned(),
    }
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

// Fragments shared by the dialect modules.

/// Identifiers quoted for `dialect` and joined with `, `.
fn quoted_list(names: &[String], dialect: Dialect) -> String {
    names
        .iter()
        .map(|n| dialect.quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column default as `dialect` spells it after `DEFAULT` (string literals escaped for the
/// dialect; expressions as written).
fn default_sql(value: &DefaultValue, dialect: Dialect) -> String {
    match value {
        DefaultValue::Text(t) => dialect.quote_literal(t),
        other => other.to_string(),
    }
}

/// ` ON DELETE …` / ` ON UPDATE …` for the actions other than `NO ACTION` (the default of every
/// dialect), with a leading space; empty when both are `NO ACTION`.
fn fk_actions(fk: &ForeignKey) -> String {
    let mut out = String::new();
    if fk.on_delete != ForeignKeyAction::NoAction {
        out.push_str(" ON DELETE ");
        out.push_str(fk.on_delete.as_sql());
    }
    if fk.on_update != ForeignKeyAction::NoAction {
        out.push_str(" ON UPDATE ");
        out.push_str(fk.on_update.as_sql());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, IndexColumn};

    fn posts() -> Table {
        Table {
            name: "posts".into(),
            columns: vec![
                Column::new("id", DataType::BigInt),
                Column::new("title", DataType::Text),
                Column::new("body", DataType::Json),
            ],
            primary_key: vec!["id".into()],
            ..Table::default()
        }
    }

    fn index(method: IndexMethod, columns: Vec<IndexColumn>) -> Index {
        Index {
            name: "ix".into(),
            columns,
            unique: false,
            predicate: Some("id > 0".into()),
            include: vec!["id".into()],
            method,
        }
    }

    #[test]
    fn shaped_index_follows_each_dialect() {
        let t = posts();
        let gin_title = index(IndexMethod::Gin, vec![IndexColumn::column("title")]);
        let gin_body = index(IndexMethod::Gin, vec![IndexColumn::column("body")]);
        let lower = index(
            IndexMethod::Hash,
            vec![IndexColumn::expression("LOWER(title)")],
        );

        assert_eq!(
            shaped_index(&gin_body, &t, Dialect::Postgres),
            Some(gin_body.clone())
        );
        assert_eq!(shaped_index(&gin_title, &t, Dialect::Sqlite), None);
        let sqlite = shaped_index(&lower, &t, Dialect::Sqlite).unwrap();
        assert_eq!(
            (sqlite.method, sqlite.include.len()),
            (IndexMethod::Btree, 0)
        );
        assert_eq!(sqlite.predicate.as_deref(), Some("id > 0"));

        // MySQL: FULLTEXT for text, nothing for JSON, `lower(col)` as `col`, no predicate.
        let fulltext = shaped_index(&gin_title, &t, Dialect::Mysql).unwrap();
        assert_eq!(fulltext.method, IndexMethod::Gin);
        assert_eq!(shaped_index(&gin_body, &t, Dialect::Mysql), None);
        let folded = shaped_index(&lower, &t, Dialect::Mysql).unwrap();
        assert_eq!(folded.columns, vec![IndexColumn::column("title")]);
        assert_eq!(
            (folded.method, folded.predicate),
            (IndexMethod::Btree, None)
        );
    }
}
