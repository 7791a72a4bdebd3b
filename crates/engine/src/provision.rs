//! Provisioning: creates a persona's schema in a live database, safely for each dialect.
//!
//! Before anything is written, provisioning checks that none of the tables (and, where index
//! names share the table namespace, none of the indexes) it would create already exists; if
//! any does, it refuses and writes nothing. Then:
//! - PostgreSQL and SQLite run every statement in one transaction (their DDL is
//!   transactional), so a failure leaves the database as it was;
//! - MySQL/MariaDB commit each DDL statement implicitly, so statements run one by one and, on a
//!   failure, the tables created so far are dropped again (the compensating reverse) before the
//!   error, which names the failing statement, is returned.
//!
//! A dry run returns the statements without touching the database.

use std::fmt;

use persona_core::{Dialect, Schema, ddl};
use sqlx::{AssertSqlSafe, Executor, Row};

use crate::db::{Database, DbError};

/// How to provision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProvisionOptions {
    /// Return the statements without connecting to anything.
    pub dry_run: bool,
}

/// What a provisioning run did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionReport {
    pub dialect: Dialect,
    /// The statements, in execution order.
    pub statements: Vec<String>,
    /// Whether the statements were run (false for a dry run).
    pub executed: bool,
    /// Names of the tables created, in schema order (empty for a dry run).
    pub tables: Vec<String>,
}

/// Why provisioning did not happen or did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(
        "refusing to provision: {} already exist{} in the database; nothing was written",
        list(.existing), if .existing.len() == 1 { "s" } else { "" }
    )]
    AlreadyExists {
        /// Descriptions such as `table "orders"`, `index "orders_customer_idx"`.
        existing: Vec<String>,
    },
    #[error(
        "provisioning failed at statement {number} of {total}: {source}\n  statement: \
         {statement}\n  {cleanup}"
    )]
    Statement {
        /// 1-based position of the failing statement.
        number: usize,
        total: usize,
        statement: String,
        #[source]
        source: sqlx::Error,
        /// What was done about the statements that had succeeded.
        cleanup: Cleanup,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How the work done before a failing statement was undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleanup {
    /// The transaction was rolled back.
    RolledBack,
    /// Compensating drops removed these tables (MySQL/MariaDB).
    Dropped(Vec<String>),
    /// Compensation failed: these tables are left behind.
    Incomplete { left: Vec<String>, reason: String },
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cleanup::RolledBack => {
                f.write_str("the transaction was rolled back; nothing was created")
            }
            Cleanup::Dropped(tables) if tables.is_empty() => {
                f.write_str("no table had been created; nothing was left behind")
            }
            Cleanup::Dropped(tables) => {
                write!(
                    f,
                    "dropped the tables created before the failure: {}",
                    tables.join(", ")
                )
            }
            Cleanup::Incomplete { left, reason } => write!(
                f,
                "could not drop the tables created before the failure ({reason}); left behind: {}",
                left.join(", ")
            ),
        }
    }
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// The statements that create `schema` in `dialect`, in execution order.
pub fn plan(schema: &Schema, dialect: Dialect) -> Vec<String> {
    ddl::create_schema(schema, dialect)
}

/// Create `schema` in `db`. See the module documentation for the guarantees per dialect.
pub async fn provision(
    db: &Database,
    schema: &Schema,
    options: ProvisionOptions,
) -> Result<ProvisionReport, ProvisionError> {
    let dialect = db.dialect();
    let statements = plan(schema, dialect);
    if options.dry_run {
        return Ok(ProvisionReport {
            dialect,
            statements,
            executed: false,
            tables: Vec::new(),
        });
    }
    let existing = conflicts(db, schema).await?;
    if !existing.is_empty() {
        return Err(ProvisionError::AlreadyExists { existing });
    }
    match db {
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(DbError::from)?;
            run_all::<sqlx::Postgres>(&mut tx, &statements).await?;
            tx.commit().await.map_err(DbError::from)?;
        }
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await.map_err(DbError::from)?;
            run_all::<sqlx::Sqlite>(&mut tx, &statements).await?;
            tx.commit().await.map_err(DbError::from)?;
        }
        Database::Mysql(pool) => {
            let mut conn = pool.acquire().await.map_err(DbError::from)?;
            run_compensated(&mut conn, schema, &statements).await?;
        }
    }
    let tables = schema
        .tables
        .iter()
        .map(|t| ddl::stored_identifier(&t.name, dialect))
        .collect();
    Ok(ProvisionReport {
        dialect,
        statements,
        executed: true,
        tables,
    })
}

/// Run `statements` in order on one connection (inside the caller's transaction).
async fn run_all<DB>(conn: &mut DB::Connection, statements: &[String]) -> Result<(), ProvisionError>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
{
    for (i, statement) in statements.iter().enumerate() {
        if let Err(source) = (&mut *conn)
            .execute(sqlx::raw_sql(AssertSqlSafe(statement.clone())))
            .await
        {
            return Err(ProvisionError::Statement {
                number: i + 1,
                total: statements.len(),
                statement: statement.clone(),
                source,
                cleanup: Cleanup::RolledBack,
            });
        }
    }
    Ok(())
}

/// MySQL/MariaDB: run the statements one by one; on a failure drop every table of `schema`
/// that now exists (none existed before: [`conflicts`] checked), with foreign-key checks off
/// so that references between them, cycles included, do not block the drops.
async fn run_compensated(
    conn: &mut sqlx::MySqlConnection,
    schema: &Schema,
    statements: &[String],
) -> Result<(), ProvisionError> {
    for (i, statement) in statements.iter().enumerate() {
        let Err(source) = conn
            .execute(sqlx::raw_sql(AssertSqlSafe(statement.clone())))
            .await
        else {
            continue;
        };
        let cleanup = match compensate(conn, schema).await {
            Ok(dropped) => Cleanup::Dropped(dropped),
            Err(e) => {
                let left = mysql_tables(conn).await.map_or_else(
                    |_| schema.tables.iter().map(|t| t.name.clone()).collect(),
                    |now| {
                        schema
                            .tables
                            .iter()
                            .filter(|t| now.contains(&t.name))
                            .map(|t| t.name.clone())
                            .collect()
                    },
                );
                Cleanup::Incomplete {
                    left,
                    reason: e.to_string(),
                }
            }
        };
        return Err(ProvisionError::Statement {
            number: i + 1,
            total: statements.len(),
            statement: statement.clone(),
            source,
            cleanup,
        });
    }
    Ok(())
}

async fn compensate(
    conn: &mut sqlx::MySqlConnection,
    schema: &Schema,
) -> Result<Vec<String>, sqlx::Error> {
    let now = mysql_tables(conn).await?;
    let created: Vec<&str> = schema
        .tables
        .iter()
        .rev()
        .map(|t| t.name.as_str())
        .filter(|name| now.iter().any(|n| n == name))
        .collect();
    if created.is_empty() {
        return Ok(Vec::new());
    }
    conn.execute("SET FOREIGN_KEY_CHECKS = 0").await?;
    let mut result = Ok(());
    for name in &created {
        let drop = format!("DROP TABLE IF EXISTS {}", Dialect::Mysql.quote_ident(name));
        if let Err(e) = conn.execute(sqlx::raw_sql(AssertSqlSafe(drop))).await {
            result = Err(e);
            break;
        }
    }
    let restore = conn.execute("SET FOREIGN_KEY_CHECKS = 1").await;
    result?;
    restore?;
    Ok(created.into_iter().map(str::to_owned).collect())
}

async fn mysql_tables(conn: &mut sqlx::MySqlConnection) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR CHARACTER SET utf8mb4) AS name \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect()
}

/// Relations in the target that provisioning `schema` would collide with, described as
/// `table "x"` / `index "y"` / `view "z"`, in schema order.
async fn conflicts(db: &Database, schema: &Schema) -> Result<Vec<String>, DbError> {
    let dialect = db.dialect();
    // (name, kind) of every relation in the target's current schema / database.
    let present: Vec<(String, String)> = match db {
        Database::Postgres(pool) => {
            let rows = sqlx::query(
                "SELECT c.relname::text AS name, \
                        CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' \
                             WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'v' THEN 'view' \
                             WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' \
                             WHEN 'f' THEN 'foreign table' ELSE 'relation' END AS kind \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema()",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("kind")?)))
                .collect::<Result<_, sqlx::Error>>()?
        }
        Database::Mysql(pool) => {
            let rows = sqlx::query(
                "SELECT CAST(TABLE_NAME AS CHAR CHARACTER SET utf8mb4) AS name, \
                        CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' ELSE 'table' END AS kind \
                 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("kind")?)))
                .collect::<Result<_, sqlx::Error>>()?
        }
        Database::Sqlite(pool) => {
            let rows = sqlx::query("SELECT name, type AS kind FROM sqlite_master")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("kind")?)))
                .collect::<Result<_, sqlx::Error>>()?
        }
    };
    let mut named = schema.clone();
    named.fill_default_names();
    // Names that live in the table namespace: tables everywhere; indexes too in PostgreSQL
    // and SQLite (MySQL scopes index names to their table).
    let mut wanted: Vec<String> = named.tables.iter().map(|t| t.name.clone()).collect();
    if dialect != Dialect::Mysql {
        wanted.extend(
            named
                .tables
                .iter()
                .flat_map(|t| t.indexes.iter().map(|i| i.name.clone())),
        );
    }
    let mut out = Vec::new();
    for name in wanted {
        let stored = ddl::stored_identifier(&name, dialect);
        // SQLite compares names without regard to ASCII case.
        let same = |n: &str| {
            if dialect == Dialect::Sqlite {
                n.eq_ignore_ascii_case(&stored)
            } else {
                n == stored
            }
        };
        if let Some((n, kind)) = present.iter().find(|(n, _)| same(n)) {
            let described = format!("{kind} {}", Dialect::Postgres.quote_ident(n));
            if !out.contains(&described) {
                out.push(described);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use persona_core::{Column, DataType, ForeignKey, ForeignKeyAction, Index, IndexColumn, Table};

    fn table(name: &str, columns: &[&str]) -> Table {
        let columns: Vec<Column> = columns
            .iter()
            .map(|c| Column {
                nullable: false,
                ..Column::new(*c, DataType::Integer)
            })
            .collect();
        Table {
            name: name.into(),
            primary_key: vec![columns[0].name.clone()],
            columns,
            ..Table::default()
        }
    }

    fn fk(name: &str, column: &str, ref_table: &str, ref_column: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: vec![column.into()],
            ref_table: ref_table.into(),
            ref_columns: vec![ref_column.into()],
            on_delete: ForeignKeyAction::NoAction,
            on_update: ForeignKeyAction::NoAction,
        }
    }

    /// `a` and `b` reference each other; `c`'s foreign key names a table that does not exist,
    /// so the last statement fails after every table (and the cycle) has been created.
    fn fails_last() -> Schema {
        let mut a = table("a", &["id", "b_id"]);
        a.foreign_keys.push(fk("a_b_fk", "b_id", "b", "id"));
        let mut b = table("b", &["id", "a_id"]);
        b.foreign_keys.push(fk("b_a_fk", "a_id", "a", "id"));
        let mut c = table("c", &["id", "ghost_id"]);
        c.foreign_keys
            .push(fk("c_ghost_fk", "ghost_id", "ghost", "id"));
        Schema {
            tables: vec![a, b, c],
        }
    }

    /// Two tables, then two indexes with the same name: the second fails. (An index on a
    /// missing column would not do: SQLite reads an unknown double-quoted identifier as a
    /// string literal and indexes that constant.)
    fn fails_on_index() -> Schema {
        let mut b = table("b", &["id"]);
        let index = Index {
            name: "b_dup_idx".into(),
            columns: vec![IndexColumn::column("id")],
            unique: false,
            predicate: None,
            include: vec![],
            method: persona_core::IndexMethod::Btree,
        };
        b.indexes = vec![index.clone(), index];
        Schema {
            tables: vec![table("a", &["id"]), b],
        }
    }

    async fn table_count(db: &Database) -> usize {
        crate::introspect::introspect(db)
            .await
            .unwrap()
            .tables
            .len()
    }

    #[test]
    fn plan_is_the_dialect_ddl() {
        let schema = fails_last();
        for dialect in Dialect::ALL {
            assert_eq!(plan(&schema, dialect), ddl::create_schema(&schema, dialect));
        }
    }

    #[test]
    fn errors_say_what_happened() {
        let e = ProvisionError::AlreadyExists {
            existing: vec!["table \"t\"".into()],
        };
        assert_eq!(
            e.to_string(),
            "refusing to provision: table \"t\" already exists in the database; nothing was \
             written"
        );
        let dropped = Cleanup::Dropped(vec!["c".into(), "b".into()]).to_string();
        assert_eq!(
            dropped,
            "dropped the tables created before the failure: c, b"
        );
    }

    #[tokio::test]
    async fn sqlite_dry_run_touches_nothing() {
        let test = TestDb::new(Dialect::Sqlite).await.unwrap();
        let schema = fails_last();
        let report = provision(&test.db, &schema, ProvisionOptions { dry_run: true })
            .await
            .unwrap();
        assert!(!report.executed && report.tables.is_empty());
        assert_eq!(report.statements, plan(&schema, Dialect::Sqlite));
        assert_eq!(table_count(&test.db).await, 0);
        test.cleanup().await;
    }

    #[tokio::test]
    async fn sqlite_failure_rolls_back_every_statement() {
        let test = TestDb::new(Dialect::Sqlite).await.unwrap();
        let err = provision(&test.db, &fails_on_index(), ProvisionOptions::default())
            .await
            .unwrap_err();
        let ProvisionError::Statement {
            number,
            statement,
            cleanup,
            ..
        } = &err
        else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(*number, 4, "{err}");
        assert!(statement.contains("b_dup_idx"), "{statement}");
        assert_eq!(*cleanup, Cleanup::RolledBack);
        assert_eq!(table_count(&test.db).await, 0);
        test.cleanup().await;
    }

    #[tokio::test]
    async fn sqlite_refuses_a_name_that_differs_only_in_case() {
        let test = TestDb::new(Dialect::Sqlite).await.unwrap();
        test.db
            .execute("CREATE TABLE \"B\" (x integer)")
            .await
            .unwrap();
        let mut schema = fails_on_index();
        schema.tables[1].indexes.clear();
        let err = provision(&test.db, &schema, ProvisionOptions::default())
            .await
            .unwrap_err();
        let ProvisionError::AlreadyExists { existing } = &err else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(existing, &vec!["table \"B\"".to_owned()]);
        assert_eq!(
            table_count(&test.db).await,
            1,
            "table a must not have been created"
        );
        test.cleanup().await;
    }

    #[tokio::test]
    async fn mysql_failure_drops_what_was_created() {
        let Some(test) = TestDb::new(Dialect::Mysql).await else {
            return;
        };
        let schema = fails_last();
        let err = provision(&test.db, &schema, ProvisionOptions::default())
            .await
            .unwrap_err();
        let ProvisionError::Statement {
            number,
            total,
            statement,
            cleanup,
            ..
        } = &err
        else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(number, total, "the last statement fails: {err}");
        assert!(statement.contains("c_ghost_fk"), "{statement}");
        // The cycle a <-> b was in place, so the drops needed foreign-key checks off.
        assert_eq!(
            *cleanup,
            Cleanup::Dropped(vec!["c".into(), "b".into(), "a".into()])
        );
        assert_eq!(table_count(&test.db).await, 0);
        test.cleanup().await;
    }

    #[tokio::test]
    async fn mysql_refuses_existing_tables_and_succeeds_otherwise() {
        let Some(test) = TestDb::new(Dialect::Mysql).await else {
            return;
        };
        let mut schema = fails_last();
        schema.tables.truncate(2);
        test.db.execute("CREATE TABLE b (x int)").await.unwrap();
        let err = provision(&test.db, &schema, ProvisionOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProvisionError::AlreadyExists { existing } if existing == &vec!["table \"b\"".to_owned()]),
            "{err}"
        );
        assert_eq!(table_count(&test.db).await, 1);

        test.db.execute("DROP TABLE b").await.unwrap();
        let report = provision(&test.db, &schema, ProvisionOptions::default())
            .await
            .unwrap();
        assert_eq!(report.tables, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(table_count(&test.db).await, 2);
        test.cleanup().await;
    }
}
