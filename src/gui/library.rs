//! The persona library page: the template gallery and the user's personas as cards, a details
//! panel for the selected persona (history with restore, actions), and the dialogs behind the
//! actions (create, duplicate, rename, delete, import, export).

use std::path::{Path, PathBuf};

use egui::{Color32, CornerRadius, RichText, Sense, Stroke, StrokeKind, vec2};
use persona_core::Dialect;
use persona_engine::control_plane::{Command, ExportFormat, Snapshot, TemplateCard};
use persona_engine::registry::PersonaSummary;

use super::app::Intent;
use super::file_dialog::{FilePicker, Pick};
use super::preview::schema_preview_ui;
use super::theme;
use super::widgets::{
    danger_button, labelled_field, modal, page_header, primary_button, section, unique_name,
};

const CARD_W: f32 = 252.0;
const TEMPLATE_CARD_H: f32 = 214.0;
const PERSONA_CARD_H: f32 = 104.0;

/// An open dialog of the library.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Create {
        slug: String,
        name: String,
    },
    Duplicate {
        persona: String,
        name: String,
    },
    Rename {
        persona: String,
        name: String,
    },
    Delete {
        persona: String,
    },
    Export {
        persona: String,
        format: ExportFormat,
        path: String,
    },
    Import {
        path: String,
        name: String,
    },
}

/// State of the library page.
#[derive(Debug, Default)]
pub struct LibraryPage {
    /// The selected persona's id.
    pub selected: Option<String>,
    pub dialog: Option<Dialog>,
    picker: FilePicker,
    /// A persona just asked for (created, duplicated), selected once the engine lists it.
    select_when_listed: Option<String>,
    /// Put the keyboard focus in the name field of the dialog that just opened.
    focus_name: bool,
}

impl LibraryPage {
    /// Open the "new persona" dialog (Ctrl+N).
    pub fn new_persona(&mut self, snapshot: &Snapshot, slug: Option<&str>) {
        let slug = slug
            .map(str::to_owned)
            .or_else(|| snapshot.templates.first().map(|t| t.slug.clone()))
            .unwrap_or_default();
        let name = unique_name(&slug, snapshot.personas.iter().map(|p| p.name.as_str()));
        self.dialog = Some(Dialog::Create { slug, name });
        self.focus_name = true;
    }

    /// Ask to delete the selected persona (the Delete key).
    pub fn delete_selected(&mut self, snapshot: &Snapshot) {
        if let Some(p) = self.selected_summary(snapshot) {
            self.dialog = Some(Dialog::Delete {
                persona: p.name.clone(),
            });
        }
    }

    fn selected_summary<'a>(&self, snapshot: &'a Snapshot) -> Option<&'a PersonaSummary> {
        let id = self.selected.as_deref()?;
        snapshot.personas.iter().find(|p| p.persona_id == id)
    }

    /// Draw the page; returns what should happen after the frame.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        search: &str,
        export_dir: &Path,
    ) -> Vec<Intent> {
        let mut intents = Vec::new();
        if let Some(name) = &self.select_when_listed
            && let Some(p) = snapshot.persona(name)
        {
            self.selected = Some(p.persona_id.clone());
            self.select_when_listed = None;
            intents.push(Intent::Send(Command::Select {
                persona: Some(p.persona_id.clone()),
            }));
        }
        if self.selected_summary(snapshot).is_none() {
            self.selected = None;
        }
        if let Some(summary) = self.selected_summary(snapshot).cloned() {
            egui::Panel::right("persona_details")
                .default_size(340.0)
                .size_range(280.0..=520.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        self.details_ui(ui, snapshot, &summary, export_dir, &mut intents);
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| self.gallery_ui(ui, snapshot, search, &mut intents));
        });
        self.dialog_ui(ui.ctx(), snapshot, &mut intents);
        intents
    }

    fn gallery_ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        search: &str,
        intents: &mut Vec<Intent>,
    ) {
        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                page_header(
                    ui,
                    "Persona library",
                    "Application archetypes: a schema, its access patterns and a performance profile.",
                );
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if primary_button(ui, "+ New persona").clicked() {
                    self.new_persona(snapshot, None);
                }
                if ui.button("Import…").clicked() {
                    self.dialog = Some(Dialog::Import {
                        path: String::new(),
                        name: String::new(),
                    });
                }
            });
        });
        let needle = search.trim().to_lowercase();
        let matches = |name: &str, description: &str, tags: &[String]| {
            needle.is_empty()
                || name.to_lowercase().contains(&needle)
                || description.to_lowercase().contains(&needle)
                || tags.iter().any(|t| t.to_lowercase().contains(&needle))
        };
        let personas: Vec<&PersonaSummary> = snapshot
            .personas
            .iter()
            .filter(|p| matches(&p.name, &p.description, &p.tags))
            .collect();
        section(ui, "Your personas", Some(personas.len()));
        if snapshot.personas.is_empty() {
            empty_state(
                ui,
                "No personas yet. Start from a template below, or import a file.",
            );
        } else if personas.is_empty() {
            empty_state(ui, &format!("No persona matches “{}”.", search.trim()));
        }
        let (columns, card_w) = card_grid(ui.available_width(), ui.spacing().item_spacing.x);
        for row in personas.chunks(columns) {
            ui.horizontal(|ui| {
                for p in row {
                    let selected = self.selected.as_deref() == Some(p.persona_id.as_str());
                    let response = persona_card_ui(ui, p, card_w, selected);
                    if response.clicked() {
                        self.selected = Some(p.persona_id.clone());
                        intents.push(Intent::Send(Command::Select {
                            persona: Some(p.persona_id.clone()),
                        }));
                    }
                    if response.double_clicked() {
                        intents.push(Intent::OpenEditor(p.persona_id.clone()));
                    }
                }
            });
            ui.add_space(6.0);
        }
        let templates: Vec<&TemplateCard> = snapshot
            .templates
            .iter()
            .filter(|t| {
                matches(
                    &t.definition.name,
                    &t.definition.description,
                    &t.definition.tags,
                )
            })
            .collect();
        section(ui, "Templates", Some(templates.len()));
        for row in templates.chunks(columns) {
            ui.horizontal(|ui| {
                for t in row {
                    if template_card_ui(ui, t, card_w).clicked() {
                        self.new_persona(snapshot, Some(&t.slug));
                    }
                }
            });
            ui.add_space(6.0);
        }
    }

    fn details_ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        summary: &PersonaSummary,
        export_dir: &Path,
        intents: &mut Vec<Intent>,
    ) {
        ui.add_space(6.0);
        ui.label(RichText::new(&summary.name).size(19.0).strong());
        ui.label(
            RichText::new(format!(
                "Version {} · {} tables · updated {}",
                summary.version,
                summary.table_count,
                short_date(&summary.updated_at)
            ))
            .color(theme::muted(ui)),
        );
        if !summary.description.is_empty() {
            ui.add_space(4.0);
            ui.label(&summary.description);
        }
        if !summary.tags.is_empty() {
            ui.horizontal_wrapped(|ui| {
                for tag in &summary.tags {
                    theme::badge(ui, tag, theme::ACCENT);
                }
            });
        }
        let selected = snapshot
            .selected
            .as_ref()
            .filter(|s| s.definition.persona_id == summary.persona_id);
        ui.add_space(8.0);
        if let Some(sel) = selected {
            let width = ui.available_width();
            schema_preview_ui(ui, &sel.definition.initial_schema, vec2(width, 150.0));
        } else {
            ui.add(egui::Spinner::new());
        }
        ui.add_space(8.0);
        ui.horizontal_wrapped(|ui| {
            if primary_button(ui, "Open in editor").clicked() {
                intents.push(Intent::OpenEditor(summary.persona_id.clone()));
            }
            if ui.button("Duplicate…").clicked() {
                let name = unique_name(
                    &format!("{}-copy", summary.name),
                    snapshot.personas.iter().map(|p| p.name.as_str()),
                );
                self.dialog = Some(Dialog::Duplicate {
                    persona: summary.persona_id.clone(),
                    name,
                });
                self.focus_name = true;
            }
            if ui.button("Rename…").clicked() {
                self.dialog = Some(Dialog::Rename {
                    persona: summary.persona_id.clone(),
                    name: summary.name.clone(),
                });
                self.focus_name = true;
            }
            if ui.button("Export…").clicked() {
                let format = ExportFormat::Toml;
                self.dialog = Some(Dialog::Export {
                    persona: summary.persona_id.clone(),
                    format,
                    path: export_path(export_dir, &summary.name, format),
                });
            }
            if ui.button("Delete…").clicked() {
                self.dialog = Some(Dialog::Delete {
                    persona: summary.name.clone(),
                });
            }
        });
        section(ui, "History", None);
        if let Some(sel) = selected {
            for v in sel.history.iter().rev() {
                egui::Frame::new()
                    .inner_margin(egui::Margin::symmetric(8, 6))
                    .corner_radius(CornerRadius::same(6))
                    .fill(ui.visuals().faint_bg_color)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(format!("v{}", v.version)).strong());
                            ui.label(
                                RichText::new(short_date(&v.created_at)).color(theme::muted(ui)),
                            );
                            ui.with_layout(
                                egui::Layout::right_to_left(egui::Align::Center),
                                |ui| {
                                    if v.version == summary.version {
                                        theme::badge(ui, "current", theme::SUCCESS);
                                    } else if ui
                                        .small_button(format!("Restore v{}", v.version))
                                        .on_hover_text("Make a new version equal to this one")
                                        .clicked()
                                    {
                                        intents.push(Intent::Send(Command::Restore {
                                            persona: summary.persona_id.clone(),
                                            version: v.version,
                                        }));
                                    }
                                },
                            );
                        });
                        if !v.note.is_empty() {
                            ui.label(RichText::new(&v.note).small().color(theme::muted(ui)));
                        }
                    });
                ui.add_space(4.0);
            }
        }
    }

    fn dialog_ui(&mut self, ctx: &egui::Context, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        if let Some(answer) = self.picker.poll()
            && let Some(path) = answer
        {
            match &mut dialog {
                Dialog::Export { path: p, .. } | Dialog::Import { path: p, .. } => {
                    *p = path.display().to_string();
                }
                _ => {}
            }
        }
        let names = || snapshot.personas.iter().map(|p| p.name.as_str());
        let closed = match &mut dialog {
            Dialog::Create { slug, name } => modal(ctx, "create", "New persona", |ui| {
                let label = ui.label("Template");
                egui::ComboBox::from_id_salt("template")
                    .width(ui.available_width())
                    .selected_text(template_name(snapshot, slug))
                    .show_ui(ui, |ui| {
                        for t in snapshot.templates.iter() {
                            ui.selectable_value(slug, t.slug.clone(), &t.definition.name);
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if let Some(t) = snapshot.templates.iter().find(|t| &t.slug == slug) {
                    ui.label(
                        RichText::new(&t.definition.description)
                            .small()
                            .color(theme::muted(ui)),
                    );
                }
                ui.add_space(4.0);
                let field = labelled_field(ui, "Persona name", name);
                if std::mem::take(&mut self.focus_name) {
                    field.request_focus();
                }
                let taken = names().any(|n| n == name.trim());
                let answer = buttons_row(
                    ui,
                    "Create",
                    !name.trim().is_empty() && !taken,
                    taken,
                    &field,
                );
                if answer == Answer::Submit {
                    intents.push(Intent::Send(Command::CreateFromTemplate {
                        slug: slug.clone(),
                        name: name.trim().to_owned(),
                    }));
                    self.select_when_listed = Some(name.trim().to_owned());
                }
                answer != Answer::Open
            }),
            Dialog::Duplicate { persona, name } => {
                modal(ctx, "duplicate", "Duplicate persona", |ui| {
                    let field = labelled_field(ui, "New name", name);
                    if std::mem::take(&mut self.focus_name) {
                        field.request_focus();
                    }
                    let taken = names().any(|n| n == name.trim());
                    let answer = buttons_row(
                        ui,
                        "Duplicate",
                        !name.trim().is_empty() && !taken,
                        taken,
                        &field,
                    );
                    if answer == Answer::Submit {
                        intents.push(Intent::Send(Command::Duplicate {
                            persona: persona.clone(),
                            name: name.trim().to_owned(),
                        }));
                        self.select_when_listed = Some(name.trim().to_owned());
                    }
                    answer != Answer::Open
                })
            }
            Dialog::Rename { persona, name } => modal(ctx, "rename", "Rename persona", |ui| {
                let field = labelled_field(ui, "New name", name);
                if std::mem::take(&mut self.focus_name) {
                    field.request_focus();
                }
                let current = snapshot
                    .personas
                    .iter()
                    .find(|p| &p.persona_id == persona)
                    .map(|p| p.name.as_str());
                let taken = names().any(|n| n == name.trim()) && current != Some(name.trim());
                let answer = buttons_row(
                    ui,
                    "Rename",
                    !name.trim().is_empty() && !taken,
                    taken,
                    &field,
                );
                if answer == Answer::Submit && current != Some(name.trim()) {
                    intents.push(Intent::Send(Command::Rename {
                        persona: persona.clone(),
                        name: name.trim().to_owned(),
                    }));
                }
                answer != Answer::Open
            }),
            Dialog::Delete { persona } => modal(ctx, "delete", "Delete persona?", |ui| {
                let versions = snapshot.persona(persona).map_or(0, |p| p.version);
                ui.label(format!(
                    "“{persona}” and all its {versions} version(s) will be deleted. This cannot be undone."
                ));
                ui.add_space(8.0);
                let mut close = false;
                ui.horizontal(|ui| {
                    if danger_button(ui, "Delete").clicked() {
                        intents.push(Intent::Send(Command::Delete {
                            persona: persona.clone(),
                        }));
                        close = true;
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
                close
            }),
            Dialog::Export {
                persona,
                format,
                path,
            } => modal(ctx, "export", "Export persona", |ui| {
                let label = ui.label("Format");
                let before = *format;
                egui::ComboBox::from_id_salt("export_format")
                    .selected_text(format.label())
                    .show_ui(ui, |ui| {
                        let mut options = vec![ExportFormat::Toml, ExportFormat::Json];
                        options.extend(Dialect::ALL.map(ExportFormat::Sql));
                        for option in options {
                            ui.selectable_value(format, option, option.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if *format != before {
                    *path = with_extension(path, *format);
                }
                ui.add_space(4.0);
                ui.horizontal(|ui| {
                    let label = ui.label("File");
                    ui.add(egui::TextEdit::singleline(path).desired_width(280.0))
                        .labelled_by(label.id);
                    if ui.button("Browse…").clicked() {
                        let file_name = Path::new(path.as_str())
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        self.picker.open(ui.ctx(), Pick::Save { file_name });
                    }
                });
                let answer =
                    buttons_row(ui, "Export", !path.trim().is_empty(), false, &ui.response());
                if answer == Answer::Submit {
                    intents.push(Intent::Send(Command::Export {
                        persona: persona.clone(),
                        version: None,
                        format: *format,
                        path: PathBuf::from(path.trim()),
                    }));
                    if let Some(dir) = Path::new(path.trim()).parent() {
                        intents.push(Intent::RememberExportDir(dir.to_path_buf()));
                    }
                }
                answer != Answer::Open
            }),
            Dialog::Import { path, name } => modal(ctx, "import", "Import a persona file", |ui| {
                ui.horizontal(|ui| {
                    let label = ui.label("File (.toml or .json)");
                    ui.add(egui::TextEdit::singleline(path).desired_width(220.0))
                        .labelled_by(label.id);
                    if ui.button("Browse…").clicked() {
                        self.picker.open(ui.ctx(), Pick::Open);
                    }
                });
                let field = labelled_field(ui, "Name (optional)", name);
                let answer = buttons_row(ui, "Import", !path.trim().is_empty(), false, &field);
                if answer == Answer::Submit {
                    intents.push(Intent::Send(Command::Import {
                        path: PathBuf::from(path.trim()),
                        name: Some(name.trim().to_owned()).filter(|n| !n.is_empty()),
                    }));
                    if !name.trim().is_empty() {
                        self.select_when_listed = Some(name.trim().to_owned());
                    }
                }
                answer != Answer::Open
            }),
        };
        if !closed {
            self.dialog = Some(dialog);
        }
    }
}

/// What the user did with a dialog's buttons this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Nothing yet: the dialog stays open.
    Open,
    Submit,
    Cancel,
}

/// A dialog's primary button (Enter in `field` submits too) beside Cancel, with a hint above
/// them when a name is taken.
fn buttons_row(
    ui: &mut egui::Ui,
    label: &str,
    enabled: bool,
    taken: bool,
    field: &egui::Response,
) -> Answer {
    if taken {
        ui.label(RichText::new("That name is already used.").color(theme::DANGER));
    }
    ui.add_space(8.0);
    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.horizontal(|ui| {
        let clicked = ui
            .add_enabled_ui(enabled, |ui| primary_button(ui, label))
            .inner
            .clicked();
        if enabled && (clicked || enter) {
            Answer::Submit
        } else if ui.button("Cancel").clicked() {
            Answer::Cancel
        } else {
            Answer::Open
        }
    })
    .inner
}

fn template_name(snapshot: &Snapshot, slug: &str) -> String {
    snapshot
        .templates
        .iter()
        .find(|t| t.slug == slug)
        .map_or_else(|| slug.to_owned(), |t| t.definition.name.clone())
}

/// The default export path: `DIR/NAME.EXT`.
pub fn export_path(dir: &Path, name: &str, format: ExportFormat) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let suffix = match format {
        ExportFormat::Sql(d) => format!("-{}", d.as_str()),
        _ => String::new(),
    };
    dir.join(format!("{safe}{suffix}.{}", format.extension()))
        .display()
        .to_string()
}

fn with_extension(path: &str, format: ExportFormat) -> String {
    let p = Path::new(path);
    let (Some(dir), Some(stem)) = (p.parent(), p.file_stem()) else {
        return path.to_owned();
    };
    let stem = stem.to_string_lossy();
    let base = ["-postgres", "-mysql", "-sqlite"]
        .iter()
        .find_map(|s| stem.strip_suffix(s))
        .unwrap_or(&stem);
    export_path(dir, base, format)
}

/// How many cards fit in a row `width` wide with `gap` between them, and how wide each is so
/// that the row is filled (up to 40% wider than the narrowest card).
fn card_grid(width: f32, gap: f32) -> (usize, f32) {
    let columns = ((width + gap) / (CARD_W + gap)).floor().max(1.0);
    let card = ((width + gap) / columns - gap).clamp(CARD_W, CARD_W * 1.4);
    (columns as usize, card)
}

fn short_date(stamp: &str) -> String {
    stamp
        .replace('T', " ")
        .trim_end_matches('Z')
        .chars()
        .take(16)
        .collect()
}

fn empty_state(ui: &mut egui::Ui, text: &str) {
    egui::Frame::new()
        .stroke(Stroke::new(1.0, theme::card_stroke(ui, false).color))
        .corner_radius(CornerRadius::same(10))
        .inner_margin(egui::Margin::same(18))
        .show(ui, |ui| {
            ui.set_width(ui.available_width().min(CARD_W * 2.0 + 10.0));
            ui.label(RichText::new(text).color(theme::muted(ui)));
        });
}

/// A clickable card; the whole card is one accessible button named `label`.
fn card_frame(
    ui: &mut egui::Ui,
    label: &str,
    size: egui::Vec2,
    selected: bool,
    body: impl FnOnce(&mut egui::Ui),
) -> egui::Response {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    // Registered over the card's contents so the whole card takes the click.
    let response = ui.interact(rect, egui::Id::new(("card", label)), Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::WidgetType::Button, true, selected, label)
    });
    if ui.is_rect_visible(rect) {
        let hovered = response.hovered();
        let stroke = if hovered && !selected {
            Stroke::new(1.0, theme::ACCENT)
        } else {
            theme::card_stroke(ui, selected)
        };
        ui.painter().rect(
            rect,
            CornerRadius::same(10),
            theme::card_fill(ui),
            stroke,
            StrokeKind::Inside,
        );
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(rect.shrink(12.0))
                .layout(egui::Layout::top_down(egui::Align::Min)),
        );
        child.set_clip_rect(rect.shrink(2.0));
        child.style_mut().interaction.selectable_labels = false;
        body(&mut child);
    }
    if response.hovered() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
    }
    response
}

fn template_card_ui(ui: &mut egui::Ui, t: &TemplateCard, width: f32) -> egui::Response {
    let d = &t.definition;
    let label = format!("Use template {}", d.name);
    card_frame(ui, &label, vec2(width, TEMPLATE_CARD_H), false, |ui| {
        let w = ui.available_width();
        schema_preview_ui(ui, &d.initial_schema, vec2(w, 72.0));
        ui.add_space(6.0);
        ui.add(egui::Label::new(RichText::new(&d.name).strong().size(14.5)).truncate());
        // At most four lines, cut at a word with an ellipsis.
        let mut job = egui::text::LayoutJob::simple(
            d.description.clone(),
            egui::TextStyle::Small.resolve(ui.style()),
            theme::muted(ui),
            ui.available_width(),
        );
        job.wrap = egui::text::TextWrapping {
            max_rows: 4,
            ..egui::text::TextWrapping::wrap_at_width(ui.available_width())
        };
        ui.label(job);
        ui.with_layout(egui::Layout::bottom_up(egui::Align::Min), |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!(
                        "{} tables · {} patterns",
                        d.initial_schema.tables.len(),
                        d.access_patterns.len()
                    ))
                    .small(),
                );
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.label(RichText::new("Use template").small().color(theme::ACCENT));
                });
            });
        });
    })
}

fn persona_card_ui(
    ui: &mut egui::Ui,
    p: &PersonaSummary,
    width: f32,
    selected: bool,
) -> egui::Response {
    card_frame(ui, &p.name, vec2(width, PERSONA_CARD_H), selected, |ui| {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(vec2(34.0, 34.0), Sense::hover());
            let color = avatar_color(&p.name);
            ui.painter().rect_filled(rect, CornerRadius::same(8), color);
            let initial: String = p
                .name
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .collect();
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initial,
                egui::FontId::proportional(17.0),
                Color32::WHITE,
            );
            ui.vertical(|ui| {
                ui.add(egui::Label::new(RichText::new(&p.name).strong().size(14.5)).truncate());
                ui.label(
                    RichText::new(format!("v{} · {} tables", p.version, p.table_count))
                        .small()
                        .color(theme::muted(ui)),
                );
            });
        });
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            for tag in p.tags.iter().take(3) {
                theme::badge(ui, tag, theme::ACCENT);
            }
        });
        ui.label(
            RichText::new(format!("Updated {}", short_date(&p.updated_at)))
                .small()
                .color(theme::muted(ui)),
        );
    })
}

fn avatar_color(name: &str) -> Color32 {
    const COLORS: [Color32; 6] = [
        Color32::from_rgb(99, 102, 241),
        Color32::from_rgb(14, 165, 233),
        Color32::from_rgb(16, 185, 129),
        Color32::from_rgb(245, 158, 11),
        Color32::from_rgb(236, 72, 153),
        Color32::from_rgb(139, 92, 246),
    ];
    let hash = name.bytes().fold(0_usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    COLORS[hash % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_paths_follow_the_format() {
        let dir = Path::new("/tmp/out");
        assert_eq!(
            export_path(dir, "my shop", ExportFormat::Toml),
            "/tmp/out/my_shop.toml"
        );
        let sql = export_path(dir, "shop", ExportFormat::Sql(Dialect::Mysql));
        assert_eq!(sql, "/tmp/out/shop-mysql.sql");
        assert_eq!(
            with_extension(&sql, ExportFormat::Sql(Dialect::Sqlite)),
            "/tmp/out/shop-sqlite.sql"
        );
        assert_eq!(
            with_extension(&sql, ExportFormat::Json),
            "/tmp/out/shop.json"
        );
    }
}
