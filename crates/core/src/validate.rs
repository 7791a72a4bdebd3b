//! Validation of a persona: schema consistency, per-dialect support, and access-pattern SQL
//! checked against the schema.
//!
//! [`validate`] returns every [`Problem`] it finds (errors and warnings), each with the path of
//! the field it is about (`initial_schema.tables[orders].indexes[orders_customer_idx].columns[1]`).
//! [`ensure_valid`] turns errors into a [`ValidationError`] for callers that must refuse an
//! invalid persona (the CLI exits with code 2 on it; the registry writes nothing).

mod dialect;
mod profile;
mod schema;
mod sql;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Dialect, PersonaDefinition, Schema, Table};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Works, but a DBA would object (an unindexed foreign key, a redundant index, …).
    Warning,
    /// The persona cannot be provisioned, or says something that cannot be true.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One thing wrong with a persona.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The field, e.g. `initial_schema.tables[orders].foreign_keys[orders_customer_id_fkey]`.
    pub path: String,
    pub message: String,
    pub severity: Severity,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.path, self.message)
    }
}

/// Whether any problem is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}

/// A persona that failed validation: every problem, errors first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The file (or other source) the persona came from.
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl ValidationError {
    /// The error-severity problems.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        let warnings = self.problems.len() - errors;
        write!(
            f,
            "{}: invalid persona: {errors} error{}",
            self.origin,
            plural(errors)
        )?;
        if warnings > 0 {
            write!(f, ", {warnings} warning{}", plural(warnings))?;
        }
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Validate `persona` for the target `dialects` (an empty slice checks only what every dialect
/// shares). Problems come in document order; a problem that several dialects share is reported
/// once, naming them.
pub fn validate(persona: &PersonaDefinition, dialects: &[Dialect]) -> Vec<Problem> {
    let mut schema = persona.initial_schema.clone();
    schema.fill_default_names();
    let mut report = Report::default();
    let mut dialects = dialects.to_vec();
    dialects.sort();
    dialects.dedup();
    if persona.name.trim().is_empty() {
        report.error("name", "the persona has no name");
    }
    schema::check(&schema, &mut report);
    for &d in &dialects {
        dialect::check(&schema, d, &mut report);
    }
    profile::check_patterns(persona, &schema, &mut report);
    profile::check_profile(persona, &schema, &mut report);
    profile::check_hints(persona, &schema, &mut report);
    report.finish()
}

/// Validate and fail with every problem when any of them is an error. On success, returns the
/// warnings.
pub fn ensure_valid(
    persona: &PersonaDefinition,
    dialects: &[Dialect],
    origin: &str,
) -> Result<Vec<Problem>, ValidationError> {
    let mut problems = validate(persona, dialects);
    if has_errors(&problems) {
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        Err(ValidationError {
            origin: origin.to_owned(),
            problems,
        })
    } else {
        Ok(problems)
    }
}

/// Check one access-pattern statement against `schema`, as the editor does while the user types.
/// Problems carry the path `sql`.
pub fn validate_pattern_sql(schema: &Schema, sql: &str) -> Vec<Problem> {
    let mut report = Report::default();
    profile::check_sql(schema, sql, "sql", None, &mut report);
    report.finish()
}

/// Problems as they are found, before dialect duplicates are merged.
#[derive(Default)]
pub(crate) struct Report {
    items: Vec<(Problem, Option<Dialect>)>,
}

impl Report {
    fn push(&mut self, severity: Severity, dialect: Option<Dialect>, path: &str, message: String) {
        let problem = Problem {
            path: path.to_owned(),
            message,
            severity,
        };
        self.items.push((problem, dialect));
    }

    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, None, path, message.into());
    }

    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, None, path, message.into());
    }

    pub(crate) fn dialect_error(&mut self, d: Dialect, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, Some(d), path, message.into());
    }

    pub(crate) fn dialect_warn(&mut self, d: Dialect, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, Some(d), path, message.into());
    }

    /// Merge identical problems of several dialects into one that names them, keep the order.
    fn finish(self) -> Vec<Problem> {
        let mut merged: Vec<(Problem, Vec<Dialect>)> = Vec::new();
        for (problem, dialect) in self.items {
            if let Some(existing) = merged.iter_mut().find(|(p, _)| *p == problem) {
                if let Some(d) = dialect
                    && !existing.1.is_empty()
                    && !existing.1.contains(&d)
                {
                    existing.1.push(d);
                }
                continue;
            }
            merged.push((problem, dialect.into_iter().collect()));
        }
        merged
            .into_iter()
            .map(|(mut p, dialects)| {
                if !dialects.is_empty() {
                    let names: Vec<&str> = dialects.iter().map(|d| d.as_str()).collect();
                    p.message = format!("{} (on {})", p.message, names.join(", "));
                }
                p
            })
            .collect()
    }
}

/// Path of a table: `initial_schema.tables[name]` (or the position when unnamed).
pub(crate) fn table_path(table: &Table, index: usize) -> String {
    format!("initial_schema.tables[{}]", label(&table.name, index))
}

/// `name`, or the position when the name is empty.
pub(crate) fn label(name: &str, index: usize) -> String {
    if name.is_empty() {
        index.to_string()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests;
