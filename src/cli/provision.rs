//! `persona provision`: create a persona's schema in a database, or print its DDL.

use std::path::Path;

use persona_core::{Dialect, PersonaDefinition, ddl};
use persona_engine::Database;
use persona_engine::provision::{ProvisionOptions, plan, provision};
use persona_engine::registry::RegistryError;
use serde::Serialize;

use super::args::ProvisionArgs;
use super::error::InvalidInput;
use super::output::{emit, emit_json, safe_url, table};
use super::{Context, input};

/// What `provision --json` prints.
#[derive(Debug, Serialize)]
struct Outcome<'a> {
    persona: &'a str,
    /// Where the persona came from: `registry`, `template` or `file`.
    source: &'static str,
    /// The registry version, for a registry persona.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    dialect: Dialect,
    url: String,
    dry_run: bool,
    statements: &'a [String],
    /// Tables created (empty for a dry run).
    tables: &'a [String],
}

pub async fn run(context: &Context, args: ProvisionArgs) -> anyhow::Result<()> {
    let shown = safe_url(&args.url);
    let dialect = Dialect::from_url(&args.url).ok_or_else(|| {
        InvalidInput::new(format!(
            "unsupported database URL `{shown}`: expected sqlite://PATH, postgres://…, mysql://… \
             or mariadb://…"
        ))
    })?;
    let Resolved {
        persona,
        source,
        said,
        origin,
    } = resolve(context, &args.persona).await?;
    eprintln!("using {said}");
    input::check_for(&persona, &origin, &[dialect])?;

    let schema = &persona.initial_schema;
    if args.dry_run {
        let statements = plan(schema, dialect);
        if args.json {
            return emit_json(&Outcome {
                persona: &persona.name,
                source,
                version: (source == "registry").then_some(persona.version),
                dialect,
                url: shown,
                dry_run: true,
                statements: &statements,
                tables: &[],
            });
        }
        let header = format!(
            "-- DDL for persona `{}` on {dialect} ({shown}); dry run, nothing was executed\n",
            persona.name
        );
        return emit(&(header + &ddl::script(&statements)));
    }

    let db = Database::connect(&args.url).await?;
    let result = provision(&db, schema, ProvisionOptions::default()).await;
    db.close().await;
    let report = result?;
    if args.json {
        return emit_json(&Outcome {
            persona: &persona.name,
            source,
            version: (source == "registry").then_some(persona.version),
            dialect,
            url: shown,
            dry_run: false,
            statements: &report.statements,
            tables: &report.tables,
        });
    }
    let rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .filter_map(|name| schema.table(name))
        .map(|t| {
            vec![
                t.name.clone(),
                t.columns.len().to_string(),
                t.indexes.len().to_string(),
                t.foreign_keys.len().to_string(),
            ]
        })
        .collect();
    emit(&format!(
        "provisioned persona `{}` into {shown} ({dialect}): {} tables, {} statements\n{}",
        persona.name,
        report.tables.len(),
        report.statements.len(),
        table(&["TABLE", "COLUMNS", "INDEXES", "FKS"], &rows)
    ))
}

/// A persona found by name.
struct Resolved {
    persona: PersonaDefinition,
    /// `registry`, `template` or `file`.
    source: &'static str,
    /// Which one was chosen, for the user.
    said: String,
    /// What validation problems are reported against.
    origin: String,
}

/// Find PERSONA: a registry persona, else a built-in template, else a persona file.
async fn resolve(context: &Context, name: &str) -> anyhow::Result<Resolved> {
    let registry = context.registry().await?;
    let found = registry.get(name, None).await;
    registry.close().await;
    match found {
        Ok(persona) => {
            let said = format!(
                "registry persona `{}` version {} ({})",
                persona.name,
                persona.version,
                registry.location()
            );
            let origin = format!(
                "registry persona `{}` version {}",
                persona.name, persona.version
            );
            return Ok(Resolved {
                persona,
                source: "registry",
                said,
                origin,
            });
        }
        Err(RegistryError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some((persona, origin)) = input::find_template(name)? {
        let said = format!("built-in template `{name}` ({origin})");
        return Ok(Resolved {
            persona,
            source: "template",
            said,
            origin,
        });
    }
    let path = Path::new(name);
    if path.is_file() {
        let persona = input::read_persona_file(path)?;
        let origin = path.display().to_string();
        let said = format!("persona file {origin}");
        return Ok(Resolved {
            persona,
            source: "file",
            said,
            origin,
        });
    }
    Err(InvalidInput::new(format!(
        "`{name}` is not a persona in the registry, a built-in template or a persona file \
         (see `persona persona list` and `persona template list`)"
    ))
    .into())
}
