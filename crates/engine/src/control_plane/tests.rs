//! Headless tests of the control plane: commands in, snapshots out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use persona_core::{Dialect, ddl, template};

use super::*;

struct Fixture {
    plane: ControlPlane,
    repaints: Arc<AtomicUsize>,
    dir: tempfile::TempDir,
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repaints = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&repaints);
    let plane = ControlPlane::start(
        &tokio::runtime::Handle::current(),
        Some(dir.path().join("registry.db").display().to_string()),
        Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    );
    Fixture {
        plane,
        repaints,
        dir,
    }
}

/// Wait (bounded) for a snapshot satisfying `done`.
async fn until(plane: &ControlPlane, done: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let mut rx = plane.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| done(s))).await;
    match waited {
        Ok(Ok(snapshot)) => Arc::clone(&snapshot),
        _ => panic!("no matching snapshot; last: {:#?}", plane.snapshot()),
    }
}

fn last_text(s: &Snapshot) -> &str {
    s.last_notice().map_or("", |n| n.text.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persona_lifecycle_through_commands() {
    let fx = start();
    let p = &fx.plane;
    let s = until(p, |s| matches!(s.registry, RegistryStatus::Ready { .. })).await;
    assert_eq!(s.templates.len(), template::builtin().len());
    assert!(s.personas.is_empty());
    assert!(
        fx.repaints.load(Ordering::Relaxed) > 0,
        "publications must repaint"
    );

    p.send(Command::CreateFromTemplate {
        slug: "ecommerce".into(),
        name: "shop".into(),
    });
    let s = until(p, |s| s.persona("shop").is_some()).await;
    let ecommerce = template::load_builtin("ecommerce").unwrap();
    assert_eq!(
        s.persona("shop").unwrap().table_count,
        ecommerce.initial_schema.tables.len()
    );
    let s = until(p, |s| s.selected.is_some()).await;
    assert_eq!(s.selected.as_ref().unwrap().definition.name, "shop");

    // A duplicate name is refused with the reason.
    p.send(Command::CreateFromTemplate {
        slug: "iot_sensors".into(),
        name: "shop".into(),
    });
    let s = until(p, |s| last_text(s).contains("already exists")).await;
    assert_eq!(s.last_notice().unwrap().level, Level::Error);

    p.send(Command::Rename {
        persona: "shop".into(),
        name: "store".into(),
    });
    let s = until(p, |s| s.persona("store").is_some()).await;
    assert!(s.persona("shop").is_none());
    assert_eq!(s.persona("store").unwrap().version, 2);
    let s = until(p, |s| {
        s.selected
            .as_ref()
            .is_some_and(|sel| sel.definition.name == "store")
    })
    .await;
    assert_eq!(s.selected.as_ref().unwrap().history.len(), 2);

    p.send(Command::Duplicate {
        persona: "store".into(),
        name: "store-copy".into(),
    });
    until(p, |s| s.persona("store-copy").is_some()).await;

    p.send(Command::Restore {
        persona: "store".into(),
        version: 1,
    });
    let s = until(p, |s| s.persona("store").is_some_and(|x| x.version == 3)).await;
    assert_eq!(s.persona("store").unwrap().name, "store");

    // An invalid definition is refused with its problems, and nothing is stored.
    let mut broken = (*s.selected.as_ref().unwrap().definition).clone();
    broken.initial_schema.tables[0].primary_key = vec!["no_such_column".into()];
    p.send(Command::Save {
        definition: Box::new(broken),
        note: "edit".into(),
    });
    let s = until(p, |s| last_text(s).contains("not a valid persona")).await;
    assert!(!s.save_problems.is_empty());
    assert!(!s.last_notice().unwrap().detail.is_empty());
    assert_eq!(s.persona("store").unwrap().version, 3);

    p.send(Command::Delete {
        persona: "store-copy".into(),
    });
    let s = until(p, |s| s.persona("store-copy").is_none()).await;
    assert_eq!(s.personas.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_round_trip() {
    let fx = start();
    let p = &fx.plane;
    p.send(Command::CreateFromTemplate {
        slug: "social_feed".into(),
        name: "feed".into(),
    });
    until(p, |s| s.persona("feed").is_some()).await;
    let expected = template::load_builtin("social_feed").unwrap();
    for dialect in Dialect::ALL {
        let path = fx.dir.path().join(format!("feed-{}.sql", dialect.as_str()));
        p.send(Command::Export {
            persona: "feed".into(),
            version: None,
            format: ExportFormat::Sql(dialect),
            path: path.clone(),
        });
        until(p, |s| last_text(s).contains(&path.display().to_string())).await;
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            written,
            ddl::script(&ddl::create_schema(&expected.initial_schema, dialect))
        );
    }
    let toml = fx.dir.path().join("feed.toml");
    p.send(Command::Export {
        persona: "feed".into(),
        version: Some(1),
        format: ExportFormat::Toml,
        path: toml.clone(),
    });
    until(p, |s| last_text(s).contains("feed.toml")).await;
    p.send(Command::Import {
        path: toml,
        name: Some("feed-imported".into()),
    });
    let s = until(p, |s| s.persona("feed-imported").is_some()).await;
    assert_eq!(
        s.persona("feed-imported").unwrap().table_count,
        expected.initial_schema.tables.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connection_test_provision_and_introspect() {
    let fx = start();
    let p = &fx.plane;
    let target = format!("sqlite://{}", fx.dir.path().join("target.db").display());
    p.send(Command::AddConnection {
        name: "local".into(),
        url: target,
        secret: SecretRef::None,
    });
    until(p, |s| s.connection("local").is_some()).await;
    p.send(Command::TestConnection {
        name: "local".into(),
        password: None,
    });
    let s = until(p, |s| {
        s.connection("local")
            .is_some_and(|c| !matches!(c.test, TestState::Untested | TestState::Running))
    })
    .await;
    assert_eq!(s.connection("local").unwrap().test, TestState::Ok);

    p.send(Command::CreateFromTemplate {
        slug: "ecommerce".into(),
        name: "shop".into(),
    });
    until(p, |s| s.persona("shop").is_some()).await;
    p.send(Command::PlanProvision {
        persona: "shop".into(),
        connection: "local".into(),
    });
    let s = until(p, |s| s.provision_plan.is_some()).await;
    let plan = s.provision_plan.clone().unwrap();
    let ecommerce = template::load_builtin("ecommerce").unwrap();
    assert_eq!(
        plan.statements,
        ddl::create_schema(&ecommerce.initial_schema, Dialect::Sqlite)
    );
    p.send(Command::Provision {
        persona: "shop".into(),
        connection: "local".into(),
        password: None,
    });
    let s = until(p, |s| last_text(s).starts_with("Provisioned")).await;
    assert!(s.provision_plan.is_none());

    p.send(Command::Introspect {
        connection: "local".into(),
        persona_name: "shop-live".into(),
        password: None,
    });
    let s = until(p, |s| s.persona("shop-live").is_some()).await;
    assert_eq!(
        s.persona("shop-live").unwrap().table_count,
        ecommerce.initial_schema.tables.len()
    );
    let s = until(p, |s| s.jobs.is_empty()).await;
    assert!(s.jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_reach_the_registry() {
    let fx = start();
    let p = &fx.plane;
    p.send(Command::AddConnection {
        name: "pg".into(),
        url: "postgres://app:s3cret@127.0.0.1:1/shop".into(),
        secret: SecretRef::None,
    });
    let s = until(p, |s| s.connection("pg").is_some()).await;
    let saved = &s.connection("pg").unwrap().saved;
    assert_eq!(saved.url, "postgres://app@127.0.0.1:1/shop");
    assert_eq!(saved.secret, SecretRef::Prompt);
    // Using it without the prompted password is refused before any connection attempt.
    p.send(Command::TestConnection {
        name: "pg".into(),
        password: None,
    });
    until(p, |s| last_text(s).contains("needs a password")).await;
    let raw = std::fs::read(fx.dir.path().join("registry.db")).unwrap();
    let wal = std::fs::read(fx.dir.path().join("registry.db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(!bytes.windows(6).any(|w| w == b"s3cret"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_registry_is_reported_and_commands_fail_cleanly() {
    let plane = ControlPlane::start(
        &tokio::runtime::Handle::current(),
        Some("oracle://nowhere".into()),
        Arc::new(|| {}),
    );
    until(&plane, |s| matches!(s.registry, RegistryStatus::Failed(_))).await;
    plane.send(Command::Refresh);
    let s = until(&plane, |s| !s.notices.is_empty()).await;
    assert!(last_text(&s).contains("not available"), "{}", last_text(&s));
}
