//! Connections to target databases: one `Database` handle over PostgreSQL, MySQL/MariaDB and
//! SQLite, opened from a URL.

use std::str::FromStr;
use std::time::Duration;

use persona_core::Dialect;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

/// Errors opening or using a database connection.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL `{0}`: expected sqlite://PATH, postgres://… or mysql://… \
         (MariaDB too)"
    )]
    UnsupportedUrl(String),
    #[error("invalid database URL `{url}`: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("statement failed: {statement}\n  {source}")]
    Statement {
        statement: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// An open connection pool to one target database.
#[derive(Debug, Clone)]
pub enum Database {
    Postgres(PgPool),
    Mysql(MySqlPool),
    Sqlite(SqlitePool),
}

impl Database {
    /// Open a pool for `url` (`sqlite://PATH`, `postgres://…`, `mysql://…`, `mariadb://…`).
    ///
    /// A SQLite file is created if it does not exist; foreign keys are enforced.
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        let dialect = Dialect::from_url(url).ok_or_else(|| DbError::UnsupportedUrl(redact(url)))?;
        let invalid = |source| DbError::InvalidUrl {
            url: redact(url),
            source,
        };
        let connect = |source| DbError::Connect {
            url: redact(url),
            source,
        };
        let timeout = Duration::from_secs(10);
        Ok(match dialect {
            Dialect::Postgres => {
                let opts = PgConnectOptions::from_str(url).map_err(invalid)?;
                probe(&opts).await.map_err(connect)?;
                Database::Postgres(
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(opts)
                        .await
                        .map_err(connect)?,
                )
            }
            Dialect::Mysql => {
                let url = url
                    .strip_prefix("mariadb:")
                    .map_or_else(|| url.to_owned(), |rest| format!("mysql:{rest}"));
                let opts = MySqlConnectOptions::from_str(&url).map_err(invalid)?;
                probe(&opts).await.map_err(connect)?;
                Database::Mysql(
                    MySqlPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(opts)
                        .await
                        .map_err(connect)?,
                )
            }
            Dialect::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .create_if_missing(true)
                    .foreign_keys(true);
                Database::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(opts)
                        .await
                        .map_err(connect)?,
                )
            }
        })
    }

    /// The dialect this database speaks.
    pub fn dialect(&self) -> Dialect {
        match self {
            Database::Postgres(_) => Dialect::Postgres,
            Database::Mysql(_) => Dialect::Mysql,
            Database::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Run one statement that returns no rows (DDL, most DML).
    pub async fn execute(&self, statement: &str) -> Result<u64, DbError> {
        let sql = AssertSqlSafe(statement.to_owned());
        let wrap = |source| DbError::Statement {
            statement: statement.to_owned(),
            source,
        };
        Ok(match self {
            Database::Postgres(pool) => pool
                .execute(sqlx::raw_sql(sql))
                .await
                .map_err(wrap)?
                .rows_affected(),
            Database::Mysql(pool) => pool
                .execute(sqlx::raw_sql(sql))
                .await
                .map_err(wrap)?
                .rows_affected(),
            Database::Sqlite(pool) => pool
                .execute(sqlx::raw_sql(sql))
                .await
                .map_err(wrap)?
                .rows_affected(),
        })
    }

    /// Close the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Mysql(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Open and close one connection, so that an unreachable server or a refused login is reported
/// at once instead of after the pool's acquire timeout (the pool retries refused connections).
async fn probe<O>(opts: &O) -> Result<(), sqlx::Error>
where
    O: ConnectOptions,
    O::Connection: Sized,
{
    let conn = opts.connect().await?;
    conn.close().await
}

/// The URL with any password replaced by `***`, safe to print.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    let slash = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{user}:***@{host}{slash}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("mysql://root:@127.0.0.1"),
            "mysql://root:***@127.0.0.1"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[tokio::test]
    async fn unknown_scheme_is_a_clear_error() {
        let err = Database::connect("oracle://x").await.unwrap_err();
        assert!(
            err.to_string().contains("unsupported database URL"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn sqlite_file_is_created_and_usable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let db = Database::connect(&url).await.unwrap();
        assert_eq!(db.dialect(), Dialect::Sqlite);
        db.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        assert_eq!(
            db.execute("INSERT INTO t VALUES (1), (2)").await.unwrap(),
            2
        );
        let err = db.execute("SELEC 1").await.unwrap_err();
        assert!(err.to_string().contains("SELEC 1"), "{err}");
    }
}
