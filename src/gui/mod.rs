//! The desktop app (eframe/egui): the shell ([`app`]), its pages (library, editor with the
//! schema [`canvas`], connections, [`workload`]), theming and help. Every page draws from the latest
//! control-plane snapshot and returns intents; nothing here awaits or touches a database.

pub mod app;
pub mod canvas;
pub mod connections;
pub mod editor;
pub mod file_dialog;
pub mod help;
pub mod library;
pub mod preview;
pub mod settings;
pub mod theme;
pub mod widgets;
pub mod workload;

use std::sync::Arc;
use std::time::Instant;

use persona_engine::control_plane::ControlPlane;

pub use app::{Intent, PersonaApp};

/// Set to `1` to print the time from start to the first frame and quit.
pub const EXIT_AFTER_FIRST_FRAME_ENV: &str = "PERSONA_EXIT_AFTER_FIRST_FRAME";

/// Open the window and run until it closes. `runtime` runs the control plane; `started` is
/// when the process started (for the start-up measurement).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    registry_url: Option<String>,
    started: Instant,
) -> Result<(), eframe::Error> {
    let settings_path = settings::UiSettings::default_path();
    let size = settings_path
        .as_deref()
        .map(settings::UiSettings::load)
        .and_then(|s| s.window_size)
        .unwrap_or([1360.0, 860.0]);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Persona Studio")
            .with_app_id("persona-studio")
            .with_inner_size(size)
            .with_min_inner_size([900.0, 600.0]),
        ..eframe::NativeOptions::default()
    };
    let handle = runtime.handle().clone();
    eframe::run_native(
        "Persona Studio",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let plane = ControlPlane::start(
                &handle,
                registry_url,
                Arc::new(move || ctx.request_repaint()),
            );
            let mut app = PersonaApp::new(plane, settings_path);
            if std::env::var(EXIT_AFTER_FIRST_FRAME_ENV).is_ok_and(|v| v == "1") {
                app.exit_after_first_frame(started);
            }
            Ok(Box::new(app))
        }),
    )
}
