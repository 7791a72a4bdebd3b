//! Introspection of a live PostgreSQL database into a `Schema`: the tables of the connection's
//! current schema (`current_schema()`), read from `pg_catalog`.
//!
//! Mapping decisions:
//! - Column types come from `format_type` and map back to the logical types. A domain maps to
//!   its base type, with a warning. A type with no logical equivalent (arrays, enums,
//!   `tsvector`, `inet`, `interval`, `numeric` without precision, …) is reported as `text` with
//!   a warning naming `table.column` and the type: the schema stays usable and nothing is
//!   silently lost.
//! - Identity columns (`attidentity`) and `serial`-style columns (a `nextval(…)` default) are
//!   identity columns without a default.
//! - Defaults are read from their canonical text (`'x'::character varying` is the text `x`,
//!   `'-1'::integer` the number `-1`).
//! - The primary key's index is the primary key; every other index (unique constraints
//!   included) is an index, with key columns or expressions in key order, `DESC`, `INCLUDE`
//!   columns, partial predicate and access method.
//! - Check constraints are `contype = 'c'` only (PostgreSQL 18's `NOT NULL` constraints are
//!   not checks); their text is `pg_get_constraintdef` without `CHECK (` … `)`.
//! - A generated column's expression has no place in the model: the column is reported with
//!   no default and a warning.

use std::collections::BTreeMap;

use persona_core::ddl::canonical_expression;
use persona_core::{
    Check, Column, DataType, DefaultValue, ForeignKey, ForeignKeyAction, Index, IndexColumn,
    IndexMethod, Schema, SortOrder, Table,
};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};

use super::{Introspection, IntrospectionWarning};
use crate::db::DbError;

const TABLES: &str = "\
    SELECT c.relname::text AS name, obj_description(c.oid, 'pg_class') AS comment \
    FROM pg_catalog.pg_class c \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition";

const COLUMNS: &str = "\
    SELECT c.relname::text AS table_name, a.attname::text AS name, \
           format_type(a.atttypid, a.atttypmod) AS type, \
           t.typtype::text AS typtype, \
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type, \
           a.attnotnull AS not_null, \
           pg_get_expr(d.adbin, d.adrelid) AS default_expr, \
           a.attidentity::text AS identity, a.attgenerated::text AS generated, \
           col_description(c.oid, a.attnum) AS comment \
    FROM pg_catalog.pg_attribute a \
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
      AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY c.relname, a.attnum";

/// One row per key part (and `INCLUDE` column) of every index.
const INDEX_PARTS: &str = "\
    SELECT c.relname::text AS table_name, ic.relname::text AS index_name, \
           i.indisprimary AS is_primary, i.indisunique AS is_unique, \
           i.indnkeyatts::int4 AS key_count, am.amname::text AS method, \
           pg_get_expr(i.indpred, i.indrelid) AS predicate, \
           k.pos::int4 AS pos, a.attname::text AS column_name, \
           pg_get_indexdef(i.indexrelid, k.pos::int4, true) AS part, \
           (i.indoption[k.pos - 1] & 1) = 1 AS descending \
    FROM pg_catalog.pg_index i \
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
    JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
    CROSS JOIN LATERAL generate_series(1, i.indnatts::int4) AS k(pos) \
    LEFT JOIN pg_catalog.pg_attribute a \
           ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.pos - 1] AND i.indkey[k.pos - 1] <> 0 \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
    ORDER BY c.relname, ic.relname, k.pos";

const FOREIGN_KEYS: &str = "\
    SELECT c.relname::text AS table_name, con.conname::text AS name, \
           rc.relname::text AS ref_table, \
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
                 ORDER BY k.ord) AS columns, \
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum \
                 ORDER BY k.ord) AS ref_columns, \
           con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update \
    FROM pg_catalog.pg_constraint con \
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
    WHERE con.contype = 'f' AND n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
      AND NOT c.relispartition";

const CHECKS: &str = "\
    SELECT c.relname::text AS table_name, con.conname::text AS name, \
           pg_get_constraintdef(con.oid) AS definition \
    FROM pg_catalog.pg_constraint con \
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE con.contype = 'c' AND n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
      AND NOT c.relispartition";

pub(super) async fn introspect(pool: &PgPool) -> Result<Introspection, DbError> {
    let mut warnings = Vec::new();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in sqlx::query(TABLES).fetch_all(pool).await? {
        let name: String = row.try_get("name")?;
        let comment: Option<String> = row.try_get("comment")?;
        tables.insert(
            name.clone(),
            Table {
                name,
                comment,
                ..Table::default()
            },
        );
    }

    for row in sqlx::query(COLUMNS).fetch_all(pool).await? {
        let table_name: String = row.try_get("table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let column = read_column(&row, &table_name, &mut warnings)?;
        table.columns.push(column);
    }

    read_indexes(pool, &mut tables, &mut warnings).await?;

    for row in sqlx::query(FOREIGN_KEYS).fetch_all(pool).await? {
        let table_name: String = row.try_get("table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        table.foreign_keys.push(ForeignKey {
            name: row.try_get("name")?,
            columns: row.try_get("columns")?,
            ref_table: row.try_get("ref_table")?,
            ref_columns: row.try_get("ref_columns")?,
            on_delete: action(&row.try_get::<String, _>("on_delete")?),
            on_update: action(&row.try_get::<String, _>("on_update")?),
        });
    }

    for row in sqlx::query(CHECKS).fetch_all(pool).await? {
        let table_name: String = row.try_get("table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let definition: String = row.try_get("definition")?;
        table.checks.push(Check {
            name: row.try_get("name")?,
            expression: canonical_expression(check_body(&definition)),
        });
    }

    let mut schema = Schema {
        tables: tables.into_values().collect(),
    };
    schema.sort_canonically();
    Ok(Introspection { schema, warnings })
}

fn read_column(
    row: &PgRow,
    table: &str,
    warnings: &mut Vec<IntrospectionWarning>,
) -> Result<Column, sqlx::Error> {
    let name: String = row.try_get("name")?;
    let formatted: String = row.try_get("type")?;
    let typtype: String = row.try_get("typtype")?;
    let base_type: Option<String> = row.try_get("base_type")?;
    let mut warn = |message: String| {
        warnings.push(IntrospectionWarning {
            table: table.to_owned(),
            column: Some(name.clone()),
            message,
        });
    };
    let shown = match (&typtype[..], &base_type) {
        ("d", Some(base)) => {
            warn(format!(
                "domain `{formatted}` is read as its base type `{base}` (its constraints are not \
                 part of the model)"
            ));
            base.clone()
        }
        _ => formatted.clone(),
    };
    let data_type = map_type(&shown).unwrap_or_else(|| {
        warn(format!(
            "type `{shown}` has no logical equivalent; read as `text`"
        ));
        DataType::Text
    });

    let not_null: bool = row.try_get("not_null")?;
    let identity_kind: String = row.try_get("identity")?;
    let generated: String = row.try_get("generated")?;
    let default_expr: Option<String> = row.try_get("default_expr")?;
    let mut identity = !identity_kind.is_empty();
    let mut default = None;
    match default_expr {
        Some(expr) if !generated.is_empty() => {
            warn(format!(
                "generated column (`{expr}`) is read as a plain column: generated expressions \
                 are not part of the model"
            ));
        }
        Some(expr) if is_sequence_default(&expr) => identity = true,
        Some(expr) => default = Some(read_default(&expr)),
        None => {}
    }
    Ok(Column {
        name: name.clone(),
        data_type,
        nullable: !not_null,
        default,
        identity,
        comment: row.try_get("comment")?,
    })
}

async fn read_indexes(
    pool: &PgPool,
    tables: &mut BTreeMap<String, Table>,
    warnings: &mut Vec<IntrospectionWarning>,
) -> Result<(), DbError> {
    // (table, index) -> (is_primary, index)
    let mut indexes: BTreeMap<(String, String), (bool, Index)> = BTreeMap::new();
    for row in sqlx::query(INDEX_PARTS).fetch_all(pool).await? {
        let table_name: String = row.try_get("table_name")?;
        let index_name: String = row.try_get("index_name")?;
        let key = (table_name.clone(), index_name.clone());
        if !indexes.contains_key(&key) {
            let method_name: String = row.try_get("method")?;
            let method = match method_name.as_str() {
                "btree" => IndexMethod::Btree,
                "hash" => IndexMethod::Hash,
                "gin" => IndexMethod::Gin,
                "gist" => IndexMethod::Gist,
                "brin" => IndexMethod::Brin,
                other => {
                    warnings.push(IntrospectionWarning {
                        table: table_name.clone(),
                        column: None,
                        message: format!(
                            "index `{index_name}` uses access method `{other}`, which the model \
                             does not have; read as btree"
                        ),
                    });
                    IndexMethod::Btree
                }
            };
            let predicate: Option<String> = row.try_get("predicate")?;
            let index = Index {
                name: index_name,
                columns: Vec::new(),
                unique: row.try_get("is_unique")?,
                predicate: predicate.as_deref().map(canonical_expression),
                include: Vec::new(),
                method,
            };
            indexes.insert(key.clone(), (row.try_get("is_primary")?, index));
        }
        let Some((_, index)) = indexes.get_mut(&key) else {
            continue;
        };
        let pos: i32 = row.try_get("pos")?;
        let key_count: i32 = row.try_get("key_count")?;
        let column: Option<String> = row.try_get("column_name")?;
        if pos > key_count {
            // INCLUDE columns are always plain columns.
            if let Some(column) = column {
                index.include.push(column);
            }
            continue;
        }
        let descending: bool = row.try_get("descending")?;
        let order = if descending {
            SortOrder::Desc
        } else {
            SortOrder::Asc
        };
        let part = if let Some(column) = column {
            IndexColumn::ordered(column, order)
        } else {
            let text: String = row.try_get("part")?;
            IndexColumn {
                column: None,
                expression: Some(canonical_expression(&text)),
                order,
            }
        };
        index.columns.push(part);
    }
    for ((table_name, _), (is_primary, index)) in indexes {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        if is_primary {
            table.primary_key = index.columns.into_iter().filter_map(|c| c.column).collect();
        } else {
            table.indexes.push(index);
        }
    }
    Ok(())
}

/// The logical type of a `format_type` spelling, if it has one.
fn map_type(formatted: &str) -> Option<DataType> {
    let t = formatted.trim();
    let simple = match t {
        "smallint" => Some(DataType::SmallInt),
        "integer" => Some(DataType::Integer),
        "bigint" => Some(DataType::BigInt),
        "real" => Some(DataType::Real),
        "double precision" => Some(DataType::Double),
        "boolean" => Some(DataType::Boolean),
        "text" | "character varying" => Some(DataType::Text),
        "uuid" => Some(DataType::Uuid),
        "json" | "jsonb" => Some(DataType::Json),
        "date" => Some(DataType::Date),
        "bytea" => Some(DataType::Bytes),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    // Time types, with or without a fractional-seconds precision: `timestamp(3) with time zone`.
    let without_precision = strip_parenthesized(t);
    match without_precision.as_str() {
        "time without time zone" => return Some(DataType::Time),
        "timestamp without time zone" => return Some(DataType::Timestamp),
        "timestamp with time zone" => return Some(DataType::TimestampTz),
        _ => {}
    }
    let (base, args) = t.split_once('(')?;
    let args: Vec<&str> = args.strip_suffix(')')?.split(',').map(str::trim).collect();
    match (base, args.as_slice()) {
        ("numeric", [p, s]) => {
            let precision: u8 = p.parse().ok()?;
            let scale: u8 = s.parse().ok()?;
            (scale <= precision).then_some(DataType::Decimal { precision, scale })
        }
        ("character varying", [n]) => Some(DataType::Varchar(n.parse().ok()?)),
        ("character", [n]) => Some(DataType::Char(n.parse().ok()?)),
        _ => None,
    }
}

/// `s` with one parenthesized group removed (`timestamp(3) with time zone` →
/// `timestamp with time zone`).
fn strip_parenthesized(s: &str) -> String {
    match (s.find('('), s.find(')')) {
        (Some(open), Some(close)) if open < close => format!("{}{}", &s[..open], &s[close + 1..]),
        _ => s.to_owned(),
    }
}

fn is_sequence_default(expr: &str) -> bool {
    expr.trim_start()
        .to_ascii_lowercase()
        .starts_with("nextval(")
}

/// A default from `pg_get_expr` text: casts dropped, then read like a template's default.
fn read_default(expr: &str) -> DefaultValue {
    DefaultValue::parse(&canonical_expression(expr))
}

/// The expression inside `CHECK (` … `)` (and before ` NOT VALID` / ` NO INHERIT`).
fn check_body(definition: &str) -> &str {
    let mut s = definition.trim();
    for suffix in [" NOT VALID", " NO INHERIT"] {
        s = s.strip_suffix(suffix).unwrap_or(s).trim_end();
    }
    s.strip_prefix("CHECK")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(s)
}

fn action(code: &str) -> ForeignKeyAction {
    match code {
        "r" => ForeignKeyAction::Restrict,
        "c" => ForeignKeyAction::Cascade,
        "n" => ForeignKeyAction::SetNull,
        "d" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_spellings_map_back() {
        let cases = [
            ("smallint", Some(DataType::SmallInt)),
            ("integer", Some(DataType::Integer)),
            ("bigint", Some(DataType::BigInt)),
            (
                "numeric(12,2)",
                Some(DataType::Decimal {
                    precision: 12,
                    scale: 2,
                }),
            ),
            ("numeric", None),
            ("numeric(300,2)", None),
            ("real", Some(DataType::Real)),
            ("double precision", Some(DataType::Double)),
            ("boolean", Some(DataType::Boolean)),
            ("text", Some(DataType::Text)),
            ("character varying(255)", Some(DataType::Varchar(255))),
            ("character varying", Some(DataType::Text)),
            ("character(2)", Some(DataType::Char(2))),
            ("uuid", Some(DataType::Uuid)),
            ("json", Some(DataType::Json)),
            ("jsonb", Some(DataType::Json)),
            ("date", Some(DataType::Date)),
            ("time without time zone", Some(DataType::Time)),
            ("time(3) without time zone", Some(DataType::Time)),
            ("time with time zone", None),
            ("timestamp without time zone", Some(DataType::Timestamp)),
            ("timestamp(6) with time zone", Some(DataType::TimestampTz)),
            ("bytea", Some(DataType::Bytes)),
            ("text[]", None),
            ("tsvector", None),
            ("mpaa_rating", None),
            ("interval", None),
        ];
        for (formatted, want) in cases {
            assert_eq!(map_type(formatted), want, "{formatted}");
        }
    }

    #[test]
    fn defaults_drop_casts() {
        let cases = [
            ("'x'::character varying", DefaultValue::Text("x".into())),
            ("'it''s'::text", DefaultValue::Text("it's".into())),
            ("'-1'::integer", DefaultValue::Number("-1".into())),
            ("'-2.5'::numeric", DefaultValue::Number("-2.5".into())),
            ("1.50", DefaultValue::Number("1.50".into())),
            ("false", DefaultValue::Bool(false)),
            ("now()", DefaultValue::CurrentTimestamp),
            ("CURRENT_TIMESTAMP", DefaultValue::CurrentTimestamp),
            ("CURRENT_DATE", DefaultValue::CurrentDate),
            ("'{}'::jsonb", DefaultValue::Text("{}".into())),
            ("'G'::mpaa_rating", DefaultValue::Text("G".into())),
            (
                "gen_random_uuid()",
                DefaultValue::Expression("gen_random_uuid()".into()),
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(read_default(expr), want, "{expr}");
        }
        assert!(is_sequence_default(
            "nextval('actor_actor_id_seq'::regclass)"
        ));
    }

    #[test]
    fn check_definitions_are_unwrapped() {
        assert_eq!(
            check_body("CHECK ((price >= (0)::numeric))"),
            "(price >= (0)::numeric)"
        );
        assert_eq!(check_body("CHECK ((a > 0)) NOT VALID"), "(a > 0)");
        assert_eq!(
            canonical_expression(check_body("CHECK ((price >= (0)::numeric))")),
            "price >= 0"
        );
    }
}
