//! The inspector: edits the selected table, column, index, relationship or check (names, types,
//! nullability, defaults, unique, composite indexes with order and partial predicate, checks).
//! Text fields commit on Enter or when focus leaves them, so each edit is one undo step.

use egui::{Id, Ui};
use persona_core::{
    Check, DataType, DefaultValue, ForeignKeyAction, Index, IndexColumn, IndexMethod,
    PersonaDefinition, SortOrder, Table,
};

use super::actions::{CanvasAction, ColumnEdit, Target, is_single_unique};
use super::view::{Selection, free_name};

/// A labelled single-line text field that returns the new text when the user commits it (Enter
/// or focus leaves) and it differs from `current`. Its accessible name is `label`.
pub fn committed_text(ui: &mut Ui, label: &str, id: Id, current: &str) -> Option<String> {
    committed_text_with(ui, label, id, current, false).0
}

/// [`committed_text`], multi-line when `multiline`; also returns the text being typed (for live
/// checks).
pub fn committed_text_with(
    ui: &mut Ui,
    label: &str,
    id: Id,
    current: &str,
    multiline: bool,
) -> (Option<String>, String) {
    let buffer_id = id.with("buffer");
    let edit_id = id.with("edit");
    let focused = ui.memory(|m| m.has_focus(edit_id));
    let mut text = if focused {
        ui.data(|d| d.get_temp::<String>(buffer_id))
            .unwrap_or_else(|| current.to_owned())
    } else {
        current.to_owned()
    };
    let mut committed = None;
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit = if multiline {
            egui::TextEdit::multiline(&mut text).desired_rows(3)
        } else {
            egui::TextEdit::singleline(&mut text)
        };
        let response = ui
            .add(edit.id(edit_id).desired_width(f32::INFINITY).code_editor())
            .labelled_by(label.id);
        if response.has_focus() {
            ui.data_mut(|d| d.insert_temp(buffer_id, text.clone()));
        } else if response.lost_focus() {
            ui.data_mut(|d| d.remove::<String>(buffer_id));
            if text != current {
                committed = Some(text.clone());
            }
        }
    });
    (committed, text)
}

/// Draw the inspector for `selection`.
pub fn inspector_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    selection: &mut Selection,
    actions: &mut Vec<CanvasAction>,
) {
    let schema = &persona.initial_schema;
    match selection.item.clone() {
        Some(Target::Column { table, column }) => {
            if let Some(t) = schema.table(&table) {
                column_ui(ui, t, &column, actions);
            }
        }
        Some(Target::ForeignKey { table, name }) => {
            if let Some(t) = schema.table(&table) {
                foreign_key_ui(ui, t, &name, actions);
            }
        }
        Some(Target::Index { table, name }) => {
            if let Some(t) = schema.table(&table) {
                index_ui(ui, t, &name, actions);
            }
        }
        Some(Target::Check { table, name }) => {
            if let Some(t) = schema.table(&table) {
                check_ui(ui, t, &name, actions);
            }
        }
        Some(Target::Table(_)) | None => match selection.tables.len() {
            0 => persona_ui(ui, persona, actions),
            1 => {
                let name = selection.tables.iter().next().cloned().unwrap_or_default();
                if let Some(t) = schema.table(&name) {
                    table_ui(ui, t, selection, actions);
                }
            }
            n => {
                ui.heading(format!("{n} tables selected"));
                if ui.button("Delete tables").clicked() {
                    actions.push(CanvasAction::Delete(
                        selection
                            .tables
                            .iter()
                            .cloned()
                            .map(Target::Table)
                            .collect(),
                    ));
                }
            }
        },
    }
}

fn persona_ui(ui: &mut Ui, persona: &PersonaDefinition, actions: &mut Vec<CanvasAction>) {
    ui.heading("Persona");
    let id = Id::new("persona_inspector_persona");
    if let Some(name) = committed_text(ui, "Persona name", id.with("name"), &persona.name) {
        actions.push(CanvasAction::EditPersona {
            name,
            description: persona.description.clone(),
        });
    }
    if let Some(description) = committed_text_with(
        ui,
        "Description",
        id.with("description"),
        &persona.description,
        true,
    )
    .0
    {
        actions.push(CanvasAction::EditPersona {
            name: persona.name.clone(),
            description,
        });
    }
    ui.add_space(8.0);
    ui.label(format!(
        "{} tables, {} relationships, {} access patterns",
        persona.initial_schema.tables.len(),
        persona
            .initial_schema
            .tables
            .iter()
            .map(|t| t.foreign_keys.len())
            .sum::<usize>(),
        persona.access_patterns.len()
    ));
    ui.label(egui::RichText::new("Select a table or column on the canvas to edit it.").weak());
}

fn table_ui(
    ui: &mut Ui,
    table: &Table,
    selection: &mut Selection,
    actions: &mut Vec<CanvasAction>,
) {
    let name = &table.name;
    let id = Id::new(("persona_inspector_table", name));
    ui.heading(format!("Table {name}"));
    if let Some(to) = committed_text(ui, "Table name", id.with("name"), name) {
        actions.push(CanvasAction::RenameTable {
            table: name.clone(),
            to,
        });
    }
    let comment = table.comment.clone().unwrap_or_default();
    if let Some(c) = committed_text(ui, "Comment", id.with("comment"), &comment) {
        let comment = if c.trim().is_empty() { None } else { Some(c) };
        actions.push(CanvasAction::SetTableComment {
            table: name.clone(),
            comment,
        });
    }
    ui.separator();
    ui.strong("Columns");
    for c in &table.columns {
        let text = format!(
            "{}  {}{}",
            c.name,
            c.data_type,
            if c.nullable { "" } else { " not null" }
        );
        if ui.selectable_label(false, text).clicked() {
            *selection = selection_of(Target::Column {
                table: name.clone(),
                column: c.name.clone(),
            });
        }
    }
    if ui.button("Add column").clicked() {
        let column = free_name(|n| table.column(n).is_some(), "column");
        actions.push(CanvasAction::AddColumn {
            table: name.clone(),
            column: persona_core::Column::new(column, DataType::Text),
        });
    }
    ui.separator();
    ui.strong("Indexes");
    for ix in &table.indexes {
        let cols: Vec<String> = ix.columns.iter().map(index_part_text).collect();
        let text = format!(
            "{}{} ({})",
            if ix.unique { "unique " } else { "" },
            ix.name,
            cols.join(", ")
        );
        if ui.selectable_label(false, text).clicked() {
            *selection = selection_of(Target::Index {
                table: name.clone(),
                name: ix.name.clone(),
            });
        }
    }
    if let Some(first) = table.columns.first()
        && ui.button("Add index").clicked()
    {
        actions.push(CanvasAction::AddIndex {
            table: name.clone(),
            index: Index {
                name: String::new(),
                columns: vec![IndexColumn::column(first.name.clone())],
                unique: false,
                predicate: None,
                include: Vec::new(),
                method: IndexMethod::Btree,
            },
        });
    }
    ui.separator();
    ui.strong("Foreign keys");
    for fk in &table.foreign_keys {
        let text = format!(
            "{} → {}({})",
            fk.columns.join(", "),
            fk.ref_table,
            fk.ref_columns.join(", ")
        );
        if ui.selectable_label(false, text).clicked() {
            *selection = selection_of(Target::ForeignKey {
                table: name.clone(),
                name: fk.name.clone(),
            });
        }
    }
    ui.separator();
    ui.strong("Checks");
    for (i, check) in table.checks.iter().enumerate() {
        let label = if check.name.is_empty() {
            format!("check {}", i + 1)
        } else {
            check.name.clone()
        };
        if ui
            .selectable_label(false, format!("{label}: {}", check.expression))
            .clicked()
        {
            *selection = selection_of(Target::Check {
                table: name.clone(),
                name: check.name.clone(),
            });
        }
    }
    if let Some(first) = table.columns.first()
        && ui.button("Add check").clicked()
    {
        let check_name = free_name(
            |n| table.checks.iter().any(|c| c.name == n),
            &format!("{name}_check"),
        );
        actions.push(CanvasAction::EditCheck {
            table: name.clone(),
            position: None,
            check: Some(Check {
                name: check_name,
                expression: format!("{} IS NOT NULL", first.name),
            }),
        });
    }
    ui.separator();
    if ui.button("Delete table").clicked() {
        actions.push(CanvasAction::Delete(vec![Target::Table(name.clone())]));
    }
}

fn selection_of(target: Target) -> Selection {
    let mut s = Selection::default();
    if let Target::Column { table, .. }
    | Target::Index { table, .. }
    | Target::ForeignKey { table, .. }
    | Target::Check { table, .. } = &target
    {
        s.tables.insert(table.clone());
    }
    s.item = Some(target);
    s
}

fn index_part_text(part: &IndexColumn) -> String {
    let base = part
        .column
        .clone()
        .or_else(|| part.expression.clone())
        .unwrap_or_default();
    match part.order {
        SortOrder::Asc => base,
        SortOrder::Desc => format!("{base} desc"),
    }
}

/// Types offered in the type picker.
const TYPE_CHOICES: [DataType; 17] = DataType::EXAMPLES;

fn column_ui(ui: &mut Ui, table: &Table, column_name: &str, actions: &mut Vec<CanvasAction>) {
    let Some(column) = table.column(column_name) else {
        return;
    };
    let tname = &table.name;
    let id = Id::new(("persona_inspector_column", tname, column_name));
    let edit = |edit: ColumnEdit| CanvasAction::EditColumn {
        table: tname.clone(),
        column: column_name.to_owned(),
        edit,
    };
    ui.heading(format!("Column {tname}.{column_name}"));
    if let Some(to) = committed_text(ui, "Column name", id.with("name"), column_name) {
        actions.push(edit(ColumnEdit::Rename(to)));
    }
    ui.horizontal(|ui| {
        let label = ui.label("Type");
        egui::ComboBox::from_id_salt(id.with("type"))
            .selected_text(column.data_type.to_string())
            .show_ui(ui, |ui| {
                for ty in TYPE_CHOICES {
                    if ui
                        .selectable_label(ty == column.data_type, ty.to_string())
                        .clicked()
                        && ty != column.data_type
                    {
                        actions.push(edit(ColumnEdit::Type(ty)));
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    let type_id = id.with("custom_type");
    if let Some(text) = committed_text(ui, "Exact type", type_id, &column.data_type.to_string()) {
        match text.parse::<DataType>() {
            Ok(ty) => {
                ui.data_mut(|d| d.remove::<String>(type_id.with("error")));
                actions.push(edit(ColumnEdit::Type(ty)));
            }
            Err(e) => {
                ui.data_mut(|d| d.insert_temp(type_id.with("error"), e.to_string()));
            }
        }
    }
    if let Some(e) = ui.data(|d| d.get_temp::<String>(type_id.with("error"))) {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let mut nullable = column.nullable;
    if ui.checkbox(&mut nullable, "Nullable").changed() {
        actions.push(edit(ColumnEdit::Nullable(nullable)));
    }
    let mut pk = table.primary_key.iter().any(|c| c == column_name);
    if ui.checkbox(&mut pk, "Primary key").changed() {
        actions.push(edit(ColumnEdit::PrimaryKey(pk)));
    }
    let mut unique = is_single_unique(table, column_name);
    if ui.checkbox(&mut unique, "Unique").changed() {
        actions.push(edit(ColumnEdit::Unique(unique)));
    }
    let mut identity = column.identity;
    if ui
        .checkbox(&mut identity, "Generated by the database (identity)")
        .changed()
    {
        actions.push(edit(ColumnEdit::Identity(identity)));
    }
    let current = column
        .default
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    if let Some(text) = committed_text(ui, "Default", id.with("default"), &current) {
        let value = if text.trim().is_empty() {
            None
        } else {
            Some(DefaultValue::parse(&text))
        };
        actions.push(edit(ColumnEdit::Default(value)));
    }
    ui.separator();
    if ui.button("Delete column").clicked() {
        actions.push(CanvasAction::Delete(vec![Target::Column {
            table: tname.clone(),
            column: column_name.to_owned(),
        }]));
    }
}

const FK_ACTIONS: [ForeignKeyAction; 5] = [
    ForeignKeyAction::NoAction,
    ForeignKeyAction::Restrict,
    ForeignKeyAction::Cascade,
    ForeignKeyAction::SetNull,
    ForeignKeyAction::SetDefault,
];

fn foreign_key_ui(ui: &mut Ui, table: &Table, name: &str, actions: &mut Vec<CanvasAction>) {
    let Some(fk) = table.foreign_keys.iter().find(|f| f.name == name) else {
        return;
    };
    ui.heading("Relationship");
    ui.label(format!(
        "{}({}) → {}({})",
        table.name,
        fk.columns.join(", "),
        fk.ref_table,
        fk.ref_columns.join(", ")
    ));
    ui.label(egui::RichText::new(format!("constraint {name}")).weak());
    ui.label(format!(
        "many {} rows to one {} row",
        table.name, fk.ref_table
    ));
    let id = Id::new(("persona_inspector_fk", &table.name, name));
    let mut on_delete = fk.on_delete;
    let mut on_update = fk.on_update;
    for (label, value) in [("On delete", &mut on_delete), ("On update", &mut on_update)] {
        ui.horizontal(|ui| {
            let l = ui.label(label);
            egui::ComboBox::from_id_salt(id.with(label))
                .selected_text(value.as_sql())
                .show_ui(ui, |ui| {
                    for a in FK_ACTIONS {
                        ui.selectable_value(value, a, a.as_sql());
                    }
                })
                .response
                .labelled_by(l.id);
        });
    }
    if on_delete != fk.on_delete || on_update != fk.on_update {
        actions.push(CanvasAction::EditForeignKey {
            table: table.name.clone(),
            name: name.to_owned(),
            on_delete,
            on_update,
        });
    }
    ui.separator();
    if ui.button("Delete relationship").clicked() {
        actions.push(CanvasAction::Delete(vec![Target::ForeignKey {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}

fn index_ui(ui: &mut Ui, table: &Table, name: &str, actions: &mut Vec<CanvasAction>) {
    let Some(index) = table.indexes.iter().find(|i| i.name == name) else {
        return;
    };
    let id = Id::new(("persona_inspector_index", &table.name, name));
    let replace = |index: Index| CanvasAction::EditIndex {
        table: table.name.clone(),
        name: name.to_owned(),
        index,
    };
    ui.heading(format!("Index on {}", table.name));
    if let Some(to) = committed_text(ui, "Index name", id.with("name"), name) {
        actions.push(replace(Index {
            name: to,
            ..index.clone()
        }));
    }
    let mut unique = index.unique;
    if ui.checkbox(&mut unique, "Unique").changed() {
        actions.push(replace(Index {
            unique,
            ..index.clone()
        }));
    }
    ui.strong("Key columns (in order)");
    let n = index.columns.len();
    for (i, part) in index.columns.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{}. {}", i + 1, index_part_text(part)));
            let mut next = index.clone();
            let mut changed = false;
            let flip = if part.order == SortOrder::Asc {
                "desc"
            } else {
                "asc"
            };
            if ui.small_button(flip).on_hover_text("Sort order").clicked() {
                next.columns[i].order = match part.order {
                    SortOrder::Asc => SortOrder::Desc,
                    SortOrder::Desc => SortOrder::Asc,
                };
                changed = true;
            }
            if i > 0 && ui.small_button("↑").on_hover_text("Move up").clicked() {
                next.columns.swap(i, i - 1);
                changed = true;
            }
            if i + 1 < n && ui.small_button("↓").on_hover_text("Move down").clicked() {
                next.columns.swap(i, i + 1);
                changed = true;
            }
            if n > 1
                && ui
                    .small_button("✖")
                    .on_hover_text("Remove from the index")
                    .clicked()
            {
                next.columns.remove(i);
                changed = true;
            }
            if changed {
                actions.push(replace(next));
            }
        });
    }
    let unused: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| {
            !index
                .columns
                .iter()
                .any(|p| p.column.as_deref() == Some(*c))
        })
        .collect();
    if !unused.is_empty() {
        egui::ComboBox::from_id_salt(id.with("add"))
            .selected_text("Add key column…")
            .show_ui(ui, |ui| {
                for c in unused {
                    if ui.selectable_label(false, c).clicked() {
                        let mut next = index.clone();
                        next.columns.push(IndexColumn::column(c));
                        actions.push(replace(next));
                    }
                }
            });
    }
    let predicate = index.predicate.clone().unwrap_or_default();
    if let Some(p) = committed_text(ui, "Partial predicate", id.with("predicate"), &predicate) {
        let predicate = if p.trim().is_empty() { None } else { Some(p) };
        actions.push(replace(Index {
            predicate,
            ..index.clone()
        }));
    }
    ui.separator();
    if ui.button("Delete index").clicked() {
        actions.push(CanvasAction::Delete(vec![Target::Index {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}

fn check_ui(ui: &mut Ui, table: &Table, name: &str, actions: &mut Vec<CanvasAction>) {
    let Some(position) = table.checks.iter().position(|c| c.name == name) else {
        return;
    };
    let check = &table.checks[position];
    let id = Id::new(("persona_inspector_check", &table.name, name));
    ui.heading(format!("Check on {}", table.name));
    let edit = |check: Check| CanvasAction::EditCheck {
        table: table.name.clone(),
        position: Some(position),
        check: Some(check),
    };
    if let Some(to) = committed_text(ui, "Check name", id.with("name"), name) {
        actions.push(edit(Check {
            name: to,
            ..check.clone()
        }));
    }
    if let Some(expression) = committed_text(
        ui,
        "Check expression",
        id.with("expression"),
        &check.expression,
    ) {
        actions.push(edit(Check {
            expression,
            ..check.clone()
        }));
    }
    ui.separator();
    if ui.button("Delete check").clicked() {
        actions.push(CanvasAction::Delete(vec![Target::Check {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}
