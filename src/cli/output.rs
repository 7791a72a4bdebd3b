//! Human and machine output: aligned tables, readable persona and schema summaries, stable
//! JSON, and writing to stdout without panicking on a closed pipe.

use std::fmt::Write as _;
use std::io::{self, Write};

use persona_core::model::{ForeignKeyAction, IndexMethod, SortOrder};
use persona_core::{Index, PersonaDefinition, Schema, Table};
use serde::Serialize;

/// Write `text` to stdout; a closed pipe (`persona … | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Write `value` to stdout as pretty JSON followed by a newline.
pub fn emit_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    emit(&text)
}

/// An aligned text table: a header row and rows, columns separated by two spaces, the last
/// column not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A readable summary of a persona: identity, tables with counts, access patterns, profile.
pub fn persona_summary(p: &PersonaDefinition) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Persona      {}", p.name);
    if !p.persona_id.is_empty() {
        let _ = writeln!(out, "Id           {}", p.persona_id);
        let _ = writeln!(out, "Version      {}", p.version);
    }
    if !p.description.is_empty() {
        let _ = writeln!(out, "Description  {}", p.description);
    }
    if !p.tags.is_empty() {
        let _ = writeln!(out, "Tags         {}", p.tags.join(", "));
    }
    let strategy = &p.indexing_strategy;
    let mut indexing = serde_plain(&strategy.approach);
    if let Some(max) = strategy.max_indexes_per_table {
        let _ = write!(indexing, ", at most {max} indexes per table");
    }
    let _ = writeln!(out, "Indexing     {indexing}");

    let tables = &p.initial_schema.tables;
    let _ = writeln!(out, "\nTables ({})", tables.len());
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.columns.len().to_string(),
                t.indexes.len().to_string(),
                t.foreign_keys.len().to_string(),
                p.data_hints
                    .get(&t.name)
                    .map_or_else(String::new, |h| h.rows.to_string()),
                t.primary_key.join(", "),
            ]
        })
        .collect();
    out.push_str(&indent(&table(
        &[
            "TABLE",
            "COLUMNS",
            "INDEXES",
            "FKS",
            "SEED ROWS",
            "PRIMARY KEY",
        ],
        &rows,
    )));

    let _ = writeln!(out, "\nAccess patterns ({})", p.access_patterns.len());
    let rows: Vec<Vec<String>> = p
        .access_patterns
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                serde_plain(&a.kind),
                number(a.expected_rate_per_sec),
                a.p95_latency_ms.map_or_else(|| "-".to_owned(), number),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&indent(&table(
            &["PATTERN", "KIND", "RATE/S", "P95 MS"],
            &rows,
        )));
    }

    let prof = &p.performance_profile;
    let _ = writeln!(out, "\nPerformance profile");
    let _ = writeln!(out, "  read ratio      {}", number(prof.read_ratio));
    let _ = writeln!(out, "  reads/s         {}", number(prof.reads_per_sec));
    let _ = writeln!(out, "  writes/s        {}", number(prof.writes_per_sec));
    if let Some(peak) = prof.peak_multiplier {
        let _ = writeln!(out, "  peak            {}x", number(peak));
    }
    if let Some(days) = prof.retention_days {
        let _ = writeln!(out, "  retention       {days} days");
    }
    if !prof.growth_rows_per_day.is_empty() {
        let growth: Vec<String> = prof
            .growth_rows_per_day
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let _ = writeln!(out, "  rows/day        {}", growth.join(", "));
    }
    out
}

/// A readable, complete listing of a schema: every table with its columns, key, indexes,
/// foreign keys and checks.
pub fn schema_listing(schema: &Schema) -> String {
    let mut out = String::new();
    if schema.tables.is_empty() {
        out.push_str("(no tables)\n");
    }
    for (i, t) in schema.tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        table_listing(&mut out, t);
    }
    out
}

fn table_listing(out: &mut String, t: &Table) {
    let _ = writeln!(out, "{} ({} columns)", t.name, t.columns.len());
    let rows: Vec<Vec<String>> = t
        .columns
        .iter()
        .map(|c| {
            let mut notes = Vec::new();
            if t.primary_key.len() == 1 && t.primary_key[0] == c.name {
                notes.push("primary key".to_owned());
            }
            if c.identity {
                notes.push("identity".to_owned());
            }
            if let Some(d) = &c.default {
                notes.push(format!("default {d}"));
            }
            vec![
                c.name.clone(),
                c.data_type.to_string(),
                if c.nullable { "null" } else { "not null" }.to_owned(),
                notes.join(", "),
            ]
        })
        .collect();
    out.push_str(&indent(&table(&["COLUMN", "TYPE", "NULL", ""], &rows)));
    if t.primary_key.len() > 1 {
        let _ = writeln!(out, "  primary key ({})", t.primary_key.join(", "));
    }
    for ix in &t.indexes {
        let _ = writeln!(out, "  {}", index_line(ix));
    }
    for fk in &t.foreign_keys {
        let mut line = format!(
            "  foreign key {} ({}) -> {} ({})",
            fk.name,
            fk.columns.join(", "),
            fk.ref_table,
            fk.ref_columns.join(", ")
        );
        if fk.on_delete != ForeignKeyAction::NoAction {
            let _ = write!(line, " on delete {}", fk.on_delete.as_sql().to_lowercase());
        }
        if fk.on_update != ForeignKeyAction::NoAction {
            let _ = write!(line, " on update {}", fk.on_update.as_sql().to_lowercase());
        }
        let _ = writeln!(out, "{line}");
    }
    for check in &t.checks {
        let _ = writeln!(out, "  check {} ({})", check.name, check.expression);
    }
}

fn index_line(ix: &Index) -> String {
    let keys: Vec<String> = ix
        .columns
        .iter()
        .map(|k| {
            let mut key = match (&k.column, &k.expression) {
                (Some(c), _) => c.clone(),
                (None, Some(e)) => format!("({e})"),
                (None, None) => "?".to_owned(),
            };
            if k.order == SortOrder::Desc {
                key.push_str(" desc");
            }
            key
        })
        .collect();
    let mut line = format!(
        "{} {} ({})",
        if ix.unique { "unique index" } else { "index" },
        ix.name,
        keys.join(", ")
    );
    if ix.method != IndexMethod::Btree {
        let _ = write!(line, " using {}", serde_plain(&ix.method));
    }
    if !ix.include.is_empty() {
        let _ = write!(line, " include ({})", ix.include.join(", "));
    }
    if let Some(p) = &ix.predicate {
        let _ = write!(line, " where {p}");
    }
    line
}

/// A unit enum's serde name (`point_lookup`, `gin`), as written in files.
fn serde_plain<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A database URL safe to print or store: no password (not even masked) and no query string
/// (which may carry one).
pub fn safe_url(url: &str) -> String {
    let without_query = url.split_once('?').map_or(url, |(base, _)| base);
    persona_engine::db::redact(without_query).replacen(":***@", "@", 1)
}

/// A number without a useless `.0`.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

fn indent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_do_not_pad_the_last() {
        let rows = vec![
            vec!["shop".to_owned(), "3".to_owned(), "retail".to_owned()],
            vec!["a-longer-name".to_owned(), "12".to_owned(), String::new()],
        ];
        let text = table(&["NAME", "V", "TAGS"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME           V   TAGS");
        assert_eq!(lines[1], "shop           3   retail");
        assert_eq!(lines[2], "a-longer-name  12");
    }

    #[test]
    fn urls_lose_their_password_and_query() {
        assert_eq!(
            safe_url("postgres://me:s3cret@db:5432/shop"),
            "postgres://me@db:5432/shop"
        );
        assert_eq!(
            safe_url("postgres://me@db/shop?password=s3cret"),
            "postgres://me@db/shop"
        );
        assert_eq!(safe_url("sqlite://shop.db"), "sqlite://shop.db");
    }

    #[test]
    fn numbers_drop_a_zero_fraction_only() {
        assert_eq!(number(1200.0), "1200");
        assert_eq!(number(0.85), "0.85");
    }
}
