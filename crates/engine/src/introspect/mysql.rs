//! Introspection of a live MySQL / MariaDB database (the connection's `DATABASE()`) into a
//! `Schema`, from `information_schema`.
//!
//! Types are read back as the `mysql` dialect writes them (see `persona_core::ddl`), and foreign
//! schemas (Sakila, an application's database) as the smallest logical type that holds every
//! value: `tinyint(1)` is boolean, other `tinyint`s and `year` are smallint, unsigned integers
//! widen one step (`smallint unsigned` → integer, `int unsigned` → bigint, `bigint unsigned` →
//! `decimal(20,0)`), `mediumint` is integer, every `text` size is text, every blob size,
//! `binary`, `varbinary`, `bit` and the spatial types are bytes, `enum` and `set` are
//! `varchar(longest value)`, `datetime` is timestamp and `timestamp` is timestamptz, MariaDB's
//! `uuid` is uuid, and anything else is text. A MariaDB `longtext` column with the automatic
//! `CHECK (json_valid(col))` named after it is json, and that check is not reported.
//!
//! Defaults come back in the canonical form `persona_core::ddl::normalize` predicts: MariaDB
//! quotes string defaults (with backslash escapes) and writes `NULL` for "no default"; numbers
//! on a `tinyint(1)` are booleans; `current_timestamp(n)` is `CURRENT_TIMESTAMP`; any other
//! expression is in `canonical_expression_in(…, Mysql)` form, as are check clauses. `FULLTEXT`
//! indexes are reported as `gin`, `SPATIAL` ones as `gist`, `HASH` (MEMORY tables) as `hash`;
//! index prefix lengths, `ON UPDATE CURRENT_TIMESTAMP` and generated-column expressions have no
//! place in the model and are not reported.

use std::collections::BTreeMap;

use persona_core::ddl::canonical_expression_in;
use persona_core::{
    Check, Column, DataType, DefaultValue, Dialect, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, IndexMethod, Schema, SortOrder, Table,
};
use sqlx::mysql::MySqlPool;

use super::{Introspection, IntrospectionWarning};
use crate::db::DbError;

const TABLES: &str = "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME";

const COLUMNS: &str = "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, \
     COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT, CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED), \
     CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED) \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
     ORDER BY TABLE_NAME, ORDINAL_POSITION";

/// MariaDB has no functional key parts, hence no `EXPRESSION` column.
const STATISTICS_MARIADB: &str = "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS SIGNED), \
     COLUMN_NAME, COLLATION, INDEX_TYPE, NULL, CAST(SUB_PART AS SIGNED) FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

const STATISTICS_MYSQL: &str = "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS SIGNED), \
     COLUMN_NAME, COLLATION, INDEX_TYPE, EXPRESSION, CAST(SUB_PART AS SIGNED) FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

const FOREIGN_KEYS: &str = "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
     k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
     FROM information_schema.KEY_COLUMN_USAGE k \
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
      AND r.TABLE_NAME = k.TABLE_NAME \
     WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
     ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";

/// MariaDB names checks per table and reports the table and the level (column / table).
const CHECKS_MARIADB: &str = "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL \
     FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
     ORDER BY TABLE_NAME, CONSTRAINT_NAME";

/// MySQL 8 names checks per schema; the table comes from `TABLE_CONSTRAINTS`.
const CHECKS_MYSQL: &str = "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, 'Table' \
     FROM information_schema.TABLE_CONSTRAINTS tc \
     JOIN information_schema.CHECK_CONSTRAINTS cc \
       ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
     WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK' \
     ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME";

type ColumnRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
type StatisticsRow = (
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
);
type ForeignKeyRow = (String, String, String, String, String, String, String);
type CheckRow = (String, String, String, String);

/// The schema, and what in it the model cannot represent exactly.
pub(super) async fn introspect_with_warnings(pool: &MySqlPool) -> Result<Introspection, DbError> {
    let mut warnings = Vec::new();
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(pool)
        .await?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let rows: Vec<(String, String)> = sqlx::query_as(TABLES).fetch_all(pool).await?;
    for (name, comment) in rows {
        let comment = (!comment.is_empty()).then_some(comment);
        tables.insert(
            name.clone(),
            Table {
                name,
                comment,
                ..Table::default()
            },
        );
    }

    let rows: Vec<ColumnRow> = sqlx::query_as(COLUMNS).fetch_all(pool).await?;
    for row in rows {
        let (table, name, data_type, column_type, nullable, default, extra, comment, len, p, s) =
            row;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let logical = logical_type(&data_type, &column_type, len, p, s);
        let extra = extra.to_ascii_lowercase();
        let warn = |message: String| IntrospectionWarning {
            table: table.clone(),
            column: Some(name.clone()),
            message,
        };
        if let Some(message) = type_warning(&data_type, &column_type, logical) {
            warnings.push(warn(message));
        }
        if extra.contains("generated") && !extra.contains("default_generated") {
            warnings.push(warn(
                "generated column: read as a plain column, its expression is not kept".to_owned(),
            ));
        }
        if extra.contains("on update") {
            warnings.push(warn("`ON UPDATE CURRENT_TIMESTAMP` is not kept".to_owned()));
        }
        let data_type = logical;
        let identity = extra.contains("auto_increment");
        let default = if identity {
            None
        } else {
            default_value(default.as_deref(), data_type, &extra, mariadb)
        };
        t.columns.push(Column {
            name,
            data_type,
            nullable: nullable.eq_ignore_ascii_case("YES"),
            default,
            identity,
            comment: (!comment.is_empty()).then_some(comment),
        });
    }

    let statistics = if mariadb {
        STATISTICS_MARIADB
    } else {
        STATISTICS_MYSQL
    };
    let rows: Vec<StatisticsRow> = sqlx::query_as(statistics).fetch_all(pool).await?;
    for (table, index, non_unique, column, collation, index_type, expression, prefix) in rows {
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if let Some(n) = prefix {
            warnings.push(IntrospectionWarning {
                table: table.clone(),
                column: column.clone(),
                message: format!(
                    "index `{index}` uses a {n}-character prefix; read as the whole column"
                ),
            });
        }
        let order = if collation.as_deref() == Some("D") {
            SortOrder::Desc
        } else {
            SortOrder::Asc
        };
        let part = match (column, expression) {
            (Some(c), _) => IndexColumn::ordered(c, order),
            (None, Some(e)) => IndexColumn {
                column: None,
                expression: Some(canonical_expression_in(&e, Dialect::Mysql)),
                order,
            },
            (None, None) => continue,
        };
        if index == "PRIMARY" {
            if let Some(c) = part.column {
                t.primary_key.push(c);
            }
            continue;
        }
        if t.indexes.last().is_none_or(|ix| ix.name != index) {
            t.indexes.push(Index {
                name: index,
                columns: Vec::new(),
                unique: non_unique == 0,
                predicate: None,
                include: Vec::new(),
                method: index_method(&index_type),
            });
        }
        if let Some(ix) = t.indexes.last_mut() {
            ix.columns.push(part);
        }
    }

    let rows: Vec<ForeignKeyRow> = sqlx::query_as(FOREIGN_KEYS).fetch_all(pool).await?;
    for (table, name, column, ref_table, ref_column, on_delete, on_update) in rows {
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if t.foreign_keys.last().is_none_or(|fk| fk.name != name) {
            t.foreign_keys.push(ForeignKey {
                name,
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
                on_delete: action(&on_delete),
                on_update: action(&on_update),
            });
        }
        if let Some(fk) = t.foreign_keys.last_mut() {
            fk.columns.push(column);
            fk.ref_columns.push(ref_column);
        }
    }

    let checks = if mariadb {
        CHECKS_MARIADB
    } else {
        CHECKS_MYSQL
    };
    let rows: Vec<CheckRow> = sqlx::query_as(checks).fetch_all(pool).await?;
    for (table, name, clause, level) in rows {
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if level.eq_ignore_ascii_case("Column") && json_check_column(t, &name, &clause) {
            continue;
        }
        t.checks.push(Check {
            name,
            expression: canonical_expression_in(&clause, Dialect::Mysql),
        });
    }

    let mut schema = Schema {
        tables: tables.into_values().collect(),
    };
    schema.sort_canonically();
    Ok(Introspection { schema, warnings })
}

/// Why a column type does not map exactly to its logical type, if it does not.
fn type_warning(data_type: &str, column_type: &str, logical: DataType) -> Option<String> {
    let data_type = data_type.to_ascii_lowercase();
    let exact = matches!(
        data_type.as_str(),
        "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "decimal"
            | "numeric"
            | "float"
            | "double"
            | "real"
            | "char"
            | "varchar"
            | "tinytext"
            | "text"
            | "mediumtext"
            | "longtext"
            | "json"
            | "uuid"
            | "date"
            | "time"
            | "datetime"
            | "timestamp"
            | "tinyblob"
            | "blob"
            | "mediumblob"
            | "longblob"
    );
    if column_type.to_ascii_lowercase().contains("unsigned") {
        Some(format!(
            "`{column_type}` read as {logical}: the range is kept, the unsigned constraint is not"
        ))
    } else if matches!(data_type.as_str(), "enum" | "set") {
        Some(format!(
            "`{column_type}` read as {logical}: the list of allowed values is not kept"
        ))
    } else if !exact {
        Some(format!(
            "`{column_type}` has no exact logical type; read as {logical}"
        ))
    } else {
        None
    }
}

/// If `name` / `clause` is MariaDB's automatic check of a `JSON` column, mark that column json
/// and return true.
fn json_check_column(table: &mut Table, name: &str, clause: &str) -> bool {
    let Some(col) = table.columns.iter_mut().find(|c| c.name == name) else {
        return false;
    };
    let automatic = format!("json_valid({})", Dialect::Mysql.quote_ident(name));
    if col.data_type != DataType::Text || clause != automatic {
        return false;
    }
    col.data_type = DataType::Json;
    true
}

/// The logical type of a column from `DATA_TYPE`, `COLUMN_TYPE`, `CHARACTER_MAXIMUM_LENGTH`,
/// `NUMERIC_PRECISION` and `NUMERIC_SCALE` (see the module documentation).
fn logical_type(
    data_type: &str,
    column_type: &str,
    char_len: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
) -> DataType {
    let column_type = column_type.to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    let len = || u32::try_from(char_len.unwrap_or(1).max(1)).unwrap_or(u32::MAX);
    match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => DataType::Boolean,
        "tinyint" | "year" => DataType::SmallInt,
        "smallint" if !unsigned => DataType::SmallInt,
        "smallint" | "mediumint" => DataType::Integer,
        "int" | "integer" if !unsigned => DataType::Integer,
        "int" | "integer" => DataType::BigInt,
        "bigint" if !unsigned => DataType::BigInt,
        "bigint" => DataType::Decimal {
            precision: 20,
            scale: 0,
        },
        "decimal" | "numeric" => DataType::Decimal {
            precision: u8::try_from(precision.unwrap_or(10)).unwrap_or(65),
            scale: u8::try_from(scale.unwrap_or(0)).unwrap_or(30),
        },
        "float" => DataType::Real,
        "double" | "real" | "double precision" => DataType::Double,
        "char" => DataType::Char(len()),
        "varchar" | "enum" | "set" => DataType::Varchar(len()),
        "json" => DataType::Json,
        "uuid" => DataType::Uuid,
        "date" => DataType::Date,
        "time" => DataType::Time,
        "datetime" => DataType::Timestamp,
        "timestamp" => DataType::TimestampTz,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
        | "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => DataType::Bytes,
        _ => DataType::Text,
    }
}

/// A column default from `COLUMN_DEFAULT` (and `EXTRA`, which MySQL 8 uses to mark
/// expressions), in the canonical form normalization predicts.
fn default_value(
    raw: Option<&str>,
    ty: DataType,
    extra: &str,
    mariadb: bool,
) -> Option<DefaultValue> {
    let raw = raw?.trim();
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("current_timestamp") || lower == "now()" {
        return Some(DefaultValue::CurrentTimestamp);
    }
    if lower == "curdate()" || lower.starts_with("current_date") {
        return Some(DefaultValue::CurrentDate);
    }
    if mariadb {
        if raw == "NULL" {
            return None;
        }
        if raw.starts_with('\'') {
            if let Some(text) = unquote_literal(raw) {
                return Some(DefaultValue::Text(text));
            }
        } else if let Some(n) = number(raw, ty) {
            return Some(n);
        }
        return Some(expression(raw));
    }
    // MySQL 8: literals unquoted; expressions flagged in EXTRA.
    if extra.contains("default_generated") {
        return Some(expression(&raw.replace("\\'", "'")));
    }
    let numeric = ty.is_integer()
        || matches!(
            ty,
            DataType::Boolean | DataType::Decimal { .. } | DataType::Real | DataType::Double
        );
    if numeric && let Some(n) = number(raw, ty) {
        return Some(n);
    }
    Some(DefaultValue::Text(raw.to_owned()))
}

/// A numeric default: booleans on `tinyint(1)`, floats in their shortest plain form.
fn number(raw: &str, ty: DataType) -> Option<DefaultValue> {
    match ty {
        DataType::Boolean if raw == "0" || raw == "1" => Some(DefaultValue::Bool(raw == "1")),
        DataType::Real | DataType::Double => {
            let x: f64 = raw.parse().ok()?;
            Some(DefaultValue::Number(if x == 0.0 {
                "0".to_owned()
            } else {
                format!("{x}")
            }))
        }
        _ => match DefaultValue::parse(raw) {
            n @ DefaultValue::Number(_) => Some(n),
            _ => None,
        },
    }
}

fn expression(sql: &str) -> DefaultValue {
    DefaultValue::parse(&canonical_expression_in(sql, Dialect::Mysql))
}

/// The value of a complete MySQL string literal (`'…'` with `''` and backslash escapes).
fn unquote_literal(sql: &str) -> Option<String> {
    let inner = sql.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                'b' => out.push('\u{8}'),
                'Z' => out.push('\u{1a}'),
                c @ ('%' | '_') => {
                    out.push('\\');
                    out.push(c);
                }
                other => out.push(other),
            },
            '\'' => {
                // Only a doubled quote may appear inside.
                if chars.next()? != '\'' {
                    return None;
                }
                out.push('\'');
            }
            other => out.push(other),
        }
    }
    Some(out)
}

fn index_method(index_type: &str) -> IndexMethod {
    match index_type.to_ascii_uppercase().as_str() {
        "FULLTEXT" => IndexMethod::Gin,
        "SPATIAL" | "RTREE" => IndexMethod::Gist,
        "HASH" => IndexMethod::Hash,
        _ => IndexMethod::Btree,
    }
}

fn action(rule: &str) -> ForeignKeyAction {
    match rule.to_ascii_uppercase().as_str() {
        "RESTRICT" => ForeignKeyAction::Restrict,
        "CASCADE" => ForeignKeyAction::Cascade,
        "SET NULL" => ForeignKeyAction::SetNull,
        "SET DEFAULT" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_map_to_logical_types() {
        let cases = [
            ("tinyint", "tinyint(1)", DataType::Boolean),
            ("tinyint", "tinyint(4)", DataType::SmallInt),
            ("tinyint", "tinyint(3) unsigned", DataType::SmallInt),
            ("smallint", "smallint(5) unsigned", DataType::Integer),
            ("mediumint", "mediumint(8) unsigned", DataType::Integer),
            ("int", "int(11)", DataType::Integer),
            ("int", "int unsigned", DataType::BigInt),
            (
                "bigint",
                "bigint(20) unsigned",
                DataType::Decimal {
                    precision: 20,
                    scale: 0,
                },
            ),
            ("float", "float", DataType::Real),
            ("double", "double", DataType::Double),
            ("longtext", "longtext", DataType::Text),
            ("mediumtext", "mediumtext", DataType::Text),
            ("year", "year(4)", DataType::SmallInt),
            ("datetime", "datetime(6)", DataType::Timestamp),
            ("timestamp", "timestamp(6)", DataType::TimestampTz),
            ("time", "time(6)", DataType::Time),
            ("blob", "blob", DataType::Bytes),
            ("geometry", "geometry", DataType::Bytes),
            ("json", "json", DataType::Json),
            ("inet6", "inet6", DataType::Text),
        ];
        for (data_type, column_type, want) in cases {
            assert_eq!(
                logical_type(data_type, column_type, None, None, None),
                want,
                "{column_type}"
            );
        }
        assert_eq!(
            logical_type("varchar", "varchar(45)", Some(45), None, None),
            DataType::Varchar(45)
        );
        assert_eq!(
            logical_type("enum", "enum('G','PG-13')", Some(5), None, None),
            DataType::Varchar(5)
        );
        assert_eq!(
            logical_type("decimal", "decimal(5,2)", None, Some(5), Some(2)),
            DataType::Decimal {
                precision: 5,
                scale: 2
            }
        );
    }

    #[test]
    fn mariadb_defaults_are_read_back() {
        use DefaultValue as V;
        let cases = [
            (None, DataType::Text, None),
            (Some("NULL"), DataType::Text, None),
            (Some("'NULL'"), DataType::Text, Some(V::Text("NULL".into()))),
            (
                Some(r"'it\'s \\ x'"),
                DataType::Text,
                Some(V::Text(r"it's \ x".into())),
            ),
            (
                Some(r"'it''s \n'"),
                DataType::Text,
                Some(V::Text("it's \n".into())),
            ),
            (Some("1"), DataType::Boolean, Some(V::Bool(true))),
            (Some("0"), DataType::Boolean, Some(V::Bool(false))),
            (
                Some("9.90"),
                DataType::Decimal {
                    precision: 4,
                    scale: 2,
                },
                Some(V::Number("9.90".into())),
            ),
            (Some("-1"), DataType::SmallInt, Some(V::Number("-1".into()))),
            (
                Some("1e20"),
                DataType::Double,
                Some(V::Number("100000000000000000000".into())),
            ),
            (
                Some("current_timestamp(6)"),
                DataType::Timestamp,
                Some(V::CurrentTimestamp),
            ),
            (
                Some("current_timestamp()"),
                DataType::Date,
                Some(V::CurrentTimestamp),
            ),
            (Some("curdate()"), DataType::Date, Some(V::CurrentDate)),
            (
                Some("uuid()"),
                DataType::Char(36),
                Some(V::Expression("uuid()".into())),
            ),
            (
                Some("(1 + 2)"),
                DataType::Integer,
                Some(V::Expression("1 + 2".into())),
            ),
        ];
        for (raw, ty, want) in cases {
            assert_eq!(default_value(raw, ty, "", true), want, "{raw:?}");
        }
        assert_eq!(unquote_literal("'a'b'"), None);
    }
}
