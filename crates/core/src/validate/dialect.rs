//! Per-dialect checks: identifier limits and namespaces, type limits, and what a dialect cannot
//! create (MySQL cannot key TEXT/JSON/BLOB columns, PostgreSQL index methods need operator
//! classes, …).
//!
//! Features a dialect lacks but can do without are not problems: as the DDL generators document,
//! indexes are checked as [`crate::ddl::shaped_index`] shapes them for the dialect (GIN and GiST
//! only on PostgreSQL, hash and BRIN as B-trees elsewhere, no predicates or INCLUDE on MySQL);
//! this module reports only what would fail or change meaning.

use std::collections::HashMap;

use super::{Report, label, table_path};
use crate::{DataType, Dialect, ForeignKeyAction, Index, IndexMethod, Schema, SortOrder, Table};

/// InnoDB's largest index key (DYNAMIC row format), in bytes.
const MYSQL_MAX_KEY_BYTES: u64 = 3072;
/// MySQL's largest row, not counting TEXT/BLOB contents, in bytes.
const MYSQL_MAX_ROW_BYTES: u64 = 65_535;
/// The longest VARCHAR in utf8mb4 (65,535 bytes / 4 bytes per character).
const MYSQL_MAX_VARCHAR: u32 = 16_383;
const MYSQL_MAX_CHAR: u32 = 255;
const MYSQL_MAX_DECIMAL_PRECISION: u8 = 65;
const MYSQL_MAX_DECIMAL_SCALE: u8 = 30;
/// PostgreSQL's largest declared varchar/char length.
const POSTGRES_MAX_VARCHAR: u32 = 10_485_760;

pub(super) fn check(schema: &Schema, d: Dialect, r: &mut Report) {
    identifiers(schema, d, r);
    namespaces(schema, d, r);
    for (ti, table) in schema.tables.iter().enumerate() {
        let tp = table_path(table, ti);
        types(table, d, &tp, r);
        match d {
            Dialect::Mysql => mysql_table(schema, table, &tp, r),
            Dialect::Postgres => postgres_indexes(table, &tp, r),
            Dialect::Sqlite => {}
        }
    }
}

/// Every name of the schema with its path and what it names.
fn all_names(schema: &Schema) -> Vec<(String, &str, &'static str)> {
    let mut out = Vec::new();
    for (ti, t) in schema.tables.iter().enumerate() {
        let tp = table_path(t, ti);
        out.push((tp.clone(), t.name.as_str(), "table"));
        for (i, c) in t.columns.iter().enumerate() {
            out.push((
                format!("{tp}.columns[{}]", label(&c.name, i)),
                c.name.as_str(),
                "column",
            ));
        }
        for (i, ix) in t.indexes.iter().enumerate() {
            out.push((
                format!("{tp}.indexes[{}]", label(&ix.name, i)),
                ix.name.as_str(),
                "index",
            ));
        }
        for (i, fk) in t.foreign_keys.iter().enumerate() {
            let p = format!("{tp}.foreign_keys[{}]", label(&fk.name, i));
            out.push((p, fk.name.as_str(), "foreign key"));
        }
        for (i, c) in t.checks.iter().enumerate() {
            out.push((
                format!("{tp}.checks[{}]", label(&c.name, i)),
                c.name.as_str(),
                "check",
            ));
        }
    }
    out
}

fn identifiers(schema: &Schema, d: Dialect, r: &mut Report) {
    let Some(max) = d.max_identifier_len() else {
        return;
    };
    for (path, name, what) in all_names(schema) {
        match d {
            Dialect::Postgres if name.len() > max => r.dialect_error(
                d,
                &path,
                format!(
                    "the {what} name is {} bytes long; PostgreSQL truncates names to {max} bytes",
                    name.len()
                ),
            ),
            Dialect::Mysql => {
                let chars = name.chars().count();
                if chars > max {
                    r.dialect_error(
                        d,
                        &path,
                        format!("the {what} name is {chars} characters long; the limit is {max}"),
                    );
                }
                if name.ends_with(' ') {
                    r.dialect_error(d, &path, format!("a {what} name cannot end with a space"));
                }
                if name.chars().any(|c| u32::from(c) > 0xFFFF) {
                    r.dialect_error(
                        d,
                        &path,
                        format!(
                            "the {what} name has characters outside the Basic Multilingual Plane"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// How a dialect compares names of one kind: `None` when it is case-sensitive.
fn fold(d: Dialect, name: &str, what: &str) -> Option<String> {
    match (d, what) {
        (Dialect::Sqlite, _) => Some(name.to_ascii_lowercase()),
        (Dialect::Mysql, "column" | "index" | "foreign key") => Some(name.to_lowercase()),
        _ => None,
    }
}

fn namespaces(schema: &Schema, d: Dialect, r: &mut Report) {
    // Names that differ only in case, where the dialect folds case.
    let mut tables: HashMap<String, &str> = HashMap::new();
    for (ti, t) in schema.tables.iter().enumerate() {
        if let Some(key) = fold(d, &t.name, "table")
            && let Some(first) = tables.insert(key, &t.name)
            && first != t.name
        {
            r.dialect_error(
                d,
                &table_path(t, ti),
                format!("table names `{first}` and `{}` differ only in case", t.name),
            );
        }
        let tp = table_path(t, ti);
        let mut columns: HashMap<String, &str> = HashMap::new();
        for (ci, c) in t.columns.iter().enumerate() {
            if let Some(key) = fold(d, &c.name, "column")
                && let Some(first) = columns.insert(key, &c.name)
                && first != c.name
            {
                r.dialect_error(
                    d,
                    &format!("{tp}.columns[{}]", label(&c.name, ci)),
                    format!(
                        "column names `{first}` and `{}` differ only in case",
                        c.name
                    ),
                );
            }
        }
    }
    // Index names: one namespace per schema, shared with tables (PostgreSQL, SQLite); per table
    // and case-insensitive (MySQL).
    let mut owners: HashMap<String, (&str, &str)> = HashMap::new(); // key -> (name, owner table)
    if d != Dialect::Mysql {
        for t in &schema.tables {
            owners.insert(
                fold(d, &t.name, "table").unwrap_or_else(|| t.name.clone()),
                (&t.name, ""),
            );
        }
    }
    for (ti, t) in schema.tables.iter().enumerate() {
        let tp = table_path(t, ti);
        if d == Dialect::Mysql {
            owners.clear();
        }
        for (ii, ix) in t.indexes.iter().enumerate() {
            if ix.name.is_empty() || shaped(ix, t, d).is_none() {
                continue;
            }
            let key = fold(d, &ix.name, "index").unwrap_or_else(|| ix.name.clone());
            let ip = format!("{tp}.indexes[{}]", label(&ix.name, ii));
            match owners.get(&key) {
                Some((_, "")) => r.dialect_error(
                    d,
                    &ip,
                    format!("index name `{}` is already the name of a table", ix.name),
                ),
                // The same exact name in the same table is reported by the schema checks.
                Some((first, owner)) if !(*owner == t.name && *first == ix.name) => {
                    r.dialect_error(
                        d,
                        &ip,
                        format!(
                            "index name `{}` is already used by an index of table `{owner}`",
                            ix.name
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    owners.insert(key, (&ix.name, &t.name));
                }
            }
        }
    }
    if d == Dialect::Mysql {
        // Foreign-key names are unique per database in MySQL/MariaDB.
        let mut fks: HashMap<String, (&str, &str)> = HashMap::new();
        for (ti, t) in schema.tables.iter().enumerate() {
            for (fi, fk) in t.foreign_keys.iter().enumerate() {
                if fk.name.is_empty() {
                    continue;
                }
                let key = fk.name.to_lowercase();
                if let Some((first, owner)) = fks.get(&key) {
                    if !(*owner == t.name && *first == fk.name) {
                        r.dialect_error(
                            d,
                            &format!("{}.foreign_keys[{}]", table_path(t, ti), label(&fk.name, fi)),
                            format!(
                                "foreign-key name `{}` is already used in table `{owner}` (names are unique per database)",
                                fk.name
                            ),
                        );
                    }
                } else {
                    fks.insert(key, (&fk.name, &t.name));
                }
            }
        }
    }
}

/// An index as a dialect creates it ([`crate::ddl::shaped_index`]).
pub(super) struct Shaped {
    /// The key's plain columns (MySQL turns `lower(col)` / `upper(col)` into `col`).
    pub columns: Vec<String>,
    /// A MySQL `FULLTEXT` index (from `gin` on text columns): no key-length or type limits.
    pub fulltext: bool,
}

/// How `d` creates `ix`, or `None` when it does not create it at all.
pub(super) fn shaped(ix: &Index, table: &Table, d: Dialect) -> Option<Shaped> {
    let ix = crate::ddl::shaped_index(ix, table, d)?;
    Some(Shaped {
        fulltext: d == Dialect::Mysql && ix.method == IndexMethod::Gin,
        columns: ix.columns.into_iter().filter_map(|c| c.column).collect(),
    })
}

fn types(table: &Table, d: Dialect, tp: &str, r: &mut Report) {
    for (ci, col) in table.columns.iter().enumerate() {
        let cp = format!("{tp}.columns[{}].type", label(&col.name, ci));
        match (d, col.data_type) {
            (Dialect::Mysql, DataType::Decimal { precision, scale }) => {
                if precision > MYSQL_MAX_DECIMAL_PRECISION {
                    r.dialect_error(
                        d,
                        &cp,
                        format!("decimal precision {precision} exceeds the maximum of {MYSQL_MAX_DECIMAL_PRECISION}"),
                    );
                }
                if scale > MYSQL_MAX_DECIMAL_SCALE {
                    r.dialect_error(
                        d,
                        &cp,
                        format!("decimal scale {scale} exceeds the maximum of {MYSQL_MAX_DECIMAL_SCALE}"),
                    );
                }
            }
            (Dialect::Mysql, DataType::Varchar(n)) if n > MYSQL_MAX_VARCHAR => r.dialect_error(
                d,
                &cp,
                format!(
                    "varchar({n}) exceeds the utf8mb4 maximum of varchar({MYSQL_MAX_VARCHAR}); use text"
                ),
            ),
            (Dialect::Mysql, DataType::Char(n)) if n > MYSQL_MAX_CHAR => r.dialect_error(
                d,
                &cp,
                format!("char({n}) exceeds the maximum of char({MYSQL_MAX_CHAR}); use varchar"),
            ),
            (Dialect::Postgres, DataType::Varchar(n) | DataType::Char(n))
                if n > POSTGRES_MAX_VARCHAR =>
            {
                r.dialect_error(
                    d,
                    &cp,
                    format!("length {n} exceeds the maximum of {POSTGRES_MAX_VARCHAR}; use text"),
                );
            }
            _ => {}
        }
    }
}

/// TEXT, JSON and BLOB: MySQL cannot key them without a prefix length or give them defaults.
fn is_lob(ty: DataType) -> bool {
    matches!(ty, DataType::Text | DataType::Json | DataType::Bytes)
}

/// Bytes a value of `ty` takes in an InnoDB key or row (utf8mb4; UUIDs as char(36)).
fn mysql_bytes(ty: DataType) -> u64 {
    match ty {
        DataType::SmallInt => 2,
        DataType::Integer | DataType::Real => 4,
        DataType::BigInt | DataType::Double | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Decimal { precision, .. } => u64::from(precision) / 2 + 1,
        DataType::Boolean => 1,
        DataType::Varchar(n) => 4 * u64::from(n) + if n * 4 > 255 { 2 } else { 1 },
        DataType::Char(n) => 4 * u64::from(n),
        DataType::Uuid => 144,
        DataType::Date | DataType::Time => 6,
        // Stored off-page; the row holds a pointer.
        DataType::Text | DataType::Json | DataType::Bytes => 12,
    }
}

fn mysql_table(schema: &Schema, table: &Table, tp: &str, r: &mut Report) {
    let d = Dialect::Mysql;
    let col_type = |name: &str| table.column(name).map(|c| c.data_type);
    let json_columns: Vec<String> = table
        .columns
        .iter()
        .filter(|c| c.data_type == DataType::Json)
        .map(|c| c.name.to_lowercase())
        .collect();
    // Defaults on TEXT/JSON/BLOB.
    for (ci, col) in table.columns.iter().enumerate() {
        if is_lob(col.data_type) && col.default.is_some() {
            r.dialect_error(
                d,
                &format!("{tp}.columns[{}].default", label(&col.name, ci)),
                format!("a {} column cannot have a default", col.data_type),
            );
        }
    }
    // Keys: no TEXT/JSON/BLOB, at most 3072 bytes.
    let mut keyed: Vec<(String, Vec<String>)> = Vec::new();
    if !table.primary_key.is_empty() {
        keyed.push((format!("{tp}.primary_key"), table.primary_key.clone()));
    }
    for (ii, ix) in table.indexes.iter().enumerate() {
        let ip = format!("{tp}.indexes[{}]", label(&ix.name, ii));
        if ix.name.eq_ignore_ascii_case("primary") {
            r.dialect_error(d, &ip, "an index cannot be called PRIMARY");
        }
        if let Some(fk) = table
            .foreign_keys
            .iter()
            .find(|fk| fk.name != ix.name && fk.name.to_lowercase() == ix.name.to_lowercase())
        {
            r.dialect_error(
                d,
                &ip,
                format!(
                    "the index name clashes with foreign key `{}` (names ignore case)",
                    fk.name
                ),
            );
        }
        let Some(shape) = shaped(ix, table, d) else {
            continue;
        };
        if shape.fulltext {
            continue;
        }
        if ix.unique && ix.predicate.is_some() {
            r.dialect_warn(
                d,
                &format!("{ip}.predicate"),
                "MySQL has no partial indexes: the index is created over every row, without UNIQUE",
            );
        }
        keyed.push((ip, shape.columns));
    }
    for (path, cols) in &keyed {
        let mut bytes = 0;
        for c in cols {
            let Some(ty) = col_type(c) else { continue };
            if is_lob(ty) {
                r.dialect_error(
                    d,
                    path,
                    format!("{ty} column `{c}` cannot be part of a key; use varchar(n)"),
                );
            }
            bytes += mysql_bytes(ty);
        }
        if bytes > MYSQL_MAX_KEY_BYTES {
            r.dialect_error(
                d,
                path,
                format!(
                    "the key is {bytes} bytes long in utf8mb4; InnoDB allows {MYSQL_MAX_KEY_BYTES}"
                ),
            );
        }
    }
    // Checks: not named like a json column (MariaDB's json_valid check takes that name); what
    // MySQL 8 refuses in a check.
    let cascading: Vec<&str> = table
        .foreign_keys
        .iter()
        .filter(|fk| {
            [fk.on_delete, fk.on_update]
                .iter()
                .any(|a| matches!(a, ForeignKeyAction::Cascade | ForeignKeyAction::SetNull))
        })
        .flat_map(|fk| fk.columns.iter().map(String::as_str))
        .collect();
    let identity: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.identity)
        .map(|c| c.name.as_str())
        .collect();
    for (ci, check) in table.checks.iter().enumerate() {
        let cp = format!("{tp}.checks[{}]", label(&check.name, ci));
        if json_columns.contains(&check.name.to_lowercase()) {
            r.dialect_error(
                d,
                &cp,
                "the check is named like a json column, whose automatic json_valid check takes that name",
            );
        }
        let words = words(&check.expression);
        for c in cascading.iter().chain(&identity) {
            if words.iter().any(|w| w.eq_ignore_ascii_case(c)) {
                r.dialect_warn(
                    d,
                    &format!("{cp}.expression"),
                    format!(
                        "MySQL 8 refuses checks on `{c}` (an identity column or a column of a foreign key with CASCADE or SET NULL); MariaDB accepts them"
                    ),
                );
            }
        }
    }
    // Foreign keys: keyable types, identical integer/decimal types, referenced columns leading an
    // index in order, no SET DEFAULT.
    for (fi, fk) in table.foreign_keys.iter().enumerate() {
        let fp = format!("{tp}.foreign_keys[{}]", label(&fk.name, fi));
        let target = schema.table(&fk.ref_table);
        let ref_columns = target.map(|t| super::schema::referenced_columns(fk, t));
        for (i, c) in fk.columns.iter().enumerate() {
            let Some(ty) = col_type(c) else { continue };
            if is_lob(ty) {
                r.dialect_error(
                    d,
                    &format!("{fp}.columns[{i}]"),
                    format!("{ty} column `{c}` cannot be a foreign key"),
                );
            }
            let Some(rty) = target
                .zip(ref_columns)
                .and_then(|(t, rc)| rc.get(i).and_then(|rc| t.column(rc)))
                .map(|col| col.data_type)
            else {
                continue;
            };
            let exact_needed = (ty.is_integer() && rty.is_integer())
                || (matches!(ty, DataType::Decimal { .. })
                    && matches!(rty, DataType::Decimal { .. }));
            if exact_needed && ty != rty {
                r.dialect_error(
                    d,
                    &format!("{fp}.columns[{i}]"),
                    format!(
                        "column `{c}` is {ty} but references a {rty} column; MySQL requires the same type"
                    ),
                );
            }
        }
        if let (Some(t), Some(rc)) = (target, ref_columns)
            && !rc.is_empty()
            && t.is_unique_key(rc)
            && !leads_in_order(t, rc)
        {
            r.dialect_error(
                d,
                &format!("{fp}.ref_columns"),
                format!(
                    "InnoDB needs the referenced columns ({}) to lead the primary key or an index of `{}` in this order",
                    rc.join(", "),
                    t.name
                ),
            );
        }
        for (action, field) in [(fk.on_delete, "on_delete"), (fk.on_update, "on_update")] {
            if action == ForeignKeyAction::SetDefault {
                r.dialect_error(
                    d,
                    &format!("{fp}.{field}"),
                    "InnoDB does not support SET DEFAULT",
                );
            }
        }
    }
    // Row size.
    let row: u64 = table.columns.iter().map(|c| mysql_bytes(c.data_type)).sum();
    if row > MYSQL_MAX_ROW_BYTES {
        r.dialect_error(
            d,
            &format!("{tp}.columns"),
            format!(
                "the row is {row} bytes long in utf8mb4; MySQL allows {MYSQL_MAX_ROW_BYTES} (use text for long strings)"
            ),
        );
    }
}

/// Whether `cols` lead the primary key or a B-tree index MySQL creates, in this order.
fn leads_in_order(table: &Table, cols: &[String]) -> bool {
    let leads =
        |key: &[String]| key.len() >= cols.len() && key.iter().zip(cols).all(|(k, c)| k == c);
    leads(&table.primary_key)
        || table.indexes.iter().any(|ix| {
            shaped(ix, table, Dialect::Mysql).is_some_and(|s| !s.fulltext && leads(&s.columns))
        })
}

/// The identifier-like words of a SQL expression (quotes stripped).
fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_literal = false;
    for ch in sql.chars() {
        if ch == '\'' {
            in_literal = !in_literal;
            continue;
        }
        if !in_literal && (ch.is_alphanumeric() || ch == '_') {
            cur.push(ch);
        } else if ch == '"' || ch == '`' {
            // quoted identifiers: keep collecting their characters as a word
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn postgres_indexes(table: &Table, tp: &str, r: &mut Report) {
    let d = Dialect::Postgres;
    for (ii, ix) in table.indexes.iter().enumerate() {
        let ip = format!("{tp}.indexes[{}]", label(&ix.name, ii));
        let method = format!("{:?}", ix.method).to_lowercase();
        if ix.unique && ix.method != IndexMethod::Btree {
            r.dialect_error(
                d,
                &ip,
                format!("only B-tree indexes can be unique, not {method}"),
            );
        }
        if ix.method == IndexMethod::Hash && ix.columns.len() > 1 {
            r.dialect_error(d, &ip, "hash indexes have a single key column");
        }
        if ix.method != IndexMethod::Btree && ix.columns.iter().any(|c| c.order == SortOrder::Desc)
        {
            r.dialect_error(d, &ip, format!("{method} indexes do not support DESC"));
        }
        if !ix.include.is_empty() && !matches!(ix.method, IndexMethod::Btree | IndexMethod::Gist) {
            r.dialect_error(
                d,
                &format!("{ip}.include"),
                format!("{method} indexes do not support INCLUDE"),
            );
        }
        if matches!(ix.method, IndexMethod::Gin | IndexMethod::Gist) {
            for (i, part) in ix.columns.iter().enumerate() {
                let Some(c) = &part.column else { continue };
                let Some(col) = table.column(c) else { continue };
                if col.data_type != DataType::Json {
                    r.dialect_error(
                        d,
                        &format!("{ip}.columns[{i}]"),
                        format!(
                            "{method} has no default operator class for {} column `{c}`; index a json column or an expression such as to_tsvector(...)",
                            col.data_type
                        ),
                    );
                } else if ix.method == IndexMethod::Gist {
                    r.dialect_error(
                        d,
                        &format!("{ip}.columns[{i}]"),
                        format!("gist has no operator class for json column `{c}`; use gin"),
                    );
                }
            }
        }
    }
}
