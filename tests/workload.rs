//! The Workload page driven through the real UI with egui_kittest (no GPU): a capture seeded in
//! a temporary registry (as `persona proxy` saves one) shows its top patterns and co-access
//! rules; picking a persona's schema shows the join no foreign key backs; Refresh picks up what
//! was saved since.

use std::sync::Arc;
use std::time::Duration;

use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use persona_core::PersonaDefinition;
use persona_core::analysis::recorder::{CaptureRecorder, RecorderConfig};
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::control_plane::{ControlPlane, RegistryStatus, Snapshot};
use persona_engine::registry::Registry;
use persona_studio::gui::PersonaApp;
use persona_studio::gui::settings::Page;

struct Fixture {
    harness: Harness<'static, PersonaApp>,
    registry: String,
    _dir: tempfile::TempDir,
    // Dropped last: the control plane's tasks run on it.
    runtime: tokio::runtime::Runtime,
}

/// `rounds` sessions that read a customer by id, then that customer's orders joined to the
/// customer, saved into the capture `shop-traffic` as the proxy saves them.
fn seed(runtime: &tokio::runtime::Runtime, registry: &str, rounds: i64, from: i64) {
    let mut recorder = CaptureRecorder::new(RecorderConfig::default());
    for i in from..from + rounds {
        let at = 1_700_000_000_000_000 + i * 10_000_000;
        let statements = [
            format!("SELECT * FROM customers WHERE id = {i}"),
            format!(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE o.customer_id = {i}"
            ),
        ];
        for (k, sql) in statements.into_iter().enumerate() {
            let mut e = CaptureEvent::single(
                CaptureSource::Proxy,
                at + k as i64 * 1_000,
                sql,
                Duration::from_micros(400),
            );
            e.session = Some(format!("pid{}", i % 3));
            e.rows = Some(2);
            recorder.record(&e);
        }
    }
    let delta = recorder.finish();
    runtime.block_on(async {
        let registry = Registry::open(Some(registry)).await.unwrap();
        registry
            .flush_capture("shop-traffic", CaptureSource::Proxy, &delta)
            .await
            .unwrap();
        registry.close().await;
    });
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.db").display().to_string();
    seed(&runtime, &registry, 30, 0);
    // A persona whose schema has no foreign key from orders to customers.
    let shop: PersonaDefinition = serde_json::from_value(serde_json::json!({
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
    .unwrap();
    runtime.block_on(async {
        let reg = Registry::open(Some(&registry)).await.unwrap();
        reg.create(&shop, "test").await.unwrap();
        reg.close().await;
    });
    let plane = ControlPlane::start(runtime.handle(), Some(registry.clone()), Arc::new(|| {}));
    let app = PersonaApp::new(plane, None);
    let harness = Harness::builder()
        .with_size(vec2(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut PersonaApp| app.app_ui(ui), app);
    let mut fx = Fixture {
        harness,
        registry,
        _dir: dir,
        runtime,
    };
    fx.until("the registry to open", |s| {
        matches!(s.registry, RegistryStatus::Ready { .. }) && !s.personas.is_empty()
    });
    fx
}

impl Fixture {
    /// Step the UI until the engine's snapshot satisfies `done` (at most ~10 s), then a few
    /// more frames so the UI shows it.
    fn until(&mut self, what: &str, done: impl Fn(&Snapshot) -> bool) {
        for _ in 0..1000 {
            self.harness.step();
            if done(&self.harness.state().plane().snapshot()) {
                self.harness.run_steps(3);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "timed out waiting for {what}; last snapshot: {:#?}",
            self.harness.state().plane().snapshot()
        );
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    fn shows(&self, text: &str) -> bool {
        self.harness.query_by_label_contains(text).is_some()
    }
}

#[test]
fn the_workload_page_shows_a_stored_capture() {
    let mut fx = fixture();
    fx.click("📈  Workload");
    assert_eq!(fx.harness.state().page(), Page::Workload);
    fx.until("the capture to be analysed", |s| {
        s.workload
            .as_ref()
            .is_some_and(|w| w.info.name == "shop-traffic")
    });
    // The top patterns table: the statement, its calls and rows.
    let by_id = "SELECT * FROM customers WHERE id = ?";
    assert!(
        fx.harness.query_by_label(by_id).is_some(),
        "the pattern is listed"
    );
    assert!(fx.shows("2 patterns · 60 calls · 30 session windows"));
    let view = fx.harness.state().snapshot().workload.clone().unwrap();
    let row = view
        .results
        .frequent_queries
        .iter()
        .find(|q| q.normalized_sql == by_id)
        .unwrap();
    assert_eq!((row.calls, row.rows), (30, 60));
    // The co-access rule between the two statements' filter columns.
    assert!(
        fx.shows("{customers.id} ⇒ {orders.customer_id}"),
        "{:#?}",
        view.results.rules
    );
    assert!(fx.shows("Pick a schema to check joins"));

    // With the persona's schema, the join no foreign key backs appears.
    fx.click("Schema");
    fx.click("shop");
    fx.until("the analysis with a schema", |s| {
        s.workload
            .as_ref()
            .is_some_and(|w| w.schema_persona.as_deref() == Some("shop"))
    });
    assert!(
        fx.shows("orders(customer_id) → customers(id) · 30 joins"),
        "{:#?}",
        fx.harness.state().snapshot().workload
    );

    // What the proxy saves later shows after Refresh.
    let registry = fx.registry.clone();
    seed(&fx.runtime, &registry, 10, 30);
    fx.click("⟳ Refresh");
    fx.until("the refreshed capture", |s| {
        s.workload.as_ref().is_some_and(|w| w.info.calls == 80)
    });
    assert!(fx.shows("2 patterns · 80 calls"));
}
