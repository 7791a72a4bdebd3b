//! Test support: throwaway databases per test on the servers named by `PERSONA_TEST_PG_URL` and
//! `PERSONA_TEST_MYSQL_URL`, skipped with a printed reason when unset (a failure when
//! `PERSONA_REQUIRE_SERVERS=1`), and a fresh SQLite file for SQLite tests.

use persona_core::Dialect;

use crate::db::{Database, DbError};

/// Prefix of every database a test creates, so leftovers are easy to find and drop.
pub const TEST_DB_PREFIX: &str = "persona_t_";

/// A database that exists for one test. Call [`TestDb::cleanup`] at the end of the test.
#[derive(Debug)]
pub struct TestDb {
    pub db: Database,
    pub url: String,
    name: String,
    admin_url: Option<String>,
}

impl TestDb {
    /// A fresh database of `dialect`, or `None` (with the reason printed) when the server's
    /// URL is not configured. Panics when `PERSONA_REQUIRE_SERVERS=1` and the URL is unset, or
    /// when the server cannot be reached.
    pub async fn new(dialect: Dialect) -> Option<TestDb> {
        let name = format!(
            "{TEST_DB_PREFIX}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        if dialect == Dialect::Sqlite {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite://{}", path.display());
            let db = Database::connect(&url)
                .await
                .expect("open a temporary SQLite database");
            return Some(TestDb {
                db,
                url,
                name: path.display().to_string(),
                admin_url: None,
            });
        }
        let var = match dialect {
            Dialect::Postgres => "PERSONA_TEST_PG_URL",
            _ => "PERSONA_TEST_MYSQL_URL",
        };
        let Ok(admin_url) = std::env::var(var) else {
            assert!(
                std::env::var("PERSONA_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "{var} is not set but PERSONA_REQUIRE_SERVERS=1"
            );
            eprintln!("skipped: {var} is not set (no {dialect} server to test against)");
            return None;
        };
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{var} is set but the server is unreachable: {e}"));
        let quoted = dialect.quote_ident(&name);
        admin
            .execute(&format!("CREATE DATABASE {quoted}"))
            .await
            .expect("create a test database");
        admin.close().await;
        let url = with_database(&admin_url, &name);
        let db = Database::connect(&url)
            .await
            .expect("connect to the test database");
        Some(TestDb {
            db,
            url,
            name,
            admin_url: Some(admin_url),
        })
    }

    /// Close the pool and drop the database.
    pub async fn cleanup(self) {
        self.db.close().await;
        match self.admin_url {
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
            Some(admin_url) => {
                if let Err(e) = drop_database(&admin_url, &self.name).await {
                    eprintln!("warning: could not drop test database {}: {e}", self.name);
                }
            }
        }
    }
}

/// The public sample databases (Pagila, Northwind, Sakila): `$PERSONA_DATASETS`, or the
/// `shared/datasets` folder beside the repository. `None` (with the reason printed) when absent.
pub fn datasets_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("PERSONA_DATASETS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
        std::path::PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: sample datasets not found at {} (set PERSONA_DATASETS)",
            dir.display()
        );
        None
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), DbError> {
    let admin = Database::connect(admin_url).await?;
    let quoted = admin.dialect().quote_ident(name);
    let sql = match admin.dialect() {
        Dialect::Postgres => format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {quoted}"),
    };
    let result = admin.execute(&sql).await;
    admin.close().await;
    result.map(|_| ())
}

/// `url` with its database name replaced by `name` (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A persona `shop` with `customers(id)` and `orders(id, customer_id)` and no foreign key
/// between them: the schema against which a captured join of the two is an emerging
/// relationship.
pub fn shop_without_foreign_key() -> persona_core::PersonaDefinition {
    serde_json::from_value(serde_json::json!({
        "name": "shop",
        "initial_schema": { "tables": [
            { "name": "customers", "primary_key": ["id"], "columns": [
                { "name": "id", "type": "bigint", "nullable": false }
            ]},
            { "name": "orders", "primary_key": ["id"], "columns": [
                { "name": "id", "type": "bigint", "nullable": false },
                { "name": "customer_id", "type": "bigint", "nullable": false }
            ]}
        ]}
    }))
    .expect("a valid persona")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://p@h:1/test", "x"),
            "postgres://p@h:1/x"
        );
        assert_eq!(
            with_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
        assert_eq!(
            with_database("postgres://p@h/test?sslmode=disable", "x"),
            "postgres://p@h/x?sslmode=disable"
        );
    }
}
