//! Versioned registry migrations: numbered SQL files per backend, applied in order at start-up
//! inside one transaction, recorded in `registry_migrations`.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use super::{RegistryError, now};

/// One schema step of the registry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The schema version this build of the registry knows and creates.
pub const SCHEMA_VERSION: i64 = 4;

/// Migrations for a SQLite registry, in order.
pub(super) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "personas",
        sql: include_str!("migrations/sqlite/0001_personas.sql"),
    },
    Migration {
        version: 2,
        name: "connections",
        sql: include_str!("migrations/sqlite/0002_connections.sql"),
    },
    Migration {
        version: 3,
        name: "captures",
        sql: include_str!("migrations/sqlite/0003_captures.sql"),
    },
    Migration {
        version: 4,
        name: "layouts",
        sql: include_str!("migrations/sqlite/0004_layouts.sql"),
    },
];

/// Migrations for a PostgreSQL registry, in order.
pub(super) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "personas",
        sql: include_str!("migrations/postgres/0001_personas.sql"),
    },
    Migration {
        version: 2,
        name: "connections",
        sql: include_str!("migrations/postgres/0002_connections.sql"),
    },
    Migration {
        version: 3,
        name: "captures",
        sql: include_str!("migrations/postgres/0003_captures.sql"),
    },
    Migration {
        version: 4,
        name: "layouts",
        sql: include_str!("migrations/postgres/0004_layouts.sql"),
    },
];

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS registry_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    applied_at TEXT   NOT NULL
)";

const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM registry_migrations";

const RECORD: &str =
    "INSERT INTO registry_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

/// Serializes concurrent migrators on one PostgreSQL database ("persona" in ASCII).
const PG_LOCK_KEY: i64 = 0x0070_6572_736f_6e61;

/// Apply `migrations` newer than the ledger's version inside the open transaction `$tx`, or fail
/// when the ledger is newer than this build. Evaluates to the version the registry ends at.
macro_rules! apply_pending {
    ($tx:ident, $migrations:expr, $location:expr) => {{
        sqlx::raw_sql(CREATE_LEDGER).execute(&mut *$tx).await?;
        let current: i64 = sqlx::query_scalar(CURRENT_VERSION)
            .fetch_one(&mut *$tx)
            .await?;
        if current > SCHEMA_VERSION {
            return Err(RegistryError::SchemaTooNew {
                location: $location.to_owned(),
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        for m in $migrations.iter().filter(|m| m.version > current) {
            sqlx::raw_sql(m.sql)
                .execute(&mut *$tx)
                .await
                .map_err(|source| RegistryError::Migration {
                    version: m.version,
                    name: m.name,
                    source,
                })?;
            sqlx::query(RECORD)
                .bind(m.version)
                .bind(m.name)
                .bind(now())
                .execute(&mut *$tx)
                .await?;
        }
        $migrations
            .last()
            .map_or(current, |m| m.version.max(current))
    }};
}

/// Bring a SQLite registry up to [`SCHEMA_VERSION`].
pub(super) async fn run_sqlite(pool: &SqlitePool, location: &str) -> Result<i64, RegistryError> {
    // IMMEDIATE takes the write lock up front, so two processes opening the same fresh file
    // queue on the busy timeout instead of failing on a lock upgrade.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let version = apply_pending!(tx, SQLITE, location);
    tx.commit().await?;
    Ok(version)
}

/// Bring a PostgreSQL registry up to [`SCHEMA_VERSION`].
pub(super) async fn run_postgres(pool: &PgPool, location: &str) -> Result<i64, RegistryError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PG_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let version = apply_pending!(tx, POSTGRES, location);
    tx.commit().await?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps_for_every_backend() {
        for list in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
            assert_eq!(versions, expected);
        }
        let names = |l: &[Migration]| l.iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(
            names(SQLITE),
            names(POSTGRES),
            "backends must migrate in step"
        );
    }
}
