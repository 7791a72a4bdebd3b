//! The workload page: a capture saved in the registry by `persona proxy`, analysed. Pick a
//! capture (and optionally a persona whose schema resolves columns and foreign keys) and see its
//! top patterns with calls, latency percentiles and rows, its co-access rules and the joins no
//! foreign key backs (emerging relationships). The engine loads and analyses in the background;
//! this page only sends commands and draws the latest snapshot.

use egui::RichText;
use persona_engine::control_plane::{Command, Snapshot, WorkloadView};

use super::app::Intent;
use super::theme;
use super::widgets::{page_header, section};

/// Rows shown in the top-patterns table.
/// Rules listed (the strongest first).
const TOP_RULES: usize = 10;

const TOP_ROWS: usize = 50;

/// State of the workload page.
#[derive(Debug, Default)]
pub struct WorkloadPage {
    /// The capture shown (the first one listed until the user picks another).
    capture: Option<String>,
    /// The persona whose schema the analysis uses.
    schema_persona: Option<String>,
    /// Whether the capture list has been asked for since the app started.
    listed: bool,
    /// The (capture, schema persona) last asked for, so that a change asks again.
    requested: Option<(String, Option<String>)>,
}

impl WorkloadPage {
    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) -> Vec<Intent> {
        let mut intents = Vec::new();
        if !std::mem::replace(&mut self.listed, true) {
            intents.push(Intent::Send(Command::RefreshCaptures));
        }
        if self
            .capture
            .as_deref()
            .is_none_or(|c| !snapshot.captures.iter().any(|i| i.name == c))
        {
            self.capture = snapshot.captures.first().map(|c| c.name.clone());
        }
        if self
            .schema_persona
            .as_deref()
            .is_some_and(|p| snapshot.persona(p).is_none())
        {
            self.schema_persona = None;
        }
        let mut refresh = false;
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_space(8.0);
                page_header(
                    ui,
                    "Workload",
                    "What applications ran through `persona proxy`, saved in the registry.",
                );
                ui.add_space(6.0);
                refresh = self.pickers_ui(ui, snapshot);
                if snapshot.captures.is_empty() {
                    ui.add_space(30.0);
                    ui.vertical_centered(|ui| {
                        ui.label(RichText::new("📈").size(40.0));
                        ui.label(
                            RichText::new(
                                "No captures yet: run `persona proxy --upstream postgres://HOST:PORT` \
                                 and point an application at it.",
                            )
                            .color(theme::muted(ui)),
                        );
                    });
                    return;
                }
                if let Some(view) = self.shown(snapshot) {
                    view_ui(ui, view);
                } else {
                    ui.add_space(20.0);
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Analysing the capture…");
                    });
                }
            });
        });
        if refresh {
            intents.push(Intent::Send(Command::RefreshCaptures));
            self.requested = None;
        }
        if let Some(capture) = &self.capture {
            let wanted = (capture.clone(), self.schema_persona.clone());
            if self.requested.as_ref() != Some(&wanted) {
                intents.push(Intent::Send(Command::LoadCapture {
                    name: wanted.0.clone(),
                    schema_persona: wanted.1.clone(),
                }));
                self.requested = Some(wanted);
            }
        }
        intents
    }

    /// The analysis of the capture and schema picked, once the engine has it.
    fn shown<'a>(&self, snapshot: &'a Snapshot) -> Option<&'a WorkloadView> {
        let view = snapshot.workload.as_deref()?;
        (Some(view.info.name.as_str()) == self.capture.as_deref()
            && view.schema_persona == self.schema_persona)
            .then_some(view)
    }

    /// The capture and schema pickers and the refresh button; true when refresh was clicked.
    fn pickers_ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) -> bool {
        let mut refresh = false;
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Capture")
                .selected_text(self.capture.as_deref().unwrap_or("(none)"))
                .show_ui(ui, |ui| {
                    for c in &snapshot.captures {
                        ui.selectable_value(&mut self.capture, Some(c.name.clone()), &c.name);
                    }
                });
            ui.add_space(12.0);
            egui::ComboBox::from_label("Schema")
                .selected_text(self.schema_persona.as_deref().unwrap_or("(none)"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.schema_persona, None, "(none)");
                    for p in &snapshot.personas {
                        ui.selectable_value(
                            &mut self.schema_persona,
                            Some(p.name.clone()),
                            &p.name,
                        );
                    }
                })
                .response
                .on_hover_text(
                    "A persona whose schema resolves columns and shows joins that no foreign \
                     key backs",
                );
            ui.add_space(12.0);
            refresh = ui
                .button("⟳ Refresh")
                .on_hover_text("Read the captures again (the proxy saves every few seconds)")
                .clicked();
        });
        refresh
    }
}

fn view_ui(ui: &mut egui::Ui, view: &WorkloadView) {
    let info = &view.info;
    ui.add_space(6.0);
    ui.label(format!(
        "{} patterns · {} calls · {} session windows · {} saves, last {}",
        info.patterns, info.calls, view.windows, info.flushes, info.updated_at
    ));
    if info.dropped_events > 0 {
        ui.label(
            RichText::new(format!(
                "{} statements were dropped by the proxy (its queue was full)",
                info.dropped_events
            ))
            .color(theme::WARNING),
        );
    }

    let r = &view.results;
    section(
        ui,
        "Top patterns by total time",
        Some(r.frequent_queries.len()),
    );
    if r.frequent_queries.is_empty() {
        ui.label(RichText::new("No patterns.").color(theme::muted(ui)));
    } else {
        egui::Grid::new("workload_patterns")
            .striped(true)
            .num_columns(8)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "#",
                    "Calls",
                    "p50",
                    "p95",
                    "p99",
                    "Rows",
                    "Errors",
                    "Statement",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (i, q) in r.frequent_queries.iter().take(TOP_ROWS).enumerate() {
                    ui.label((i + 1).to_string());
                    ui.label(q.calls.to_string());
                    ui.label(ms(q.p50_ms));
                    ui.label(ms(q.p95_ms));
                    ui.label(ms(q.p99_ms));
                    ui.label(q.rows.to_string());
                    ui.label(q.errors.to_string());
                    ui.add(
                        egui::Label::new(RichText::new(&q.normalized_sql).monospace()).truncate(),
                    )
                    .on_hover_text(&q.normalized_sql);
                    ui.end_row();
                }
            });
    }

    section(
        ui,
        "Emerging relationships",
        Some(r.emerging_relationships.len()),
    );
    if view.schema_persona.is_none() {
        ui.label(
            RichText::new("Pick a schema to check joins against its foreign keys.")
                .color(theme::muted(ui)),
        );
    } else if r.emerging_relationships.is_empty() {
        ui.label(RichText::new("Every join is backed by a foreign key.").color(theme::muted(ui)));
    } else {
        for rel in &r.emerging_relationships {
            ui.label(format!(
                "{}({}) → {}({}) · {} joins{}",
                rel.from_table,
                rel.from_columns.join(", "),
                rel.to_table,
                rel.to_columns.join(", "),
                rel.join_count,
                if rel.types_compatible {
                    ""
                } else {
                    " · types differ"
                }
            ));
        }
    }

    section(ui, "Co-access rules", Some(r.rules.len()));
    if r.rules.is_empty() {
        ui.label(
            RichText::new("None above the thresholds (rules need sessions that run together).")
                .color(theme::muted(ui)),
        );
    } else {
        egui::Grid::new("workload_rules")
            .striped(true)
            .num_columns(4)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in ["Rule", "Support", "Confidence", "Lift"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for rule in r.rules.iter().take(TOP_RULES) {
                    ui.label(format!(
                        "{{{}}} ⇒ {{{}}}",
                        rule.antecedent.join(", "),
                        rule.consequent.join(", ")
                    ));
                    ui.label(format!("{:.3}", rule.support));
                    ui.label(format!("{:.2}", rule.confidence));
                    ui.label(format!("{:.2}", rule.lift));
                    ui.end_row();
                }
            });
    }
    if r.rules.len() > TOP_RULES {
        ui.label(
            RichText::new(format!(
                "… and {} more (`persona analyze --source proxy --json` has them all)",
                r.rules.len() - TOP_RULES
            ))
            .color(theme::muted(ui)),
        );
    }

    if !r.warnings.is_empty() {
        section(ui, "Warnings", Some(r.warnings.len()));
        for w in &r.warnings {
            ui.label(RichText::new(w).color(theme::muted(ui)));
        }
    }
}

/// A latency in milliseconds, readable (`850 µs`, `1.25 ms`, `40 ms`, `1.20 s`).
fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.2} ms")
    } else if v > 0.0 {
        format!("{:.0} µs", v * 1000.0)
    } else {
        "0".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_well() {
        assert_eq!(ms(0.0), "0");
        assert_eq!(ms(0.85), "850 µs");
        assert_eq!(ms(1.254), "1.25 ms");
        assert_eq!(ms(40.2), "40 ms");
        assert_eq!(ms(1200.0), "1.20 s");
    }
}
