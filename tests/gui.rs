//! The desktop app driven through its real UI with egui_kittest (no GPU): the library (create
//! from a template, rename, delete with confirmation), opening a persona in the editor,
//! exporting DDL through the typed-path route, the help shortcut, connections, layouts kept in
//! the registry, and the Workload page over a stored capture. Each test runs the control
//! plane on its own runtime over a temporary registry and steps the UI until the engine's
//! snapshot shows the result (bounded).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use egui::accesskit::Role;
use egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use persona_core::analysis::recorder::{CaptureRecorder, RecorderConfig};
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_core::{Dialect, ddl, template};
use persona_engine::control_plane::{ControlPlane, RegistryStatus, Snapshot};
use persona_engine::registry::Registry;
use persona_studio::gui::PersonaApp;
use persona_studio::gui::settings::Page;

struct Fixture {
    harness: Harness<'static, PersonaApp>,
    dir: tempfile::TempDir,
    // Dropped last: the control plane's tasks run on it.
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    fixture_in(tempfile::tempdir().unwrap(), None)
}

/// The app over `dir/registry.db`, with its UI settings at `settings` (None: not kept).
fn fixture_in(dir: tempfile::TempDir, settings: Option<&Path>) -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = dir.path().join("registry.db").display().to_string();
    let plane = ControlPlane::start(runtime.handle(), Some(registry), Arc::new(|| {}));
    let app = PersonaApp::new(plane, settings.map(Path::to_path_buf));
    let harness = Harness::builder()
        .with_size(vec2(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut PersonaApp| app.app_ui(ui), app);
    let mut fx = Fixture {
        harness,
        dir,
        runtime,
    };
    fx.until("the registry to open", |s| {
        matches!(s.registry, RegistryStatus::Ready { .. }) && !s.templates.is_empty()
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

    /// Whether some widget's label contains `text`.
    fn shows_text(&self, text: &str) -> bool {
        self.harness.query_by_label_contains(text).is_some()
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.run_steps(2);
    }

    fn click_button(&mut self, label: &str) {
        self.harness
            .get_by_role_and_label(Role::Button, label)
            .click();
        self.harness.run_steps(2);
    }

    /// Replace the text of the field labelled `label` by typing.
    fn retype(&mut self, label: &str, text: &str) {
        self.harness.get_by_label(label).focus();
        self.harness.run_steps(1);
        self.harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
        self.harness.run_steps(1);
        self.harness.get_by_label(label).type_text(text);
        self.harness.run_steps(2);
        assert_eq!(
            self.harness.get_by_label(label).value().as_deref(),
            Some(text)
        );
    }

    fn has_button(&self, label: &str) -> bool {
        self.harness
            .query_by_role_and_label(Role::Button, label)
            .is_some()
    }

    /// The id of the persona `name` in the engine's snapshot.
    fn persona_id(&self, name: &str) -> String {
        let snapshot = self.harness.state().snapshot();
        snapshot.persona(name).unwrap().persona_id.clone()
    }

    /// Open the persona `name` in the editor from the library and wait for its canvas.
    fn open_in_editor(&mut self, name: &str) -> String {
        self.click("📚  Library");
        self.click_button(name);
        self.until("the persona to load", |s| {
            s.selected
                .as_ref()
                .is_some_and(|sel| sel.definition.name == name)
        });
        self.click("Open in editor");
        let id = self.persona_id(name);
        for _ in 0..500 {
            self.harness.step();
            if self.harness.state().editor.persona_id() == Some(id.as_str()) {
                self.harness.run_steps(3);
                return id;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "the editor did not open `{name}`; page {:?}, selected {:?}, notices {:?}",
            self.harness.state().page(),
            self.harness
                .state()
                .plane()
                .snapshot()
                .selected
                .as_ref()
                .map(|s| s.definition.name.clone()),
            self.harness.state().plane().snapshot().notices,
        );
    }

    /// Where the canvas shows `table` (canvas units), with the canvas's zoom.
    fn position(&mut self, table: &str) -> ([f32; 2], f32) {
        let canvas = self.harness.state_mut().editor.canvas().expect("a canvas");
        (canvas.layout().positions[table], canvas.layout().zoom)
    }

    /// Create a persona from the e-commerce template through the gallery.
    fn create_shop(&mut self, name: &str) {
        self.click("Use template E-commerce product catalog");
        self.retype("Persona name", name);
        self.click("Create");
        self.until("the persona to be created", |s| s.persona(name).is_some());
    }
}

#[test]
fn library_creates_renames_and_deletes_with_confirmation() {
    let mut fx = fixture();
    assert_eq!(fx.harness.state().page(), Page::Library);
    // Every template has a card.
    for t in template::builtin() {
        let name = t.parse().unwrap().name;
        assert!(fx.has_button(&format!("Use template {name}")), "{name}");
    }
    fx.create_shop("shop");
    assert!(fx.has_button("shop"), "the new persona is listed");
    let expected_tables = template::load_builtin("ecommerce")
        .unwrap()
        .initial_schema
        .tables
        .len();
    assert_eq!(
        fx.harness
            .state()
            .snapshot()
            .persona("shop")
            .unwrap()
            .table_count,
        expected_tables
    );

    fx.click_button("shop");
    fx.until("the selection to load", |s| s.selected.is_some());
    fx.click("Rename…");
    fx.retype("New name", "store");
    fx.click("Rename");
    fx.until("the rename", |s| {
        s.persona("store").is_some() && s.persona("shop").is_none()
    });
    assert!(fx.has_button("store"));
    assert!(!fx.has_button("shop"));
    // The rename made version 2, and the history offers to restore version 1.
    fx.until("the history", |s| {
        s.selected
            .as_ref()
            .is_some_and(|sel| sel.history.len() == 2)
    });
    assert!(fx.has_button("Restore v1"));

    // Delete asks first; cancelling keeps the persona.
    fx.click("Delete…");
    fx.click("Cancel");
    fx.harness.run_steps(5);
    assert!(fx.harness.state().snapshot().persona("store").is_some());
    fx.click("Delete…");
    fx.click("Delete");
    fx.until("the deletion", |s| s.personas.is_empty());
    assert!(!fx.has_button("store"));
}

#[test]
fn a_persona_opens_in_the_editor() {
    let mut fx = fixture();
    fx.create_shop("shop");
    let id = fx.open_in_editor("shop");
    assert_eq!(fx.harness.state().page(), Page::Editor);
    assert_eq!(fx.harness.state().editor.persona_id(), Some(id.as_str()));
    let app = fx.harness.state_mut();
    let canvas = app.editor.canvas().expect("the canvas is open");
    assert_eq!(canvas.persona().name, "shop");
}

#[test]
fn ddl_exports_for_every_dialect_match_the_core_generator() {
    let mut fx = fixture();
    fx.create_shop("shop");
    let schema = template::load_builtin("ecommerce").unwrap().initial_schema;
    for dialect in Dialect::ALL {
        fx.click_button("shop");
        fx.click("Export…");
        // Open the format list and pick the dialect.
        fx.click("Format");
        fx.click(&format!("SQL ({})", dialect.as_str()));
        let path = fx.dir.path().join(format!("out-{}.sql", dialect.as_str()));
        fx.retype("File", &path.display().to_string());
        fx.click("Export");
        let shown = path.display().to_string();
        fx.until("the export", |s| {
            s.notices.iter().any(|n| n.text.contains(&shown))
        });
        let written = std::fs::read_to_string(Path::new(&path)).unwrap();
        assert_eq!(written, ddl::script(&ddl::create_schema(&schema, dialect)));
    }
}

#[test]
fn f1_shows_the_shortcuts_and_ctrl_n_opens_the_new_persona_dialog() {
    let mut fx = fixture();
    assert!(fx.harness.query_by_label("Ctrl+Shift+Z").is_none());
    fx.harness.key_press(Key::F1);
    fx.harness.run_steps(2);
    assert!(fx.harness.query_by_label("Ctrl+Shift+Z").is_some());
    fx.harness.key_press(Key::F1);
    fx.harness.run_steps(2);
    assert!(fx.harness.query_by_label("Ctrl+Shift+Z").is_none());

    fx.click("🔌  Connections");
    assert_eq!(fx.harness.state().page(), Page::Connections);
    fx.harness.key_press_modifiers(Modifiers::COMMAND, Key::N);
    fx.harness.run_steps(2);
    assert_eq!(fx.harness.state().page(), Page::Library);
    assert!(fx.harness.query_by_label("Persona name").is_some());
}

#[test]
fn connections_are_added_tested_and_provisioned_after_showing_the_ddl() {
    let mut fx = fixture();
    fx.create_shop("shop");
    fx.click("🔌  Connections");
    let target = fx.dir.path().join("target.db");
    fx.retype("Connection name", "local");
    fx.retype("Database URL", &format!("sqlite://{}", target.display()));
    fx.click("Save connection");
    fx.until("the connection", |s| s.connection("local").is_some());
    fx.click("Test connection");
    fx.until("the test", |s| {
        s.connection("local")
            .is_some_and(|c| c.test == persona_engine::control_plane::TestState::Ok)
    });
    fx.click("Persona");
    fx.click("shop");
    fx.click("Preview DDL…");
    fx.until("the plan", |s| s.provision_plan.is_some());
    let plan = fx
        .harness
        .state()
        .snapshot()
        .provision_plan
        .clone()
        .unwrap();
    let schema = template::load_builtin("ecommerce").unwrap().initial_schema;
    assert_eq!(
        plan.statements,
        ddl::create_schema(&schema, Dialect::Sqlite)
    );
    fx.click_button("Provision");
    fx.until("provisioning", |s| {
        s.notices.iter().any(|n| n.text.starts_with("Provisioned"))
    });
    assert!(target.exists());
}

#[test]
fn a_moved_table_keeps_its_place_when_the_persona_is_reopened() {
    let mut fx = fixture();
    fx.create_shop("shop");
    let id = fx.open_in_editor("shop");
    let (before, zoom) = fx.position("orders");

    // Drag the orders card by its header, a frame per step.
    let header = fx.harness.get_by_label("orders table").rect().center();
    let to = header + vec2(180.0, 120.0);
    fx.harness.hover_at(header);
    fx.harness.run_steps(1);
    fx.harness.drag_at(header);
    fx.harness.run_steps(1);
    for i in 1..=5 {
        fx.harness
            .hover_at(header + (to - header) * (i as f32 / 5.0));
        fx.harness.run_steps(1);
    }
    fx.harness.drop_at(to);
    fx.harness.run_steps(2);
    let (moved, _) = fx.position("orders");
    assert!(
        (moved[0] - before[0]).abs() > 100.0 && (moved[1] - before[1]).abs() > 60.0,
        "{before:?} -> {moved:?} at zoom {zoom}"
    );

    // Save: only the layout changed, so the persona gets no new version.
    fx.click_button("Save");
    fx.until("the layout to be stored", |s| {
        s.selected
            .as_ref()
            .and_then(|sel| sel.layout.as_deref())
            .is_some_and(|l| l["positions"]["orders"][0].as_f64() == Some(f64::from(moved[0])))
    });
    assert_eq!(
        fx.harness
            .state()
            .snapshot()
            .persona("shop")
            .unwrap()
            .version,
        1
    );

    // A new session on the same registry opens the persona with the table where it was left.
    let Fixture {
        dir,
        harness,
        runtime,
    } = fx;
    drop(harness);
    drop(runtime);
    let mut again = fixture_in(dir, None);
    assert_eq!(again.open_in_editor("shop"), id);
    let (reopened, _) = again.position("orders");
    let same = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3;
    assert!(same(reopened, moved), "{moved:?} came back as {reopened:?}");

    // Deleting the persona deletes its layout with it.
    again.click("📚  Library");
    again.click_button("shop");
    again.click("Delete…");
    again.click("Delete");
    again.until("the deletion", |s| s.personas.is_empty());
    let registry = again.dir.path().join("registry.db");
    let rows = again.runtime.block_on(async {
        let reg = persona_engine::registry::Registry::open(Some(&registry.display().to_string()))
            .await
            .unwrap();
        let gone = reg.layout(&id).await;
        reg.close().await;
        gone
    });
    assert!(
        matches!(
            rows,
            Err(persona_engine::registry::RegistryError::NotFound(_))
        ),
        "{rows:?}"
    );
}

#[test]
fn a_layout_file_from_an_earlier_release_is_copied_into_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("ui.json");
    let mut fx = fixture_in(dir, Some(&settings));
    fx.create_shop("shop");
    let id = fx.persona_id("shop");
    // What an earlier release wrote beside the UI settings.
    let legacy = persona_studio::gui::editor::layout_file(&fx.dir.path().join("layouts"), &id);
    std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    let tables = template::load_builtin("ecommerce")
        .unwrap()
        .initial_schema
        .tables;
    let positions: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                t.name.clone(),
                serde_json::json!([i as f32 * 300.0, 2000.0]),
            )
        })
        .collect();
    let layout = serde_json::json!({
        "positions": positions,
        "zoom": 0.5,
        "pan": [10.0, 20.0],
        "snap": true
    });
    let orders = tables.iter().position(|t| t.name == "orders").unwrap() as f32 * 300.0;
    std::fs::write(&legacy, layout.to_string()).unwrap();

    fx.open_in_editor("shop");
    let (at, zoom) = fx.position("orders");
    assert!(
        (at[0] - orders).abs() < 1e-3 && (at[1] - 2000.0).abs() < 1e-3 && (zoom - 0.5).abs() < 1e-6,
        "{at:?} at zoom {zoom}"
    );
    // Copied into the registry, and the file is left alone.
    fx.until("the layout to be stored", |s| {
        s.selected
            .as_ref()
            .and_then(|sel| sel.layout.as_deref())
            .is_some_and(|l| l["positions"]["orders"] == layout["positions"]["orders"])
    });
    assert!(legacy.exists());
}

// ---------------------------------------------------------------------------------------------
// The Workload page: a capture seeded as `persona proxy` saves one.

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

#[test]
fn the_workload_page_shows_a_stored_capture() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.db").display().to_string();
    let setup = tokio::runtime::Runtime::new().unwrap();
    seed(&setup, &registry, 30, 0);
    let shop = persona_engine::testing::shop_without_foreign_key();
    setup.block_on(async {
        let reg = Registry::open(Some(&registry)).await.unwrap();
        reg.create(&shop, "test").await.unwrap();
        reg.close().await;
    });
    let mut fx = fixture_in(dir, None);
    fx.until("the persona", |s| !s.personas.is_empty());
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
    assert!(fx.shows_text("2 patterns · 60 calls · 30 session windows"));
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
        fx.shows_text("{customers.id} ⇒ {orders.customer_id}"),
        "{:#?}",
        view.results.rules
    );
    assert!(fx.shows_text("Pick a schema to check joins"));

    // With the persona's schema, the join no foreign key backs appears.
    fx.click("Schema");
    fx.click("shop");
    fx.until("the analysis with a schema", |s| {
        s.workload
            .as_ref()
            .is_some_and(|w| w.schema_persona.as_deref() == Some("shop"))
    });
    assert!(
        fx.shows_text("orders(customer_id) → customers(id) · 30 joins"),
        "{:#?}",
        fx.harness.state().snapshot().workload
    );

    // What the proxy saves later shows after Refresh.
    seed(&setup, &registry, 10, 30);
    fx.click("⟳ Refresh");
    fx.until("the refreshed capture", |s| {
        s.workload.as_ref().is_some_and(|w| w.info.calls == 80)
    });
    assert!(fx.shows_text("2 patterns · 80 calls"));
}
