//! Live DDL of the edited schema for a chosen dialect, with copy to clipboard and export to a
//! file (a path field, so it works without a file dialog).

use egui::Ui;
use persona_core::ddl::{create_schema, script};
use persona_core::{Dialect, Schema};

/// The dialect shown and the last generated script.
#[derive(Debug)]
pub struct DdlPreview {
    dialect: Dialect,
    cache: Option<(Dialect, Schema, String)>,
    export_path: String,
    message: Option<(String, bool)>,
}

impl Default for DdlPreview {
    fn default() -> Self {
        DdlPreview {
            dialect: Dialect::Postgres,
            cache: None,
            export_path: String::new(),
            message: None,
        }
    }
}

impl DdlPreview {
    /// The script for `schema`, regenerated only when the schema or dialect changed.
    fn script(&mut self, schema: &Schema) -> &str {
        let stale = self
            .cache
            .as_ref()
            .is_none_or(|(d, s, _)| *d != self.dialect || s != schema);
        if stale {
            let text = script(&create_schema(schema, self.dialect));
            self.cache = Some((self.dialect, schema.clone(), text));
        }
        self.cache.as_ref().map_or("", |(_, _, text)| text.as_str())
    }

    pub fn ddl_ui(&mut self, ui: &mut Ui, persona: &persona_core::PersonaDefinition) {
        ui.horizontal(|ui| {
            ui.label("Dialect");
            for d in Dialect::ALL {
                ui.selectable_value(&mut self.dialect, d, d.as_str());
            }
        });
        let text = self.script(&persona.initial_schema).to_owned();
        ui.horizontal(|ui| {
            if ui.button("Copy DDL").clicked() {
                ui.ctx().copy_text(text.clone());
                self.message = Some(("copied to the clipboard".to_owned(), false));
            }
            if ui.button("Export DDL").clicked() {
                let path = if self.export_path.trim().is_empty() {
                    format!("schema.{}.sql", self.dialect.as_str())
                } else {
                    self.export_path.trim().to_owned()
                };
                let shown = std::path::absolute(&path)
                    .map_or_else(|_| path.clone(), |p| p.display().to_string());
                self.message = Some(match std::fs::write(&path, &text) {
                    Ok(()) => (format!("wrote {shown}"), false),
                    Err(e) => (format!("could not write {path}: {e}"), true),
                });
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Export path");
            ui.add(
                egui::TextEdit::singleline(&mut self.export_path)
                    .hint_text(format!("schema.{}.sql", self.dialect.as_str()))
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        });
        if let Some((message, failed)) = &self.message {
            let color = if *failed {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.colored_label(color, message);
        }
        let label = ui.label(format!("DDL ({})", self.dialect.as_str()));
        // Statements keep their lines: the panel scrolls sideways instead of wrapping them.
        let mut layouter = |ui: &Ui, text: &dyn egui::TextBuffer, _wrap_width: f32| {
            let job = egui::text::LayoutJob::simple(
                text.as_str().to_owned(),
                egui::TextStyle::Monospace.resolve(ui.style()),
                ui.visuals().text_color(),
                f32::INFINITY,
            );
            ui.fonts_mut(|f| f.layout_job(job))
        };
        let mut shown = text.as_str();
        egui::ScrollArea::horizontal()
            .id_salt("persona_ddl_scroll")
            .show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut shown)
                        .code_editor()
                        .layouter(&mut layouter),
                )
                .labelled_by(label.id);
            });
    }
}
