//! The application shell: top bar (name, search, theme, help), left navigation, the current
//! page, notices as toasts, keyboard shortcuts, and the loop that drains engine snapshots at
//! the start of each frame and applies the pages' intents after it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use egui::{Color32, CornerRadius, Key, KeyboardShortcut, Modifiers, RichText, Stroke};
use persona_engine::control_plane::{Command, ControlPlane, Level, RegistryStatus, Snapshot};

use super::connections::ConnectionsPage;
use super::editor::EditorPage;
use super::library::LibraryPage;
use super::settings::{Page, UiSettings};
use super::workload::WorkloadPage;
use super::{help, theme};

/// What a page asks the shell to do once the frame is drawn.
#[must_use]
#[derive(Debug)]
pub enum Intent {
    /// Send a command to the engine.
    Send(Command),
    /// Show another page.
    Navigate(Page),
    /// Open a persona (by id) in the editor.
    OpenEditor(String),
    /// Remember the directory of the last export.
    RememberExportDir(PathBuf),
}

/// How long a success or info notice stays on screen, in seconds.
const TOAST_SECONDS: f64 = 6.0;

/// The desktop app.
pub struct PersonaApp {
    plane: ControlPlane,
    snapshot: Arc<Snapshot>,
    settings: UiSettings,
    settings_path: Option<PathBuf>,
    pub library: LibraryPage,
    pub connections: ConnectionsPage,
    pub editor: EditorPage,
    pub workload: WorkloadPage,
    search: String,
    focus_search: bool,
    show_help: bool,
    theme_installed: bool,
    /// When each notice was first shown (input time), for fading toasts.
    seen: HashMap<u64, f64>,
    /// Print the time to the first frame and quit (start-up measurement).
    exit_after_first_frame: Option<Instant>,
    frames: u64,
}

impl PersonaApp {
    /// An app over `plane`. `settings_path`: where UI state is kept (None: defaults, not kept).
    pub fn new(plane: ControlPlane, settings_path: Option<PathBuf>) -> Self {
        let settings = settings_path
            .as_deref()
            .map(UiSettings::load)
            .unwrap_or_default();
        let layout_dir = settings_path
            .as_deref()
            .and_then(std::path::Path::parent)
            .map(|d| d.join("layouts"));
        let editor = EditorPage::new(layout_dir).resuming(settings.last_persona.clone());
        PersonaApp {
            snapshot: plane.snapshot(),
            plane,
            settings,
            settings_path,
            library: LibraryPage::default(),
            connections: ConnectionsPage::default(),
            editor,
            workload: WorkloadPage::default(),
            search: String::new(),
            focus_search: false,
            show_help: false,
            theme_installed: false,
            seen: HashMap::new(),
            exit_after_first_frame: None,
            frames: 0,
        }
    }

    /// Quit after the first frame has been shown, printing the time since `started`.
    pub fn exit_after_first_frame(&mut self, started: Instant) {
        self.exit_after_first_frame = Some(started);
    }

    /// The latest snapshot the app has drawn from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The control plane (tests send commands directly too).
    pub fn plane(&self) -> &ControlPlane {
        &self.plane
    }

    pub fn page(&self) -> Page {
        self.settings.page
    }

    pub fn settings(&self) -> &UiSettings {
        &self.settings
    }

    /// Draw one frame into `ui` (the whole window).
    pub fn app_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.theme_installed {
            theme::install(&ctx, self.settings.dark);
            self.theme_installed = true;
        }
        // Drain engine changes once, at the start of the frame.
        self.snapshot = self.plane.snapshot();
        let snapshot = Arc::clone(&self.snapshot);
        let mut intents = self.shortcuts(&ctx, &snapshot);

        egui::Panel::top("top_bar")
            .frame(
                egui::Frame::side_top_panel(ui.style())
                    .inner_margin(egui::Margin::symmetric(14, 8)),
            )
            .show(ui, |ui| self.top_bar_ui(ui, &snapshot));
        egui::Panel::left("navigation")
            .resizable(false)
            .exact_size(176.0)
            .show(ui, |ui| intents.extend(self.navigation_ui(ui, &snapshot)));
        let export_dir = self.export_dir();
        intents.extend(match self.settings.page {
            Page::Library => self.library.ui(ui, &snapshot, &self.search, &export_dir),
            Page::Editor => self.editor.ui(ui, &snapshot),
            Page::Connections => self.connections.ui(ui, &snapshot),
            Page::Workload => self.workload.ui(ui, &snapshot),
        });
        if self.show_help {
            egui::Window::new("Help")
                .open(&mut self.show_help)
                .collapsible(false)
                .resizable(false)
                .default_pos(ctx.content_rect().right_top() + egui::vec2(-440.0, 64.0))
                .show(&ctx, help::help_ui);
        }
        intents.extend(self.toasts_ui(&ctx, &snapshot));
        for intent in intents {
            self.apply(intent);
        }
        self.remember_window(&ctx);
        self.frames += 1;
        if let Some(started) = self.exit_after_first_frame {
            // The first frame has been painted once the second one starts.
            if self.frames >= 2 {
                self.exit_after_first_frame = None;
                println!(
                    "first frame after {:.0} ms",
                    started.elapsed().as_secs_f64() * 1000.0
                );
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ctx.request_repaint();
            }
        }
    }

    fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::Send(command) => self.plane.send(command),
            Intent::Navigate(page) => self.set_page(page),
            Intent::OpenEditor(id) => {
                if self.settings.last_persona.as_deref() != Some(id.as_str()) {
                    self.settings.last_persona = Some(id.clone());
                    self.store_settings();
                }
                let send = self.editor.open(&id);
                self.library.selected = Some(id);
                self.apply(send);
                self.set_page(Page::Editor);
            }
            Intent::RememberExportDir(dir) => {
                self.settings.export_dir = Some(dir);
                self.store_settings();
            }
        }
    }

    fn set_page(&mut self, page: Page) {
        if self.settings.page != page {
            self.settings.page = page;
            self.store_settings();
        }
    }

    fn store_settings(&self) {
        if let Some(path) = &self.settings_path {
            self.settings.store(path);
        }
    }

    /// Where exports go by default: $PERSONA_EXPORT_DIR, else the last one, else the current
    /// directory.
    fn export_dir(&self) -> PathBuf {
        std::env::var_os("PERSONA_EXPORT_DIR")
            .map(PathBuf::from)
            .or_else(|| self.settings.export_dir.clone())
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default()
    }

    fn remember_window(&mut self, ctx: &egui::Context) {
        if let Some(rect) = ctx.input(|i| i.viewport().inner_rect) {
            let size = [rect.width().round(), rect.height().round()];
            if self.settings.window_size != Some(size) && size[0] > 200.0 && size[1] > 200.0 {
                self.settings.window_size = Some(size);
            }
        }
    }

    /// Save the UI state (call on exit).
    pub fn on_exit(&self) {
        self.store_settings();
    }

    fn shortcuts(&mut self, ctx: &egui::Context, snapshot: &Snapshot) -> Vec<Intent> {
        let typing = ctx.egui_wants_keyboard_input();
        let mut intents = Vec::new();
        let (new, search, help, delete) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::N)),
                i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::F)),
                i.consume_key(Modifiers::NONE, Key::F1),
                self.settings.page == Page::Library
                    && !typing
                    && i.consume_key(Modifiers::NONE, Key::Delete),
            )
        });
        if new {
            intents.push(Intent::Navigate(Page::Library));
            self.library.new_persona(snapshot, None);
        }
        if search {
            self.focus_search = true;
            if self.settings.page != Page::Library {
                intents.push(Intent::Navigate(Page::Library));
            }
        }
        if help {
            self.show_help = !self.show_help;
        }
        if delete {
            self.library.delete_selected(snapshot);
        }
        intents
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(22.0, 22.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, CornerRadius::same(6), theme::ACCENT);
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "P",
                egui::FontId::proportional(14.0),
                Color32::WHITE,
            );
            ui.label(RichText::new("Persona Studio").strong().size(16.0));
            ui.add_space(18.0);
            let label = ui.label("🔍");
            let search = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("Search personas and templates (Ctrl+F)")
                        .desired_width(320.0),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.focus_search) {
                search.request_focus();
            }
            if search.changed() && self.settings.page != Page::Library {
                self.set_page(Page::Library);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("？ Help")
                    .on_hover_text("Keyboard shortcuts (F1)")
                    .clicked()
                {
                    self.show_help = !self.show_help;
                }
                let (icon, tip) = if self.settings.dark {
                    ("☀ Light", "Switch to the light theme")
                } else {
                    ("🌙 Dark", "Switch to the dark theme")
                };
                if ui.button(icon).on_hover_text(tip).clicked() {
                    self.settings.dark = !self.settings.dark;
                    theme::apply(ui.ctx(), self.settings.dark);
                    self.store_settings();
                }
                for job in &snapshot.jobs {
                    ui.label(RichText::new(&job.label).color(theme::muted(ui)));
                    ui.spinner();
                }
            });
        });
    }

    fn navigation_ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) -> Vec<Intent> {
        let mut intents = Vec::new();
        ui.add_space(10.0);
        for page in Page::ALL {
            let selected = self.settings.page == page;
            let text = RichText::new(format!("{}  {}", page.icon(), page.label())).size(14.5);
            let button = egui::Button::selectable(selected, text)
                .min_size(egui::vec2(ui.available_width(), 32.0));
            if ui.add(button).clicked() {
                intents.push(Intent::Navigate(page));
            }
        }
        ui.with_layout(egui::Layout::bottom_up(egui::Align::Min), |ui| {
            ui.add_space(8.0);
            let (text, color) = match &snapshot.registry {
                RegistryStatus::Opening => ("Opening registry…".to_owned(), theme::WARNING),
                RegistryStatus::Ready { location } => (location.clone(), theme::SUCCESS),
                RegistryStatus::Failed(e) => (e.clone(), theme::DANGER),
            };
            ui.add(
                egui::Label::new(RichText::new(text).small().color(theme::muted(ui))).truncate(),
            );
            ui.horizontal(|ui| {
                ui.painter()
                    .circle_filled(ui.cursor().min + egui::vec2(5.0, 8.0), 4.0, color);
                ui.add_space(12.0);
                ui.label(RichText::new("Registry").small().strong());
            });
            ui.label(
                RichText::new(format!(
                    "{} persona{} · {} templates",
                    snapshot.personas.len(),
                    if snapshot.personas.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    snapshot.templates.len()
                ))
                .small()
                .color(theme::muted(ui)),
            );
        });
        intents
    }

    /// Notices in the bottom-right corner: errors stay until dismissed, others fade.
    fn toasts_ui(&mut self, ctx: &egui::Context, snapshot: &Snapshot) -> Vec<Intent> {
        let now = ctx.input(|i| i.time);
        let mut intents = Vec::new();
        let visible: Vec<_> = snapshot
            .notices
            .iter()
            .filter(|n| {
                let first = *self.seen.entry(n.id).or_insert(now);
                n.level == Level::Error || now - first < TOAST_SECONDS
            })
            .collect();
        self.seen
            .retain(|id, _| snapshot.notices.iter().any(|n| n.id == *id));
        if visible.iter().any(|n| n.level != Level::Error) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
        if visible.is_empty() {
            return intents;
        }
        egui::Area::new(egui::Id::new("toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -16.0))
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                for n in visible.iter().rev().take(4).rev() {
                    let color = match n.level {
                        Level::Info => theme::ACCENT,
                        Level::Success => theme::SUCCESS,
                        Level::Error => theme::DANGER,
                    };
                    egui::Frame::new()
                        .fill(ui.visuals().window_fill)
                        .stroke(Stroke::new(1.0, color))
                        .corner_radius(CornerRadius::same(8))
                        .inner_margin(egui::Margin::same(10))
                        .shadow(ui.visuals().popup_shadow)
                        .show(ui, |ui| {
                            ui.set_width(400.0);
                            ui.horizontal(|ui| {
                                ui.label(RichText::new(&n.text).color(color));
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Min),
                                    |ui| {
                                        if ui.small_button("✖").on_hover_text("Dismiss").clicked()
                                        {
                                            intents.push(Intent::Send(Command::DismissNotice {
                                                id: n.id,
                                            }));
                                        }
                                    },
                                );
                            });
                            for line in n.detail.iter().take(8) {
                                ui.label(RichText::new(line).small().monospace());
                            }
                            if n.detail.len() > 8 {
                                ui.label(
                                    RichText::new(format!("… and {} more", n.detail.len() - 8))
                                        .small(),
                                );
                            }
                        });
                    ui.add_space(6.0);
                }
            });
        intents
    }
}

impl eframe::App for PersonaApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app_ui(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        PersonaApp::on_exit(self);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }
}
