//! Property test: schemas whose every identifier is hostile (quotes, backticks, semicolons,
//! comment markers, spaces, unicode, emoji, reserved words, mixed case, leading digits) produce
//! DDL that runs on a real PostgreSQL and a real SQLite and creates exactly those names:
//! introspection returns `normalize(schema, dialect)`, and `drop_schema` removes everything.
//!
//! SQLite always runs; PostgreSQL runs when `PERSONA_TEST_PG_URL` is set.

use persona_core::{
    Check, Column, DataType, DefaultValue, Dialect, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, IndexMethod, Schema, SortOrder, Table, ddl,
};
use persona_engine::Database;
use persona_engine::introspect::introspect;
use persona_engine::provision::{ProvisionOptions, provision};
use persona_engine::testing::TestDb;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The longest name generated, in bytes: PostgreSQL keeps 63.
const MAX_NAME_BYTES: usize = 63;

/// A hostile but legal identifier: non-empty, no NUL, at most 63 bytes, not starting with
/// SQLite's reserved `sqlite_` prefix. Built from fragments that break naive quoting.
pub fn hostile_name() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        3 => prop::sample::select(vec![
            "\"", "\"\"", "'", "`", ";", " ", "--", "/*", "*/", "\\", "%", "$1", "?", ".", ",",
            "(", ")", "[", "]", "\t", "é", "ß", "Ω", "名前", "🦀", "👩‍💻", "\u{200b}",
        ])
        .prop_map(str::to_owned),
        2 => prop::sample::select(vec![
            "select", "order", "user", "table", "from", "group", "where", "index", "check",
            "primary", "key", "default", "SELECT", "Order", "DROP TABLE x",
        ])
        .prop_map(str::to_owned),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,7}",
        1 => "[0-9]{1,3}",
        1 => prop::char::range('\u{1}', '\u{10ffff}').prop_map(String::from),
    ];
    prop::collection::vec(fragment, 1..5)
        .prop_map(|parts| truncate(&parts.concat(), MAX_NAME_BYTES))
        .prop_filter("a legal identifier", |name| {
            !name.is_empty()
                && !name.contains('\0')
                && !name.to_ascii_lowercase().starts_with("sqlite_")
        })
}

fn truncate(s: &str, max: usize) -> String {
    let mut cut = s.len().min(max);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_owned()
}

/// `n` names, pairwise different even to SQLite, which ignores ASCII case in names.
pub fn distinct_hostile_names(n: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(hostile_name(), n).prop_filter("distinct names", |names| {
        names
            .iter()
            .enumerate()
            .all(|(i, a)| names[..i].iter().all(|b| !a.eq_ignore_ascii_case(b)))
    })
}

/// Two tables with hostile names for the tables, their columns, a plain, an expression and a
/// partial unique index, a foreign key and a check; a hostile string default too.
pub fn hostile_schema() -> impl Strategy<Value = Schema> {
    (distinct_hostile_names(14), hostile_name()).prop_map(|(n, text)| {
        let q = |name: &str| Dialect::Postgres.quote_ident(name);
        let col = |name: &str, t: DataType, nullable: bool| Column {
            nullable,
            ..Column::new(name, t)
        };
        let parent = Table {
            name: n[0].clone(),
            columns: vec![
                col(&n[1], DataType::BigInt, false),
                col(&n[2], DataType::Text, true),
                Column {
                    default: Some(DefaultValue::Text(text)),
                    ..col(&n[3], DataType::Varchar(80), false)
                },
            ],
            primary_key: vec![n[1].clone()],
            indexes: vec![
                Index {
                    name: n[4].clone(),
                    columns: vec![IndexColumn::column(&n[2])],
                    unique: false,
                    predicate: None,
                    include: vec![],
                    method: IndexMethod::Btree,
                },
                Index {
                    name: n[5].clone(),
                    columns: vec![IndexColumn::expression(format!("lower({})", q(&n[3])))],
                    unique: false,
                    predicate: None,
                    include: vec![],
                    method: IndexMethod::Btree,
                },
            ],
            foreign_keys: vec![],
            checks: vec![Check {
                name: n[6].clone(),
                expression: format!("{} > 0", q(&n[1])),
            }],
            comment: None,
        };
        let child = Table {
            name: n[7].clone(),
            columns: vec![
                col(&n[8], DataType::BigInt, false),
                col(&n[9], DataType::BigInt, true),
                col(&n[10], DataType::Integer, true),
            ],
            primary_key: vec![n[8].clone()],
            indexes: vec![
                Index {
                    name: n[11].clone(),
                    columns: vec![
                        IndexColumn::column(&n[9]),
                        IndexColumn::ordered(&n[10], SortOrder::Desc),
                    ],
                    unique: false,
                    predicate: None,
                    include: vec![],
                    method: IndexMethod::Btree,
                },
                Index {
                    name: n[12].clone(),
                    columns: vec![IndexColumn::column(&n[10])],
                    unique: true,
                    predicate: Some(format!("{} IS NOT NULL", q(&n[10]))),
                    include: vec![],
                    method: IndexMethod::Btree,
                },
            ],
            foreign_keys: vec![ForeignKey {
                name: n[13].clone(),
                columns: vec![n[9].clone()],
                ref_table: n[0].clone(),
                ref_columns: vec![n[1].clone()],
                on_delete: ForeignKeyAction::Cascade,
                on_update: ForeignKeyAction::NoAction,
            }],
            checks: vec![],
            comment: None,
        };
        Schema {
            tables: vec![parent, child],
        }
    })
}

/// Remove every table (and index) so each case starts from an empty database, even after a
/// failed case left something behind.
async fn wipe(db: &Database) {
    match db {
        Database::Postgres(_) => {
            db.execute("DROP SCHEMA public CASCADE").await.unwrap();
            db.execute("CREATE SCHEMA public").await.unwrap();
        }
        Database::Sqlite(pool) => {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            // The tables are empty, so foreign keys cannot block the drops.
            for name in names {
                let sql = format!(
                    "DROP TABLE IF EXISTS {}",
                    Dialect::Sqlite.quote_ident(&name)
                );
                db.execute(&sql).await.unwrap();
            }
        }
        Database::Mysql(_) => unreachable!("not exercised here"),
    }
}

async fn round_trip(db: &Database, schema: &Schema) -> Result<(), TestCaseError> {
    let dialect = db.dialect();
    wipe(db).await;
    provision(db, schema, ProvisionOptions::default())
        .await
        .map_err(|e| TestCaseError::fail(format!("{dialect}: {e}")))?;
    let got = introspect(db)
        .await
        .map_err(|e| TestCaseError::fail(format!("{dialect}: {e}")))?;
    let want = ddl::normalize(schema, dialect);
    prop_assert_eq!(&got, &want, "{} round trip", dialect);
    for statement in ddl::drop_schema(schema, dialect) {
        db.execute(&statement)
            .await
            .map_err(|e| TestCaseError::fail(format!("{dialect}: {e}")))?;
    }
    let left = introspect(db)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        left.tables.is_empty(),
        "{} drop_schema left {:?}",
        dialect,
        left.tables
    );
    Ok(())
}

#[test]
fn hostile_identifiers_round_trip_through_postgres_and_sqlite() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sqlite = rt
        .block_on(TestDb::new(Dialect::Sqlite))
        .expect("SQLite always runs");
    let pg = rt.block_on(TestDb::new(Dialect::Postgres));
    // 32 cases keep the test to seconds; `PROPTEST_CASES=1000` runs a longer search.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&hostile_schema(), |schema| {
        rt.block_on(async {
            round_trip(&sqlite.db, &schema).await?;
            if let Some(pg) = &pg {
                round_trip(&pg.db, &schema).await?;
            }
            Ok(())
        })
    });
    rt.block_on(async {
        sqlite.cleanup().await;
        if let Some(pg) = pg {
            pg.cleanup().await;
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn generated_names_are_legal_and_hostile() {
    // A fixed seed: this checks the generator's mix, which must not depend on luck.
    let mut runner = TestRunner::deterministic();
    let mut quotes = 0;
    let mut non_ascii = 0;
    for _ in 0..200 {
        let name = hostile_name().new_tree(&mut runner).unwrap().current();
        assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES && !name.contains('\0'));
        quotes += usize::from(name.contains(['"', '\'', '`']));
        non_ascii += usize::from(!name.is_ascii());
    }
    // The generator really produces the awkward cases, not only plain words.
    assert!(
        quotes > 20 && non_ascii > 20,
        "quotes {quotes}, non-ASCII {non_ascii}"
    );
}
