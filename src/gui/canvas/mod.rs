//! The schema canvas editor: a persona's tables as cards on a pannable, zoomable canvas, with a
//! palette, an inspector, live validation, access patterns, the performance profile and a live
//! DDL preview. Every edit is a [`CanvasAction`] recorded while drawing ([`Edits`]) and applied
//! after the frame, which is also how undo and redo work: one step per click, drop or committed
//! text, and one per continuous gesture (a slider dragged, a number typed). Zoom and pan are
//! view state, saved with the layout but not undone.
//!
//! The shell embeds it as:
//! ```ignore
//! let mut editor = SchemaEditor::new(persona, saved_layout);
//! match editor.ui(ui) {
//!     EditorOutput::Save { persona, layout } => { /* send to the control plane */ }
//!     EditorOutput::SaveRefused { reason } => { /* already shown in the editor */ }
//!     EditorOutput::Edited | EditorOutput::Idle => {}
//! }
//! ```
//! The module depends only on egui, serde and `persona_core`, so tests and examples can include
//! it directly.

mod actions;
mod ddl_preview;
mod history;
mod inspector;
mod layout;
mod palette;
mod patterns;
mod view;

use std::collections::{BTreeMap, HashSet};

use persona_core::validate::{Problem, Severity, has_errors, validate};
use persona_core::{Dialect, PersonaDefinition};
use serde::{Deserialize, Serialize};

pub use actions::{ActionError, CanvasAction, ColumnEdit, Edits, Target};

/// Where the tables sit on the canvas and how it is zoomed: saved with the persona, but not part
/// of its schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanvasLayout {
    /// Top-left corner of each table's card, in canvas units, by table name.
    pub positions: BTreeMap<String, [f32; 2]>,
    /// Screen points per canvas unit.
    pub zoom: f32,
    /// Screen offset of the canvas origin from the canvas area's top-left corner.
    pub pan: [f32; 2],
    /// Whether moved and dropped tables snap to the grid.
    pub snap: bool,
}

impl Default for CanvasLayout {
    fn default() -> Self {
        CanvasLayout {
            positions: BTreeMap::new(),
            zoom: 1.0,
            pan: [40.0, 40.0],
            snap: true,
        }
    }
}

/// What the editor asks of its host after a frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum EditorOutput {
    /// Nothing changed.
    Idle,
    /// The persona or its layout changed (the host may mark it unsaved).
    Edited,
    /// The user asked to save and the persona is valid.
    Save {
        persona: Box<PersonaDefinition>,
        layout: CanvasLayout,
    },
    /// The user asked to save but the persona has errors; the reason is shown in the editor.
    SaveRefused { reason: String },
}

/// The side panel's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SidePage {
    Inspector,
    Problems,
    Patterns,
    Ddl,
}

/// Tables and columns with problems, for highlighting on the canvas.
#[derive(Debug, Default)]
struct ProblemIndex {
    error_tables: HashSet<String>,
    warning_tables: HashSet<String>,
    error_columns: HashSet<(String, String)>,
    warning_columns: HashSet<(String, String)>,
}

impl ProblemIndex {
    fn build(persona: &PersonaDefinition, problems: &[Problem]) -> Self {
        let mut index = ProblemIndex::default();
        for p in problems {
            let Some((table, column)) = locate(persona, &p.path) else {
                continue;
            };
            let error = p.severity == Severity::Error;
            if let Some(c) = column {
                let key = (table.to_owned(), c.to_owned());
                if error {
                    index.error_columns.insert(key);
                } else {
                    index.warning_columns.insert(key);
                }
            }
            if error {
                index.error_tables.insert(table.to_owned());
            } else {
                index.warning_tables.insert(table.to_owned());
            }
        }
        index
    }
}

/// The table (and column) a problem path such as
/// `initial_schema.tables[orders].columns[total].default` is about.
fn locate<'a>(persona: &'a PersonaDefinition, path: &str) -> Option<(&'a str, Option<&'a str>)> {
    let rest = path.strip_prefix("initial_schema.tables[")?;
    let table = persona
        .initial_schema
        .tables
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let label = if t.name.is_empty() {
                i.to_string()
            } else {
                t.name.clone()
            };
            rest.starts_with(&format!("{label}]"))
        })
        .max_by_key(|(_, t)| t.name.len())
        .map(|(_, t)| t)?;
    let label_len = if table.name.is_empty() {
        1
    } else {
        table.name.len()
    };
    let after = rest.get(label_len + 1..).unwrap_or("");
    let column = after.strip_prefix(".columns[").and_then(|r| {
        table
            .columns
            .iter()
            .filter(|c| !c.name.is_empty() && r.starts_with(&format!("{}]", c.name)))
            .max_by_key(|c| c.name.len())
            .map(|c| c.name.as_str())
    });
    Some((table.name.as_str(), column))
}

/// The drag-and-drop schema editor for one persona.
pub struct SchemaEditor {
    persona: PersonaDefinition,
    layout: CanvasLayout,
    history: history::History,
    view: view::CanvasView,
    page: SidePage,
    ddl: ddl_preview::DdlPreview,
    patterns: patterns::PatternsState,
    dialects: Vec<Dialect>,
    problems: Vec<Problem>,
    index: ProblemIndex,
    /// The last message for the user, and whether it reports a failure.
    status: Option<(String, bool)>,
}

impl SchemaEditor {
    /// An editor for `persona`. Tables without a saved position are laid out automatically.
    pub fn new(persona: PersonaDefinition, layout: Option<CanvasLayout>) -> Self {
        let mut layout = layout.unwrap_or_default();
        let missing = persona
            .initial_schema
            .tables
            .iter()
            .any(|t| !layout.positions.contains_key(&t.name));
        if persona
            .initial_schema
            .tables
            .iter()
            .any(|t| !layout.positions.contains_key(&t.name))
        {
            let auto = layout::auto_layout(&persona.initial_schema);
            for (name, at) in auto {
                layout.positions.entry(name).or_insert(at);
            }
        }
        let fit = missing || layout.zoom <= 0.0;
        let mut editor = SchemaEditor {
            persona,
            layout,
            history: history::History::default(),
            view: view::CanvasView::default(),
            page: SidePage::Inspector,
            ddl: ddl_preview::DdlPreview::default(),
            patterns: patterns::PatternsState::default(),
            dialects: Vec::new(),
            problems: Vec::new(),
            index: ProblemIndex::default(),
            status: None,
        };
        editor.view.request_fit(fit);
        editor.revalidate();
        editor
    }

    /// The persona as edited so far.
    pub fn persona(&self) -> &PersonaDefinition {
        &self.persona
    }

    /// Table positions and zoom, to save beside the persona.
    pub fn layout(&self) -> &CanvasLayout {
        &self.layout
    }

    /// Every validation problem of the current persona (errors and warnings).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Show `text` in the editor's status line.
    pub fn note(&mut self, text: &str) {
        self.status = Some((text.to_owned(), false));
    }

    /// Also validate for these target dialects (default: only what every dialect shares).
    pub fn set_dialects(&mut self, dialects: &[Dialect]) {
        self.dialects = dialects.to_vec();
        self.revalidate();
    }

    /// Apply an edit as if the user had made it (recorded for undo).
    pub fn apply(&mut self, action: &CanvasAction) -> Result<(), ActionError> {
        self.apply_edit(action, None)
    }

    /// Apply an edit; edits of the same still-open `gesture` are one undo step.
    fn apply_edit(
        &mut self,
        action: &CanvasAction,
        gesture: Option<egui::Id>,
    ) -> Result<(), ActionError> {
        let mut persona = self.persona.clone();
        let mut layout = self.layout.clone();
        action.apply(&mut persona, &mut layout)?;
        let before = history::Snapshot {
            persona: std::mem::replace(&mut self.persona, persona),
            positions: std::mem::replace(&mut self.layout.positions, layout.positions.clone()),
            label: action.describe(),
        };
        self.layout = layout;
        self.history.record(before, gesture);
        self.view.after_action(action, &self.persona);
        self.revalidate();
        Ok(())
    }

    pub fn can_undo(&self) -> bool {
        self.history.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.history.can_redo()
    }

    /// Revert the last edit. Returns whether there was one.
    pub fn undo(&mut self) -> bool {
        let current = self.snapshot();
        match self.history.undo(current) {
            Some(s) => {
                self.restore(s, "undid");
                true
            }
            None => false,
        }
    }

    /// Re-apply the last undone edit. Returns whether there was one.
    pub fn redo(&mut self) -> bool {
        let current = self.snapshot();
        match self.history.redo(current) {
            Some(s) => {
                self.restore(s, "redid");
                true
            }
            None => false,
        }
    }

    fn snapshot(&self) -> history::Snapshot {
        history::Snapshot {
            persona: self.persona.clone(),
            positions: self.layout.positions.clone(),
            label: String::new(),
        }
    }

    fn restore(&mut self, s: history::Snapshot, verb: &str) {
        self.status = Some((format!("{verb} {}", s.label), false));
        self.persona = s.persona;
        self.layout.positions = s.positions;
        self.view.retain_existing(&self.persona);
        self.revalidate();
    }

    /// What to tell the user after an edit that leaves work to do: a relationship to one
    /// column of a composite key must be completed in the inspector.
    fn after_edit_note(&self, action: &CanvasAction) -> Option<(String, bool)> {
        let CanvasAction::Connect { from, to } = action else {
            return None;
        };
        let schema = &self.persona.initial_schema;
        let fk = schema.table(&from.0)?.foreign_keys.last()?;
        let target = schema.table(&fk.ref_table)?;
        if target.is_unique_key(&fk.ref_columns) {
            return None;
        }
        let key = actions::keys_containing(target, &fk.ref_columns)
            .into_iter()
            .next()?;
        let missing: Vec<&str> = key
            .iter()
            .filter(|c| !fk.ref_columns.contains(c))
            .map(String::as_str)
            .collect();
        Some((
            format!(
                "{}.{} is one column of a composite key: add {} in the inspector to complete \
                 the relationship",
                to.0,
                to.1,
                missing.join(", ")
            ),
            false,
        ))
    }

    fn revalidate(&mut self) {
        self.problems = validate(&self.persona, &self.dialects);
        self.index = ProblemIndex::build(&self.persona, &self.problems);
    }

    /// A save request, or the reason it is refused.
    fn save(&mut self) -> EditorOutput {
        if has_errors(&self.problems) {
            let errors: Vec<&Problem> = self
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .collect();
            let reason = format!(
                "cannot save: {} error{} — first: {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors[0]
            );
            self.status = Some((reason.clone(), true));
            self.page = SidePage::Problems;
            EditorOutput::SaveRefused { reason }
        } else {
            self.status = Some(("saved".to_owned(), false));
            EditorOutput::Save {
                persona: Box::new(self.persona.clone()),
                layout: self.layout.clone(),
            }
        }
    }

    /// Draw the editor into `ui` (toolbar, palette, canvas, side panel) and apply what the user
    /// did after drawing.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> EditorOutput {
        let mut edits = Edits::default();
        let mut command = None;

        egui::Panel::top("persona_canvas_toolbar").show(ui, |ui| {
            command = self.toolbar_ui(ui);
        });
        egui::Panel::left("persona_canvas_palette")
            .resizable(false)
            .exact_size(130.0)
            .show(ui, palette::palette_ui);
        egui::Panel::right("persona_canvas_side")
            .default_size(340.0)
            .size_range(300.0..=640.0)
            .show(ui, |ui| self.side_ui(ui, &mut edits));
        egui::CentralPanel::no_frame().show(ui, |ui| {
            let ctx = view::CanvasContext {
                persona: &self.persona,
                problems: &self.index,
            };
            self.view.canvas_ui(ui, &ctx, &mut self.layout, &mut edits);
        });

        if command.is_none() && !ui.ctx().egui_wants_keyboard_input() {
            command = ui.input_mut(|i| {
                if i.consume_key(
                    egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
                    egui::Key::Z,
                ) || i.consume_key(egui::Modifiers::COMMAND, egui::Key::Y)
                {
                    Some(Command::Redo)
                } else if i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z) {
                    Some(Command::Undo)
                } else if i.consume_key(egui::Modifiers::COMMAND, egui::Key::S) {
                    Some(Command::Save)
                } else {
                    None
                }
            });
        }

        // Apply what was recorded while drawing.
        let mut output = EditorOutput::Idle;
        for (action, gesture) in edits.list {
            match self.apply_edit(&action, gesture) {
                Ok(()) => {
                    self.status = self.after_edit_note(&action);
                    output = EditorOutput::Edited;
                }
                Err(e) => self.status = Some((e.to_string(), true)),
            }
        }
        // A gesture whose widget was released or lost focus this frame is complete.
        self.history.settle(&edits.live);
        match command {
            Some(Command::Undo) if self.undo() => output = EditorOutput::Edited,
            Some(Command::Redo) if self.redo() => output = EditorOutput::Edited,
            Some(Command::Save) => output = self.save(),
            Some(Command::Fit) => self.view.request_fit(true),
            Some(Command::AutoLayout) if self.apply(&CanvasAction::AutoLayout).is_ok() => {
                self.view.request_fit(true);
                output = EditorOutput::Edited;
            }
            _ => {}
        }
        output
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui) -> Option<Command> {
        let mut command = None;
        ui.horizontal(|ui| {
            let undo = ui
                .add_enabled(self.history.can_undo(), egui::Button::new("Undo"))
                .on_hover_text(format!(
                    "Undo {} (Ctrl+Z)",
                    self.history.undo_label().unwrap_or_default()
                ));
            if undo.clicked() {
                command = Some(Command::Undo);
            }
            let redo = ui
                .add_enabled(self.history.can_redo(), egui::Button::new("Redo"))
                .on_hover_text(format!(
                    "Redo {} (Ctrl+Shift+Z)",
                    self.history.redo_label().unwrap_or_default()
                ));
            if redo.clicked() {
                command = Some(Command::Redo);
            }
            ui.separator();
            if ui.button("Fit").on_hover_text("Show every table").clicked() {
                command = Some(Command::Fit);
            }
            if ui
                .button("Auto-layout")
                .on_hover_text("Arrange tables in layers by foreign-key direction")
                .clicked()
            {
                command = Some(Command::AutoLayout);
            }
            ui.checkbox(&mut self.layout.snap, "Snap to grid");
            ui.label(format!("{:.0}%", self.layout.zoom * 100.0));
            ui.separator();
            let errors = self
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            let warnings = self.problems.len() - errors;
            let (text, color) = match (errors, warnings) {
                (0, 0) => ("✔ Valid".to_owned(), egui::Color32::from_rgb(34, 160, 107)),
                (0, w) => (
                    format!("⚠ {}", plural(w, "warning")),
                    ui.visuals().warn_fg_color,
                ),
                (e, 0) => (
                    format!("✖ {}", plural(e, "error")),
                    ui.visuals().error_fg_color,
                ),
                (e, w) => (
                    format!("✖ {} · {}", plural(e, "error"), plural(w, "warning")),
                    ui.visuals().error_fg_color,
                ),
            };
            if ui
                .add(egui::Button::new(egui::RichText::new(text).color(color)))
                .on_hover_text("Show the problems")
                .clicked()
            {
                self.page = SidePage::Problems;
            }
            if ui
                .button("Save")
                .on_hover_text("Save the persona (Ctrl+S)")
                .clicked()
            {
                command = Some(Command::Save);
            }
            if let Some((message, failed)) = &self.status {
                let color = if *failed {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.colored_label(color, message);
            }
        });
        command
    }

    fn side_ui(&mut self, ui: &mut egui::Ui, edits: &mut Edits) {
        ui.horizontal(|ui| {
            let errors = self
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            ui.selectable_value(&mut self.page, SidePage::Inspector, "Inspector");
            ui.selectable_value(
                &mut self.page,
                SidePage::Problems,
                format!("Problems ({errors})"),
            );
            ui.selectable_value(&mut self.page, SidePage::Patterns, "Patterns");
            ui.selectable_value(&mut self.page, SidePage::Ddl, "DDL");
        });
        ui.separator();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.page {
                SidePage::Inspector => {
                    inspector::inspector_ui(ui, &self.persona, self.view.selection_mut(), edits);
                }
                SidePage::Problems => self.problems_ui(ui),
                SidePage::Patterns => self.patterns.patterns_ui(ui, &self.persona, edits),
                SidePage::Ddl => self.ddl.ddl_ui(ui, &self.persona),
            });
    }

    fn problems_ui(&mut self, ui: &mut egui::Ui) {
        if self.problems.is_empty() {
            ui.label("No problems found.");
            return;
        }
        for p in &self.problems {
            let (icon, color) = match p.severity {
                Severity::Error => ("✖", ui.visuals().error_fg_color),
                Severity::Warning => ("⚠", ui.visuals().warn_fg_color),
            };
            let text = format!("{icon} {}: {}", p.path, p.message);
            let response = ui.add(
                egui::Label::new(egui::RichText::new(text).color(color))
                    .wrap()
                    .sense(egui::Sense::click()),
            );
            if response.clicked()
                && let Some((table, column)) = locate(&self.persona, &p.path)
            {
                let target = match column {
                    Some(c) => Target::Column {
                        table: table.to_owned(),
                        column: c.to_owned(),
                    },
                    None => Target::Table(table.to_owned()),
                };
                self.view.select_and_reveal(target, &self.layout);
                self.page = SidePage::Inspector;
            }
            ui.add_space(2.0);
        }
    }
}

/// `1 error`, `2 errors`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Toolbar and keyboard commands that are not edits of the persona.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Undo,
    Redo,
    Save,
    Fit,
    AutoLayout,
}
