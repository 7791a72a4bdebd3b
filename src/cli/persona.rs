//! `persona persona …`: create, list, show, export, import, update, delete, history and
//! restore personas in the registry.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use persona_engine::registry::RegistryError;

use super::args::{CreateArgs, PersonaCommand};
use super::error::InvalidInput;
use super::output::{emit, emit_json, persona_summary, table};
use super::{Context, input};

pub async fn run(context: &Context, command: PersonaCommand) -> anyhow::Result<()> {
    match command {
        PersonaCommand::Create(args) => create(context, args).await,
        PersonaCommand::List(flag) => list(context, flag.json).await,
        PersonaCommand::Show {
            name,
            version,
            json,
        } => {
            let persona = context.registry().await?.get(&name, version).await?;
            if json {
                emit_json(&persona)
            } else {
                emit(&persona_summary(&persona))
            }
        }
        PersonaCommand::Export {
            name,
            format,
            version,
            output,
        } => {
            let persona = context.registry().await?.get(&name, version).await?;
            let text = input::encode(&persona, format)?;
            match output {
                None => emit(&text),
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "exported persona `{}` version {} to {}",
                        persona.name,
                        persona.version,
                        path.display()
                    );
                    Ok(())
                }
            }
        }
        PersonaCommand::Import { file, name } => {
            let mut persona = input::read_persona_file(&file)?;
            if let Some(name) = name {
                persona.name = name;
            }
            let origin = file.display().to_string();
            input::check(&persona, &origin)?;
            let registry = context.registry().await?;
            let note = format!("imported from {origin}");
            persona.persona_id.clear();
            let stored = registry.create(&persona, &note).await.map_err(hint_name)?;
            emit(&format!(
                "imported persona `{}` (version {}, id {}) from {origin}\n",
                stored.name, stored.version, stored.persona_id
            ))
        }
        PersonaCommand::Update { name, from_file } => {
            let mut persona = input::read_persona_file(&from_file)?;
            let origin = from_file.display().to_string();
            let registry = context.registry().await?;
            let current = registry.get(&name, None).await?;
            persona.name.clone_from(&current.name);
            input::check(&persona, &origin)?;
            let stored = registry
                .update(
                    &current.persona_id,
                    &persona,
                    &format!("updated from {origin}"),
                )
                .await?;
            emit(&format!(
                "persona `{}` is now version {} (from {origin})\n",
                stored.name, stored.version
            ))
        }
        PersonaCommand::Delete { name, yes } => delete(context, &name, yes).await,
        PersonaCommand::History { name, json } => {
            let history = context.registry().await?.history(&name).await?;
            if json {
                return emit_json(&history);
            }
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        v.created_at.clone(),
                        v.name.clone(),
                        v.table_count.to_string(),
                        v.note.clone(),
                    ]
                })
                .collect();
            emit(&table(
                &["VERSION", "SAVED", "NAME", "TABLES", "NOTE"],
                &rows,
            ))
        }
        PersonaCommand::Restore { name, version } => {
            let stored = context.registry().await?.restore(&name, version).await?;
            emit(&format!(
                "persona `{}` is now version {}, equal to version {version}\n",
                stored.name, stored.version
            ))
        }
    }
}

async fn create(context: &Context, args: CreateArgs) -> anyhow::Result<()> {
    // `origin` names the file problems are reported against; `from` is said to the user.
    let (mut persona, origin, from) = match (&args.from_template, &args.from_file) {
        (Some(slug), _) => {
            let (persona, origin) = input::load_template(slug)?;
            (persona, origin, format!("template `{slug}`"))
        }
        (None, Some(file)) => {
            let origin = file.display().to_string();
            (
                input::read_persona_file(file)?,
                origin.clone(),
                format!("file {origin}"),
            )
        }
        (None, None) => unreachable!("clap requires --from-template or --from-file"),
    };
    if let Some(name) = args.name {
        persona.name = name;
    }
    input::check(&persona, &origin)?;
    let registry = context.registry().await?;
    persona.persona_id.clear();
    let stored = registry
        .create(&persona, &format!("created from {from}"))
        .await
        .map_err(hint_name)?;
    emit(&format!(
        "created persona `{}` (version {}, id {}) from {from}\n",
        stored.name, stored.version, stored.persona_id
    ))
}

async fn list(context: &Context, json: bool) -> anyhow::Result<()> {
    let registry = context.registry().await?;
    let personas = registry.list().await?;
    if json {
        return emit_json(&personas);
    }
    if personas.is_empty() {
        eprintln!(
            "no personas in {}; create one with `persona persona create --from-template SLUG \
             --name NAME`",
            registry.location()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = personas
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.to_string(),
                p.table_count.to_string(),
                p.updated_at.clone(),
                p.persona_id.clone(),
                p.tags.join(", "),
            ]
        })
        .collect();
    emit(&table(
        &["NAME", "VERSION", "TABLES", "UPDATED", "ID", "TAGS"],
        &rows,
    ))
}

async fn delete(context: &Context, name: &str, yes: bool) -> anyhow::Result<()> {
    let registry = context.registry().await?;
    // Fails with "not found" before asking anything.
    let versions = registry.history(name).await?.len();
    if !yes
        && !confirm(&format!(
            "Delete persona `{name}` and its {versions} version(s)?"
        ))?
    {
        return Err(InvalidInput::new(format!(
            "persona `{name}` was not deleted: not confirmed (pass --yes to skip the question)"
        ))
        .into());
    }
    let removed = registry.delete(name).await?;
    emit(&format!(
        "deleted persona `{name}` ({removed} version(s))\n"
    ))
}

/// Ask a yes/no question on stderr and read the answer from stdin (no answer: no).
fn confirm(question: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{question} [y/N] ");
        std::io::stderr().flush()?;
    }
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Point out `--name` when a name is already taken.
fn hint_name(err: RegistryError) -> anyhow::Error {
    match err {
        RegistryError::DuplicateName(_) => {
            InvalidInput::new(format!("{err} (choose another name with --name)")).into()
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_get_a_hint_other_errors_do_not() {
        let dup = hint_name(RegistryError::DuplicateName("shop".into()));
        assert!(format!("{dup:#}").contains("--name"), "{dup:#}");
        let other = hint_name(RegistryError::NotFound("shop".into()));
        assert!(!format!("{other:#}").contains("--name"), "{other:#}");
    }
}
