//! The command line's shape: every command, argument and help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Persona Studio: application personas, their schemas, and safe schema \
                     evolution for PostgreSQL, MySQL/MariaDB and SQLite.";

const EXAMPLES: &str = "\
Examples:
  persona                      (opens the desktop app; same as `persona gui`)
  persona template list
  persona persona create --from-template ecommerce --name shop
  persona persona show shop
  persona provision shop --url sqlite://shop.db
  persona provision shop --url postgres://me@localhost/shop --dry-run
  persona introspect --url sqlite://shop.db

Registry: --registry URL, else $PERSONA_REGISTRY, else registry.db in your data directory
(~/.local/share/persona-studio on Linux). URLs: sqlite://PATH (or a plain path), postgres://….

Exit codes: 0 ok, 1 runtime failure (e.g. database unreachable), 2 invalid input (bad file,
validation problems, unknown name, bad URL).";

/// The `persona` command line.
#[derive(Debug, Parser)]
#[command(name = "persona", version, about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The persona registry: sqlite://PATH, a file path, or postgres://… (default:
    /// $PERSONA_REGISTRY, else registry.db in your data directory)
    #[arg(long, global = true, value_name = "URL")]
    pub registry: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop app (the default when no command is given)
    Gui,
    /// Browse and check persona templates (the built-in ones ship in templates/)
    #[command(subcommand, after_help = TEMPLATE_EXAMPLES)]
    Template(TemplateCommand),
    /// Create, list, show, export, import, version and delete personas in the registry
    #[command(subcommand, after_help = PERSONA_EXAMPLES)]
    Persona(PersonaCommand),
    /// Create a persona's schema in a database, or print the DDL with --dry-run
    #[command(after_help = PROVISION_EXAMPLES)]
    Provision(ProvisionArgs),
    /// Read a live database's schema; print it, or store it as a persona
    #[command(after_help = INTROSPECT_EXAMPLES)]
    Introspect(IntrospectArgs),
    /// Analyze captured queries: top patterns, column usage, co-access rules, emerging
    /// relationships and volume trends
    Analyze(super::analyze::AnalyzeArgs),
    /// Run the PostgreSQL capture proxy between an application and its database
    #[command(after_help = super::proxy::PROXY_EXAMPLES)]
    Proxy(super::proxy::ProxyArgs),
    /// List and delete the captures saved in the registry (`persona proxy` makes them)
    #[command(subcommand, after_help = super::capture::CAPTURE_EXAMPLES)]
    Capture(super::capture::CaptureCommand),
    /// End-to-end benchmarks
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `persona bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// pgbench direct, through the proxy and through PgBouncer (session mode), side by side
    #[command(after_help = super::proxy::BENCH_EXAMPLES)]
    Proxy(super::proxy::BenchProxyArgs),
}

const TEMPLATE_EXAMPLES: &str = "\
Examples:
  persona template list
  persona template show ecommerce
  persona template show ecommerce --toml > my-shop.toml
  persona template validate my-shop.toml";

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List the built-in templates
    List(JsonFlag),
    /// Show a template: a readable summary, or the full definition with --json / --toml
    #[command(after_help = "Example:\n  persona template show iot --json | jq '.initial_schema'")]
    Show {
        /// Template slug (see `persona template list`)
        name: String,
        /// Print the full definition as JSON
        #[arg(long, conflicts_with = "toml")]
        json: bool,
        /// Print the full definition as TOML (a starting point for your own persona file)
        #[arg(long)]
        toml: bool,
    },
    /// Check persona files (TOML or JSON) against every dialect and list the problems
    #[command(
        after_help = "Exit code 2 when any file has a problem.\n\nExample:\n  \
                            persona template validate templates/*.toml"
    )]
    Validate {
        /// Persona files (.toml or .json)
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

const PERSONA_EXAMPLES: &str = "\
Examples:
  persona persona create --from-template ecommerce --name shop
  persona persona create --from-file my-shop.toml
  persona persona list --json
  persona persona export shop --format toml --output shop.toml
  persona persona import shop.toml --name shop-copy
  persona persona update shop --from-file shop.toml
  persona persona history shop
  persona persona restore shop --version 1
  persona persona delete shop-copy --yes";

#[derive(Debug, Subcommand)]
pub enum PersonaCommand {
    /// Create a persona from a template or a file (version 1)
    Create(CreateArgs),
    /// List the personas in the registry (latest versions)
    List(JsonFlag),
    /// Show a persona: tables, access patterns and performance profile
    Show {
        /// Persona name or id
        name: String,
        /// Show this version instead of the latest
        #[arg(long, value_name = "V")]
        version: Option<u32>,
        /// Print the full definition as JSON
        #[arg(long)]
        json: bool,
    },
    /// Write a persona as TOML or JSON (to stdout unless --output is given)
    Export {
        /// Persona name or id
        name: String,
        #[arg(long, value_enum, default_value_t = FileFormat::Toml)]
        format: FileFormat,
        /// Export this version instead of the latest
        #[arg(long, value_name = "V")]
        version: Option<u32>,
        /// Write to this file instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Import a persona file (TOML or JSON, by extension) as a new persona
    Import {
        /// A .toml or .json persona file
        file: PathBuf,
        /// Store it under this name instead of the file's name
        #[arg(long)]
        name: Option<String>,
    },
    /// Save a persona file as the next version of an existing persona (history is kept)
    Update {
        /// Persona name or id (the persona keeps this name, whatever the file says)
        name: String,
        /// The new definition (.toml or .json)
        #[arg(long, value_name = "FILE")]
        from_file: PathBuf,
    },
    /// Delete a persona and all its versions (asks unless --yes)
    Delete {
        /// Persona name or id
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// List every version of a persona
    History {
        /// Persona name or id
        name: String,
        /// Print the history as JSON
        #[arg(long)]
        json: bool,
    },
    /// Make a new version equal to an old one
    Restore {
        /// Persona name or id
        name: String,
        /// The version to bring back
        #[arg(long, value_name = "V")]
        version: u32,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["from_template", "from_file"]))]
pub struct CreateArgs {
    /// Start from this built-in template (see `persona template list`)
    #[arg(long, value_name = "T")]
    pub from_template: Option<String>,
    /// Start from this persona file (.toml or .json)
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Name of the new persona (default: the template's or file's name)
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// A persona file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Toml,
    Json,
}

const PROVISION_EXAMPLES: &str = "\
PERSONA is looked up in the registry first, then among the built-in templates, then as a file;
the command says which one it used.

Examples:
  persona provision shop --url sqlite://shop.db
  persona provision ecommerce --url postgres://me@localhost/shop --dry-run
  persona provision my-shop.toml --url mysql://root@127.0.0.1/shop --json";

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// A registry persona name or id, a template slug, or a persona file
    pub persona: String,
    /// Target database: sqlite://PATH, postgres://…, mysql://… or mariadb://…
    #[arg(long)]
    pub url: String,
    /// Print the DDL for the URL's dialect without connecting
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

const INTROSPECT_EXAMPLES: &str = "\
Examples:
  persona introspect --url sqlite://shop.db
  persona introspect --url postgres://me@localhost/shop --json
  persona introspect --url mysql://root@127.0.0.1/shop --save-as shop-live";

#[derive(Debug, Args)]
pub struct IntrospectArgs {
    /// Database to read: sqlite://PATH, postgres://…, mysql://… or mariadb://…
    #[arg(long)]
    pub url: String,
    /// Print the schema as JSON (the persona Schema model)
    #[arg(long)]
    pub json: bool,
    /// Also store the schema in the registry as a new persona with this name
    #[arg(long, value_name = "NAME")]
    pub save_as: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
