//! The connections page: saved databases (URL without password plus where the password comes
//! from), testing them, introspecting one into a new persona, and provisioning a persona into
//! one after its DDL has been shown and confirmed.

use egui::{CornerRadius, RichText, Stroke, vec2};
use persona_engine::control_plane::{Command, ConnectionState, Snapshot, TestState};
use persona_engine::registry::SecretRef;

use super::app::Intent;
use super::theme;
use super::widgets::{
    danger_button, labelled_field, modal, page_header, password_field, primary_button, section,
    unique_name,
};

/// How the add form chooses the password source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SecretKind {
    #[default]
    None,
    Env,
    Pgpass,
    Prompt,
}

/// What needs a password typed before it runs.
#[derive(Debug, Clone)]
enum Pending {
    Test,
    Introspect { persona_name: String },
    Provision { persona: String },
}

/// An open dialog of the page.
#[derive(Debug, Clone)]
enum Dialog {
    Introspect {
        connection: String,
        name: String,
    },
    Password {
        connection: String,
        then: Pending,
        password: String,
    },
    Remove {
        connection: String,
    },
}

/// State of the connections page.
#[derive(Debug, Default)]
pub struct ConnectionsPage {
    name: String,
    url: String,
    secret: SecretKind,
    env_var: String,
    selected: Option<String>,
    provision_persona: Option<String>,
    dialog: Option<Dialog>,
}

impl ConnectionsPage {
    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) -> Vec<Intent> {
        let mut intents = Vec::new();
        if self
            .selected
            .as_deref()
            .is_some_and(|s| snapshot.connection(s).is_none())
        {
            self.selected = None;
        }
        if self.selected.is_none() {
            self.selected = snapshot.connections.first().map(|c| c.saved.name.clone());
        }
        egui::Panel::left("connection_list")
            .default_size(360.0)
            .size_range(300.0..=520.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    ui.add_space(8.0);
                    page_header(
                        ui,
                        "Connections",
                        "Databases to read schemas from and provision into.",
                    );
                    section(ui, "Saved", Some(snapshot.connections.len()));
                    if snapshot.connections.is_empty() {
                        ui.label(RichText::new("No connections yet.").color(theme::muted(ui)));
                    }
                    for c in &snapshot.connections {
                        let selected = self.selected.as_deref() == Some(c.saved.name.as_str());
                        if connection_row_ui(ui, c, selected).clicked() {
                            self.selected = Some(c.saved.name.clone());
                        }
                    }
                    section(ui, "Add a connection", None);
                    self.add_form_ui(ui, snapshot, &mut intents);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let selected = self
                .selected
                .as_deref()
                .and_then(|s| snapshot.connection(s));
            if let Some(c) = selected {
                self.details_ui(ui, snapshot, c, &mut intents);
            } else {
                ui.add_space(40.0);
                ui.vertical_centered(|ui| {
                    ui.label(RichText::new("🔌").size(40.0));
                    ui.label(
                        RichText::new(
                            "Add a PostgreSQL, MySQL/MariaDB or SQLite database to get started.",
                        )
                        .color(theme::muted(ui)),
                    );
                });
            }
        });
        self.plan_ui(ui.ctx(), snapshot, &mut intents);
        self.dialog_ui(ui.ctx(), snapshot, &mut intents);
        intents
    }

    fn add_form_ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        labelled_field(ui, "Connection name", &mut self.name);
        labelled_field(ui, "Database URL", &mut self.url);
        ui.label(
            RichText::new("sqlite://FILE, postgres://user@host/db, mysql://user@host/db")
                .small()
                .color(theme::muted(ui)),
        );
        let label = ui.label("Password");
        egui::ComboBox::from_id_salt("secret_kind")
            .width(ui.available_width())
            .selected_text(match self.secret {
                SecretKind::None => "None needed",
                SecretKind::Env => "From an environment variable",
                SecretKind::Pgpass => "From ~/.pgpass",
                SecretKind::Prompt => "Ask when used",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.secret, SecretKind::None, "None needed");
                ui.selectable_value(
                    &mut self.secret,
                    SecretKind::Env,
                    "From an environment variable",
                );
                ui.selectable_value(&mut self.secret, SecretKind::Pgpass, "From ~/.pgpass");
                ui.selectable_value(&mut self.secret, SecretKind::Prompt, "Ask when used");
            })
            .response
            .labelled_by(label.id);
        if self.secret == SecretKind::Env {
            labelled_field(ui, "Variable name", &mut self.env_var);
        }
        ui.label(
            RichText::new("Passwords are never stored; a password typed in the URL is removed.")
                .small()
                .color(theme::muted(ui)),
        );
        ui.add_space(4.0);
        let ready = !self.url.trim().is_empty()
            && (self.secret != SecretKind::Env || !self.env_var.trim().is_empty());
        if ui
            .add_enabled_ui(ready, |ui| primary_button(ui, "Save connection"))
            .inner
            .clicked()
        {
            let name = if self.name.trim().is_empty() {
                unique_name(
                    &default_name(&self.url),
                    snapshot.connections.iter().map(|c| c.saved.name.as_str()),
                )
            } else {
                self.name.trim().to_owned()
            };
            let secret = match self.secret {
                SecretKind::None => SecretRef::None,
                SecretKind::Env => SecretRef::Env(self.env_var.trim().to_owned()),
                SecretKind::Pgpass => SecretRef::Pgpass,
                SecretKind::Prompt => SecretRef::Prompt,
            };
            intents.push(Intent::Send(Command::AddConnection {
                name: name.clone(),
                url: self.url.trim().to_owned(),
                secret,
            }));
            self.selected = Some(name);
            self.name.clear();
            self.url.clear();
            self.env_var.clear();
        }
    }

    fn details_ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        c: &ConnectionState,
        intents: &mut Vec<Intent>,
    ) {
        let name = c.saved.name.clone();
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            ui.label(RichText::new(&name).size(20.0).strong());
            if let Some(d) = c.dialect {
                theme::badge(ui, d.as_str(), theme::ACCENT);
            }
        });
        ui.label(RichText::new(&c.saved.url).monospace());
        ui.label(RichText::new(c.saved.secret.to_string()).color(theme::muted(ui)));
        ui.add_space(10.0);
        let needs_password = c.saved.secret == SecretRef::Prompt;
        card(ui, |ui| {
            ui.label(RichText::new("Test").strong());
            ui.horizontal(|ui| {
                if ui.button("Test connection").clicked() {
                    self.run(&name, needs_password, Pending::Test, intents);
                }
                match &c.test {
                    TestState::Untested => {
                        ui.label(RichText::new("not tested yet").color(theme::muted(ui)));
                    }
                    TestState::Running => {
                        ui.spinner();
                        ui.label("connecting…");
                    }
                    TestState::Ok => {
                        ui.label(RichText::new("✔ Connected").color(theme::SUCCESS));
                    }
                    TestState::Failed(e) => {
                        ui.label(RichText::new(format!("✖ {e}")).color(theme::DANGER));
                    }
                }
            });
        });
        card(ui, |ui| {
            ui.label(RichText::new("Introspect").strong());
            ui.label(
                RichText::new("Read this database's schema into a new persona.")
                    .color(theme::muted(ui)),
            );
            if ui.button("Introspect into a persona…").clicked() {
                let base = format!("{name}-schema");
                self.dialog = Some(Dialog::Introspect {
                    connection: name.clone(),
                    name: unique_name(&base, snapshot.personas.iter().map(|p| p.name.as_str())),
                });
            }
        });
        card(ui, |ui| {
            ui.label(RichText::new("Provision").strong());
            ui.label(
                RichText::new(
                    "Create a persona's tables in this database. The DDL is shown first; nothing \
                     runs until you confirm, and existing tables are never touched.",
                )
                .color(theme::muted(ui)),
            );
            ui.horizontal(|ui| {
                let label = ui.label("Persona");
                let current = self
                    .provision_persona
                    .clone()
                    .filter(|p| snapshot.persona(p).is_some());
                egui::ComboBox::from_id_salt("provision_persona")
                    .width(220.0)
                    .selected_text(current.as_deref().unwrap_or("choose…"))
                    .show_ui(ui, |ui| {
                        for p in &snapshot.personas {
                            ui.selectable_value(
                                &mut self.provision_persona,
                                Some(p.name.clone()),
                                &p.name,
                            );
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if ui
                    .add_enabled(current.is_some(), egui::Button::new("Preview DDL…"))
                    .clicked()
                    && let Some(persona) = current
                {
                    intents.push(Intent::Send(Command::PlanProvision {
                        persona,
                        connection: name.clone(),
                    }));
                }
            });
        });
        ui.add_space(6.0);
        if ui.button("Remove connection…").clicked() {
            self.dialog = Some(Dialog::Remove { connection: name });
        }
    }

    /// Send the command for `then`, asking for a password first when the connection needs one.
    fn run(
        &mut self,
        connection: &str,
        needs_password: bool,
        then: Pending,
        intents: &mut Vec<Intent>,
    ) {
        if needs_password {
            self.dialog = Some(Dialog::Password {
                connection: connection.to_owned(),
                then,
                password: String::new(),
            });
        } else {
            intents.push(Intent::Send(command(connection, then, None)));
        }
    }

    fn plan_ui(&mut self, ctx: &egui::Context, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        let Some(plan) = &snapshot.provision_plan else {
            return;
        };
        let title = format!("Provision “{}” into “{}”?", plan.persona, plan.connection);
        let mut decided = None;
        let closed = modal(ctx, "provision_plan", &title, |ui| {
            ui.set_width(640.0);
            ui.label(format!(
                "{} statement(s) for {} will run:",
                plan.statements.len(),
                plan.dialect.as_str()
            ));
            let mut script = persona_core::ddl::script(&plan.statements);
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut script)
                            .code_editor()
                            .interactive(false)
                            .desired_width(f32::INFINITY),
                    );
                });
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if primary_button(ui, "Provision").clicked() {
                    decided = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    decided = Some(false);
                }
            });
            decided.is_some()
        });
        match decided {
            Some(true) => {
                let needs_password = snapshot
                    .connection(&plan.connection)
                    .is_some_and(|c| c.saved.secret == SecretRef::Prompt);
                intents.push(Intent::Send(Command::CancelProvision));
                self.run(
                    &plan.connection,
                    needs_password,
                    Pending::Provision {
                        persona: plan.persona.clone(),
                    },
                    intents,
                );
            }
            Some(false) => intents.push(Intent::Send(Command::CancelProvision)),
            None if closed => intents.push(Intent::Send(Command::CancelProvision)),
            None => {}
        }
    }

    fn dialog_ui(&mut self, ctx: &egui::Context, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        let mut next = None;
        let closed = match &mut dialog {
            Dialog::Introspect { connection, name } => {
                modal(ctx, "introspect", "Introspect into a new persona", |ui| {
                    labelled_field(ui, "Persona name", name);
                    let taken = snapshot.persona(name.trim()).is_some();
                    if taken {
                        ui.label(RichText::new("That name is already used.").color(theme::DANGER));
                    }
                    ui.add_space(8.0);
                    let mut close = false;
                    ui.horizontal(|ui| {
                        let ok = !name.trim().is_empty() && !taken;
                        if ui
                            .add_enabled_ui(ok, |ui| primary_button(ui, "Introspect"))
                            .inner
                            .clicked()
                        {
                            let needs = snapshot
                                .connection(connection)
                                .is_some_and(|c| c.saved.secret == SecretRef::Prompt);
                            let then = Pending::Introspect {
                                persona_name: name.trim().to_owned(),
                            };
                            if needs {
                                next = Some(Dialog::Password {
                                    connection: connection.clone(),
                                    then,
                                    password: String::new(),
                                });
                            } else {
                                intents.push(Intent::Send(command(connection, then, None)));
                            }
                            close = true;
                        }
                        close |= ui.button("Cancel").clicked();
                    });
                    close
                })
            }
            Dialog::Password {
                connection,
                then,
                password,
            } => modal(
                ctx,
                "password",
                &format!("Password for “{connection}”"),
                |ui| {
                    ui.label(
                        RichText::new("Used for this action only; it is not stored.")
                            .small()
                            .color(theme::muted(ui)),
                    );
                    let field = password_field(ui, "Password", password);
                    field.request_focus();
                    ui.add_space(8.0);
                    let mut close = false;
                    ui.horizontal(|ui| {
                        let enter =
                            field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        if primary_button(ui, "Continue").clicked() || enter {
                            intents.push(Intent::Send(command(
                                connection,
                                then.clone(),
                                Some(std::mem::take(password)),
                            )));
                            close = true;
                        }
                        close |= ui.button("Cancel").clicked();
                    });
                    close
                },
            ),
            Dialog::Remove { connection } => {
                modal(ctx, "remove_connection", "Remove connection?", |ui| {
                    ui.label(format!(
                        "“{connection}” will be forgotten. The database itself is not touched."
                    ));
                    ui.add_space(8.0);
                    let mut close = false;
                    ui.horizontal(|ui| {
                        if danger_button(ui, "Remove").clicked() {
                            intents.push(Intent::Send(Command::RemoveConnection {
                                name: connection.clone(),
                            }));
                            close = true;
                        }
                        close |= ui.button("Cancel").clicked();
                    });
                    close
                })
            }
        };
        self.dialog = next.or(if closed { None } else { Some(dialog) });
    }
}

fn command(connection: &str, then: Pending, password: Option<String>) -> Command {
    let connection = connection.to_owned();
    match then {
        Pending::Test => Command::TestConnection {
            name: connection,
            password,
        },
        Pending::Introspect { persona_name } => Command::Introspect {
            connection,
            persona_name,
            password,
        },
        Pending::Provision { persona } => Command::Provision {
            persona,
            connection,
            password,
        },
    }
}

/// A name from the URL: the database or file name.
fn default_name(url: &str) -> String {
    let tail = url.rsplit(['/', '\\']).next().unwrap_or("db");
    let tail = tail.split('?').next().unwrap_or(tail);
    let stem = tail
        .strip_suffix(".db")
        .or_else(|| tail.strip_suffix(".sqlite"))
        .unwrap_or(tail);
    if stem.is_empty() {
        "db".to_owned()
    } else {
        stem.to_owned()
    }
}

fn card(ui: &mut egui::Ui, body: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::new()
        .fill(theme::card_fill(ui))
        .stroke(theme::card_stroke(ui, false))
        .corner_radius(CornerRadius::same(10))
        .inner_margin(egui::Margin::same(14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width().min(720.0));
            body(ui);
        });
    ui.add_space(8.0);
}

fn connection_row_ui(ui: &mut egui::Ui, c: &ConnectionState, selected: bool) -> egui::Response {
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), 52.0), egui::Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::WidgetType::Button, true, selected, &c.saved.name)
    });
    if ui.is_rect_visible(rect) {
        let stroke = if response.hovered() && !selected {
            Stroke::new(1.0, theme::ACCENT)
        } else {
            theme::card_stroke(ui, selected)
        };
        ui.painter().rect(
            rect,
            CornerRadius::same(8),
            theme::card_fill(ui),
            stroke,
            egui::StrokeKind::Inside,
        );
        let status = match c.test {
            TestState::Ok => theme::SUCCESS,
            TestState::Failed(_) => theme::DANGER,
            TestState::Running => theme::WARNING,
            TestState::Untested => theme::muted(ui),
        };
        ui.painter()
            .circle_filled(rect.left_center() + vec2(16.0, 0.0), 5.0, status);
        let text = ui.visuals().text_color();
        ui.painter().text(
            rect.left_top() + vec2(32.0, 9.0),
            egui::Align2::LEFT_TOP,
            &c.saved.name,
            egui::FontId::proportional(14.5),
            text,
        );
        let dialect = c.dialect.map_or("?", |d| d.as_str());
        ui.painter().text(
            rect.left_top() + vec2(32.0, 29.0),
            egui::Align2::LEFT_TOP,
            format!("{dialect} · {}", persona_engine::db::redact(&c.saved.url)),
            egui::FontId::proportional(11.5),
            theme::muted(ui),
        );
    }
    ui.add_space(4.0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_come_from_the_database_or_file() {
        assert_eq!(default_name("sqlite:///tmp/shop.db"), "shop");
        assert_eq!(default_name("postgres://u@h/app?sslmode=disable"), "app");
        assert_eq!(default_name("mysql://root@h/"), "db");
    }
}
