//! `persona introspect`: read a live database's schema, print it, optionally save it as a
//! persona.

use std::collections::BTreeMap;

use anyhow::Context as _;
use persona_core::validate::{Severity, validate};
use persona_core::{Dialect, IndexingStrategy, PerformanceProfile, PersonaDefinition, Schema};
use persona_engine::Database;
use persona_engine::introspect::{Introspection, introspect_with_warnings};

use super::Context;
use super::args::IntrospectArgs;
use super::output::{emit, emit_json, safe_url, schema_listing};

pub async fn run(context: &Context, args: IntrospectArgs) -> anyhow::Result<()> {
    let shown = safe_url(&args.url);
    let db = Database::connect(&args.url).await?;
    let dialect = db.dialect();
    let result = introspect_with_warnings(&db).await;
    db.close().await;
    let Introspection { schema, warnings } =
        result.with_context(|| format!("reading the schema of {shown}"))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }

    if args.json {
        emit_json(&schema)?;
    } else {
        let count = schema.tables.len();
        let plural = if count == 1 { "" } else { "s" };
        emit(&format!(
            "Schema of {shown} ({dialect}, {count} table{plural})\n\n{}",
            schema_listing(&schema)
        ))?;
    }
    if let Some(name) = &args.save_as {
        save(context, name, schema, dialect, &shown).await?;
    }
    Ok(())
}

/// Store `schema` as a new persona called `name`.
async fn save(
    context: &Context,
    name: &str,
    schema: Schema,
    dialect: Dialect,
    shown: &str,
) -> anyhow::Result<()> {
    let persona = PersonaDefinition {
        persona_id: String::new(),
        name: name.to_owned(),
        description: format!("Introspected from {shown}"),
        version: 1,
        tags: vec!["introspected".to_owned(), dialect.as_str().to_owned()],
        performance_profile: PerformanceProfile::default(),
        indexing_strategy: IndexingStrategy::default(),
        access_patterns: Vec::new(),
        initial_schema: schema,
        data_hints: BTreeMap::new(),
    };
    // The schema is what the database holds, not the user's input: it is saved even when the
    // validator objects, and the objections are shown so they can be fixed before provisioning.
    let problems = validate(&persona, &[dialect]);
    if !problems.is_empty() {
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        eprintln!(
            "note: {} problem(s) found in the schema of {shown} ({errors} would stop it from \
             being provisioned as is):",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
    }
    let registry = context.registry().await?;
    let note = format!("introspected from {shown}");
    let stored = registry.create(&persona, &note).await?;
    eprintln!(
        "saved as persona `{}` (version {}, id {}) in {}",
        stored.name,
        stored.version,
        stored.persona_id,
        registry.location()
    );
    Ok(())
}
