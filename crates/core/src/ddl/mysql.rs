//! DDL generation and normalization for MySQL and MariaDB (the `mysql` dialect): what
//! `CREATE TABLE` / `ALTER TABLE` text persona schemas become, and what a schema looks like after
//! a round trip through MariaDB 10.11+ (or MySQL 8).
//!
//! [`create_schema`] prints the *shaped* schema (see `shape`): the schema as this dialect can
//! hold it. [`normalize`] is the same shaping plus the canonical spelling of values (defaults,
//! expressions), so `introspect(provision(s)) == normalize(s)` holds by construction. Decisions:
//!
//! - **Types.** `smallint`, `int`, `bigint`, `decimal(p,s)`, `float` (real), `double`,
//!   `tinyint(1)` (boolean), `longtext` (text: the unbounded one, like PostgreSQL's),
//!   `varchar(n)`, `char(n)`, `char(36)` (uuid, portable to MySQL 8, which has no uuid type;
//!   introspection cannot tell it from any other `char(36)`, so normalization makes a uuid
//!   column `Char(36)`), `json` (MariaDB stores it as `longtext` plus an automatic
//!   `CHECK (json_valid(col))` named after the column; introspection reads that pair back as
//!   `Json`), `date`, `time(6)`, `datetime(6)` (timestamp), `timestamp(6)` (timestamptz: MySQL's
//!   `TIMESTAMP` is an instant, stored in UTC and converted per session time zone; its range
//!   ends at 2038-01-19 on MySQL 8 and MariaDB before 11.5), `longblob` (bytes). Every type
//!   keeps its logical type through a round trip except uuid.
//! - **Tables** are `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4` (the server's default collation);
//!   table and column comments are written with `COMMENT` (an empty comment is no comment).
//! - **Nullability** is always written (`NULL` / `NOT NULL`), so the result does not depend on
//!   `explicit_defaults_for_timestamp`. Primary-key and identity columns are `NOT NULL`.
//! - **Identity** is `AUTO_INCREMENT`, which must lead some index: when neither the primary key
//!   nor an index starts with the identity column, a plain index `{table}_{col}_idx` on it is
//!   added. An identity column has no default.
//! - **Defaults.** `NULL` is no default (MariaDB reports both the same way). Booleans are
//!   `TRUE`/`FALSE` and read back as booleans on `tinyint(1)`. Numbers are printed as the
//!   server prints them: integers without leading zeros, decimals with exactly `scale` digits
//!   (rounded half away from zero), floats rounded to 6 significant digits, doubles in their
//!   shortest form. Strings are literals (in parentheses for `longtext`, `longblob` and `json`,
//!   as MySQL 8 requires); a string default of a `time`/`datetime`/`timestamp` column gets the
//!   six fractional digits the server adds. `CURRENT_TIMESTAMP` is `CURRENT_TIMESTAMP(6)` on
//!   `datetime(6)`/`timestamp(6)` and `(CURRENT_TIMESTAMP)` elsewhere; `CURRENT_DATE` is
//!   `(CURRENT_DATE)`. Any other expression is written `(expr)` for this dialect
//!   ([`super::render_expression`]), with PostgreSQL's `gen_random_uuid()` /
//!   `uuid_generate_v4()` spelled `uuid()`; it is compared in canonical form.
//! - **Checks** are named `CONSTRAINT … CHECK (…)` inside `CREATE TABLE`, the expression
//!   rendered for MySQL ([`super::render_expression`]: backticks, backslash-safe literals,
//!   `||` as `concat`) and compared in canonical form ([`super::stored_expression`]).
//! - **Indexes** are written inside `CREATE TABLE` (`[UNIQUE|FULLTEXT] KEY name (…)`), so a
//!   table and its indexes appear or fail together (MySQL DDL is not transactional) and an
//!   identity column's index exists when `AUTO_INCREMENT` is checked. `DESC` key parts are kept
//!   (MariaDB ≥ 10.8, MySQL 8). What the dialect lacks:
//!   - a partial index's predicate is dropped: the index covers every row. A *unique* partial
//!     index also loses `UNIQUE` (a full unique index would reject rows the original allows);
//!   - `INCLUDE` columns are dropped (InnoDB secondary indexes carry the primary key anyway);
//!   - `hash` and `brin` become B-tree indexes on the same key (InnoDB has only B-trees; they
//!     serve the same equality / range lookups);
//!   - `gin` on plain `text`/`varchar`/`char` columns becomes a `FULLTEXT` index (ascending,
//!     not unique), which introspection reports as `gin`; any other `gin` index (json,
//!     expressions) and every `gist` index are not created;
//!   - an expression key part is not supported by MariaDB: `lower(col)` / `upper(col)` become
//!     the plain column (the default utf8mb4 collations compare case-insensitively, which is
//!     what such an index is for); an index with any other expression is not created.
//! - **Foreign keys** are added after every table, one `ALTER TABLE … ADD CONSTRAINT … FOREIGN
//!   KEY … ON DELETE … ON UPDATE …` each (both actions always written: MariaDB reports an
//!   omitted one as `RESTRICT`). A foreign key without referenced columns refers to the
//!   target's primary key. InnoDB needs an index led by the referencing columns (in order);
//!   when neither the primary key nor any B-tree index (after the rules above) is, a plain
//!   index named after the constraint is added: the index InnoDB itself would create.
//! - **Order.** Tables in schema order, then foreign keys in schema order. [`drop_schema`] drops
//!   the foreign keys that close a cycle between tables, then the tables, referencing tables
//!   before referenced ones (so it needs no `FOREIGN_KEY_CHECKS` session state).
//!
//! Rules a schema must follow to provision here (validation's job; the DDL cannot fix them):
//! - indexed, key and foreign-key columns are not `text`/`bytes`/`json` (MySQL needs a prefix
//!   length there, which the model does not have): use `varchar(n)` for indexed strings;
//! - foreign-key columns have exactly the referenced columns' types, and the referenced columns
//!   lead the primary key or an index, in order;
//! - no `SET DEFAULT` actions (InnoDB rejects them);
//! - at most one identity column per table, of an integer type;
//! - names at most 64 characters, not ending in a space, with no character outside the Basic
//!   Multilingual Plane; column and index names unique per table ignoring case; foreign-key
//!   names (and, on MySQL 8, check names) unique per database; no index named `PRIMARY`, no
//!   index with the name of a foreign key of its table, no check named like a json column of
//!   its table (MariaDB gives that name to the column's `json_valid` check);
//! - on MySQL 8, checks use no identity column and no column of a foreign key with a
//!   `CASCADE` / `SET NULL` action;
//! - `varchar(n)` with `n` ≤ 16383 (and rows within 65535 bytes), `char(n)` with `n` ≤ 255,
//!   `decimal` precision ≤ 65 and scale ≤ 30.

use std::collections::{BTreeSet, HashMap};

use crate::model::names;
use crate::{
    Column, DataType, DefaultValue, Dialect, ForeignKey, Index, IndexColumn, IndexMethod, Schema,
    SortOrder, Table,
};

const Q: Dialect = Dialect::Mysql;

/// Table options of every created table.
const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

pub(super) fn create_schema(schema: &Schema) -> Vec<String> {
    let shaped = shaped(schema);
    let mut out: Vec<String> = shaped.tables.iter().map(create_table).collect();
    for table in &shaped.tables {
        for fk in &table.foreign_keys {
            out.push(add_foreign_key(table, fk));
        }
    }
    out
}

pub(super) fn drop_schema(schema: &Schema) -> Vec<String> {
    let mut schema = schema.clone();
    schema.fill_default_names();
    let tables = &schema.tables;
    let index_of: HashMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    // Edges (referencing table, fk index in table, referenced table) between distinct tables.
    let mut edges: Vec<(usize, usize, usize)> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        for (k, fk) in t.foreign_keys.iter().enumerate() {
            if let Some(&j) = index_of.get(fk.ref_table.as_str())
                && j != i
            {
                edges.push((i, k, j));
            }
        }
    }
    let mut remaining: Vec<bool> = vec![true; tables.len()];
    let mut dropped_fk: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut fk_drops = Vec::new();
    let mut table_drops = Vec::new();
    while remaining.iter().any(|&r| r) {
        let referenced = |j: usize, dropped: &BTreeSet<(usize, usize)>| {
            edges
                .iter()
                .any(|&(i, k, to)| to == j && remaining[i] && !dropped.contains(&(i, k)))
        };
        let pick = (0..tables.len())
            .rev()
            .find(|&j| remaining[j] && !referenced(j, &dropped_fk));
        match pick {
            Some(j) => {
                remaining[j] = false;
                table_drops.push(format!(
                    "DROP TABLE IF EXISTS {}",
                    Q.quote_ident(&tables[j].name)
                ));
            }
            None => {
                // A cycle: drop every foreign key between the tables that are left.
                for &(i, k, j) in &edges {
                    if remaining[i] && remaining[j] && dropped_fk.insert((i, k)) {
                        fk_drops.push(format!(
                            "ALTER TABLE {} DROP FOREIGN KEY {}",
                            Q.quote_ident(&tables[i].name),
                            Q.quote_ident(&tables[i].foreign_keys[k].name)
                        ));
                    }
                }
            }
        }
    }
    fk_drops.extend(table_drops);
    fk_drops
}

/// The column type each logical type is declared with.
pub(super) fn column_type(data_type: DataType) -> String {
    match data_type {
        DataType::SmallInt => "smallint".to_owned(),
        DataType::Integer => "int".to_owned(),
        DataType::BigInt => "bigint".to_owned(),
        DataType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        DataType::Real => "float".to_owned(),
        DataType::Double => "double".to_owned(),
        DataType::Boolean => "tinyint(1)".to_owned(),
        DataType::Text => "longtext".to_owned(),
        DataType::Varchar(n) => format!("varchar({n})"),
        DataType::Char(n) => format!("char({n})"),
        DataType::Uuid => "char(36)".to_owned(),
        DataType::Json => "json".to_owned(),
        DataType::Date => "date".to_owned(),
        DataType::Time => "time(6)".to_owned(),
        DataType::Timestamp => "datetime(6)".to_owned(),
        DataType::TimestampTz => "timestamp(6)".to_owned(),
        DataType::Bytes => "longblob".to_owned(),
    }
}

pub(super) fn normalize(schema: Schema) -> Schema {
    let mut schema = shape(schema);
    for table in &mut schema.tables {
        for col in &mut table.columns {
            if let Some(DefaultValue::Expression(e)) = &col.default {
                col.default = Some(DefaultValue::parse(&super::stored_expression(e, Q)));
            }
        }
        for check in &mut table.checks {
            check.expression = super::stored_expression(&check.expression, Q);
        }
    }
    schema
}

// ---------------------------------------------------------------------------------------------
// Shaping: the schema as MySQL/MariaDB can hold it.

/// `schema` with default names filled in, shaped for this dialect.
fn shaped(schema: &Schema) -> Schema {
    let mut schema = schema.clone();
    schema.fill_default_names();
    shape(schema)
}

/// Apply every structural decision of the module documentation (names must be filled in).
fn shape(mut schema: Schema) -> Schema {
    let primary_keys: HashMap<String, Vec<String>> = schema
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.primary_key.clone()))
        .collect();
    for table in &mut schema.tables {
        table.comment = table.comment.take().filter(|c| !c.is_empty());
        for col in &mut table.columns {
            shape_column(col, table.primary_key.contains(&col.name));
        }
        let types = column_types(table);
        table.indexes = std::mem::take(&mut table.indexes)
            .into_iter()
            .filter_map(|ix| shape_index(ix, &types))
            .collect();
        for fk in &mut table.foreign_keys {
            if fk.ref_columns.is_empty()
                && let Some(pk) = primary_keys.get(&fk.ref_table)
            {
                fk.ref_columns.clone_from(pk);
            }
        }
        add_identity_index(table);
        add_foreign_key_indexes(table);
    }
    schema
}

fn shape_column(col: &mut Column, in_primary_key: bool) {
    if col.data_type == DataType::Uuid {
        col.data_type = DataType::Char(36);
    }
    if col.identity || in_primary_key {
        col.nullable = false;
    }
    col.comment = col.comment.take().filter(|c| !c.is_empty());
    col.default = if col.identity {
        None
    } else {
        col.default
            .take()
            .and_then(|d| shape_default(d, col.data_type))
    };
}

/// The default as the server reports it back (expressions still as written).
fn shape_default(default: DefaultValue, ty: DataType) -> Option<DefaultValue> {
    use DataType as T;
    let stringy = matches!(
        ty,
        T::Text | T::Varchar(_) | T::Char(_) | T::Json | T::Bytes
    );
    Some(match default {
        DefaultValue::Null => return None,
        DefaultValue::Bool(b) if ty == T::Boolean => DefaultValue::Bool(b),
        DefaultValue::Bool(b) => {
            return shape_default(DefaultValue::Number(u8::from(b).to_string()), ty);
        }
        DefaultValue::Number(n) if stringy => DefaultValue::Text(n),
        DefaultValue::Number(n) => match ty {
            T::Boolean if n == "0" || n == "1" => DefaultValue::Bool(n == "1"),
            T::SmallInt | T::Integer | T::BigInt | T::Boolean if !n.contains('.') => {
                DefaultValue::Number(canonical_integer(&n))
            }
            T::Decimal { scale, .. } => DefaultValue::Number(decimal_with_scale(&n, scale)),
            T::Real => DefaultValue::Number(float_text(&n, true)),
            T::Double => DefaultValue::Number(float_text(&n, false)),
            _ => DefaultValue::Number(n),
        },
        DefaultValue::Text(t) => match ty {
            T::Time | T::Timestamp | T::TimestampTz => DefaultValue::Text(with_micros(&t, ty)),
            _ => DefaultValue::Text(t),
        },
        DefaultValue::Expression(e) => {
            let lower = e.trim().to_ascii_lowercase();
            if lower == "gen_random_uuid()" || lower == "uuid_generate_v4()" {
                DefaultValue::Expression("uuid()".to_owned())
            } else {
                DefaultValue::Expression(e)
            }
        }
        other @ (DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate) => other,
    })
}

/// An integer without sign noise or leading zeros (`007` → `7`, `-0` → `0`).
fn canonical_integer(n: &str) -> String {
    let (neg, digits) = match n.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, n.strip_prefix('+').unwrap_or(n)),
    };
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        "0".to_owned()
    } else if neg {
        format!("-{digits}")
    } else {
        digits.to_owned()
    }
}

/// A decimal number printed with exactly `scale` fractional digits, rounded half away from
/// zero, as MariaDB stores a `decimal(p,scale)` default.
fn decimal_with_scale(n: &str, scale: u8) -> String {
    let (neg, body) = match n.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, n.strip_prefix('+').unwrap_or(n)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let scale = usize::from(scale);
    let mut digits: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().take(scale))
        .map(|b| b - b'0')
        .collect();
    digits.extend(std::iter::repeat_n(0, scale.saturating_sub(frac.len())));
    if frac.as_bytes().get(scale).is_some_and(|&b| b >= b'5') {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - scale;
    let int_part: String = digits[..split]
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    let int_part = canonical_integer(&int_part);
    let frac_part: String = digits[split..]
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let sign = if neg && !zero { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// A float default as MariaDB prints it: `float` rounded to 6 significant digits, `double` in
/// its shortest form, never in exponent notation.
fn float_text(n: &str, single: bool) -> String {
    let Ok(mut x) = n.parse::<f64>() else {
        return n.to_owned();
    };
    if single && x != 0.0 {
        x = format!("{x:.5e}").parse().unwrap_or(x);
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    format!("{x}")
}

/// A `time` / `datetime` / `timestamp` literal with the six fractional digits the server adds
/// (`10:11:12` → `10:11:12.000000`, `2024-01-02` → `2024-01-02 00:00:00.000000`). Text that is
/// not such a literal is kept.
fn with_micros(text: &str, ty: DataType) -> String {
    let pad = |time: &str| -> Option<String> {
        let (whole, frac) = time.split_once('.').unwrap_or((time, ""));
        (frac.len() <= 6 && frac.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("{whole}.{frac:0<6}"))
    };
    let shaped = if ty == DataType::Time {
        is_time(text).then(|| pad(text)).flatten()
    } else {
        let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
        (is_date(date) && is_time(time))
            .then(|| pad(time).map(|time| format!("{date} {time}")))
            .flatten()
    };
    shaped.unwrap_or_else(|| text.to_owned())
}

/// Whether `text` is `width` ASCII digits.
fn is_digits(text: &str, width: usize) -> bool {
    text.len() == width && text.bytes().all(|b| b.is_ascii_digit())
}

/// `HH:MM:SS[.fraction]`.
fn is_time(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    let seconds = parts
        .get(2)
        .map_or("", |s| s.split('.').next().unwrap_or(""));
    parts.len() == 3 && is_digits(parts[0], 2) && is_digits(parts[1], 2) && is_digits(seconds, 2)
}

/// `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3 && is_digits(parts[0], 4) && is_digits(parts[1], 2) && is_digits(parts[2], 2)
}

/// Each column's type, by name.
pub(super) fn column_types(table: &Table) -> HashMap<String, DataType> {
    table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type))
        .collect()
}

/// The index as this dialect can hold it, or `None` when it cannot be created at all.
pub(super) fn shape_index(ix: Index, types: &HashMap<String, DataType>) -> Option<Index> {
    let mut columns = Vec::with_capacity(ix.columns.len());
    for part in ix.columns {
        let column = match (part.column, part.expression) {
            (Some(c), _) => c,
            (None, Some(e)) => case_folded_column(&e).filter(|c| types.contains_key(c))?,
            (None, None) => return None,
        };
        columns.push(IndexColumn::ordered(column, part.order));
    }
    let textual = |c: &IndexColumn| {
        c.column
            .as_ref()
            .and_then(|c| types.get(c))
            .is_some_and(|t| matches!(t, DataType::Text | DataType::Varchar(_) | DataType::Char(_)))
    };
    let method = match ix.method {
        IndexMethod::Btree | IndexMethod::Hash | IndexMethod::Brin => IndexMethod::Btree,
        IndexMethod::Gin if !ix.unique && columns.iter().all(textual) => IndexMethod::Gin,
        IndexMethod::Gin | IndexMethod::Gist => return None,
    };
    if method == IndexMethod::Gin {
        for c in &mut columns {
            c.order = SortOrder::Asc;
        }
    }
    Some(Index {
        name: ix.name,
        columns,
        unique: ix.unique && ix.predicate.is_none() && method == IndexMethod::Btree,
        predicate: None,
        include: Vec::new(),
        method,
    })
}

/// The column of an expression `lower(col)` / `upper(col)` (any case, any quoting).
fn case_folded_column(expr: &str) -> Option<String> {
    let canonical = super::canonical_expression(expr);
    let inner = canonical
        .strip_prefix("lower(")
        .or_else(|| canonical.strip_prefix("upper("))?
        .strip_suffix(')')?;
    if let Some(quoted) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        // Inside, a quote only appears doubled.
        let name = quoted.replace("\"\"", "\"");
        return (!quoted.replace("\"\"", "").contains('"')).then_some(name);
    }
    let bare = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    bare.then(|| inner.to_owned())
}

/// Leading column names of an index's key (all of them when every part is a column).
fn key_columns(ix: &Index) -> Vec<&str> {
    ix.columns
        .iter()
        .map_while(|c| c.column.as_deref())
        .collect()
}

/// Whether InnoDB can use the primary key or a B-tree index led by `cols` (in order).
fn has_index_led_by(table: &Table, cols: &[String]) -> bool {
    let leads = |key: &[&str]| key.len() >= cols.len() && key.iter().zip(cols).all(|(k, c)| k == c);
    let pk: Vec<&str> = table.primary_key.iter().map(String::as_str).collect();
    leads(&pk)
        || table
            .indexes
            .iter()
            .any(|ix| ix.method == IndexMethod::Btree && leads(&key_columns(ix)))
}

fn add_identity_index(table: &mut Table) {
    let Some(col) = table
        .columns
        .iter()
        .find(|c| c.identity)
        .map(|c| c.name.clone())
    else {
        return;
    };
    if !has_index_led_by(table, std::slice::from_ref(&col)) {
        table.indexes.push(Index {
            name: names::derived(&table.name, &[&col], "idx"),
            columns: vec![IndexColumn::column(col)],
            unique: false,
            predicate: None,
            include: Vec::new(),
            method: IndexMethod::Btree,
        });
    }
}

fn add_foreign_key_indexes(table: &mut Table) {
    for k in 0..table.foreign_keys.len() {
        let fk = &table.foreign_keys[k];
        if fk.columns.is_empty() || has_index_led_by(table, &fk.columns) {
            continue;
        }
        let index = Index {
            name: fk.name.clone(),
            columns: fk
                .columns
                .iter()
                .cloned()
                .map(IndexColumn::column)
                .collect(),
            unique: false,
            predicate: None,
            include: Vec::new(),
            method: IndexMethod::Btree,
        };
        table.indexes.push(index);
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    names
        .into_iter()
        .map(|n| Q.quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

fn create_table(table: &Table) -> String {
    let mut items: Vec<String> = table.columns.iter().map(column_definition).collect();
    if !table.primary_key.is_empty() {
        items.push(format!("PRIMARY KEY ({})", quoted_list(&table.primary_key)));
    }
    for ix in &table.indexes {
        items.push(index_definition(ix));
    }
    for check in &table.checks {
        items.push(format!(
            "CONSTRAINT {} CHECK ({})",
            Q.quote_ident(&check.name),
            super::render_expression(&check.expression, Q)
        ));
    }
    let mut sql = format!(
        "CREATE TABLE {} (\n  {}\n) {TABLE_OPTIONS}",
        Q.quote_ident(&table.name),
        items.join(",\n  ")
    );
    if let Some(comment) = &table.comment {
        sql.push_str(" COMMENT=");
        sql.push_str(&Q.quote_literal(comment));
    }
    sql
}

fn column_definition(col: &Column) -> String {
    let mut sql = format!(
        "{} {} {}",
        Q.quote_ident(&col.name),
        column_type(col.data_type),
        if col.nullable { "NULL" } else { "NOT NULL" }
    );
    if col.identity {
        sql.push_str(" AUTO_INCREMENT");
    }
    if let Some(default) = &col.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(&default_sql(default, col.data_type));
    }
    if let Some(comment) = &col.comment {
        sql.push_str(" COMMENT ");
        sql.push_str(&Q.quote_literal(comment));
    }
    sql
}

fn default_sql(default: &DefaultValue, ty: DataType) -> String {
    let blobby = matches!(ty, DataType::Text | DataType::Json | DataType::Bytes);
    match default {
        DefaultValue::Null => "NULL".to_owned(),
        DefaultValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        DefaultValue::Number(n) if blobby => format!("({n})"),
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::Text(t) if blobby => format!("({})", Q.quote_literal(t)),
        DefaultValue::Text(t) => Q.quote_literal(t),
        DefaultValue::CurrentTimestamp
            if matches!(ty, DataType::Timestamp | DataType::TimestampTz) =>
        {
            "CURRENT_TIMESTAMP(6)".to_owned()
        }
        DefaultValue::CurrentTimestamp => "(CURRENT_TIMESTAMP)".to_owned(),
        DefaultValue::CurrentDate => "(CURRENT_DATE)".to_owned(),
        DefaultValue::Expression(e) => format!("({})", super::render_expression(e, Q)),
    }
}

fn index_definition(ix: &Index) -> String {
    let kind = if ix.method == IndexMethod::Gin {
        "FULLTEXT KEY"
    } else if ix.unique {
        "UNIQUE KEY"
    } else {
        "KEY"
    };
    let parts: Vec<String> = ix
        .columns
        .iter()
        .filter_map(|c| {
            let name = Q.quote_ident(c.column.as_deref()?);
            Some(if c.order == SortOrder::Desc {
                format!("{name} DESC")
            } else {
                name
            })
        })
        .collect();
    format!("{kind} {} ({})", Q.quote_ident(&ix.name), parts.join(", "))
}

fn add_foreign_key(table: &Table, fk: &ForeignKey) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        Q.quote_ident(&table.name),
        Q.quote_ident(&fk.name),
        quoted_list(&fk.columns),
        Q.quote_ident(&fk.ref_table),
        quoted_list(&fk.ref_columns),
        fk.on_delete.as_sql(),
        fk.on_update.as_sql()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Check, ForeignKeyAction};

    fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty.parse().unwrap())
    }

    fn index(name: &str, columns: Vec<IndexColumn>) -> Index {
        Index {
            name: name.to_owned(),
            columns,
            unique: false,
            predicate: None,
            include: Vec::new(),
            method: IndexMethod::Btree,
        }
    }

    fn fk(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            ref_table: ref_table.to_owned(),
            ref_columns: ref_columns.iter().map(|c| (*c).to_owned()).collect(),
            on_delete: ForeignKeyAction::NoAction,
            on_update: ForeignKeyAction::NoAction,
        }
    }

    fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
        Table {
            name: name.to_owned(),
            columns,
            primary_key: pk.iter().map(|c| (*c).to_owned()).collect(),
            ..Table::default()
        }
    }

    #[test]
    fn every_logical_type_has_a_mysql_spelling() {
        let cases = [
            ("smallint", "smallint"),
            ("integer", "int"),
            ("bigint", "bigint"),
            ("decimal(12,2)", "decimal(12,2)"),
            ("real", "float"),
            ("double", "double"),
            ("boolean", "tinyint(1)"),
            ("text", "longtext"),
            ("varchar(80)", "varchar(80)"),
            ("char(2)", "char(2)"),
            ("uuid", "char(36)"),
            ("json", "json"),
            ("date", "date"),
            ("time", "time(6)"),
            ("timestamp", "datetime(6)"),
            ("timestamptz", "timestamp(6)"),
            ("bytes", "longblob"),
        ];
        for (logical, want) in cases {
            assert_eq!(column_type(logical.parse().unwrap()), want, "{logical}");
        }
    }

    #[test]
    fn a_small_schema_prints_exactly() {
        let mut orders = table(
            "orders",
            vec![
                Column {
                    identity: true,
                    ..col("id", "bigint")
                },
                Column {
                    nullable: false,
                    ..col("customer_id", "bigint")
                },
                Column {
                    default: Some(DefaultValue::Text("new".into())),
                    comment: Some("it's".into()),
                    ..col("status", "varchar(20)")
                },
                Column {
                    default: Some(DefaultValue::CurrentTimestamp),
                    ..col("at", "timestamptz")
                },
            ],
            &["id"],
        );
        orders.indexes.push(index(
            "orders_status_at_idx",
            vec![
                IndexColumn::column("status"),
                IndexColumn::ordered("at", SortOrder::Desc),
            ],
        ));
        orders.foreign_keys.push(ForeignKey {
            on_delete: ForeignKeyAction::Cascade,
            ..fk("", &["customer_id"], "customers", &[])
        });
        orders.checks.push(Check {
            name: String::new(),
            expression: "status <> ''".into(),
        });
        let customers = table("customers", vec![col("id", "bigint")], &["id"]);
        let schema = Schema {
            tables: vec![orders, customers],
        };
        let want = [
            "CREATE TABLE `orders` (\n  \
             `id` bigint NOT NULL AUTO_INCREMENT,\n  \
             `customer_id` bigint NOT NULL,\n  \
             `status` varchar(20) NULL DEFAULT 'new' COMMENT 'it''s',\n  \
             `at` timestamp(6) NULL DEFAULT CURRENT_TIMESTAMP(6),\n  \
             PRIMARY KEY (`id`),\n  \
             KEY `orders_status_at_idx` (`status`, `at` DESC),\n  \
             KEY `orders_customer_id_fkey` (`customer_id`),\n  \
             CONSTRAINT `orders_check1` CHECK (`status` <> '')\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            "CREATE TABLE `customers` (\n  \
             `id` bigint NOT NULL,\n  \
             PRIMARY KEY (`id`)\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            "ALTER TABLE `orders` ADD CONSTRAINT `orders_customer_id_fkey` FOREIGN KEY \
             (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION",
        ];
        assert_eq!(create_schema(&schema), want);
        assert_eq!(
            drop_schema(&schema),
            [
                "DROP TABLE IF EXISTS `orders`",
                "DROP TABLE IF EXISTS `customers`"
            ]
        );
    }

    #[test]
    fn hostile_names_and_literals_are_quoted() {
        let name = "we`ird'; DROP TABLE x; --\\ é";
        let mut t = table(
            name,
            vec![Column {
                default: Some(DefaultValue::Text("a\\'b".into())),
                comment: Some("c\\".into()),
                ..col(name, "text")
            }],
            &[],
        );
        t.comment = Some("t'\\".into());
        let ddl = create_schema(&Schema { tables: vec![t] });
        let q = "`we``ird'; DROP TABLE x; --\\ é`";
        assert_eq!(
            ddl,
            [format!(
                "CREATE TABLE {q} (\n  {q} longtext NULL DEFAULT ('a\\\\''b') COMMENT 'c\\\\'\n) \
                 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='t''\\\\'"
            )]
        );
    }

    #[test]
    fn index_features_mysql_lacks_are_shaped_away() {
        let mut t = table(
            "t",
            vec![
                col("id", "bigint"),
                col("email", "varchar(100)"),
                col("body", "text"),
                col("doc", "json"),
                col("at", "timestamp"),
            ],
            &["id"],
        );
        let mut partial_unique = index("partial_unique", vec![IndexColumn::column("email")]);
        partial_unique.unique = true;
        partial_unique.predicate = Some("at IS NULL".into());
        let mut covering = index(
            "covering",
            vec![IndexColumn::ordered("at", SortOrder::Desc)],
        );
        covering.include = vec!["email".into()];
        let mut hash = index("hash", vec![IndexColumn::column("email")]);
        hash.method = IndexMethod::Hash;
        let mut brin = index("brin", vec![IndexColumn::column("at")]);
        brin.method = IndexMethod::Brin;
        let mut full_text = index(
            "full_text",
            vec![
                IndexColumn::column("email"),
                IndexColumn::ordered("body", SortOrder::Desc),
            ],
        );
        full_text.method = IndexMethod::Gin;
        let mut gin_json = index("gin_json", vec![IndexColumn::column("doc")]);
        gin_json.method = IndexMethod::Gin;
        let mut gist = index("gist", vec![IndexColumn::column("email")]);
        gist.method = IndexMethod::Gist;
        let mut folded = index(
            "folded",
            vec![
                IndexColumn::expression("LOWER(\"email\")"),
                IndexColumn::column("id"),
            ],
        );
        folded.unique = true;
        let other_expr = index("other_expr", vec![IndexColumn::expression("date(at)")]);
        t.indexes = vec![
            partial_unique,
            covering,
            hash,
            brin,
            full_text,
            gin_json,
            gist,
            folded,
            other_expr,
        ];
        let out = normalize(Schema { tables: vec![t] });
        type Shaped<'a> = (&'a str, Vec<(&'a str, SortOrder)>, bool, IndexMethod);
        let got: Vec<Shaped> = out.tables[0]
            .indexes
            .iter()
            .map(|ix| {
                assert!(ix.predicate.is_none() && ix.include.is_empty(), "{ix:?}");
                let cols = ix
                    .columns
                    .iter()
                    .map(|c| (c.column.as_deref().unwrap(), c.order));
                (ix.name.as_str(), cols.collect(), ix.unique, ix.method)
            })
            .collect();
        use IndexMethod::{Btree, Gin};
        use SortOrder::{Asc, Desc};
        assert_eq!(
            got,
            vec![
                ("partial_unique", vec![("email", Asc)], false, Btree),
                ("covering", vec![("at", Desc)], false, Btree),
                ("hash", vec![("email", Asc)], false, Btree),
                ("brin", vec![("at", Asc)], false, Btree),
                ("full_text", vec![("email", Asc), ("body", Asc)], false, Gin),
                ("folded", vec![("email", Asc), ("id", Asc)], true, Btree),
            ]
        );
        let ddl = create_schema(&out);
        assert!(
            ddl[0].contains("FULLTEXT KEY `full_text` (`email`, `body`)"),
            "{}",
            ddl[0]
        );
        assert!(
            ddl[0].contains("UNIQUE KEY `folded` (`email`, `id`)"),
            "{}",
            ddl[0]
        );
    }

    #[test]
    fn foreign_keys_and_identities_get_the_index_innodb_needs() {
        let mut child = table(
            "child",
            vec![
                col("a", "bigint"),
                col("b", "bigint"),
                col("p", "bigint"),
                col("q", "bigint"),
                Column {
                    identity: true,
                    ..col("n", "bigint")
                },
            ],
            &["a", "b"],
        );
        child.indexes.push(index(
            "by_q_p",
            vec![
                IndexColumn::ordered("q", SortOrder::Desc),
                IndexColumn::column("p"),
            ],
        ));
        child.foreign_keys = vec![
            fk("fk_a", &["a"], "parent", &["id"]),
            fk("fk_b", &["b"], "parent", &["id"]),
            fk("fk_q", &["q"], "parent", &["id"]),
            fk("fk_p", &["p"], "parent", &["id"]),
            fk("fk_p_again", &["p"], "parent", &["id"]),
        ];
        let parent = table("parent", vec![col("id", "bigint")], &["id"]);
        let out = normalize(Schema {
            tables: vec![child, parent],
        });
        let child = out.table("child").unwrap();
        let names: Vec<(&str, Vec<&str>)> = child
            .indexes
            .iter()
            .map(|ix| (ix.name.as_str(), key_columns(ix)))
            .collect();
        // fk_a is served by the primary key, fk_q by `by_q_p`, fk_p_again by fk_p's index.
        assert_eq!(
            names,
            vec![
                ("by_q_p", vec!["q", "p"]),
                ("child_n_idx", vec!["n"]),
                ("fk_b", vec!["b"]),
                ("fk_p", vec!["p"])
            ]
        );
        assert!(!child.column("n").unwrap().nullable);
        assert!(
            child
                .columns
                .iter()
                .filter(|c| child.primary_key.contains(&c.name))
                .all(|c| !c.nullable)
        );
    }

    #[test]
    fn tables_are_dropped_children_first_and_cycles_are_cut() {
        let mut a = table("a", vec![col("id", "int"), col("b_id", "int")], &["id"]);
        let mut b = table("b", vec![col("id", "int"), col("a_id", "int")], &["id"]);
        let mut c = table("c", vec![col("id", "int"), col("a_id", "int")], &["id"]);
        let d = table("d", vec![col("id", "int")], &["id"]);
        a.foreign_keys.push(fk("a_b", &["b_id"], "b", &["id"]));
        b.foreign_keys.push(fk("b_a", &["a_id"], "a", &["id"]));
        c.foreign_keys.push(fk("c_a", &["a_id"], "a", &["id"]));
        c.foreign_keys.push(fk("c_self", &["id"], "c", &["id"]));
        let schema = Schema {
            tables: vec![c, a, d, b],
        };
        assert_eq!(
            drop_schema(&schema),
            [
                "ALTER TABLE `a` DROP FOREIGN KEY `a_b`",
                "ALTER TABLE `b` DROP FOREIGN KEY `b_a`",
                "DROP TABLE IF EXISTS `d`",
                "DROP TABLE IF EXISTS `c`",
                "DROP TABLE IF EXISTS `b`",
                "DROP TABLE IF EXISTS `a`",
            ]
        );
    }

    #[test]
    fn defaults_take_the_form_the_server_reports() {
        use DefaultValue as V;
        let num = |n: &str| V::Number(n.to_owned());
        let text = |t: &str| V::Text(t.to_owned());
        let cases = [
            ("boolean", V::Bool(true), Some(V::Bool(true))),
            ("boolean", num("0"), Some(V::Bool(false))),
            ("integer", V::Bool(true), Some(num("1"))),
            ("integer", num("007"), Some(num("7"))),
            ("bigint", num("-0"), Some(num("0"))),
            ("decimal(10,2)", num("0"), Some(num("0.00"))),
            ("decimal(10,2)", num("9.9"), Some(num("9.90"))),
            ("decimal(5,2)", num("1.005"), Some(num("1.01"))),
            ("decimal(5,2)", num("-9.999"), Some(num("-10.00"))),
            ("decimal(5,0)", num("12.5"), Some(num("13"))),
            ("real", num("3.14159265"), Some(num("3.14159"))),
            ("real", num("1.0"), Some(num("1"))),
            ("double", num("0.10"), Some(num("0.1"))),
            ("varchar(5)", num("12"), Some(text("12"))),
            ("time", text("10:11:12"), Some(text("10:11:12.000000"))),
            ("time", text("01:02:03.5"), Some(text("01:02:03.500000"))),
            (
                "timestamp",
                text("2020-01-02 03:04:05"),
                Some(text("2020-01-02 03:04:05.000000")),
            ),
            (
                "timestamptz",
                text("2020-01-02"),
                Some(text("2020-01-02 00:00:00.000000")),
            ),
            ("timestamp", text("yesterday"), Some(text("yesterday"))),
            ("date", text("2020-01-02"), Some(text("2020-01-02"))),
            ("text", V::Null, None),
            (
                "uuid",
                V::Expression("gen_random_uuid()".into()),
                Some(V::Expression("uuid()".into())),
            ),
            (
                "integer",
                V::Expression("(1+2)".into()),
                Some(V::Expression("1 + 2".into())),
            ),
        ];
        for (ty, default, want) in cases {
            let t = table(
                "t",
                vec![Column {
                    default: Some(default.clone()),
                    ..col("c", ty)
                }],
                &[],
            );
            let out = normalize(Schema { tables: vec![t] });
            assert_eq!(out.tables[0].columns[0].default, want, "{ty} {default:?}");
        }
    }

    #[test]
    fn normalization_is_idempotent_and_shapes_uuid_and_comments() {
        let mut t = table(
            "t",
            vec![
                Column {
                    comment: Some(String::new()),
                    ..col("id", "uuid")
                },
                Column {
                    identity: true,
                    default: Some(DefaultValue::Number("1".into())),
                    ..col("n", "integer")
                },
            ],
            &["id"],
        );
        t.comment = Some(String::new());
        t.checks.push(Check {
            name: "c".into(),
            expression: "n BETWEEN 1 AND 5".into(),
        });
        let once = super::super::normalize(&Schema { tables: vec![t] }, Dialect::Mysql);
        let t = &once.tables[0];
        assert_eq!(t.columns[0].data_type, DataType::Char(36));
        assert_eq!(
            (t.comment.as_ref(), t.columns[0].comment.as_ref()),
            (None, None)
        );
        assert_eq!(t.columns[1].default, None);
        assert_eq!(t.checks[0].expression, "n >= 1 and n <= 5");
        assert_eq!(super::super::normalize(&once, Dialect::Mysql), once);
    }
}
