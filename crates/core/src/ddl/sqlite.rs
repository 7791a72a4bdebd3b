//! DDL generation and normalization for SQLite: what `CREATE TABLE` / `CREATE INDEX` text
//! persona schemas become, and what a schema looks like after a round trip through SQLite.
//!
//! SQLite keeps the declared type text of every column, so each logical type is declared with
//! a spelling that introspection maps back exactly (see [`column_type`]). The decisions, each of
//! which [`normalize`] describes exactly so that `introspect(provision(s)) == normalize(s)`:
//!
//! - **Identity.** Only a rowid alias generates values in SQLite, and only a single-column
//!   primary key declared exactly `INTEGER` is one. An identity column that is its table's whole
//!   primary key is written `"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT`; a rowid is 64-bit,
//!   so normalization makes its type `BigInt`. `AUTOINCREMENT` is added so that ids of deleted
//!   rows are never handed out again, as with PostgreSQL identities (the cost is one row per
//!   table in `sqlite_sequence`). Any other identity column cannot be generated: the flag is
//!   dropped and the column keeps its type.
//! - **Integer primary keys that are not identities.** `INTEGER` as the only primary-key column
//!   would silently become a rowid alias (generated values), so such a column is declared `INT`,
//!   which introspection reads back as `Integer`.
//! - **Primary-key columns are `NOT NULL`.** SQLite lets a primary-key column hold NULL unless
//!   told otherwise; every key column is declared `NOT NULL` and normalized non-nullable.
//! - **Foreign keys and checks** are written inside `CREATE TABLE` (SQLite has no
//!   `ALTER TABLE … ADD CONSTRAINT`) as `CONSTRAINT name FOREIGN KEY (…) REFERENCES t (…) ON
//!   DELETE … ON UPDATE …` (actions other than `NO ACTION` only) and `CONSTRAINT name CHECK
//!   (…)`. SQLite does not check a reference when the table is created, so forward references
//!   and cycles work. A foreign key without referenced columns refers to the target's primary
//!   key; normalization fills them in.
//! - **Indexes** are `CREATE [UNIQUE] INDEX`, with `DESC`, partial `WHERE` predicates and
//!   expression key parts (written in parentheses). SQLite has no `INCLUDE` columns: they are
//!   dropped. It has only B-trees: `hash` and `brin` indexes become B-tree indexes on the same
//!   key (they serve the same equality / range lookups), while `gin` and `gist` indexes, whose
//!   purpose (containment, full text, geometry) a B-tree cannot serve, are not created at all.
//! - **Defaults** are printed so SQLite accepts and reports them verbatim: `NULL`, `true` /
//!   `false`, numbers, quoted strings, `CURRENT_TIMESTAMP`, `CURRENT_DATE`, and any other
//!   expression in parentheses (SQLite reports it without them). Normalization re-reads a
//!   default from its printed form, as introspection does.
//! - **Comments** have no place in SQLite's catalog: table and column comments are dropped.
//! - **Check expressions, index predicates and expression key parts** are sent as
//!   [`super::render_expression`] prints them for SQLite (identifiers quoted, PostgreSQL casts
//!   as `CAST(… AS …)`); SQLite keeps that text verbatim, and both sides compare it in the
//!   canonical form of [`super::canonical_expression_in`]. An expression key part that is only a
//!   column reference is indexed by SQLite as that column, and normalized to a column part.
//! - **Order.** Tables are created parents first (foreign-key order, ties and cycles in schema
//!   order), each followed by its indexes; [`drop_schema`] drops them in exactly the reverse
//!   order, after `PRAGMA defer_foreign_keys = ON` so that a cycle of tables holding rows can be
//!   dropped inside one transaction.

use std::fmt::Write as _;

use crate::{DataType, DefaultValue, Dialect, ForeignKeyAction, IndexMethod, Schema, Table};

const Q: Dialect = Dialect::Sqlite;

pub(super) fn create_schema(schema: &Schema) -> Vec<String> {
    let mut schema = schema.clone();
    schema.fill_default_names();
    let schema = &schema;
    let mut out = Vec::new();
    for table in creation_order(schema) {
        out.push(create_table(schema, table));
        for ix in &table.indexes {
            if let Some(sql) = create_index(table, ix) {
                out.push(sql);
            }
        }
    }
    out
}

pub(super) fn drop_schema(schema: &Schema) -> Vec<String> {
    let mut out = vec!["PRAGMA defer_foreign_keys = ON".to_owned()];
    for table in creation_order(schema).into_iter().rev() {
        out.push(format!("DROP TABLE {}", Q.quote_ident(&table.name)));
    }
    out
}

/// The declared type of each logical type. Every spelling maps back to exactly its logical type
/// when introspected.
pub(super) fn column_type(data_type: DataType) -> String {
    match data_type {
        DataType::SmallInt => "SMALLINT".to_owned(),
        DataType::Integer => "INTEGER".to_owned(),
        DataType::BigInt => "BIGINT".to_owned(),
        DataType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
        DataType::Real => "REAL".to_owned(),
        DataType::Double => "DOUBLE".to_owned(),
        DataType::Boolean => "BOOLEAN".to_owned(),
        DataType::Text => "TEXT".to_owned(),
        DataType::Varchar(n) => format!("VARCHAR({n})"),
        DataType::Char(n) => format!("CHAR({n})"),
        DataType::Uuid => "UUID".to_owned(),
        DataType::Json => "JSON".to_owned(),
        DataType::Date => "DATE".to_owned(),
        DataType::Time => "TIME".to_owned(),
        DataType::Timestamp => "TIMESTAMP".to_owned(),
        DataType::TimestampTz => "TIMESTAMPTZ".to_owned(),
        DataType::Bytes => "BLOB".to_owned(),
    }
}

pub(super) fn normalize(mut schema: Schema) -> Schema {
    let pks: Vec<(String, Vec<String>)> = schema
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.primary_key.clone()))
        .collect();
    for table in &mut schema.tables {
        table.comment = None;
        let rowid = rowid_alias(table).map(str::to_owned);
        for col in &mut table.columns {
            col.comment = None;
            if table.primary_key.contains(&col.name) {
                col.nullable = false;
            }
            if col.identity {
                if rowid.as_deref() == Some(col.name.as_str()) {
                    col.data_type = DataType::BigInt;
                    col.nullable = false;
                } else {
                    col.identity = false;
                }
            }
            col.default = col
                .default
                .take()
                .map(|d| DefaultValue::parse(&d.to_string()));
        }
        table
            .indexes
            .retain(|ix| kept_method(ix.method) && !ix.columns.is_empty());
        let column_names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        for ix in &mut table.indexes {
            ix.include.clear();
            ix.method = IndexMethod::Btree;
            ix.predicate = ix.predicate.as_deref().map(canonical);
            for part in &mut ix.columns {
                if part.column.is_none()
                    && let Some(expr) = &part.expression
                {
                    let stored = canonical(expr);
                    // SQLite indexes a bare (parenthesized) column reference as the column.
                    match column_names
                        .iter()
                        .find(|c| **c == stored || Q.quote_ident(c) == stored)
                    {
                        Some(column) => {
                            part.column = Some(column.clone());
                            part.expression = None;
                        }
                        None => part.expression = Some(stored),
                    }
                }
            }
        }
        for fk in &mut table.foreign_keys {
            if fk.ref_columns.is_empty()
                && let Some((_, pk)) = pks.iter().find(|(name, _)| *name == fk.ref_table)
            {
                fk.ref_columns.clone_from(pk);
            }
        }
        for check in &mut table.checks {
            check.expression = canonical(&check.expression);
        }
    }
    schema
}

/// A check expression, index predicate or expression key part as SQLite stores it, in canonical
/// form (what introspection reports).
fn canonical(sql: &str) -> String {
    super::stored_expression(sql, Q)
}

/// A check expression, index predicate or expression key part as it is sent to SQLite:
/// identifiers quoted, PostgreSQL casts spelled `CAST(… AS …)`.
fn render(sql: &str) -> String {
    super::render_expression(sql, Q)
}

/// Whether SQLite gets an index of this method at all (see the module documentation).
pub(super) fn kept_method(method: IndexMethod) -> bool {
    matches!(
        method,
        IndexMethod::Btree | IndexMethod::Hash | IndexMethod::Brin
    )
}

/// The column that becomes a rowid alias: an identity column that is the whole primary key.
fn rowid_alias(table: &Table) -> Option<&str> {
    match table.primary_key.as_slice() {
        [only] => table
            .columns
            .iter()
            .find(|c| &c.name == only && c.identity)
            .map(|c| c.name.as_str()),
        _ => None,
    }
}

/// Tables parents first: each table after the tables its foreign keys reference, ties and
/// cycles broken by schema order.
fn creation_order(schema: &Schema) -> Vec<&Table> {
    fn visit<'a>(schema: &'a Schema, i: usize, state: &mut [u8], out: &mut Vec<&'a Table>) {
        if state[i] != 0 {
            return;
        }
        state[i] = 1;
        let table = &schema.tables[i];
        for fk in &table.foreign_keys {
            if let Some(j) = schema.tables.iter().position(|t| t.name == fk.ref_table)
                && j != i
            {
                visit(schema, j, state, out);
            }
        }
        state[i] = 2;
        out.push(table);
    }
    let mut state = vec![0u8; schema.tables.len()];
    let mut out = Vec::with_capacity(schema.tables.len());
    for i in 0..schema.tables.len() {
        visit(schema, i, &mut state, &mut out);
    }
    out
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| Q.quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

fn create_table(schema: &Schema, table: &Table) -> String {
    let rowid = rowid_alias(table);
    let mut items = Vec::new();
    for col in &table.columns {
        let is_pk = table.primary_key.contains(&col.name);
        let mut def = Q.quote_ident(&col.name);
        def.push(' ');
        if rowid == Some(col.name.as_str()) {
            def.push_str("INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT");
        } else {
            if col.data_type == DataType::Integer && table.primary_key.len() == 1 && is_pk {
                // `INTEGER` would make the column a rowid alias (see the module documentation).
                def.push_str("INT");
            } else {
                def.push_str(&column_type(col.data_type));
            }
            if is_pk || !col.nullable {
                def.push_str(" NOT NULL");
            }
        }
        if let Some(default) = &col.default {
            def.push_str(" DEFAULT ");
            def.push_str(&default_sql(default));
        }
        items.push(def);
    }
    if rowid.is_none() && !table.primary_key.is_empty() {
        items.push(format!("PRIMARY KEY ({})", quoted_list(&table.primary_key)));
    }
    for fk in &table.foreign_keys {
        let mut def = String::new();
        if !fk.name.is_empty() {
            def.push_str("CONSTRAINT ");
            def.push_str(&Q.quote_ident(&fk.name));
            def.push(' ');
        }
        let _ = write!(
            def,
            "FOREIGN KEY ({}) REFERENCES {}",
            quoted_list(&fk.columns),
            Q.quote_ident(&fk.ref_table)
        );
        let ref_columns = if fk.ref_columns.is_empty() {
            schema
                .table(&fk.ref_table)
                .map(|t| t.primary_key.as_slice())
                .unwrap_or_default()
        } else {
            fk.ref_columns.as_slice()
        };
        if !ref_columns.is_empty() {
            let _ = write!(def, " ({})", quoted_list(ref_columns));
        }
        for (word, action) in [("DELETE", fk.on_delete), ("UPDATE", fk.on_update)] {
            if action != ForeignKeyAction::NoAction {
                let _ = write!(def, " ON {word} {}", action.as_sql());
            }
        }
        items.push(def);
    }
    for check in &table.checks {
        let mut def = String::new();
        if !check.name.is_empty() {
            def.push_str("CONSTRAINT ");
            def.push_str(&Q.quote_ident(&check.name));
            def.push(' ');
        }
        let _ = write!(def, "CHECK ({})", render(&check.expression));
        items.push(def);
    }
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        Q.quote_ident(&table.name),
        items.join(",\n  ")
    )
}

fn create_index(table: &Table, ix: &crate::Index) -> Option<String> {
    if !kept_method(ix.method) || ix.columns.is_empty() {
        return None;
    }
    let parts: Vec<String> = ix
        .columns
        .iter()
        .map(|part| {
            let mut sql = match (&part.column, &part.expression) {
                (Some(column), _) => Q.quote_ident(column),
                (None, Some(expr)) => format!("({})", render(expr)),
                (None, None) => String::from("NULL"),
            };
            if part.order == crate::SortOrder::Desc {
                sql.push_str(" DESC");
            }
            sql
        })
        .collect();
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        Q.quote_ident(&ix.name),
        Q.quote_ident(&table.name),
        parts.join(", ")
    );
    if let Some(predicate) = &ix.predicate {
        sql.push_str(" WHERE ");
        sql.push_str(&render(predicate));
    }
    Some(sql)
}

fn default_sql(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Text(text) => Q.quote_literal(text),
        DefaultValue::Expression(expr) => format!("({})", expr.trim()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Check, Column, ForeignKey, Index, IndexColumn, SortOrder};

    fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
        Table {
            name: name.to_owned(),
            columns,
            primary_key: pk.iter().map(|s| (*s).to_owned()).collect(),
            ..Table::default()
        }
    }

    fn identity(name: &str) -> Column {
        Column {
            identity: true,
            nullable: false,
            ..Column::new(name, DataType::Integer)
        }
    }

    fn sample() -> Schema {
        let mut orders = table(
            "orders",
            vec![
                identity("id"),
                Column {
                    nullable: false,
                    ..Column::new("customer_id", DataType::BigInt)
                },
                Column {
                    default: Some(DefaultValue::Text("new".into())),
                    ..Column::new("status", DataType::Varchar(20))
                },
                Column {
                    default: Some(DefaultValue::Expression("1 + 2".into())),
                    ..Column::new("n", DataType::Integer)
                },
            ],
            &["id"],
        );
        orders.foreign_keys.push(ForeignKey {
            name: "orders_customer_fk".into(),
            columns: vec!["customer_id".into()],
            ref_table: "customers".into(),
            ref_columns: vec![],
            on_delete: ForeignKeyAction::Cascade,
            on_update: ForeignKeyAction::NoAction,
        });
        orders.checks.push(Check {
            name: "n_positive".into(),
            expression: " n > 0 ".into(),
        });
        orders.indexes.push(Index {
            name: "orders_recent".into(),
            columns: vec![
                IndexColumn::column("customer_id"),
                IndexColumn::ordered("id", SortOrder::Desc),
                IndexColumn::expression("lower(status)"),
            ],
            unique: false,
            predicate: Some("status <> 'done'".into()),
            include: vec!["n".into()],
            method: IndexMethod::Btree,
        });
        orders.indexes.push(Index {
            name: "orders_search".into(),
            columns: vec![IndexColumn::column("status")],
            unique: false,
            predicate: None,
            include: vec![],
            method: IndexMethod::Gin,
        });
        let customers = table(
            "customers",
            vec![
                Column::new("id", DataType::Integer),
                Column::new("email", DataType::Text),
            ],
            &["id"],
        );
        Schema {
            tables: vec![orders, customers],
        }
    }

    #[test]
    fn every_type_has_a_distinct_declared_spelling() {
        let all = DataType::EXAMPLES;
        let names: std::collections::BTreeSet<String> =
            all.iter().map(|t| column_type(*t)).collect();
        assert_eq!(names.len(), all.len());
        assert_eq!(
            column_type(DataType::Decimal {
                precision: 12,
                scale: 2
            }),
            "DECIMAL(12,2)"
        );
    }

    #[test]
    fn tables_are_created_parents_first_and_dropped_in_reverse() {
        let ddl = create_schema(&sample());
        assert!(ddl[0].starts_with("CREATE TABLE \"customers\""), "{ddl:#?}");
        assert!(ddl[1].starts_with("CREATE TABLE \"orders\""), "{ddl:#?}");
        let drop = drop_schema(&sample());
        assert_eq!(
            drop,
            [
                "PRAGMA defer_foreign_keys = ON",
                "DROP TABLE \"orders\"",
                "DROP TABLE \"customers\""
            ]
        );
    }

    #[test]
    fn create_table_spells_keys_constraints_and_defaults() {
        let ddl = create_schema(&sample());
        let customers = &ddl[0];
        // A non-identity integer key must not become a rowid alias.
        assert!(customers.contains("\"id\" INT NOT NULL"), "{customers}");
        assert!(customers.contains("PRIMARY KEY (\"id\")"), "{customers}");
        let orders = &ddl[1];
        assert!(
            orders.contains("\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"),
            "{orders}"
        );
        assert!(!orders.contains("PRIMARY KEY (\"id\")"), "{orders}");
        assert!(
            orders.contains("\"status\" VARCHAR(20) DEFAULT 'new'"),
            "{orders}"
        );
        assert!(orders.contains("\"n\" INTEGER DEFAULT (1 + 2)"), "{orders}");
        assert!(
            orders.contains(
                "CONSTRAINT \"orders_customer_fk\" FOREIGN KEY (\"customer_id\") REFERENCES \
                 \"customers\" (\"id\") ON DELETE CASCADE,"
            ),
            "{orders}"
        );
        assert!(
            orders.contains("CONSTRAINT \"n_positive\" CHECK (\"n\" > 0)"),
            "{orders}"
        );
    }

    #[test]
    fn indexes_keep_order_predicate_and_expressions_but_not_include_or_gin() {
        let ddl = create_schema(&sample());
        let indexes: Vec<&String> = ddl.iter().filter(|s| s.contains("INDEX")).collect();
        assert_eq!(
            indexes,
            [
                "CREATE INDEX \"orders_recent\" ON \"orders\" (\"customer_id\", \"id\" DESC, \
                 (lower(\"status\"))) WHERE \"status\" <> 'done'"
            ]
        );
    }

    #[test]
    fn hostile_names_are_quoted_everywhere() {
        let name = "a\"b; DROP TABLE x; --";
        let mut t = table(name, vec![identity(name)], &[name]);
        t.indexes.push(Index {
            name: name.into(),
            columns: vec![IndexColumn::column(name)],
            unique: true,
            predicate: None,
            include: vec![],
            method: IndexMethod::Btree,
        });
        let ddl = create_schema(&Schema { tables: vec![t] });
        let quoted = "\"a\"\"b; DROP TABLE x; --\"";
        assert_eq!(
            ddl[1],
            format!("CREATE UNIQUE INDEX {quoted} ON {quoted} ({quoted})")
        );
        assert!(ddl[0].starts_with(&format!("CREATE TABLE {quoted} (\n  {quoted} INTEGER")));
    }

    #[test]
    fn normalize_describes_every_sqlite_decision() {
        let n = crate::ddl::normalize(&sample(), Dialect::Sqlite);
        let customers = &n.tables[0];
        assert_eq!(customers.name, "customers");
        assert!(
            !customers.columns[0].nullable,
            "primary-key columns are NOT NULL"
        );
        assert!(customers.columns[1].nullable);
        let orders = &n.tables[1];
        let id = &orders.columns[0];
        assert!(id.identity && !id.nullable);
        assert_eq!(id.data_type, DataType::BigInt);
        assert_eq!(orders.foreign_keys[0].ref_columns, ["id"]);
        assert_eq!(orders.indexes.len(), 1, "the gin index is not created");
        assert!(orders.indexes[0].include.is_empty());
        assert_eq!(orders.checks[0].expression, "n > 0");
        assert_eq!(
            orders.columns[3].default,
            Some(DefaultValue::Expression("1 + 2".into()))
        );

        // An identity column that is not the whole key cannot be generated.
        let mut t = table("t", vec![identity("a"), identity("b")], &["a", "b"]);
        t.comment = Some("gone".into());
        let n = crate::ddl::normalize(&Schema { tables: vec![t] }, Dialect::Sqlite);
        assert!(n.tables[0].columns.iter().all(|c| !c.identity));
        assert_eq!(n.tables[0].columns[0].data_type, DataType::Integer);
        assert_eq!(n.tables[0].comment, None);
    }

    #[test]
    fn normalize_is_idempotent() {
        let once = crate::ddl::normalize(&sample(), Dialect::Sqlite);
        assert_eq!(crate::ddl::normalize(&once, Dialect::Sqlite), once);
    }
}
