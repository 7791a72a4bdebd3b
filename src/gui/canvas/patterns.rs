//! Access patterns and the performance profile, edited beside the canvas. A pattern's SQL is
//! checked against the schema with the core validator while it is typed. Sliders and drag
//! values report their gestures ([`Edits::push_gesture`]): a drag, or a number typed key by key,
//! is one undo step.

use egui::{Id, Ui};
use persona_core::validate::{Severity, validate_pattern_sql};
use persona_core::{AccessPattern, PatternKind, PerformanceProfile, PersonaDefinition};

use super::actions::{CanvasAction, Edits};
use super::inspector::{Field, committed_text, committed_text_with};

fn kind_name(kind: PatternKind) -> &'static str {
    match kind {
        PatternKind::PointLookup => "point lookup",
        PatternKind::RangeScan => "range scan",
        PatternKind::TopN => "top-N",
        PatternKind::Aggregate => "aggregate",
        PatternKind::Join => "join",
        PatternKind::TextSearch => "text search",
        PatternKind::Insert => "insert",
        PatternKind::Update => "update",
        PatternKind::Delete => "delete",
    }
}

/// Which pattern is open.
#[derive(Debug, Default)]
pub struct PatternsState {
    open: Option<usize>,
}

impl PatternsState {
    /// Draw the performance profile and the access patterns.
    pub fn patterns_ui(&mut self, ui: &mut Ui, persona: &PersonaDefinition, edits: &mut Edits) {
        profile_ui(ui, &persona.performance_profile, edits);
        ui.separator();
        ui.strong(format!(
            "Access patterns ({})",
            persona.access_patterns.len()
        ));
        for (i, pattern) in persona.access_patterns.iter().enumerate() {
            let open = self.open == Some(i);
            let text = format!("{} · {}", pattern.name, kind_name(pattern.kind));
            if ui.selectable_label(open, text).clicked() {
                self.open = if open { None } else { Some(i) };
            }
            if open {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    pattern_ui(ui, persona, i, pattern, edits);
                    if ui.button("Delete pattern").clicked() {
                        edits.push(CanvasAction::EditPattern {
                            position: Some(i),
                            pattern: None,
                        });
                        self.open = None;
                    }
                });
            }
        }
        if ui.button("Add pattern").clicked() {
            let first = persona
                .initial_schema
                .tables
                .first()
                .map_or("t", |t| t.name.as_str());
            let name = super::view::free_name(
                |n| persona.access_patterns.iter().any(|p| p.name == n),
                "new_pattern",
            );
            edits.push(CanvasAction::EditPattern {
                position: None,
                pattern: Some(AccessPattern {
                    name,
                    kind: PatternKind::RangeScan,
                    sql: format!("SELECT * FROM {first} LIMIT 10"),
                    expected_rate_per_sec: 1.0,
                    p95_latency_ms: None,
                    description: String::new(),
                }),
            });
            self.open = Some(persona.access_patterns.len());
        }
    }
}

fn pattern_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    i: usize,
    pattern: &AccessPattern,
    edits: &mut Edits,
) {
    let id = Id::new(("persona_pattern", i));
    let edit = |p: AccessPattern| CanvasAction::EditPattern {
        position: Some(i),
        pattern: Some(p),
    };
    if let Some(name) = committed_text(ui, "Pattern name", id.with("name"), &pattern.name) {
        edits.push(edit(AccessPattern {
            name,
            ..pattern.clone()
        }));
    }
    let mut kind = pattern.kind;
    egui::ComboBox::from_id_salt(id.with("kind"))
        .selected_text(kind_name(kind))
        .show_ui(ui, |ui| {
            for k in PatternKind::ALL {
                ui.selectable_value(&mut kind, k, kind_name(k));
            }
        });
    if kind != pattern.kind {
        edits.push(edit(AccessPattern {
            kind,
            ..pattern.clone()
        }));
    }
    let (committed, typing) = committed_text_with(
        ui,
        "Pattern SQL",
        id.with("sql"),
        &pattern.sql,
        Field::CodeBlock,
    );
    if let Some(sql) = committed {
        edits.push(edit(AccessPattern {
            sql,
            ..pattern.clone()
        }));
    }
    // Checked as typed, against the schema as it is now.
    let problems = validate_pattern_sql(&persona.initial_schema, &typing);
    if problems.is_empty() {
        ui.colored_label(
            ui.visuals().weak_text_color(),
            "✔ the statement matches the schema",
        );
    }
    for p in problems {
        let color = match p.severity {
            Severity::Error => ui.visuals().error_fg_color,
            Severity::Warning => ui.visuals().warn_fg_color,
        };
        ui.colored_label(color, p.message);
    }
    let mut rate = pattern.expected_rate_per_sec;
    ui.horizontal(|ui| {
        let label = ui.label("Rate /s");
        let response = ui
            .add(egui::DragValue::new(&mut rate).range(0.0..=1e7).speed(1.0))
            .labelled_by(label.id);
        if edits.watch(&response) {
            edits.push_gesture(
                edit(AccessPattern {
                    expected_rate_per_sec: rate,
                    ..pattern.clone()
                }),
                response.id,
            );
        }
    });
    let mut has_target = pattern.p95_latency_ms.is_some();
    let mut p95 = pattern.p95_latency_ms.unwrap_or(10.0);
    ui.horizontal(|ui| {
        if ui.checkbox(&mut has_target, "p95 target (ms)").changed() {
            edits.push(edit(AccessPattern {
                p95_latency_ms: has_target.then_some(p95),
                ..pattern.clone()
            }));
        } else if has_target {
            let response = ui.add(egui::DragValue::new(&mut p95).range(0.01..=1e6).speed(0.5));
            if edits.watch(&response) {
                edits.push_gesture(
                    edit(AccessPattern {
                        p95_latency_ms: Some(p95),
                        ..pattern.clone()
                    }),
                    response.id,
                );
            }
        }
    });
}

fn profile_ui(ui: &mut Ui, profile: &PerformanceProfile, edits: &mut Edits) {
    ui.strong("Performance profile");
    let mut next = profile.clone();
    let mut changed = Change::None;
    egui::Grid::new("persona_profile_grid")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("Read ratio");
            let r = ui
                .add(egui::Slider::new(&mut next.read_ratio, 0.0..=1.0))
                .labelled_by(label.id);
            note(edits, &r, &mut changed);
            ui.end_row();
            let label = ui.label("Reads /s");
            let r = ui
                .add(egui::DragValue::new(&mut next.reads_per_sec).range(0.0..=1e8))
                .labelled_by(label.id);
            note(edits, &r, &mut changed);
            ui.end_row();
            let label = ui.label("Writes /s");
            let r = ui
                .add(egui::DragValue::new(&mut next.writes_per_sec).range(0.0..=1e8))
                .labelled_by(label.id);
            note(edits, &r, &mut changed);
            ui.end_row();
            let label = ui.label("Peak ×");
            let mut peak = next.peak_multiplier.unwrap_or(1.0);
            let r = ui
                .add(
                    egui::DragValue::new(&mut peak)
                        .range(1.0..=1000.0)
                        .speed(0.1),
                )
                .labelled_by(label.id);
            if r.changed() {
                next.peak_multiplier = Some(peak);
            }
            note(edits, &r, &mut changed);
            ui.end_row();
            ui.label("Retention (days)");
            let mut keep = next.retention_days.is_some();
            let mut days = next.retention_days.unwrap_or(365);
            ui.horizontal(|ui| {
                if ui.checkbox(&mut keep, "").changed() {
                    changed = Change::Discrete;
                }
                if keep {
                    let r = ui.add(egui::DragValue::new(&mut days).range(1..=36500));
                    note(edits, &r, &mut changed);
                }
            });
            next.retention_days = keep.then_some(days);
            ui.end_row();
        });
    if !profile.growth_rows_per_day.is_empty() {
        ui.label("Growth (rows per day)");
        egui::Grid::new("persona_growth_grid")
            .num_columns(2)
            .show(ui, |ui| {
                for (table, rows) in &mut next.growth_rows_per_day {
                    let label = ui.label(table.as_str());
                    let r = ui
                        .add(egui::DragValue::new(rows).speed(10.0))
                        .labelled_by(label.id);
                    note(edits, &r, &mut changed);
                    ui.end_row();
                }
            });
    }
    match changed {
        _ if next == *profile => {}
        Change::Gesture(gesture) => edits.push_gesture(CanvasAction::EditProfile(next), gesture),
        Change::Discrete => edits.push(CanvasAction::EditProfile(next)),
        Change::None => {}
    }
}

/// What changed the profile this frame.
enum Change {
    None,
    /// A click (a check box): one undo step.
    Discrete,
    /// A slider or drag value, still held or focused: one undo step per gesture.
    Gesture(Id),
}

/// Watch a continuous widget of the profile; remember it when it changed the value.
fn note(edits: &mut Edits, response: &egui::Response, changed: &mut Change) {
    if edits.watch(response) {
        *changed = Change::Gesture(response.id);
    }
}
