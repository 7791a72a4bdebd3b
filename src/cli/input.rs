//! Reading personas the user names: persona files (TOML or JSON, by extension) and built-in
//! templates, their validation (problems become exit code 2), and encoding for export.

use std::path::Path;

use persona_core::template::{self, Format, TemplateError};
use persona_core::validate::{Problem, ValidationError, ensure_valid, validate};
use persona_core::{Dialect, PersonaDefinition};

use super::args::FileFormat;
use super::error::InvalidInput;

/// The core format of a command-line format choice.
pub fn core_format(format: FileFormat) -> Format {
    match format {
        FileFormat::Toml => Format::Toml,
        FileFormat::Json => Format::Json,
    }
}

/// Read and parse a persona file; problems name the file and the field.
pub fn read_persona_file(path: &Path) -> Result<PersonaDefinition, InvalidInput> {
    let origin = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| {
        InvalidInput::new(format!(
            "{origin}: unknown persona file type (expected a .toml or .json file)"
        ))
    })?;
    let source = std::fs::read_to_string(path)
        .map_err(|e| InvalidInput::new(format!("{origin}: cannot read: {e}")))?;
    template::parse_persona(&source, &origin, format).map_err(|e| unreadable(&origin, &e))
}

/// A built-in template by slug, with the origin its problems are reported against.
pub fn load_template(slug: &str) -> Result<(PersonaDefinition, String), InvalidInput> {
    match find_template(slug)? {
        Some(found) => Ok(found),
        None => Err(InvalidInput::new(
            TemplateError::UnknownTemplate {
                slug: slug.to_owned(),
                available: template::builtin()
                    .iter()
                    .map(|t| t.slug)
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .to_string(),
        )),
    }
}

/// A built-in template by slug, if there is one, with its origin (`templates/FILE`).
pub fn find_template(slug: &str) -> Result<Option<(PersonaDefinition, String)>, InvalidInput> {
    let Some(builtin) = template::find_builtin(slug) else {
        return Ok(None);
    };
    let origin = format!("templates/{}", builtin.file_name);
    let persona = builtin.parse().map_err(|e| unreadable(&origin, &e))?;
    Ok(Some((persona, origin)))
}

fn unreadable(origin: &str, err: &TemplateError) -> InvalidInput {
    InvalidInput::with_problems(
        format!("{origin} is not a valid persona"),
        vec![err.to_string()],
    )
}

/// Validate `persona` (from `origin`) for every dialect: what the registry stores must
/// provision anywhere.
pub fn check(persona: &PersonaDefinition, origin: &str) -> Result<(), InvalidInput> {
    check_for(persona, origin, &Dialect::ALL)
}

/// Validate `persona` (from `origin`) for `dialects`: errors become an input error listing
/// every problem; warnings are printed on stderr.
pub fn check_for(
    persona: &PersonaDefinition,
    origin: &str,
    dialects: &[Dialect],
) -> Result<(), InvalidInput> {
    match ensure_valid(persona, dialects, origin) {
        Ok(warnings) => {
            for w in &warnings {
                eprintln!("{}", problem_line(origin, w));
            }
            Ok(())
        }
        Err(e) => Err(invalid(&e)),
    }
}

/// Every problem of `persona` for every dialect, errors and warnings, as printed lines.
pub fn problems(persona: &PersonaDefinition, origin: &str) -> Vec<(Problem, String)> {
    validate(persona, &Dialect::ALL)
        .into_iter()
        .map(|p| {
            let line = problem_line(origin, &p);
            (p, line)
        })
        .collect()
}

/// `FILE: severity: field: message`.
pub fn problem_line(origin: &str, problem: &Problem) -> String {
    format!("{origin}: {problem}")
}

fn invalid(err: &ValidationError) -> InvalidInput {
    let errors = err.errors().count();
    let plural = if errors == 1 { "" } else { "s" };
    InvalidInput::with_problems(
        format!(
            "{} is not a valid persona ({errors} error{plural})",
            err.origin
        ),
        err.problems
            .iter()
            .map(|p| problem_line(&err.origin, p))
            .collect(),
    )
}

/// A persona as TOML or JSON text.
pub fn encode(persona: &PersonaDefinition, format: FileFormat) -> anyhow::Result<String> {
    Ok(template::export(persona, core_format(format))?)
}
