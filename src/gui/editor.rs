//! The persona editor page: hosts the schema canvas ([`super::canvas::SchemaEditor`]) for the
//! persona opened from the library, and turns its save requests into control-plane commands.
//! Canvas layouts are stored with the persona in the registry (not in its schema, and saving
//! only a layout makes no new version). Layout files an earlier release kept beside the UI
//! settings are read once, when a persona without a stored layout opens, and copied over.

use std::path::{Path, PathBuf};

use egui::RichText;
use persona_engine::control_plane::{Command, Snapshot};
use serde::Deserialize as _;

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
    /// Where an earlier release kept canvas layouts as files (read to migrate them; never
    /// written or deleted).
    legacy_layout_dir: Option<PathBuf>,
    /// The persona to reopen when the page is shown with nothing open (the last one edited).
    resume: Option<String>,
    /// Unsaved edits since the last save.
    pub dirty: bool,
}

impl EditorPage {
    /// An editor page; `legacy_layout_dir` is where an earlier release kept layout files.
    pub fn new(legacy_layout_dir: Option<PathBuf>) -> Self {
        EditorPage {
            legacy_layout_dir,
            ..EditorPage::default()
        }
    }

    /// Reopen `persona_id` (if it still exists) the first time the page shows with nothing open.
    pub fn resuming(mut self, persona_id: Option<String>) -> Self {
        self.resume = persona_id;
        self
    }

    /// Ask for `persona_id` to be opened (it opens once the engine has loaded it). The persona
    /// already on the canvas stays as it is, unsaved edits included.
    pub fn open(&mut self, persona_id: &str) -> Intent {
        if self.persona_id() == Some(persona_id) {
            self.pending = None;
            return Intent::Navigate(super::settings::Page::Editor);
        }
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
        if self.open.is_none()
            && self.pending.is_none()
            && !snapshot.personas.is_empty()
            && let Some(id) = self.resume.take()
            && snapshot.personas.iter().any(|p| p.persona_id == id)
        {
            intents.push(self.open(&id));
        }
        if let Some(id) = self.pending.clone()
            && let Some(sel) = &snapshot.selected
            && sel.definition.persona_id == id
        {
            let layout = match &sel.layout {
                Some(json) => parse_layout(json),
                None => self.migrate_legacy_layout(&id, &mut intents),
            };
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
                match serde_json::to_value(&layout) {
                    Ok(layout) => intents.push(Intent::Send(Command::SaveLayout {
                        persona: id.clone(),
                        layout,
                    })),
                    Err(e) => tracing::warn!("cannot encode the canvas layout: {e}"),
                }
                // Moving tables changes the layout only: no new version of the persona.
                let unchanged = snapshot
                    .selected
                    .as_ref()
                    .filter(|sel| sel.definition.persona_id == *id)
                    .is_some_and(|sel| {
                        let mut edited = (*persona).clone();
                        edited.version = sel.definition.version;
                        edited == *sel.definition
                    });
                if unchanged {
                    editor.note("Layout saved (the schema is unchanged: no new version)");
                } else {
                    intents.push(Intent::Send(Command::Save {
                        definition: persona,
                        note: "edited on the canvas".to_owned(),
                    }));
                }
                self.dirty = false;
            }
        }
        intents
    }

    /// The layout file an earlier release kept for `persona_id`, if there is one; it is copied
    /// into the registry (and left where it is).
    fn migrate_legacy_layout(
        &self,
        persona_id: &str,
        intents: &mut Vec<Intent>,
    ) -> Option<CanvasLayout> {
        let path = layout_file(self.legacy_layout_dir.as_deref()?, persona_id);
        let text = std::fs::read_to_string(&path).ok()?;
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(
                    "ignoring the unreadable layout file {}: {e}",
                    path.display()
                );
                return None;
            }
        };
        let layout = parse_layout(&json)?;
        intents.push(Intent::Send(Command::SaveLayout {
            persona: persona_id.to_owned(),
            layout: json,
        }));
        Some(layout)
    }
}

/// Where an earlier release kept the layout of `persona_id`.
pub fn layout_file(dir: &Path, persona_id: &str) -> PathBuf {
    let safe: String = persona_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    dir.join(format!("{safe}.json"))
}

/// A stored layout, or None (logged) when it does not fit the canvas's layout type.
fn parse_layout(json: &serde_json::Value) -> Option<CanvasLayout> {
    match CanvasLayout::deserialize(json) {
        Ok(layout) => Some(layout),
        Err(e) => {
            tracing::warn!("ignoring a stored canvas layout: {e}");
            None
        }
    }
}
