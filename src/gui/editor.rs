//! The persona editor page: hosts the schema canvas ([`super::canvas::SchemaEditor`]) for the
//! persona opened from the library, and turns its save requests into control-plane commands.
//! Canvas layouts are kept per persona as JSON beside the UI settings (not in the schema).

use std::path::{Path, PathBuf};

use egui::RichText;
use persona_engine::control_plane::{Command, Snapshot};

use super::app::Intent;
use super::canvas::{CanvasLayout, EditorOutput, SchemaEditor};
use super::theme;
use super::widgets::page_header;

/// State of the editor page.
#[derive(Default)]
pub struct EditorPage {
    /// The persona asked for, until the engine has loaded it.
    pending: Option<String>,
    /// The persona being edited (its id) and the canvas.
    open: Option<(String, SchemaEditor)>,
    /// Where canvas layouts are kept (None: not kept).
    layout_dir: Option<PathBuf>,
    /// Unsaved edits since the last save.
    pub dirty: bool,
}

impl EditorPage {
    pub fn new(layout_dir: Option<PathBuf>) -> Self {
        EditorPage {
            layout_dir,
            ..EditorPage::default()
        }
    }

    /// Ask for `persona_id` to be opened (it opens once the engine has loaded it).
    pub fn open(&mut self, persona_id: &str) -> Intent {
        self.pending = Some(persona_id.to_owned());
        Intent::Send(Command::Select {
            persona: Some(persona_id.to_owned()),
        })
    }

    /// The id of the persona on the canvas.
    pub fn persona_id(&self) -> Option<&str> {
        self.open.as_ref().map(|(id, _)| id.as_str())
    }

    /// The canvas, when a persona is open (tests drive it directly too).
    pub fn canvas(&mut self) -> Option<&mut SchemaEditor> {
        self.open.as_mut().map(|(_, editor)| editor)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) -> Vec<Intent> {
        let mut intents = Vec::new();
        if let Some(id) = self.pending.clone()
            && let Some(sel) = &snapshot.selected
            && sel.definition.persona_id == id
        {
            let layout = self.layout_path(&id).and_then(|p| load_layout(&p));
            self.open = Some((id, SchemaEditor::new((*sel.definition).clone(), layout)));
            self.pending = None;
            self.dirty = false;
        }
        // A persona deleted elsewhere closes.
        if let Some((id, _)) = &self.open
            && !snapshot.personas.iter().any(|p| &p.persona_id == id)
            && matches!(
                snapshot.registry,
                persona_engine::control_plane::RegistryStatus::Ready { .. }
            )
        {
            self.open = None;
        }
        let Some((id, editor)) = &mut self.open else {
            egui::CentralPanel::default().show(ui, |ui| {
                page_header(ui, "Editor", "Design a persona's schema on the canvas.");
                ui.add_space(24.0);
                if self.pending.is_some() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Opening the persona…");
                    });
                } else {
                    ui.label(
                        RichText::new(
                            "No persona is open. Pick one in the Library and choose \
                             “Open in editor”.",
                        )
                        .color(theme::muted(ui)),
                    );
                    if ui.button("Go to the library").clicked() {
                        intents.push(Intent::Navigate(super::settings::Page::Library));
                    }
                }
            });
            return intents;
        };
        let version = snapshot
            .personas
            .iter()
            .find(|p| &p.persona_id == id)
            .map_or(0, |p| p.version);
        egui::Panel::bottom("editor_status").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(&editor.persona().name).strong());
                ui.label(RichText::new(format!("saved version {version}")).color(theme::muted(ui)));
                if self.dirty {
                    theme::badge(ui, "unsaved changes", theme::WARNING);
                }
            });
        });
        let output = egui::CentralPanel::no_frame()
            .show(ui, |ui| editor.ui(ui))
            .inner;
        match output {
            EditorOutput::Idle | EditorOutput::SaveRefused { .. } => {}
            EditorOutput::Edited => self.dirty = true,
            EditorOutput::Save { persona, layout } => {
                if let Some(path) = self.layout_dir.as_deref().map(|d| layout_file(d, id)) {
                    store_layout(&path, &layout);
                }
                intents.push(Intent::Send(Command::Save {
                    definition: persona,
                    note: "edited on the canvas".to_owned(),
                }));
                self.dirty = false;
            }
        }
        intents
    }

    fn layout_path(&self, id: &str) -> Option<PathBuf> {
        self.layout_dir.as_deref().map(|d| layout_file(d, id))
    }
}

fn layout_file(dir: &Path, persona_id: &str) -> PathBuf {
    let safe: String = persona_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    dir.join(format!("{safe}.json"))
}

fn load_layout(path: &Path) -> Option<CanvasLayout> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn store_layout(path: &Path, layout: &CanvasLayout) {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(
            path,
            serde_json::to_string(layout).map_err(std::io::Error::other)?,
        )
    };
    if let Err(e) = write() {
        tracing::warn!("cannot save the canvas layout to {}: {e}", path.display());
    }
}
