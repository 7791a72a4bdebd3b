//! The registry: durable storage of versioned personas, saved connections, canvas layouts and
//! named workload captures (SQLite by default, PostgreSQL for teams), with migrations run at
//! start-up.
//!
//! A persona has a stable id and a unique name; every save adds a version holding the full
//! definition as JSON, and old versions are kept until the persona is deleted.

mod migrations;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use persona_core::PersonaDefinition;
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use captures::{CaptureInfo, MAX_CAPTURE_WINDOWS, StoredCapture, check_capture_name};
pub use connections::{SavedConnection, SecretRef, password, strip_password, with_password};
pub use layouts::StoredLayout;
pub use migrations::SCHEMA_VERSION;

/// Environment variable naming the registry (a URL or a SQLite file path) when none is given.
pub const REGISTRY_ENV: &str = "PERSONA_REGISTRY";

/// Errors of the persona registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "unsupported registry URL `{0}`: the registry runs on SQLite (sqlite://PATH or a file \
         path) or PostgreSQL (postgres://…)"
    )]
    UnsupportedUrl(String),
    #[error("invalid registry URL `{url}`: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("no data directory for this user; pass --registry URL or set {REGISTRY_ENV}")]
    NoDataDir,
    #[error("cannot create the registry directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the registry at {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the registry at {location} has schema version {found}, newer than this build knows \
         ({known}); upgrade persona or use another registry"
    )]
    SchemaTooNew {
        location: String,
        found: i64,
        known: i64,
    },
    #[error("registry migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("no persona named `{0}` in the registry")]
    NotFound(String),
    #[error("persona `{name}` has no version {version} (latest is {latest})")]
    VersionNotFound {
        name: String,
        version: u32,
        latest: u32,
    },
    #[error("a persona named `{0}` already exists")]
    DuplicateName(String),
    #[error("invalid persona name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("stored definition of `{name}` version {version} is unreadable: {source}")]
    CorruptDefinition {
        name: String,
        version: u32,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode persona `{name}` as JSON: {source}")]
    Encode {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the connection URL `{0}` carries a password; save it without one and say where the \
         password comes from (environment variable, ~/.pgpass or a prompt)"
    )]
    PasswordInUrl(String),
    #[error("no connection named `{0}` in the registry")]
    ConnectionNotFound(String),
    #[error("a connection named `{0}` already exists")]
    DuplicateConnection(String),
    #[error("no capture named `{name}` in the registry{}", captures::known_list(.known))]
    CaptureNotFound { name: String, known: Vec<String> },
    #[error("invalid capture name {name:?}: {reason}")]
    InvalidCaptureName { name: String, reason: &'static str },
    #[error("stored capture `{name}` is unreadable: {source}")]
    CorruptCapture {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot encode capture `{name}` as JSON: {source}")]
    EncodeCapture {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the stored canvas layout of `{name}` is unreadable: {source}")]
    CorruptLayout {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("registry query failed: {0}")]
    Sqlx(#[from] sqlx::Error),
}

/// The latest version of one persona, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonaSummary {
    pub persona_id: String,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub table_count: usize,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One stored version of a persona, as shown in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    pub version: u32,
    pub name: String,
    pub table_count: usize,
    pub tags: Vec<String>,
    /// Why this version was made ("created from template …", "restored from version 2", …).
    pub note: String,
    pub created_at: String,
}

/// Where a registry lives, parsed from a URL or a path.
#[derive(Debug)]
enum Target {
    Sqlite(Box<SqliteConnectOptions>),
    Postgres(String),
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open persona registry.
#[derive(Debug, Clone)]
pub struct Registry {
    backend: Backend,
    location: String,
}

/// Run `$body` with `$pool` bound to the backend's pool (the body is compiled once per backend).
macro_rules! on_backend {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Look a persona up by id, else by name, on executor `$ex`: `Option<(id, name, latest)>`.
macro_rules! find_persona {
    ($ex:expr, $name_or_id:expr) => {
        sqlx::query_as::<_, (String, String, i64)>(FIND)
            .bind($name_or_id)
            .fetch_optional($ex)
            .await?
    };
}

// After the macros, which they use.
mod captures;
mod connections;
mod layouts;

const FIND: &str = "SELECT persona_id, name, latest_version FROM personas \
     WHERE persona_id = $1 OR name = $1 \
     ORDER BY CASE WHEN persona_id = $1 THEN 0 ELSE 1 END LIMIT 1";

const NAME_TAKEN: &str = "SELECT persona_id FROM personas WHERE name = $1";

const INSERT_PERSONA: &str = "INSERT INTO personas \
     (persona_id, name, latest_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)";

const UPDATE_PERSONA: &str =
    "UPDATE personas SET name = $2, latest_version = $3, updated_at = $4 WHERE persona_id = $1";

const INSERT_VERSION_SQLITE: &str = "INSERT INTO persona_versions \
     (persona_id, version, name, description, tags, table_count, definition, note, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const INSERT_VERSION_POSTGRES: &str = "INSERT INTO persona_versions \
     (persona_id, version, name, description, tags, table_count, definition, note, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS JSONB), $8, $9)";

const DEFINITION: &str =
    "SELECT CAST(definition AS TEXT) FROM persona_versions WHERE persona_id = $1 AND version = $2";

const LIST: &str = "SELECT p.persona_id, p.name, p.latest_version, v.description, v.table_count, \
     v.tags, p.created_at, p.updated_at \
     FROM personas p JOIN persona_versions v \
       ON v.persona_id = p.persona_id AND v.version = p.latest_version \
     ORDER BY p.name";

const HISTORY: &str = "SELECT version, name, table_count, tags, note, created_at \
     FROM persona_versions WHERE persona_id = $1 ORDER BY version";

const DELETE_VERSIONS: &str = "DELETE FROM persona_versions WHERE persona_id = $1";

const DELETE_PERSONA: &str = "DELETE FROM personas WHERE persona_id = $1";

/// A write transaction: SQLite takes its write lock up front (so concurrent writers wait on the
/// busy timeout instead of failing on a lock upgrade); PostgreSQL begins normally.
trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// A version about to be written: the definition with its id and number, and its JSON.
struct NewVersion<'a> {
    definition: &'a PersonaDefinition,
    json: String,
    tags: String,
    note: &'a str,
    at: String,
}

impl<'a> NewVersion<'a> {
    fn new(definition: &'a PersonaDefinition, note: &'a str) -> Result<Self, RegistryError> {
        let encode = |source| RegistryError::Encode {
            name: definition.name.clone(),
            source,
        };
        Ok(NewVersion {
            definition,
            json: serde_json::to_string(definition).map_err(encode)?,
            tags: serde_json::to_string(&definition.tags).map_err(encode)?,
            note,
            at: now(),
        })
    }
}

/// Insert `$v` (a [`NewVersion`]) into `persona_versions` with statement `$sql` on `$ex`.
macro_rules! insert_version {
    ($ex:expr, $sql:expr, $v:expr) => {
        sqlx::query($sql)
            .bind(&$v.definition.persona_id)
            .bind(i64::from($v.definition.version))
            .bind(&$v.definition.name)
            .bind(&$v.definition.description)
            .bind(&$v.tags)
            .bind($v.definition.initial_schema.tables.len() as i64)
            .bind(&$v.json)
            .bind($v.note)
            .bind(&$v.at)
            .execute($ex)
            .await?
    };
}

impl Registry {
    /// Open (creating and migrating as needed) the registry at `url`: `sqlite://PATH`, a plain
    /// file path, or `postgres://…`. Without a URL: `$PERSONA_REGISTRY`, else `registry.db` in
    /// the user's data directory.
    pub async fn open(url: Option<&str>) -> Result<Registry, RegistryError> {
        let spec = match url {
            Some(url) => url.to_owned(),
            None => default_location()?,
        };
        let (target, location) = parse_target(&spec)?;
        let open = |source| RegistryError::Open {
            location: location.clone(),
            source,
        };
        let timeout = Duration::from_secs(10);
        let backend = match target {
            Target::Sqlite(options) => {
                let file = options.get_filename().to_path_buf();
                if !spec.contains(":memory:") {
                    create_parent_dir(&file)?;
                }
                let options = options
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .busy_timeout(timeout)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                // Switching a fresh file to WAL needs an exclusive lock, and SQLite answers
                // "database is locked" at once (no busy wait) when another process is doing the
                // same: try again for a while.
                let started = std::time::Instant::now();
                let pool = loop {
                    let connected = SqlitePoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(options.clone())
                        .await;
                    match connected {
                        Err(e) if is_sqlite_busy(&e) && started.elapsed() < timeout => {
                            tokio::time::sleep(Duration::from_millis(25)).await;
                        }
                        other => break other.map_err(open)?,
                    }
                };
                migrations::run_sqlite(&pool, &location).await?;
                Backend::Sqlite(pool)
            }
            Target::Postgres(url) => {
                let options = PgConnectOptions::from_str(&url).map_err(|source| {
                    RegistryError::InvalidUrl {
                        url: location.clone(),
                        source,
                    }
                })?;
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(timeout)
                    .connect_with(options)
                    .await
                    .map_err(open)?;
                migrations::run_postgres(&pool, &location).await?;
                Backend::Postgres(pool)
            }
        };
        Ok(Registry { backend, location })
    }

    /// Where the registry lives, safe to print (no password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Store `definition` as a new persona (a fresh id, version 1) under its `name`.
    pub async fn create(
        &self,
        definition: &PersonaDefinition,
        note: &str,
    ) -> Result<PersonaDefinition, RegistryError> {
        check_name(&definition.name)?;
        let mut stored = definition.clone();
        stored.persona_id = uuid::Uuid::new_v4().to_string();
        stored.version = 1;
        let v = NewVersion::new(&stored, note)?;
        let duplicate = duplicate_on_unique(&stored.name);
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let taken: Option<String> =
                sqlx::query_scalar(NAME_TAKEN).bind(&stored.name).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(RegistryError::DuplicateName(stored.name.clone()));
            }
            sqlx::query(INSERT_PERSONA)
                .bind(&stored.persona_id)
                .bind(&stored.name)
                .bind(1_i64)
                .bind(&v.at)
                .execute(&mut *tx)
                .await
                .map_err(duplicate)?;
            insert_version!(&mut *tx, self.insert_version_sql(), v);
            tx.commit().await?;
        });
        Ok(stored)
    }

    /// Save `definition` as the next version of the persona `name_or_id` (history is kept). A
    /// different `definition.name` renames the persona.
    pub async fn update(
        &self,
        name_or_id: &str,
        definition: &PersonaDefinition,
        note: &str,
    ) -> Result<PersonaDefinition, RegistryError> {
        check_name(&definition.name)?;
        let duplicate = duplicate_on_unique(&definition.name);
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some((id, current, latest)) = find_persona!(&mut *tx, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            if definition.name != current {
                let taken: Option<String> = sqlx::query_scalar(NAME_TAKEN)
                    .bind(&definition.name)
                    .fetch_optional(&mut *tx)
                    .await?;
                if taken.is_some() {
                    return Err(RegistryError::DuplicateName(definition.name.clone()));
                }
            }
            let mut stored = definition.clone();
            stored.persona_id = id;
            stored.version = to_u32(latest) + 1;
            let v = NewVersion::new(&stored, note)?;
            insert_version!(&mut *tx, self.insert_version_sql(), v);
            sqlx::query(UPDATE_PERSONA)
                .bind(&stored.persona_id)
                .bind(&stored.name)
                .bind(i64::from(stored.version))
                .bind(&v.at)
                .execute(&mut *tx)
                .await
                .map_err(duplicate)?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Save `definition`: a new version of the persona its `persona_id` names, or a new persona
    /// when the id is empty.
    pub async fn save(
        &self,
        definition: &PersonaDefinition,
        note: &str,
    ) -> Result<PersonaDefinition, RegistryError> {
        if definition.persona_id.is_empty() {
            self.create(definition, note).await
        } else {
            self.update(&definition.persona_id, definition, note).await
        }
    }

    /// The persona `name_or_id` at `version` (default: its latest version).
    pub async fn get(
        &self,
        name_or_id: &str,
        version: Option<u32>,
    ) -> Result<PersonaDefinition, RegistryError> {
        on_backend!(self, pool => {
            let Some((id, name, latest)) = find_persona!(pool, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            let latest = to_u32(latest);
            let version = version.unwrap_or(latest);
            let json: Option<String> = sqlx::query_scalar(DEFINITION)
                .bind(&id)
                .bind(i64::from(version))
                .fetch_optional(pool)
                .await?;
            let Some(json) = json else {
                return Err(RegistryError::VersionNotFound { name, version, latest });
            };
            let mut definition: PersonaDefinition = serde_json::from_str(&json)
                .map_err(|source| RegistryError::CorruptDefinition {
                    name: name.clone(),
                    version,
                    source,
                })?;
            definition.persona_id = id;
            definition.version = version;
            Ok(definition)
        })
    }

    /// The latest version of every persona, by name.
    pub async fn list(&self) -> Result<Vec<PersonaSummary>, RegistryError> {
        on_backend!(self, pool => {
            let rows = sqlx::query(LIST).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(PersonaSummary {
                        persona_id: row.try_get(0)?,
                        name: row.try_get(1)?,
                        version: to_u32(row.try_get(2)?),
                        description: row.try_get(3)?,
                        table_count: to_usize(row.try_get(4)?),
                        tags: parse_tags(&row.try_get::<String, _>(5)?),
                        created_at: row.try_get(6)?,
                        updated_at: row.try_get(7)?,
                    })
                })
                .collect()
        })
    }

    /// Every stored version of the persona `name_or_id`, oldest first.
    pub async fn history(&self, name_or_id: &str) -> Result<Vec<VersionInfo>, RegistryError> {
        on_backend!(self, pool => {
            let Some((id, _, _)) = find_persona!(pool, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            let rows = sqlx::query(HISTORY).bind(&id).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(VersionInfo {
                        version: to_u32(row.try_get(0)?),
                        name: row.try_get(1)?,
                        table_count: to_usize(row.try_get(2)?),
                        tags: parse_tags(&row.try_get::<String, _>(3)?),
                        note: row.try_get(4)?,
                        created_at: row.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    /// Delete the persona `name_or_id` and all its versions; returns how many versions went.
    pub async fn delete(&self, name_or_id: &str) -> Result<u64, RegistryError> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some((id, _, _)) = find_persona!(&mut *tx, name_or_id) else {
                return Err(RegistryError::NotFound(name_or_id.to_owned()));
            };
            let versions =
                sqlx::query(DELETE_VERSIONS).bind(&id).execute(&mut *tx).await?.rows_affected();
            sqlx::query(DELETE_PERSONA).bind(&id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(versions)
        })
    }

    /// Make a new version of `name_or_id` whose definition equals its `version` (the persona
    /// keeps its current name).
    pub async fn restore(
        &self,
        name_or_id: &str,
        version: u32,
    ) -> Result<PersonaDefinition, RegistryError> {
        let current = self.get(name_or_id, None).await?;
        let mut old = self.get(&current.persona_id, Some(version)).await?;
        old.name = current.name;
        let note = format!("restored from version {version}");
        self.update(&current.persona_id, &old, &note).await
    }

    /// Close the connections, waiting for them to finish.
    pub async fn close(&self) {
        on_backend!(self, pool => pool.close().await);
    }

    fn insert_version_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => INSERT_VERSION_SQLITE,
            Backend::Postgres(_) => INSERT_VERSION_POSTGRES,
        }
    }
}

/// The registry used when none is given: `$PERSONA_REGISTRY` (a URL or a path), else
/// `registry.db` in the user's data directory (e.g. `~/.local/share/persona-studio/`).
pub fn default_location() -> Result<String, RegistryError> {
    if let Ok(value) = std::env::var(REGISTRY_ENV)
        && !value.trim().is_empty()
    {
        return Ok(value);
    }
    let dirs =
        directories::ProjectDirs::from("", "", "persona-studio").ok_or(RegistryError::NoDataDir)?;
    Ok(dirs.data_dir().join("registry.db").display().to_string())
}

/// Parse a registry URL or path into a target and a printable location.
fn parse_target(spec: &str) -> Result<(Target, String), RegistryError> {
    let lower = spec.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok((Target::Postgres(spec.to_owned()), crate::db::redact(spec)));
    }
    if lower.starts_with("sqlite:") {
        let options =
            SqliteConnectOptions::from_str(spec).map_err(|source| RegistryError::InvalidUrl {
                url: spec.to_owned(),
                source,
            })?;
        return Ok((Target::Sqlite(Box::new(options)), spec.to_owned()));
    }
    if spec.contains("://") || spec.trim().is_empty() {
        return Err(RegistryError::UnsupportedUrl(crate::db::redact(spec)));
    }
    let options = SqliteConnectOptions::new().filename(spec);
    Ok((Target::Sqlite(Box::new(options)), spec.to_owned()))
}

fn create_parent_dir(file: &Path) -> Result<(), RegistryError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|source| RegistryError::CreateDir {
                path: dir.to_path_buf(),
                source,
            }),
        _ => Ok(()),
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED (primary result codes 5 and 6).
fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    match name_problem(name, "a persona needs a name") {
        None => Ok(()),
        Some(reason) => Err(RegistryError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
    }
}

/// What is wrong with a name of something kept in the registry (`empty`: the reason given for
/// a blank one): padded, control characters, or over 200 characters.
pub(crate) fn name_problem(name: &str, empty: &'static str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some(empty)
    } else if name.trim() != name {
        Some("leading or trailing spaces")
    } else if name.chars().any(char::is_control) {
        Some("control characters")
    } else if name.chars().count() > 200 {
        Some("longer than 200 characters")
    } else {
        None
    }
}

/// Maps a unique-constraint violation (a concurrent writer took the name) to `DuplicateName`.
fn duplicate_on_unique(name: &str) -> impl Fn(sqlx::Error) -> RegistryError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            RegistryError::DuplicateName(name.to_owned())
        }
        _ => RegistryError::Sqlx(e),
    }
}

fn parse_tags(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (sorts as text).
fn now() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .expect("UTC timestamps always format")
}
