//! Introspection of a live SQLite database into a `Schema`: tables from `pragma_table_list`,
//! columns, keys, indexes and foreign keys from the catalog pragmas, and the few facts the
//! pragmas do not report (constraint names, check expressions, index expressions and
//! predicates) from the `CREATE` text SQLite keeps in `sqlite_schema`.
//!
//! Every pragma is called in its table-valued form with the table or index name bound as a
//! parameter (`SELECT … FROM pragma_table_xinfo(?1)`), so no name is ever spliced into SQL.
//! All reads happen in one transaction, so they see one snapshot.
//!
//! What is read, and how:
//! - **Tables**: ordinary tables of the `main` schema; SQLite's own `sqlite_*` tables, views,
//!   virtual tables and their shadow tables are skipped.
//! - **Columns** (`pragma_table_xinfo`, hidden columns of virtual tables skipped, generated
//!   columns kept as plain columns): the declared type mapped by [`logical_type`]; `notnull`;
//!   `dflt_value` parsed with `DefaultValue::parse` (SQLite reports a parenthesized default
//!   without its parentheses); primary-key order from `pk`.
//! - **Rowid alias**: a single-column primary key declared exactly `INTEGER` that has no
//!   primary-key index behind it (so not `WITHOUT ROWID`, not `PRIMARY KEY DESC`) is the rowid:
//!   it is reported as a non-null `BigInt` identity column, with or without `AUTOINCREMENT`.
//! - **Indexes** (`pragma_index_list`, `pragma_index_xinfo`): every index but the primary
//!   key's. Indexes made by `CREATE INDEX` (origin `c`) keep their names, sort orders,
//!   expression key parts and `WHERE` predicates (the latter two read from the index's SQL).
//!   Unique constraints (origin `u`, named `sqlite_autoindex_*` by SQLite) become unique indexes
//!   named after their `CONSTRAINT` name when they have one, or `{table}_{columns}_key`.
//! - **Foreign keys** (`pragma_foreign_key_list`): columns, target and actions; the target's
//!   primary key when the reference names no columns; target table and column names resolved
//!   to their declared spelling. The constraint name comes from the table's SQL, or is derived
//!   as `{table}_{columns}_fkey` when the constraint has none.
//! - **Checks**: named or not, table- or column-level, from the table's SQL; an unnamed check
//!   is called `{table}_check{n}` (n counts the table's checks from 1), as
//!   `Schema::fill_default_names` would.
//! - Check expressions, predicates and expression key parts are compared in canonical form.
//!
//! The `CREATE` text is read with a small scanner that follows SQLite's lexical rules (quoted
//! identifiers in `"…"`, `` `…` `` and `[…]`, strings, comments, nesting) rather than a full SQL
//! parser, so that any table SQLite accepts (`STRICT`, `WITHOUT ROWID`, generated columns,
//! constraints without separating commas) is read, and the exact source text of each
//! expression is recovered.
//!
//! Declared types that Persona Studio did not write (a database made by someone else) are
//! mapped to the closest logical type rather than rejected; see [`logical_type`]. Such guesses,
//! generated columns (read as plain columns) and skipped virtual tables are reported as
//! warnings beside the schema ([`introspect_with_warnings`]).

use persona_core::model::names;
use persona_core::{
    Check, Column, DataType, DefaultValue, Dialect, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, IndexMethod, Schema, SortOrder, Table,
};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{Introspection, IntrospectionWarning};
use crate::db::DbError;

/// The schema, and what in it the model cannot represent exactly.
pub(super) async fn introspect_with_warnings(pool: &SqlitePool) -> Result<Introspection, DbError> {
    let mut tx = pool.begin().await?;
    let conn: &mut SqliteConnection = &mut tx;
    let mut warnings = Vec::new();
    let skipped: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual' \
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for table in skipped {
        warnings.push(IntrospectionWarning {
            table,
            column: None,
            message: "virtual table skipped: the model has no equivalent".to_owned(),
        });
    }
    let table_rows = sqlx::query(
        "SELECT l.name, s.sql FROM pragma_table_list AS l \
         JOIN sqlite_schema AS s ON s.type = 'table' AND s.name = l.name \
         WHERE l.schema = 'main' AND l.type = 'table' AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY l.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut schema = Schema::default();
    for row in table_rows {
        let name: String = row.try_get(0)?;
        let sql: Option<String> = row.try_get(1)?;
        let parsed = sql.as_deref().map(parse_create_table).unwrap_or_default();
        schema
            .tables
            .push(read_table(conn, name, &parsed, &mut warnings).await?);
    }
    tx.rollback().await?;
    resolve_references(&mut schema);
    schema.sort_canonically();
    Ok(Introspection { schema, warnings })
}

async fn read_table(
    conn: &mut SqliteConnection,
    name: String,
    parsed: &TableSql,
    warnings: &mut Vec<IntrospectionWarning>,
) -> Result<Table, DbError> {
    let mut table = Table {
        name,
        ..Table::default()
    };

    let rows = sqlx::query(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden \
         FROM pragma_table_xinfo(?1) ORDER BY cid",
    )
    .bind(&table.name)
    .fetch_all(&mut *conn)
    .await?;
    let mut declared = Vec::new();
    let mut pk: Vec<(i64, String)> = Vec::new();
    for row in rows {
        let hidden: i64 = row.try_get(5)?;
        if hidden == 1 {
            continue;
        }
        let name: String = row.try_get(0)?;
        let ty: Option<String> = row.try_get(1)?;
        let ty = ty.unwrap_or_default();
        let notnull: i64 = row.try_get(2)?;
        let default: Option<String> = row.try_get(3)?;
        let pk_pos: i64 = row.try_get(4)?;
        if pk_pos > 0 {
            pk.push((pk_pos, name.clone()));
        }
        let (data_type, exact) = logical_type(&ty);
        let mut warn = |message: String| {
            warnings.push(IntrospectionWarning {
                table: table.name.clone(),
                column: Some(name.clone()),
                message,
            });
        };
        if !exact {
            warn(if ty.trim().is_empty() {
                format!("no declared type: read as {data_type} (SQLite's BLOB affinity)")
            } else {
                format!(
                    "declared type `{ty}` has no exact logical equivalent: read as {data_type} \
                     by SQLite's affinity rules"
                )
            });
        }
        if hidden >= 2 {
            warn("generated column: read as a plain column, its expression is not kept".to_owned());
        }
        table.columns.push(Column {
            default: default.as_deref().map(DefaultValue::parse),
            nullable: notnull == 0,
            ..Column::new(name, data_type)
        });
        declared.push(ty);
    }
    pk.sort();
    table.primary_key = pk.into_iter().map(|(_, n)| n).collect();

    let index_rows =
        sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list(?1) ORDER BY name")
            .bind(&table.name)
            .fetch_all(&mut *conn)
            .await?;
    let mut has_pk_index = false;
    for row in index_rows {
        let index_name: String = row.try_get(0)?;
        let unique: i64 = row.try_get(1)?;
        let origin: String = row.try_get(2)?;
        if origin == "pk" {
            has_pk_index = true;
            continue;
        }
        let ix = read_index(
            conn,
            &table.name,
            index_name,
            unique != 0,
            &origin,
            parsed,
            warnings,
        )
        .await?;
        table.indexes.push(ix);
    }

    if let [key] = table.primary_key.as_slice()
        && !has_pk_index
        && let Some(i) = table.columns.iter().position(|c| &c.name == key)
        && declared[i].trim().eq_ignore_ascii_case("INTEGER")
    {
        let col = &mut table.columns[i];
        col.identity = true;
        col.data_type = DataType::BigInt;
        col.nullable = false;
    }

    table.foreign_keys = read_foreign_keys(conn, &table.name, parsed).await?;
    table.checks = parsed
        .checks
        .iter()
        .enumerate()
        .map(|(i, (name, expression))| Check {
            name: name
                .clone()
                .unwrap_or_else(|| names::derived(&table.name, &[], &format!("check{}", i + 1))),
            expression: canonical(expression),
        })
        .collect();
    Ok(table)
}

async fn read_index(
    conn: &mut SqliteConnection,
    table: &str,
    name: String,
    unique: bool,
    origin: &str,
    parsed: &TableSql,
    warnings: &mut Vec<IntrospectionWarning>,
) -> Result<Index, DbError> {
    let rows = sqlx::query(
        "SELECT cid, name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
    )
    .bind(&name)
    .fetch_all(&mut *conn)
    .await?;
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1")
            .bind(&name)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    let parsed_index = sql.as_deref().map(parse_create_index).unwrap_or_default();
    let mut columns = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let cid: i64 = row.try_get(0)?;
        let column: Option<String> = row.try_get(1)?;
        let desc: i64 = row.try_get(2)?;
        let order = if desc != 0 {
            SortOrder::Desc
        } else {
            SortOrder::Asc
        };
        let part = match column {
            Some(column) if cid >= 0 => IndexColumn::ordered(column, order),
            _ => {
                let text = match (cid, parsed_index.parts.get(i)) {
                    (-1, _) => "rowid",
                    (_, Some(text)) => text.as_str(),
                    (_, None) => {
                        warnings.push(IntrospectionWarning {
                            table: table.to_owned(),
                            column: None,
                            message: format!(
                                "index `{name}`: the expression of key part {} could not be read",
                                i + 1
                            ),
                        });
                        ""
                    }
                };
                IndexColumn {
                    column: None,
                    expression: Some(canonical(text)),
                    order,
                }
            }
        };
        columns.push(part);
    }
    let name = if origin == "u" {
        let cols: Vec<&str> = columns.iter().filter_map(|c| c.column.as_deref()).collect();
        parsed
            .uniques
            .iter()
            .find(|(n, u)| n.is_some() && same_names(u, &cols))
            .and_then(|(n, _)| n.clone())
            .unwrap_or_else(|| names::derived(table, &cols, "key"))
    } else {
        name
    };
    Ok(Index {
        name,
        columns,
        unique,
        predicate: parsed_index.predicate.as_deref().map(canonical),
        include: Vec::new(),
        method: IndexMethod::Btree,
    })
}

async fn read_foreign_keys(
    conn: &mut SqliteConnection,
    table: &str,
    parsed: &TableSql,
) -> Result<Vec<ForeignKey>, DbError> {
    let rows = sqlx::query(
        "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
         FROM pragma_foreign_key_list(?1) ORDER BY id DESC, seq",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    // SQLite numbers foreign keys from the last declared; `id DESC` gives declaration order.
    let mut fks: Vec<(i64, ForeignKey, bool)> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let ref_table: String = row.try_get(1)?;
        let from: String = row.try_get(2)?;
        let to: Option<String> = row.try_get(3)?;
        let on_update: String = row.try_get(4)?;
        let on_delete: String = row.try_get(5)?;
        if fks.last().is_none_or(|(last, _, _)| *last != id) {
            let fk = ForeignKey {
                name: String::new(),
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
                on_delete: action(&on_delete),
                on_update: action(&on_update),
            };
            fks.push((id, fk, false));
        }
        let (_, fk, missing_to) = fks.last_mut().expect("pushed above");
        fk.columns.push(from);
        match to {
            Some(to) => fk.ref_columns.push(to),
            None => *missing_to = true,
        }
    }
    let mut used = vec![false; parsed.foreign_keys.len()];
    let mut out = Vec::with_capacity(fks.len());
    for (_, mut fk, missing_to) in fks {
        if missing_to {
            fk.ref_columns.clear();
        }
        let cols: Vec<&str> = fk.columns.iter().map(String::as_str).collect();
        let found = parsed.foreign_keys.iter().enumerate().position(|(i, p)| {
            !used[i]
                && same_names(&p.columns, &cols)
                && p.ref_table.eq_ignore_ascii_case(&fk.ref_table)
        });
        fk.name = match found {
            Some(i) => {
                used[i] = true;
                parsed.foreign_keys[i].name.clone()
            }
            None => None,
        }
        .unwrap_or_else(|| names::derived(table, &cols, "fkey"));
        out.push(fk);
    }
    Ok(out)
}

/// Foreign-key targets as SQLite reports them are spelled as the referencing SQL wrote them,
/// and an omitted column list means the target's primary key: resolve both against the tables
/// read.
fn resolve_references(schema: &mut Schema) {
    let targets: Vec<(String, Vec<String>, Vec<String>)> = schema
        .tables
        .iter()
        .map(|t| {
            let cols = t.columns.iter().map(|c| c.name.clone()).collect();
            (t.name.clone(), cols, t.primary_key.clone())
        })
        .collect();
    for fk in schema
        .tables
        .iter_mut()
        .flat_map(|t| t.foreign_keys.iter_mut())
    {
        let target = targets
            .iter()
            .find(|(n, _, _)| *n == fk.ref_table)
            .or_else(|| {
                targets
                    .iter()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(&fk.ref_table))
            });
        let Some((name, cols, pk)) = target else {
            continue;
        };
        fk.ref_table.clone_from(name);
        if fk.ref_columns.is_empty() {
            fk.ref_columns.clone_from(pk);
        }
        for rc in &mut fk.ref_columns {
            if !cols.contains(rc)
                && let Some(c) = cols.iter().find(|c| c.eq_ignore_ascii_case(rc))
            {
                rc.clone_from(c);
            }
        }
    }
}

fn same_names(a: &[String], b: &[&str]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn action(sql: &str) -> ForeignKeyAction {
    match sql.to_ascii_uppercase().as_str() {
        "RESTRICT" => ForeignKeyAction::Restrict,
        "CASCADE" => ForeignKeyAction::Cascade,
        "SET NULL" => ForeignKeyAction::SetNull,
        "SET DEFAULT" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

/// The canonical spelling of a check expression, index predicate or expression key part.
fn canonical(sql: &str) -> String {
    persona_core::ddl::canonical_expression_in(sql, Dialect::Sqlite)
}

/// The logical type of a declared column type.
///
/// Persona Studio's own spellings (see `persona_core::ddl::column_type`) map back exactly, and
/// so do the common spellings of other tools (`INT`, `INT8`, `NUMERIC(p,s)`, `NVARCHAR(n)`,
/// `CHARACTER VARYING(n)`, `DATETIME`, `DOUBLE PRECISION`, `CLOB`, `BYTEA`, `JSONB`, …).
/// Anything else follows SQLite's own affinity rules, in their order, to the closest type:
/// a name containing `INT` is a 64-bit integer (`BigInt`); containing `CHAR`, `CLOB` or `TEXT`
/// is text (`Varchar(n)` / `Char(n)` when it carries a length); containing `BLOB`, or no type
/// at all, is `Bytes`; containing `REAL`, `FLOA` or `DOUB` is `Double`; anything else has
/// numeric affinity and is `Decimal(p,s)` when it carries a precision, `Double` otherwise.
/// The second value says whether the declared type is a known spelling (`false`: an affinity
/// guess).
pub(crate) fn logical_type(declared: &str) -> (DataType, bool) {
    let upper = declared.trim().to_ascii_uppercase();
    let (base, args) = match upper.split_once('(') {
        Some((base, rest)) => {
            let inner = rest.split_once(')').map_or(rest, |(inner, _)| inner);
            let args: Vec<Option<u32>> = inner.split(',').map(|a| a.trim().parse().ok()).collect();
            (base, args)
        }
        None => (upper.as_str(), Vec::new()),
    };
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let length = match args.as_slice() {
        [Some(n)] if *n > 0 => Some(*n),
        _ => None,
    };
    let decimal = match args.as_slice() {
        [Some(p)] => decimal(*p, 0),
        [Some(p), Some(s)] => decimal(*p, *s),
        _ => None,
    };
    let exact = match base.as_str() {
        "SMALLINT" | "INT2" | "TINYINT" => Some(DataType::SmallInt),
        "INTEGER" | "INT" | "INT4" | "MEDIUMINT" => Some(DataType::Integer),
        "BIGINT" | "INT8" | "UNSIGNED BIG INT" => Some(DataType::BigInt),
        "DECIMAL" | "NUMERIC" => Some(decimal.unwrap_or(DataType::Double)),
        "REAL" | "FLOAT4" => Some(DataType::Real),
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT8" => Some(DataType::Double),
        "BOOLEAN" | "BOOL" => Some(DataType::Boolean),
        "TEXT" | "CLOB" => Some(DataType::Text),
        "VARCHAR"
        | "NVARCHAR"
        | "VARCHAR2"
        | "CHARACTER VARYING"
        | "VARYING CHARACTER"
        | "NATIONAL VARYING CHARACTER" => length.map(DataType::Varchar),
        "CHAR" | "NCHAR" | "CHARACTER" | "NATIVE CHARACTER" | "NATIONAL CHARACTER" => {
            length.map(DataType::Char)
        }
        "UUID" => Some(DataType::Uuid),
        "JSON" | "JSONB" => Some(DataType::Json),
        "DATE" => Some(DataType::Date),
        "TIME" | "TIME WITHOUT TIME ZONE" | "TIME WITH TIME ZONE" => Some(DataType::Time),
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP WITHOUT TIME ZONE" => Some(DataType::Timestamp),
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" | "DATETIMEOFFSET" => {
            Some(DataType::TimestampTz)
        }
        "BLOB" | "BYTEA" | "" => Some(DataType::Bytes),
        _ => None,
    };
    if let Some(ty) = exact {
        // No type at all, and a bare NUMERIC / DECIMAL, are guesses too.
        let known = !base.is_empty()
            && (decimal.is_some() || !matches!(base.as_str(), "DECIMAL" | "NUMERIC"));
        return (ty, known);
    }
    let ty = if base.contains("INT") {
        DataType::BigInt
    } else if base.contains("CHAR") || base.contains("CLOB") || base.contains("TEXT") {
        match length {
            Some(n) if base.contains("VAR") => DataType::Varchar(n),
            Some(n) if base.contains("CHAR") => DataType::Char(n),
            _ => DataType::Text,
        }
    } else if base.contains("BLOB") {
        DataType::Bytes
    } else if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") {
        DataType::Double
    } else {
        decimal.unwrap_or(DataType::Double)
    };
    (ty, false)
}

fn decimal(precision: u32, scale: u32) -> Option<DataType> {
    let precision = u8::try_from(precision).ok()?;
    let scale = u8::try_from(scale).ok()?;
    (precision > 0 && scale <= precision).then_some(DataType::Decimal { precision, scale })
}

// ---------------------------------------------------------------------------------------------
// Reading SQLite's stored CREATE text.

/// What the `CREATE TABLE` text tells that the pragmas do not.
#[derive(Debug, Default, PartialEq)]
struct TableSql {
    /// Check constraints in declaration order: name (if any) and expression text.
    checks: Vec<(Option<String>, String)>,
    foreign_keys: Vec<FkSql>,
    /// Unique constraints: name (if any) and columns.
    uniques: Vec<(Option<String>, Vec<String>)>,
}

#[derive(Debug, PartialEq)]
struct FkSql {
    name: Option<String>,
    columns: Vec<String>,
    ref_table: String,
}

/// What the `CREATE INDEX` text tells that the pragmas do not.
#[derive(Debug, Default, PartialEq)]
struct IndexSql {
    /// The text of each key part, without its `COLLATE` and `ASC`/`DESC` and without the
    /// parentheses around an expression.
    parts: Vec<String>,
    /// The `WHERE` predicate.
    predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word: keyword or unquoted identifier.
    Word,
    /// A quoted identifier, with its value.
    Quoted(String),
    /// A string literal, with its value.
    Str(String),
    Open,
    Close,
    Comma,
    /// Anything else (numbers, operators, `;`).
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// Split SQL into tokens by SQLite's lexical rules; comments and whitespace are dropped.
fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Reads a quoted run starting at `i` that ends at `close`, where a doubled `close` (when
    // `doubled`) stands for itself. Returns the value and the index after the closing quote.
    let quoted = |i: usize, close: u8, doubled: bool| -> (String, usize) {
        let mut value = Vec::new();
        let mut j = i + 1;
        while j < bytes.len() {
            if bytes[j] == close {
                if doubled && bytes.get(j + 1) == Some(&close) {
                    value.push(close);
                    j += 2;
                    continue;
                }
                return (String::from_utf8_lossy(&value).into_owned(), j + 1);
            }
            value.push(bytes[j]);
            j += 1;
        }
        (String::from_utf8_lossy(&value).into_owned(), bytes.len())
    };
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'\'' => {
                let (value, next) = quoted(i, b'\'', true);
                i = next;
                Tok::Str(value)
            }
            b'"' | b'`' => {
                let (value, next) = quoted(i, b, true);
                i = next;
                Tok::Quoted(value)
            }
            b'[' => {
                let (value, next) = quoted(i, b']', false);
                i = next;
                Tok::Quoted(value)
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'$')
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                i += 1;
                while i < bytes.len() && !sql.is_char_boundary(i) {
                    i += 1;
                }
                Tok::Other
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Tokens over their source text, with the helpers the readers below share.
struct Tokens<'a> {
    sql: &'a str,
    toks: Vec<Token>,
}

impl<'a> Tokens<'a> {
    fn new(sql: &'a str) -> Self {
        Tokens {
            sql,
            toks: tokenize(sql),
        }
    }

    fn is_word(&self, i: usize, word: &str) -> bool {
        self.toks.get(i).is_some_and(|t| {
            t.kind == Tok::Word && self.sql[t.start..t.end].eq_ignore_ascii_case(word)
        })
    }

    fn is(&self, i: usize, kind: &Tok) -> bool {
        self.toks.get(i).is_some_and(|t| &t.kind == kind)
    }

    /// The name a token spells, if it can be a name.
    fn name(&self, i: usize) -> Option<String> {
        let t = self.toks.get(i)?;
        match &t.kind {
            Tok::Word => Some(self.sql[t.start..t.end].to_owned()),
            Tok::Quoted(v) | Tok::Str(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The index of the `)` that closes the `(` at `open` (or the last token).
    fn close_of(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(open) {
            match t.kind {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        self.toks.len().saturating_sub(1)
    }

    /// Source text from token `from` through token `to` (inclusive).
    fn text(&self, from: usize, to: usize) -> String {
        if from > to || to >= self.toks.len() {
            return String::new();
        }
        self.sql[self.toks[from].start..self.toks[to].end]
            .trim()
            .to_owned()
    }

    /// The text between the `(` at `open` and its `)`.
    fn inner_text(&self, open: usize) -> String {
        let close = self.close_of(open);
        self.text(open + 1, close.saturating_sub(1))
    }

    /// Ranges (inclusive) of the comma-separated items inside the `(` at `open`.
    fn items(&self, open: usize) -> Vec<(usize, usize)> {
        let close = self.close_of(open);
        let mut out = Vec::new();
        let mut start = open + 1;
        let mut i = open + 1;
        while i < close {
            match self.toks[i].kind {
                Tok::Open => i = self.close_of(i),
                Tok::Comma => {
                    if start < i {
                        out.push((start, i - 1));
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        if start < close {
            out.push((start, close - 1));
        }
        out
    }

    /// The first name of each item inside the `(` at `open`: a column list.
    fn name_list(&self, open: usize) -> Vec<String> {
        self.items(open)
            .into_iter()
            .filter_map(|(from, _)| self.name(from))
            .collect()
    }
}

const CONSTRAINT_WORDS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

fn parse_create_table(sql: &str) -> TableSql {
    let t = Tokens::new(sql);
    let mut out = TableSql::default();
    let Some(open) = t.toks.iter().position(|tok| tok.kind == Tok::Open) else {
        return out;
    };
    for (from, to) in t.items(open) {
        let column = if CONSTRAINT_WORDS.iter().any(|w| t.is_word(from, w)) {
            None
        } else {
            t.name(from)
        };
        let mut i = if column.is_some() { from + 1 } else { from };
        let mut pending: Option<String> = None;
        let mut fk: Option<(Option<String>, Vec<String>)> = None;
        while i <= to {
            if t.is_word(i, "CONSTRAINT") {
                pending = t.name(i + 1);
                i += 2;
                continue;
            }
            if t.is_word(i, "CHECK") && t.is(i + 1, &Tok::Open) {
                out.checks.push((pending.take(), t.inner_text(i + 1)));
                i = t.close_of(i + 1) + 1;
                continue;
            }
            if t.is_word(i, "FOREIGN") && t.is_word(i + 1, "KEY") && t.is(i + 2, &Tok::Open) {
                fk = Some((pending.take(), t.name_list(i + 2)));
                i = t.close_of(i + 2) + 1;
                continue;
            }
            if t.is_word(i, "REFERENCES") {
                let (name, columns) = match fk.take() {
                    Some(fk) => fk,
                    None => (pending.take(), column.iter().cloned().collect()),
                };
                if let Some(ref_table) = t.name(i + 1) {
                    out.foreign_keys.push(FkSql {
                        name,
                        columns,
                        ref_table,
                    });
                }
                i += 2;
                continue;
            }
            if t.is_word(i, "UNIQUE") {
                if t.is(i + 1, &Tok::Open) {
                    out.uniques.push((pending.take(), t.name_list(i + 1)));
                    i = t.close_of(i + 1) + 1;
                } else {
                    out.uniques
                        .push((pending.take(), column.iter().cloned().collect()));
                    i += 1;
                }
                continue;
            }
            if t.is(i, &Tok::Open) {
                i = t.close_of(i) + 1;
                continue;
            }
            if [
                "PRIMARY",
                "NOT",
                "NULL",
                "DEFAULT",
                "COLLATE",
                "GENERATED",
                "AS",
            ]
            .iter()
            .any(|w| t.is_word(i, w))
            {
                pending = None;
            }
            i += 1;
        }
    }
    out
}

fn parse_create_index(sql: &str) -> IndexSql {
    let t = Tokens::new(sql);
    let mut out = IndexSql::default();
    let Some(open) = t.toks.iter().position(|tok| tok.kind == Tok::Open) else {
        return out;
    };
    for (from, mut to) in t.items(open) {
        if t.is_word(to, "ASC") || t.is_word(to, "DESC") {
            to = to.saturating_sub(1);
        }
        if to >= from + 2 && t.is_word(to - 1, "COLLATE") {
            to -= 2;
        }
        let text = if t.is(from, &Tok::Open) && t.close_of(from) == to {
            t.inner_text(from)
        } else {
            t.text(from, to)
        };
        out.parts.push(text);
    }
    let close = t.close_of(open);
    if t.is_word(close + 1, "WHERE") {
        let last = t.toks.len() - 1;
        out.predicate = Some(t.text(close + 2, last));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_the_closest_logical_type() {
        let cases = [
            ("SMALLINT", DataType::SmallInt),
            ("INTEGER", DataType::Integer),
            ("int", DataType::Integer),
            ("BIGINT", DataType::BigInt),
            (
                "DECIMAL(12,2)",
                DataType::Decimal {
                    precision: 12,
                    scale: 2,
                },
            ),
            (
                "numeric( 10 )",
                DataType::Decimal {
                    precision: 10,
                    scale: 0,
                },
            ),
            ("NUMERIC", DataType::Double),
            ("REAL", DataType::Real),
            ("DOUBLE", DataType::Double),
            ("double  precision", DataType::Double),
            ("FLOAT", DataType::Double),
            ("BOOLEAN", DataType::Boolean),
            ("TEXT", DataType::Text),
            ("VARCHAR(255)", DataType::Varchar(255)),
            ("NVARCHAR(20)", DataType::Varchar(20)),
            ("character varying(8)", DataType::Varchar(8)),
            ("VARCHAR", DataType::Text),
            ("CHAR(2)", DataType::Char(2)),
            ("NCHAR(3)", DataType::Char(3)),
            ("UUID", DataType::Uuid),
            ("JSON", DataType::Json),
            ("DATE", DataType::Date),
            ("TIME", DataType::Time),
            ("TIMESTAMP", DataType::Timestamp),
            ("DATETIME", DataType::Timestamp),
            ("TIMESTAMPTZ", DataType::TimestampTz),
            ("BLOB", DataType::Bytes),
            ("", DataType::Bytes),
            // SQLite's affinity rules, in order.
            ("UNSIGNED INTEGER", DataType::BigInt),
            ("POINT", DataType::BigInt),
            ("LONGTEXT", DataType::Text),
            ("VARYING CHARACTER(30)", DataType::Varchar(30)),
            ("LONGBLOB", DataType::Bytes),
            ("FLOATING", DataType::Double),
            ("MONEY", DataType::Double),
            (
                "MONEY(10,4)",
                DataType::Decimal {
                    precision: 10,
                    scale: 4,
                },
            ),
            ("STRING", DataType::Double),
        ];
        for (declared, want) in cases {
            assert_eq!(logical_type(declared).0, want, "{declared}");
        }
    }

    #[test]
    fn persona_spellings_map_back_exactly() {
        use persona_core::Dialect;
        use persona_core::ddl::column_type;
        let all = [
            DataType::SmallInt,
            DataType::Integer,
            DataType::BigInt,
            DataType::Decimal {
                precision: 38,
                scale: 10,
            },
            DataType::Real,
            DataType::Double,
            DataType::Boolean,
            DataType::Text,
            DataType::Varchar(1),
            DataType::Char(36),
            DataType::Uuid,
            DataType::Json,
            DataType::Date,
            DataType::Time,
            DataType::Timestamp,
            DataType::TimestampTz,
            DataType::Bytes,
        ];
        for ty in all {
            assert_eq!(logical_type(&column_type(ty, Dialect::Sqlite)), (ty, true));
        }
    }

    #[tokio::test]
    async fn what_the_model_cannot_hold_is_reported() {
        let t = crate::testing::TestDb::new(Dialect::Sqlite).await.unwrap();
        t.db.execute(
            "CREATE TABLE t (a, b STRING, c NUMERIC, d INTEGER, \
             e INT GENERATED ALWAYS AS (d + 1) VIRTUAL, f VARCHAR(3), g DATETIME); \
             CREATE VIRTUAL TABLE docs USING fts5(body);",
        )
        .await
        .unwrap();
        let crate::Database::Sqlite(pool) = &t.db else {
            unreachable!()
        };
        let got = introspect_with_warnings(pool).await.unwrap();
        let warned: Vec<(&str, Option<&str>)> = got
            .warnings
            .iter()
            .map(|w| (w.table.as_str(), w.column.as_deref()))
            .collect();
        assert_eq!(
            warned,
            [
                ("docs", None),
                ("t", Some("a")),
                ("t", Some("b")),
                ("t", Some("c")),
                ("t", Some("e"))
            ]
        );
        assert!(
            got.warnings[2].message.contains("`STRING`"),
            "{}",
            got.warnings[2]
        );
        let names: Vec<&str> = got.schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["t"],
            "virtual tables and their shadow tables are skipped"
        );
        assert_eq!(
            got.schema.tables[0].columns.len(),
            7,
            "generated columns are kept"
        );
        t.cleanup().await;
    }

    #[test]
    fn tokens_follow_sqlite_quoting() {
        let sql = "a \"b\"\"c\" `d``e` [f g] 'h''i' -- x\n /* y */ (,) + é";
        let kinds: Vec<Tok> = tokenize(sql).into_iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                Tok::Word,
                Tok::Quoted("b\"c".into()),
                Tok::Quoted("d`e".into()),
                Tok::Quoted("f g".into()),
                Tok::Str("h'i".into()),
                Tok::Open,
                Tok::Comma,
                Tok::Close,
                Tok::Other,
                Tok::Word,
            ]
        );
    }

    #[test]
    fn create_table_constraints_are_found_with_their_names() {
        let sql = r#"CREATE TABLE "t" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            "a,b" INT CONSTRAINT a_ref REFERENCES p (id) ON DELETE SET NULL CHECK ("a,b" > 0),
            c TEXT DEFAULT ('check (x)') UNIQUE,
            [d] INT CONSTRAINT d_uq UNIQUE,
            CONSTRAINT "fk ""x""" FOREIGN KEY ("a,b", c) REFERENCES "p""q" ("x", y),
            FOREIGN KEY (d) REFERENCES p,
            CONSTRAINT ck CHECK (c IN ('a', 'b') AND (d > 1)) -- trailing
            UNIQUE (c, d),
            CHECK (length(c) > 0)
        ) STRICT"#;
        let parsed = parse_create_table(sql);
        assert_eq!(
            parsed.checks,
            [
                (None, "\"a,b\" > 0".to_owned()),
                (
                    Some("ck".to_owned()),
                    "c IN ('a', 'b') AND (d > 1)".to_owned()
                ),
                (None, "length(c) > 0".to_owned()),
            ]
        );
        assert_eq!(
            parsed.foreign_keys,
            [
                FkSql {
                    name: Some("a_ref".into()),
                    columns: vec!["a,b".into()],
                    ref_table: "p".into()
                },
                FkSql {
                    name: Some("fk \"x\"".into()),
                    columns: vec!["a,b".into(), "c".into()],
                    ref_table: "p\"q".into()
                },
                FkSql {
                    name: None,
                    columns: vec!["d".into()],
                    ref_table: "p".into()
                },
            ]
        );
        assert_eq!(
            parsed.uniques,
            [
                (None, vec!["c".to_owned()]),
                (Some("d_uq".to_owned()), vec!["d".to_owned()]),
                (None, vec!["c".to_owned(), "d".to_owned()]),
            ]
        );
    }

    #[test]
    fn create_index_parts_and_predicate() {
        let sql = r#"CREATE UNIQUE INDEX "i" ON "t ( x" ("a" DESC, (lower("b")), c COLLATE NOCASE ASC, d + 1) WHERE "a" > ')' AND b IS NOT NULL"#;
        let parsed = parse_create_index(sql);
        assert_eq!(parsed.parts, ["\"a\"", "lower(\"b\")", "c", "d + 1"]);
        assert_eq!(
            parsed.predicate.as_deref(),
            Some("\"a\" > ')' AND b IS NOT NULL")
        );
        assert_eq!(
            parse_create_index("CREATE INDEX i ON t (a)").predicate,
            None
        );
    }
}
