//! Checks of what surrounds the schema: access patterns (names, rates, SQL against the schema),
//! the performance profile and indexing strategy, and data-generation hints.

use std::collections::HashSet;

use super::sql::{self, StatementKind};
use super::{Report, label, table_path};
use crate::template::hints::{Generator, Produces, literal_fits};
use crate::{PatternKind, PersonaDefinition, Schema};

pub(super) fn check_patterns(persona: &PersonaDefinition, schema: &Schema, r: &mut Report) {
    let mut seen = HashSet::new();
    for (i, pattern) in persona.access_patterns.iter().enumerate() {
        let pp = format!("access_patterns[{}]", label(&pattern.name, i));
        if pattern.name.trim().is_empty() {
            r.error(&format!("{pp}.name"), "the access pattern has no name");
        } else if !seen.insert(pattern.name.as_str()) {
            r.error(
                &format!("{pp}.name"),
                format!("duplicate access pattern name `{}`", pattern.name),
            );
        }
        let rate = pattern.expected_rate_per_sec;
        if !rate.is_finite() || rate < 0.0 {
            r.error(
                &format!("{pp}.expected_rate_per_sec"),
                format!("the expected rate must be a non-negative number, not {rate}"),
            );
        }
        if let Some(p95) = pattern.p95_latency_ms
            && (!p95.is_finite() || p95 <= 0.0)
        {
            r.error(
                &format!("{pp}.p95_latency_ms"),
                format!("the p95 latency target must be a positive number, not {p95}"),
            );
        }
        check_sql(
            schema,
            &pattern.sql,
            &format!("{pp}.sql"),
            Some(pattern.kind),
            r,
        );
    }
}

/// One access-pattern statement: it parses, names what exists, and does what its kind says.
pub(super) fn check_sql(
    schema: &Schema,
    sql_text: &str,
    path: &str,
    kind: Option<PatternKind>,
    r: &mut Report,
) {
    let check = match sql::check_statement(schema, sql_text) {
        Ok(check) => check,
        Err(e) => {
            r.error(path, format!("SQL does not parse: {e}"));
            return;
        }
    };
    for issue in check.issues {
        r.error(path, issue);
    }
    let statement = match check.kind {
        StatementKind::Other => {
            r.error(
                path,
                "an access pattern must be a SELECT, INSERT, UPDATE or DELETE statement",
            );
            return;
        }
        StatementKind::Query => "a SELECT",
        StatementKind::Insert { .. } => "an INSERT",
        StatementKind::Update => "an UPDATE",
        StatementKind::Delete => "a DELETE",
    };
    let Some(kind) = kind else { return };
    let fits = match kind {
        PatternKind::Insert => matches!(check.kind, StatementKind::Insert { .. }),
        PatternKind::Update => {
            matches!(
                check.kind,
                StatementKind::Update | StatementKind::Insert { upsert: true }
            )
        }
        PatternKind::Delete => check.kind == StatementKind::Delete,
        _ => check.kind == StatementKind::Query,
    };
    if !fits {
        let kind_name = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        r.warn(
            path,
            format!("the pattern's kind is `{kind_name}` but the statement is {statement}"),
        );
    }
}

pub(super) fn check_profile(persona: &PersonaDefinition, schema: &Schema, r: &mut Report) {
    let p = &persona.performance_profile;
    if !(0.0..=1.0).contains(&p.read_ratio) {
        r.error(
            "performance_profile.read_ratio",
            format!(
                "the read ratio must be between 0 and 1, not {}",
                p.read_ratio
            ),
        );
    }
    for (value, field) in [
        (p.reads_per_sec, "reads_per_sec"),
        (p.writes_per_sec, "writes_per_sec"),
    ] {
        if !value.is_finite() || value < 0.0 {
            r.error(
                &format!("performance_profile.{field}"),
                format!("the rate must be a non-negative number, not {value}"),
            );
        }
    }
    let total = p.reads_per_sec + p.writes_per_sec;
    if total > 0.0 && total.is_finite() && (0.0..=1.0).contains(&p.read_ratio) {
        let implied = p.reads_per_sec / total;
        if (implied - p.read_ratio).abs() > 0.05 {
            r.warn(
                "performance_profile.read_ratio",
                format!(
                    "read_ratio {} disagrees with reads_per_sec and writes_per_sec, which imply {implied:.2}",
                    p.read_ratio
                ),
            );
        }
    }
    if let Some(peak) = p.peak_multiplier {
        if !peak.is_finite() || peak <= 0.0 {
            r.error(
                "performance_profile.peak_multiplier",
                format!("the peak multiplier must be a positive number, not {peak}"),
            );
        } else if peak < 1.0 {
            r.warn(
                "performance_profile.peak_multiplier",
                format!("a peak multiplier of {peak} makes the peak lower than normal load"),
            );
        }
    }
    if p.retention_days == Some(0) {
        r.error(
            "performance_profile.retention_days",
            "a retention of 0 days keeps nothing",
        );
    }
    for table in p.growth_rows_per_day.keys() {
        if schema.table(table).is_none() {
            r.error(
                &format!("performance_profile.growth_rows_per_day.{table}"),
                format!("unknown table `{table}`"),
            );
        }
    }
    if let Some(max) = persona.indexing_strategy.max_indexes_per_table {
        for (ti, t) in schema.tables.iter().enumerate() {
            if t.indexes.len() > max as usize {
                r.warn(
                    &format!("{}.indexes", table_path(t, ti)),
                    format!(
                        "{} secondary indexes, more than the strategy's max_indexes_per_table of {max}",
                        t.indexes.len()
                    ),
                );
            }
        }
    }
}

pub(super) fn check_hints(persona: &PersonaDefinition, schema: &Schema, r: &mut Report) {
    for (table_name, hints) in &persona.data_hints {
        let tp = format!("data_hints.{table_name}");
        let Some(table) = schema.table(table_name) else {
            r.error(&tp, format!("unknown table `{table_name}`"));
            continue;
        };
        for (col_name, spec) in &hints.columns {
            let cp = format!("{tp}.columns.{col_name}");
            let Some(col) = table.column(col_name) else {
                r.error(
                    &cp,
                    format!("table `{table_name}` has no column `{col_name}`"),
                );
                continue;
            };
            let generator: Generator = match spec.parse() {
                Ok(g) => g,
                Err(e) => {
                    r.error(&cp, format!("bad generator `{spec}`: {e}"));
                    continue;
                }
            };
            let ty = col.data_type;
            match generator.produces() {
                Produces::ReferencedKey => {
                    if !table
                        .foreign_keys
                        .iter()
                        .any(|fk| fk.columns.contains(col_name))
                    {
                        r.error(
                            &cp,
                            format!("`{spec}` picks referenced keys, but `{col_name}` is not part of a foreign key"),
                        );
                    }
                }
                Produces::Null if !col.nullable => {
                    r.error(
                        &cp,
                        format!("`{spec}` generates NULL, but `{col_name}` is NOT NULL"),
                    );
                }
                Produces::Literal => {
                    if let Generator::Choice(values) = &generator {
                        let checks: Vec<(&str, Vec<String>)> = table
                            .checks
                            .iter()
                            .flat_map(|c| {
                                sql::in_lists(&c.expression)
                                    .into_iter()
                                    .filter(|(column, _)| column == col_name)
                                    .map(move |(_, allowed)| (c.name.as_str(), allowed))
                            })
                            .collect();
                        for (value, _) in values {
                            if !literal_fits(value, ty) {
                                r.error(
                                    &cp,
                                    format!("choice `{value}` does not fit column type {ty}"),
                                );
                            }
                            for (check, allowed) in &checks {
                                if !allowed.contains(value) {
                                    r.error(
                                        &cp,
                                        format!(
                                            "choice `{value}` is not allowed by check `{check}`"
                                        ),
                                    );
                                }
                            }
                        }
                    }
                }
                _ => {
                    if !generator.fits(ty) {
                        r.error(
                            &cp,
                            format!("generator `{spec}` cannot produce values for a {ty} column"),
                        );
                    }
                }
            }
        }
    }
}
