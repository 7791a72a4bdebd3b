//! `persona template …`: list, show and validate persona templates and persona files.

use std::fmt::Write as _;
use std::path::PathBuf;

use persona_core::template::{self, BuiltinTemplate};
use persona_core::validate::Severity;
use serde::Serialize;

use super::args::TemplateCommand;
use super::error::InvalidInput;
use super::input;
use super::output::{emit, emit_json, persona_summary, table};

/// One row of `template list --json`.
#[derive(Debug, Serialize)]
struct TemplateEntry {
    slug: &'static str,
    name: String,
    description: String,
    tags: Vec<String>,
    tables: usize,
    access_patterns: usize,
    file: String,
}

pub fn run(command: TemplateCommand) -> anyhow::Result<()> {
    match command {
        TemplateCommand::List(flag) => list(flag.json),
        TemplateCommand::Show { name, json, toml } => {
            let (persona, _origin) = input::load_template(&name)?;
            if toml {
                let builtin = template::find_builtin(&name).expect("loaded above");
                emit(builtin.source)
            } else if json {
                emit(&template::to_json(&persona)?)
            } else {
                emit(&persona_summary(&persona))
            }
        }
        TemplateCommand::Validate { files } => validate(&files),
    }
}

fn list(json: bool) -> anyhow::Result<()> {
    let entries = template::builtin()
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>, InvalidInput>>()?;
    if json {
        return emit_json(&entries);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.slug.to_owned(),
                e.tables.to_string(),
                e.access_patterns.to_string(),
                e.name.clone(),
            ]
        })
        .collect();
    emit(&table(&["SLUG", "TABLES", "PATTERNS", "NAME"], &rows))
}

fn entry(builtin: &BuiltinTemplate) -> Result<TemplateEntry, InvalidInput> {
    let (persona, file) = input::find_template(builtin.slug)?.expect("a built-in template");
    Ok(TemplateEntry {
        slug: builtin.slug,
        tables: persona.initial_schema.tables.len(),
        access_patterns: persona.access_patterns.len(),
        name: persona.name,
        description: persona.description,
        tags: persona.tags,
        file,
    })
}

/// Check each file; print a line per file (and its warnings); fail listing every error.
fn validate(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut errors = Vec::new();
    let mut bad_files = 0;
    let mut out = String::new();
    for file in files {
        let origin = file.display().to_string();
        let persona = match input::read_persona_file(file) {
            Ok(persona) => persona,
            Err(e) => {
                bad_files += 1;
                if e.problems.is_empty() {
                    errors.push(e.message);
                } else {
                    errors.extend(e.problems);
                }
                continue;
            }
        };
        let problems = input::problems(&persona, &origin);
        let (errs, warnings): (Vec<_>, Vec<_>) = problems
            .into_iter()
            .partition(|(p, _)| p.severity == Severity::Error);
        for (_, line) in &warnings {
            eprintln!("{line}");
        }
        if errs.is_empty() {
            let _ = writeln!(
                out,
                "{origin}: ok ({} tables, {} access patterns, {} warnings)",
                persona.initial_schema.tables.len(),
                persona.access_patterns.len(),
                warnings.len()
            );
        } else {
            bad_files += 1;
            errors.extend(errs.into_iter().map(|(_, line)| line));
        }
    }
    emit(&out)?;
    if bad_files == 0 {
        return Ok(());
    }
    let plural = if files.len() == 1 { "" } else { "s" };
    Err(InvalidInput::with_problems(
        format!("{bad_files} of {} file{plural} invalid", files.len()),
        errors,
    )
    .into())
}
