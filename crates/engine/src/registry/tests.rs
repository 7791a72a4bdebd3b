//! Registry tests: every behaviour on SQLite always, and on PostgreSQL when
//! `PERSONA_TEST_PG_URL` is set (each test in its own scratch database).

use persona_core::{Column, DataType, Dialect, PersonaDefinition, Table};

use super::*;
use crate::testing::TestDb;

fn sample(name: &str) -> PersonaDefinition {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "description": "Orders and their customers",
        "tags": ["retail", "oltp"],
        "initial_schema": { "tables": [
            { "name": "customers", "primary_key": ["id"], "columns": [
                { "name": "id", "type": "bigint", "nullable": false, "identity": true },
                { "name": "email", "type": "varchar(320)", "nullable": false }
            ]},
            { "name": "orders", "primary_key": ["id"], "columns": [
                { "name": "id", "type": "bigint", "nullable": false },
                { "name": "customer_id", "type": "bigint", "nullable": false }
            ], "foreign_keys": [
                { "columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"] }
            ]}
        ]},
        "access_patterns": [
            { "name": "order by id", "kind": "point_lookup",
              "sql": "SELECT * FROM orders WHERE id = $1", "expected_rate_per_sec": 50.0 }
        ]
    }))
    .expect("sample persona parses")
}

fn temp_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/dir/registry.db").display()
    );
    (dir, url)
}

/// The whole life of a persona: create, list, edit, history, restore, rename, delete.
async fn lifecycle(reg: &Registry) {
    let original = sample("shop");
    let created = reg.create(&original, "created from a test").await.unwrap();
    assert_eq!(created.version, 1);
    assert!(
        uuid::Uuid::parse_str(&created.persona_id).is_ok(),
        "{}",
        created.persona_id
    );
    assert_eq!(created.initial_schema, original.initial_schema);

    let err = reg.create(&sample("shop"), "again").await.unwrap_err();
    assert!(
        matches!(err, RegistryError::DuplicateName(ref n) if n == "shop"),
        "{err}"
    );

    let list = reg.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "shop");
    assert_eq!(list[0].persona_id, created.persona_id);
    assert_eq!(list[0].version, 1);
    assert_eq!(list[0].table_count, 2);
    assert_eq!(list[0].tags, ["retail", "oltp"]);

    // An edit adds a version and keeps the old one.
    let mut edited = reg.get("shop", None).await.unwrap();
    edited.initial_schema.tables.push(Table {
        name: "payments".into(),
        columns: vec![Column::new("id", DataType::BigInt)],
        ..Table::default()
    });
    edited.tags.push("payments".into());
    let v2 = reg.update("shop", &edited, "added payments").await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.persona_id, created.persona_id);
    assert_eq!(
        reg.get("shop", None)
            .await
            .unwrap()
            .initial_schema
            .tables
            .len(),
        3
    );
    assert_eq!(
        reg.get("shop", Some(1)).await.unwrap().initial_schema,
        original.initial_schema
    );
    assert_eq!(reg.list().await.unwrap()[0].table_count, 3);

    // Lookup by id works as well as by name.
    assert_eq!(reg.get(&created.persona_id, Some(2)).await.unwrap(), v2);

    let err = reg.get("shop", Some(9)).await.unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::VersionNotFound {
                version: 9,
                latest: 2,
                ..
            }
        ),
        "{err}"
    );

    // Restore makes version 3 equal to version 1.
    let v3 = reg.restore("shop", 1).await.unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(v3.initial_schema, original.initial_schema);
    assert_eq!(v3.tags, original.tags);
    let history = reg.history("shop").await.unwrap();
    let versions: Vec<u32> = history.iter().map(|h| h.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    let notes: Vec<&str> = history.iter().map(|h| h.note.as_str()).collect();
    assert_eq!(
        notes,
        [
            "created from a test",
            "added payments",
            "restored from version 1"
        ]
    );
    assert_eq!(history[1].table_count, 3);

    // Renaming onto a taken name fails and changes nothing.
    reg.create(&sample("blog"), "second").await.unwrap();
    let mut renamed = reg.get("shop", None).await.unwrap();
    renamed.name = "blog".into();
    let err = reg.update("shop", &renamed, "rename").await.unwrap_err();
    assert!(matches!(err, RegistryError::DuplicateName(_)), "{err}");
    assert_eq!(reg.history("shop").await.unwrap().len(), 3);

    // A free name renames; the id and history follow.
    renamed.name = "store".into();
    let v4 = reg.update("shop", &renamed, "rename").await.unwrap();
    assert_eq!(
        (v4.version, v4.persona_id.as_str()),
        (4, created.persona_id.as_str())
    );
    assert!(matches!(
        reg.get("shop", None).await,
        Err(RegistryError::NotFound(_))
    ));
    assert_eq!(reg.history("store").await.unwrap().len(), 4);

    // Delete removes the persona and every version.
    assert_eq!(reg.delete("store").await.unwrap(), 4);
    assert!(matches!(
        reg.get("store", None).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        reg.history(&created.persona_id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        reg.delete("store").await,
        Err(RegistryError::NotFound(_))
    ));
    let names: Vec<String> = reg
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["blog"]);
    let (name, ver) = ("blog", 1);
    assert_eq!(reg.get(name, Some(ver)).await.unwrap().version, ver);
}

/// `save` creates without an id and adds a version with one.
async fn save_dispatches_on_id(reg: &Registry) {
    let first = reg.save(&sample("feed"), "new").await.unwrap();
    assert_eq!(first.version, 1);
    let second = reg.save(&first, "again").await.unwrap();
    assert_eq!(
        (second.version, second.persona_id.as_str()),
        (2, first.persona_id.as_str())
    );
}

async fn bad_names_are_refused(reg: &Registry) {
    for name in ["", "  ", " padded", "tab\there"] {
        let err = reg.create(&sample(name), "bad").await.unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidName { .. }),
            "{name:?}: {err}"
        );
    }
    assert!(reg.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let (_dir, url) = temp_sqlite();
    let reg = Registry::open(Some(&url)).await.unwrap();
    lifecycle(&reg).await;
    save_dispatches_on_id(&reg).await;
    bad_names_are_refused(&Registry::open(Some(&temp_sqlite().1)).await.unwrap()).await;
    reg.close().await;
}

#[tokio::test]
async fn sqlite_is_wal_with_foreign_keys_and_survives_reopen() {
    let (_dir, url) = temp_sqlite();
    let reg = Registry::open(Some(&url)).await.unwrap();
    let created = reg.create(&sample("shop"), "first").await.unwrap();
    let Backend::Sqlite(pool) = &reg.backend else {
        panic!("expected SQLite")
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    // A version for an unknown persona violates the foreign key.
    let orphan = sqlx::query(INSERT_VERSION_SQLITE)
        .bind("no-such-id")
        .bind(1_i64)
        .bind("x")
        .bind("")
        .bind("[]")
        .bind(0_i64)
        .bind("{}")
        .bind("")
        .bind("t")
        .execute(pool)
        .await;
    assert!(orphan.is_err(), "foreign keys must be enforced");
    reg.close().await;

    let again = Registry::open(Some(&url)).await.unwrap();
    assert_eq!(again.get("shop", None).await.unwrap(), created);
    let Backend::Sqlite(pool) = &again.backend else {
        panic!("expected SQLite")
    };
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM registry_migrations")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(
        applied,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>(),
        "each migration once"
    );
    again.close().await;
}

#[tokio::test]
async fn sqlite_registry_newer_than_the_binary_is_refused() {
    let (_dir, url) = temp_sqlite();
    let reg = Registry::open(Some(&url)).await.unwrap();
    let Backend::Sqlite(pool) = &reg.backend else {
        panic!("expected SQLite")
    };
    sqlx::query("INSERT INTO registry_migrations VALUES ($1, 'from the future', 'now')")
        .bind(SCHEMA_VERSION + 1)
        .execute(pool)
        .await
        .unwrap();
    reg.close().await;
    let err = Registry::open(Some(&url)).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::SchemaTooNew { found, known, .. }
            if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("newer than this build"), "{err}");
}

#[tokio::test]
async fn concurrent_opens_of_a_fresh_file_both_succeed() {
    let (_dir, url) = temp_sqlite();
    let (a, b) = tokio::join!(Registry::open(Some(&url)), Registry::open(Some(&url)));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.create(&sample("one"), "a").await.unwrap();
    assert_eq!(b.list().await.unwrap().len(), 1);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn plain_paths_and_urls_are_accepted_and_others_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.db");
    let reg = Registry::open(Some(path.to_str().unwrap())).await.unwrap();
    reg.create(&sample("x"), "n").await.unwrap();
    reg.close().await;
    assert!(path.exists());

    let (target, location) = parse_target("postgres://me:secret@db.example/reg").unwrap();
    assert!(matches!(target, Target::Postgres(_)));
    assert!(!location.contains("secret"), "{location}");

    for bad in ["mysql://root@h/reg", "http://x", ""] {
        let err = Registry::open(Some(bad)).await.unwrap_err();
        assert!(
            matches!(err, RegistryError::UnsupportedUrl(_)),
            "{bad}: {err}"
        );
    }
    let err = Registry::open(Some("mysql://u:pw@h/reg"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[tokio::test]
async fn postgres_lifecycle() {
    let Some(test) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let reg = Registry::open(Some(&test.url)).await.unwrap();
    lifecycle(&reg).await;
    save_dispatches_on_id(&reg).await;
    reg.close().await;

    // Reopening runs no migration twice; a newer schema is refused.
    let again = Registry::open(Some(&test.url)).await.unwrap();
    let Backend::Postgres(pool) = &again.backend else {
        panic!("expected PostgreSQL")
    };
    let kind: String = sqlx::query_scalar(
        "SELECT data_type FROM information_schema.columns \
         WHERE table_name = 'persona_versions' AND column_name = 'definition'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(kind, "jsonb");
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM registry_migrations")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(applied, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    sqlx::query("INSERT INTO registry_migrations VALUES ($1, 'from the future', 'now')")
        .bind(SCHEMA_VERSION + 1)
        .execute(pool)
        .await
        .unwrap();
    again.close().await;
    let err = Registry::open(Some(&test.url)).await.unwrap_err();
    assert!(matches!(err, RegistryError::SchemaTooNew { .. }), "{err}");
    test.cleanup().await;
}

#[tokio::test]
async fn postgres_refuses_bad_names_and_concurrent_opens_work() {
    let Some(test) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let (a, b) = tokio::join!(
        Registry::open(Some(&test.url)),
        Registry::open(Some(&test.url))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    bad_names_are_refused(&a).await;
    a.create(&sample("one"), "a").await.unwrap();
    assert_eq!(b.list().await.unwrap()[0].name, "one");
    a.close().await;
    b.close().await;
    test.cleanup().await;
}
