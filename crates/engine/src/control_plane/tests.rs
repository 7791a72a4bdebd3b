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

/// A capture as a proxy would store it: sessions that read a customer, then their orders
/// (joining the two), a few times each.
async fn seed_capture(registry: &crate::registry::Registry, name: &str) {
    use persona_core::analysis::recorder::{CaptureRecorder, RecorderConfig};
    use persona_core::model::{CaptureEvent, CaptureSource};

    let mut recorder = CaptureRecorder::new(RecorderConfig::default());
    let t0 = 1_700_000_000_000_000_i64;
    for i in 0..30_i64 {
        let at = t0 + i * 10_000_000;
        for (k, sql) in [
            format!("SELECT * FROM customers WHERE id = {i}"),
            format!(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE o.customer_id = {i}"
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = CaptureEvent::single(
                CaptureSource::Proxy,
                at + k as i64 * 1_000,
                sql,
                Duration::from_micros(200 + 100 * k as u64),
            );
            e.session = Some(format!("pid{}", i % 4));
            e.rows = Some(1);
            recorder.record(&e);
        }
    }
    registry
        .flush_capture(name, CaptureSource::Proxy, &recorder.finish())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_captures_are_listed_and_analysed() {
    let fx = start();
    let p = &fx.plane;
    until(p, |s| matches!(s.registry, RegistryStatus::Ready { .. })).await;
    let registry = crate::registry::Registry::open(Some(
        &fx.dir.path().join("registry.db").display().to_string(),
    ))
    .await
    .unwrap();
    seed_capture(&registry, "proxy").await;
    let persona = crate::testing::shop_without_foreign_key();
    registry.create(&persona, "test").await.unwrap();
    registry.close().await;

    p.send(Command::RefreshCaptures);
    let s = until(p, |s| !s.captures.is_empty()).await;
    assert_eq!(s.captures[0].name, "proxy");
    assert_eq!(s.captures[0].calls, 60);

    p.send(Command::LoadCapture {
        name: "proxy".into(),
        schema_persona: None,
    });
    let s = until(p, |s| s.workload.is_some()).await;
    let view = s.workload.as_ref().unwrap();
    let top = &view.results.frequent_queries;
    assert_eq!(top.len(), 2);
    let by_id = top
        .iter()
        .find(|q| q.normalized_sql == "SELECT * FROM customers WHERE id = ?")
        .unwrap();
    assert_eq!((by_id.calls, by_id.rows), (30, 30));
    assert!(by_id.p50_ms > 0.1 && by_id.p50_ms < 0.3, "{}", by_id.p50_ms);
    assert_eq!(view.windows, 30);
    assert!(
        view.results
            .rules
            .iter()
            .any(|r| r.antecedent == ["customers.id"] && r.consequent == ["orders.customer_id"]),
        "{:#?}",
        view.results.rules
    );
    assert!(view.results.emerging_relationships.is_empty(), "no schema");

    p.send(Command::LoadCapture {
        name: "proxy".into(),
        schema_persona: Some("shop".into()),
    });
    let s = until(p, |s| {
        s.workload
            .as_ref()
            .is_some_and(|w| w.schema_persona.is_some())
    })
    .await;
    let rel = &s.workload.as_ref().unwrap().results.emerging_relationships;
    assert_eq!(rel.len(), 1, "{rel:#?}");
    assert_eq!(
        (rel[0].from_table.as_str(), rel[0].to_table.as_str()),
        ("orders", "customers")
    );

    p.send(Command::LoadCapture {
        name: "nope".into(),
        schema_persona: None,
    });
    let s = until(p, |s| last_text(s).contains("no capture named `nope`")).await;
    assert!(last_text(&s).contains("(captures: proxy)"));
}
