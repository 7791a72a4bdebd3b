//! Persona templates: the built-in template files, and parsing of persona TOML/JSON documents
//! with errors that name the file, the field and the problem.
//!
//! A persona document is the serde form of [`PersonaDefinition`]; see `templates/*.toml` for
//! complete examples. After parsing, unnamed indexes, foreign keys and checks get their derived
//! names ([`crate::Schema::fill_default_names`]). Parsing checks the document's shape only;
//! [`crate::validate`] checks that it makes sense.

pub mod hints;
mod locate;

use std::fmt::{self, Write as _};
use std::path::Path;

use crate::validate::{Problem, ValidationError};
use crate::{Dialect, PersonaDefinition};

/// A persona document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// The format a file name implies, from its extension (`.toml`, `.json`; case-insensitive).
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
        })
    }
}

/// A template shipped with the product (embedded from `templates/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTemplate {
    /// Short stable name, used on the command line (`ecommerce`).
    pub slug: &'static str,
    /// File name under `templates/`.
    pub file_name: &'static str,
    /// The TOML source.
    pub source: &'static str,
}

impl BuiltinTemplate {
    /// Parse this template.
    pub fn parse(&self) -> Result<PersonaDefinition, TemplateError> {
        parse_persona(
            self.source,
            &format!("templates/{}", self.file_name),
            Format::Toml,
        )
    }
}

macro_rules! builtin_template {
    ($slug:literal) => {
        BuiltinTemplate {
            slug: $slug,
            file_name: concat!($slug, ".toml"),
            source: include_str!(concat!("../../../templates/", $slug, ".toml")),
        }
    };
}

const BUILTIN: &[BuiltinTemplate] = &[
    builtin_template!("ecommerce"),
    builtin_template!("social_feed"),
    builtin_template!("iot_sensors"),
    builtin_template!("saas_multitenant"),
    builtin_template!("audit_log"),
    builtin_template!("cms"),
];

/// Every built-in template, in a stable order.
pub fn builtin() -> &'static [BuiltinTemplate] {
    BUILTIN
}

/// The built-in template called `slug`, if any.
pub fn find_builtin(slug: &str) -> Option<&'static BuiltinTemplate> {
    BUILTIN.iter().find(|t| t.slug == slug)
}

/// Parse the built-in template called `slug`.
pub fn load_builtin(slug: &str) -> Result<PersonaDefinition, TemplateError> {
    match find_builtin(slug) {
        Some(t) => t.parse(),
        None => Err(TemplateError::UnknownTemplate {
            slug: slug.to_owned(),
            available: BUILTIN
                .iter()
                .map(|t| t.slug)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Where a parse error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The text of that line, for display.
    pub line_text: String,
}

/// A persona document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The document is not valid TOML/JSON, or does not have the shape of a persona.
    #[error("{}", render_parse(origin, *format, *syntax, location.as_ref(), path, message))]
    Parse {
        /// The file (or other source) the document came from.
        origin: String,
        format: Format,
        location: Option<Location>,
        /// The field the error is about (`initial_schema.tables[orders].columns[id].type`);
        /// empty when unknown (e.g. a syntax error).
        path: String,
        /// What is wrong, as the parser put it.
        message: String,
        /// The document is not well-formed TOML/JSON (rather than not shaped like a persona).
        syntax: bool,
    },
    #[error("unknown template `{slug}` (available: {available})")]
    UnknownTemplate { slug: String, available: String },
}

fn render_parse(
    origin: &str,
    format: Format,
    syntax: bool,
    location: Option<&Location>,
    path: &str,
    message: &str,
) -> String {
    let mut out = String::from(origin);
    if let Some(loc) = location {
        let _ = write!(out, ":{}:{}", loc.line, loc.column);
    }
    out.push_str(": ");
    if syntax {
        let _ = write!(out, "invalid {format}: ");
    } else if path.is_empty() {
        out.push_str("invalid persona: ");
    } else {
        out.push_str(path);
        out.push_str(": ");
    }
    out.push_str(message);
    if let Some(loc) = location
        && !loc.line_text.trim().is_empty()
    {
        let gutter = loc.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_pad: String = loc
            .line_text
            .chars()
            .take(loc.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = write!(
            out,
            "\n {pad} |\n {gutter} | {}\n {pad} | {caret_pad}^",
            loc.line_text
        );
    }
    out
}

/// A persona could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write persona as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
    #[error("cannot write persona as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parse a persona document. `origin` names its source (a file path) in errors.
pub fn parse_persona(
    source: &str,
    origin: &str,
    format: Format,
) -> Result<PersonaDefinition, TemplateError> {
    let mut persona = match format {
        Format::Toml => parse_toml(source, origin)?,
        Format::Json => parse_json(source, origin)?,
    };
    persona.initial_schema.fill_default_names();
    Ok(persona)
}

fn parse_toml(source: &str, origin: &str) -> Result<PersonaDefinition, TemplateError> {
    toml::from_str(source).map_err(|e| {
        let (location, path) = match e.span() {
            Some(span) => {
                let (line, column) = locate::line_column(source, span.start);
                let location = Location {
                    line,
                    column,
                    line_text: locate::line_text(source, line).to_owned(),
                };
                (Some(location), locate::toml_path(source, span))
            }
            None => (None, String::new()),
        };
        TemplateError::Parse {
            origin: origin.to_owned(),
            format: Format::Toml,
            location,
            path,
            message: e.message().trim_end().to_owned(),
            syntax: toml::de::DeTable::parse(source).is_err(),
        }
    })
}

fn parse_json(source: &str, origin: &str) -> Result<PersonaDefinition, TemplateError> {
    serde_json::from_str(source).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let location = (line > 0).then(|| Location {
            line,
            column,
            line_text: locate::line_text(source, line).to_owned(),
        });
        // serde_json appends " at line L column C" to its message; the location is shown apart.
        let full = e.to_string();
        let path = if e.is_data() {
            let missing = full.starts_with("missing field");
            locate::json_path(source, locate::offset_of(source, line, column), missing)
        } else {
            String::new()
        };
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        TemplateError::Parse {
            origin: origin.to_owned(),
            format: Format::Json,
            location,
            path,
            message,
            syntax: !e.is_data(),
        }
    })
}

/// A persona document that cannot be used: unreadable, or invalid for the target dialects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Parse(#[from] TemplateError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Parse and validate a persona document for `dialects`: the persona and its warnings, or every
/// error (parse errors name the file, line and field; validation errors list every problem).
pub fn load_persona(
    source: &str,
    origin: &str,
    format: Format,
    dialects: &[Dialect],
) -> Result<(PersonaDefinition, Vec<Problem>), LoadError> {
    let persona = parse_persona(source, origin, format)?;
    let warnings = crate::validate::ensure_valid(&persona, dialects, origin)?;
    Ok((persona, warnings))
}

/// The persona as a TOML document (parses back equal with [`parse_persona`]).
pub fn to_toml(persona: &PersonaDefinition) -> Result<String, ExportError> {
    Ok(toml::to_string_pretty(persona)?)
}

/// The persona as pretty-printed JSON (parses back equal with [`parse_persona`]).
pub fn to_json(persona: &PersonaDefinition) -> Result<String, ExportError> {
    let mut out = serde_json::to_string_pretty(persona)?;
    out.push('\n');
    Ok(out)
}

/// Write the persona in `format`.
pub fn export(persona: &PersonaDefinition, format: Format) -> Result<String, ExportError> {
    match format {
        Format::Toml => to_toml(persona),
        Format::Json => to_json(persona),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "Minimal"

[[initial_schema.tables]]
name = "t"
primary_key = ["id"]

[[initial_schema.tables.columns]]
name = "id"
type = "bigint"
nullable = false

[[initial_schema.tables.columns]]
name = "ref"
type = "bigint"

[[initial_schema.tables.indexes]]
columns = ["ref"]

[[initial_schema.tables.foreign_keys]]
columns = ["ref"]
ref_table = "t"
ref_columns = ["id"]
"#;

    fn parse_err(source: &str, format: Format) -> (String, String, Option<Location>) {
        match parse_persona(source, "f.toml", format) {
            Err(TemplateError::Parse {
                path,
                message,
                location,
                ..
            }) => (path, message, location),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn format_from_path() {
        assert_eq!(Format::from_path("a/b.toml"), Some(Format::Toml));
        assert_eq!(Format::from_path("B.JSON"), Some(Format::Json));
        assert_eq!(Format::from_path("x.yaml"), None);
        assert_eq!(Format::from_path("noext"), None);
    }

    #[test]
    fn parsing_fills_default_names() {
        let p = parse_persona(MINIMAL, "m.toml", Format::Toml).unwrap();
        let t = &p.initial_schema.tables[0];
        assert_eq!(t.indexes[0].name, "t_ref_idx");
        assert_eq!(t.foreign_keys[0].name, "t_ref_fkey");
        assert_eq!(p.version, 1);
    }

    #[test]
    fn toml_errors_name_field_and_position() {
        let cases: &[(&str, &str, &str, usize)] = &[
            // (replace, with, expected path, expected line)
            (
                "type = \"bigint\"\nnullable = false\n\n[[initial_schema.tables.columns]]\nname = \"ref\"\ntype = \"bigint\"",
                "type = \"bigint\"\nnullable = false\n\n[[initial_schema.tables.columns]]\nname = \"ref\"\ntype = \"strnig\"",
                "initial_schema.tables[t].columns[ref].type",
                15,
            ),
            (
                "ref_table = \"t\"",
                "ref_table = \"t\"\nondelete = \"cascade\"",
                "initial_schema.tables[t].foreign_keys[0].ondelete",
                23,
            ),
            (
                "columns = [\"ref\"]\n\n[[initial_schema.tables.foreign_keys]]",
                "columns = [\"ref\"]\nunique = \"yes\"\n\n[[initial_schema.tables.foreign_keys]]",
                "initial_schema.tables[t].indexes[0].unique",
                19,
            ),
        ];
        for (from, to, want_path, want_line) in cases {
            assert!(MINIMAL.contains(from), "{from}");
            let src = MINIMAL.replacen(from, to, 1);
            let (path, message, location) = parse_err(&src, Format::Toml);
            assert_eq!(&path, want_path, "{message}");
            assert_eq!(location.map(|l| l.line), Some(*want_line), "{message}");
        }
    }

    #[test]
    fn serde_messages_are_kept() {
        let (_, msg, _) = parse_err(&MINIMAL.replace("ref_table", "ref_tabel"), Format::Toml);
        assert!(msg.contains("unknown field `ref_tabel`"), "{msg}");
        let (path, msg, _) = parse_err(&MINIMAL.replace("name = \"Minimal\"", ""), Format::Toml);
        assert!(msg.contains("missing field `name`"), "{msg}");
        assert_eq!(path, "", "a missing top-level field is about the document");
        let shown = parse_persona(
            &MINIMAL.replace("name = \"Minimal\"", ""),
            "m.toml",
            Format::Toml,
        )
        .unwrap_err()
        .to_string();
        assert!(
            shown.contains(": invalid persona: missing field `name`"),
            "{shown}"
        );
        let shown = parse_persona("name = [", "m.toml", Format::Toml)
            .unwrap_err()
            .to_string();
        assert!(shown.starts_with("m.toml:1:9: invalid TOML: "), "{shown}");
        let (path, msg, _) = parse_err(&MINIMAL.replace("ref_table = \"t\"\n", ""), Format::Toml);
        assert!(msg.contains("missing field `ref_table`"), "{msg}");
        assert_eq!(path, "initial_schema.tables[t].foreign_keys[0]");
        let (path, msg, _) = parse_err(
            &MINIMAL.replace("nullable = false", "nullable = 3"),
            Format::Toml,
        );
        assert!(msg.contains("invalid type"), "{msg}");
        assert_eq!(path, "initial_schema.tables[t].columns[id].nullable");
        let (path, msg, loc) = parse_err("name = \"x\"\n[initial_schema\n", Format::Toml);
        assert_eq!(path, "");
        assert_eq!(loc.map(|l| l.line), Some(2), "{msg}");
    }

    #[test]
    fn display_names_origin_line_path_and_shows_the_line() {
        let src = MINIMAL.replace(
            "\"bigint\"\nnullable = false",
            "\"bigint\"\nnullable = \"no\"",
        );
        let err = parse_persona(&src, "my/persona.toml", Format::Toml)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "my/persona.toml:11:12: initial_schema.tables[t].columns[id].nullable: "
            ),
            "{err}"
        );
        assert!(err.contains("11 | nullable = \"no\""), "{err}");
    }

    #[test]
    fn json_errors_name_field_and_position() {
        let p = parse_persona(MINIMAL, "m.toml", Format::Toml).unwrap();
        let json = to_json(&p).unwrap();
        let bad = json.replacen("\"nullable\": false", "\"nullable\": \"no\"", 1);
        let (path, msg, loc) = parse_err(&bad, Format::Json);
        assert_eq!(
            path, "initial_schema.tables[t].columns[id].nullable",
            "{msg}"
        );
        assert!(msg.contains("invalid type"), "{msg}");
        assert!(loc.is_some());
        let (path, msg, _) = parse_err(
            &json.replacen("\"ref_table\"", "\"ref_tabel\"", 1),
            Format::Json,
        );
        assert!(msg.contains("unknown field `ref_tabel`"), "{msg}");
        assert_eq!(
            path,
            "initial_schema.tables[t].foreign_keys[t_ref_fkey].ref_tabel"
        );
        let missing = r#"{"name": "x", "initial_schema": {"tables": [{"name": "t", "columns": [{"name": "id"}]}]}}"#;
        let (path, msg, _) = parse_err(missing, Format::Json);
        assert!(msg.contains("missing field `type`"), "{msg}");
        assert_eq!(path, "initial_schema.tables[t].columns[id]");
        let (path, _, loc) = parse_err("{\"name\": ", Format::Json);
        assert_eq!(path, "");
        assert_eq!(loc.map(|l| l.line), Some(1));
    }

    #[test]
    fn toml_and_json_round_trip() {
        let p = parse_persona(MINIMAL, "m.toml", Format::Toml).unwrap();
        let back = parse_persona(&to_toml(&p).unwrap(), "out.toml", Format::Toml).unwrap();
        assert_eq!(back, p);
        let back = parse_persona(&to_json(&p).unwrap(), "out.json", Format::Json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn builtins_are_listed_and_loadable() {
        let slugs: Vec<&str> = builtin().iter().map(|t| t.slug).collect();
        for want in [
            "ecommerce",
            "social_feed",
            "iot_sensors",
            "saas_multitenant",
            "audit_log",
            "cms",
        ] {
            assert!(slugs.contains(&want), "{want} missing from {slugs:?}");
        }
        let p = load_builtin("ecommerce").unwrap();
        assert!(p.initial_schema.table("products").is_some());
        let err = load_builtin("nope").unwrap_err().to_string();
        assert!(
            err.contains("unknown template `nope`") && err.contains("ecommerce"),
            "{err}"
        );
    }
}
