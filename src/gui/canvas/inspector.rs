//! The inspector: edits the selected table, column, index, relationship or check (names, types,
//! nullability, defaults, unique, composite indexes with order and partial predicate, checks,
//! and the column pairs of a composite foreign key, types checked). Text fields commit on Enter
//! or when focus leaves them, so each edit is one undo step.

use egui::{Id, Ui};
use persona_core::{
    Check, DataType, DefaultValue, ForeignKeyAction, Index, IndexColumn, IndexMethod,
    PersonaDefinition, SortOrder, Table,
};

use super::actions::{
    CanvasAction, ColumnEdit, Edits, Target, check_pair, is_single_unique, keys_containing,
};
use super::view::{Selection, free_name};

/// A labelled single-line field for SQL text (names, types, expressions; monospace) that
/// returns the new text when the user commits it (Enter or focus leaves) and it differs from
/// `current`. Its accessible name is `label`.
pub fn committed_text(ui: &mut Ui, label: &str, id: Id, current: &str) -> Option<String> {
    committed_text_with(ui, label, id, current, Field::Code).0
}

/// What a committed text field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One line of SQL text, monospace.
    Code,
    /// Several lines of SQL, monospace.
    CodeBlock,
    /// One line of prose.
    Line,
    /// Several lines of prose.
    Paragraph,
}

/// [`committed_text`] for any kind of [`Field`]; also returns the text being typed (for live
/// checks).
pub fn committed_text_with(
    ui: &mut Ui,
    label: &str,
    id: Id,
    current: &str,
    field: Field,
) -> (Option<String>, String) {
    let multiline = matches!(field, Field::CodeBlock | Field::Paragraph);
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
        let mut edit = if multiline {
            egui::TextEdit::multiline(&mut text).desired_rows(3)
        } else {
            egui::TextEdit::singleline(&mut text)
        };
        if matches!(field, Field::Code | Field::CodeBlock) {
            edit = edit.code_editor();
        }
        let response = ui
            .add(edit.id(edit_id).desired_width(f32::INFINITY))
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
    edits: &mut Edits,
) {
    let schema = &persona.initial_schema;
    match selection.item.clone() {
        Some(Target::Column { table, column }) => {
            if let Some(t) = schema.table(&table) {
                column_ui(ui, persona, t, &column, selection, edits);
            }
        }
        Some(Target::ForeignKey { table, name }) => {
            if schema.table(&table).is_some() {
                foreign_key_ui(ui, persona, &table, &name, edits);
            }
        }
        Some(Target::Index { table, name }) => {
            if let Some(t) = schema.table(&table) {
                index_ui(ui, t, &name, edits);
            }
        }
        Some(Target::Check { table, name }) => {
            if let Some(t) = schema.table(&table) {
                check_ui(ui, t, &name, edits);
            }
        }
        Some(Target::Table(_)) | None => match selection.tables.len() {
            0 => persona_ui(ui, persona, edits),
            1 => {
                let name = selection.tables.iter().next().cloned().unwrap_or_default();
                if let Some(t) = schema.table(&name) {
                    table_ui(ui, t, selection, edits);
                }
            }
            n => {
                ui.heading(format!("{n} tables selected"));
                if ui.button("Delete tables").clicked() {
                    edits.push(CanvasAction::Delete(
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

fn persona_ui(ui: &mut Ui, persona: &PersonaDefinition, edits: &mut Edits) {
    ui.heading("Persona");
    let id = Id::new("persona_inspector_persona");
    if let Some(name) = committed_text_with(
        ui,
        "Persona name",
        id.with("name"),
        &persona.name,
        Field::Line,
    )
    .0
    {
        edits.push(CanvasAction::EditPersona {
            name,
            description: persona.description.clone(),
        });
    }
    if let Some(description) = committed_text_with(
        ui,
        "Description",
        id.with("description"),
        &persona.description,
        Field::Paragraph,
    )
    .0
    {
        edits.push(CanvasAction::EditPersona {
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

fn table_ui(ui: &mut Ui, table: &Table, selection: &mut Selection, edits: &mut Edits) {
    let name = &table.name;
    let id = Id::new(("persona_inspector_table", name));
    ui.heading(format!("Table {name}"));
    if let Some(to) = committed_text(ui, "Table name", id.with("name"), name) {
        edits.push(CanvasAction::RenameTable {
            table: name.clone(),
            to,
        });
    }
    let comment = table.comment.clone().unwrap_or_default();
    if let Some(c) = committed_text_with(ui, "Comment", id.with("comment"), &comment, Field::Line).0
    {
        let comment = if c.trim().is_empty() { None } else { Some(c) };
        edits.push(CanvasAction::SetTableComment {
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
        edits.push(CanvasAction::AddColumn {
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
        edits.push(CanvasAction::AddIndex {
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
    if table.foreign_keys.is_empty() {
        ui.label(egui::RichText::new("none: drag a column onto another table's key").weak());
    }
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
        edits.push(CanvasAction::EditCheck {
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
        edits.push(CanvasAction::Delete(vec![Target::Table(name.clone())]));
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

fn column_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    table: &Table,
    column_name: &str,
    selection: &mut Selection,
    edits: &mut Edits,
) {
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
        edits.push(edit(ColumnEdit::Rename(to)));
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
                        edits.push(edit(ColumnEdit::Type(ty)));
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
                edits.push(edit(ColumnEdit::Type(ty)));
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
        edits.push(edit(ColumnEdit::Nullable(nullable)));
    }
    let mut pk = table.primary_key.iter().any(|c| c == column_name);
    if ui.checkbox(&mut pk, "Primary key").changed() {
        edits.push(edit(ColumnEdit::PrimaryKey(pk)));
    }
    let mut unique = is_single_unique(table, column_name);
    if ui.checkbox(&mut unique, "Unique").changed() {
        edits.push(edit(ColumnEdit::Unique(unique)));
    }
    let mut identity = column.identity;
    if ui
        .checkbox(&mut identity, "Generated by the database (identity)")
        .changed()
    {
        edits.push(edit(ColumnEdit::Identity(identity)));
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
        edits.push(edit(ColumnEdit::Default(value)));
    }
    ui.separator();
    column_links_ui(ui, persona, table, column_name, selection);
    ui.separator();
    if ui.button("Delete column").clicked() {
        edits.push(CanvasAction::Delete(vec![Target::Column {
            table: tname.clone(),
            column: column_name.to_owned(),
        }]));
    }
}

/// The relationships and indexes a column takes part in; clicking one selects it.
fn column_links_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    table: &Table,
    column: &str,
    selection: &mut Selection,
) {
    ui.strong("Relationships and indexes");
    let mut links: Vec<(String, Target)> = Vec::new();
    for fk in table
        .foreign_keys
        .iter()
        .filter(|f| f.columns.iter().any(|c| c == column))
    {
        links.push((
            format!(
                "→ references {}({})",
                fk.ref_table,
                fk.ref_columns.join(", ")
            ),
            Target::ForeignKey {
                table: table.name.clone(),
                name: fk.name.clone(),
            },
        ));
    }
    for other in &persona.initial_schema.tables {
        for fk in other
            .foreign_keys
            .iter()
            .filter(|f| f.ref_table == table.name && f.ref_columns.iter().any(|c| c == column))
        {
            links.push((
                format!("← referenced by {}({})", other.name, fk.columns.join(", ")),
                Target::ForeignKey {
                    table: other.name.clone(),
                    name: fk.name.clone(),
                },
            ));
        }
    }
    for ix in table.indexes.iter().filter(|ix| {
        ix.columns
            .iter()
            .any(|p| p.column.as_deref() == Some(column))
    }) {
        let cols: Vec<String> = ix.columns.iter().map(index_part_text).collect();
        let kind = if ix.unique { "unique index" } else { "index" };
        links.push((
            format!("{kind} {} ({})", ix.name, cols.join(", ")),
            Target::Index {
                table: table.name.clone(),
                name: ix.name.clone(),
            },
        ));
    }
    if links.is_empty() {
        ui.label(egui::RichText::new("none").weak());
    }
    for (text, target) in links {
        if ui.selectable_label(false, text).clicked() {
            *selection = selection_of(target);
        }
    }
}

const FK_ACTIONS: [ForeignKeyAction; 5] = [
    ForeignKeyAction::NoAction,
    ForeignKeyAction::Restrict,
    ForeignKeyAction::Cascade,
    ForeignKeyAction::SetNull,
    ForeignKeyAction::SetDefault,
];

fn foreign_key_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    table_name: &str,
    name: &str,
    edits: &mut Edits,
) {
    let schema = &persona.initial_schema;
    let Some(table) = schema.table(table_name) else {
        return;
    };
    let Some(fk) = table.foreign_keys.iter().find(|f| f.name == name) else {
        return;
    };
    let target = schema.table(&fk.ref_table);
    let ref_columns: &[String] = match target {
        Some(t) if fk.ref_columns.is_empty() => &t.primary_key,
        _ => &fk.ref_columns,
    };
    ui.heading("Relationship");
    ui.label(format!(
        "{}({}) → {}({})",
        table.name,
        fk.columns.join(", "),
        fk.ref_table,
        ref_columns.join(", ")
    ));
    ui.label(egui::RichText::new(format!("constraint {name}")).weak());
    ui.label(format!(
        "many {} rows to one {} row",
        table.name, fk.ref_table
    ));
    let id = Id::new(("persona_inspector_fk", &table.name, name));
    ui.add_space(4.0);
    ui.strong("Column pairs");
    let type_of = |t: Option<&Table>, c: &str| {
        t.and_then(|t| t.column(c))
            .map_or_else(|| "?".to_owned(), |c| c.data_type.to_string())
    };
    egui::Grid::new(id.with("pairs"))
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (i, (c, rc)) in fk.columns.iter().zip(ref_columns).enumerate() {
                ui.label(format!(
                    "{}.{c} ({}) → {}.{rc} ({})",
                    table.name,
                    type_of(Some(table), c),
                    fk.ref_table,
                    type_of(target, rc)
                ));
                if fk.columns.len() > 1
                    && ui
                        .small_button("✖")
                        .on_hover_text("Remove this pair from the key")
                        .clicked()
                {
                    edits.push(CanvasAction::RemoveForeignKeyPair {
                        table: table.name.clone(),
                        name: name.to_owned(),
                        position: i,
                    });
                }
                ui.end_row();
            }
        });
    if let Some(target) = target {
        key_status_ui(ui, target, ref_columns);
        if target.is_unique_key(ref_columns) {
            egui::CollapsingHeader::new("Add a column pair (composite key)")
                .id_salt(id.with("add_pair"))
                .show(ui, |ui| {
                    add_pair_ui(ui, persona, table, fk, target, ref_columns, edits);
                });
        } else {
            ui.add_space(4.0);
            ui.strong("Add a column pair");
            add_pair_ui(ui, persona, table, fk, target, ref_columns, edits);
        }
    }
    ui.separator();
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
        edits.push(CanvasAction::EditForeignKey {
            table: table.name.clone(),
            name: name.to_owned(),
            on_delete,
            on_update,
        });
    }
    ui.separator();
    if ui.button("Delete relationship").clicked() {
        edits.push(CanvasAction::Delete(vec![Target::ForeignKey {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}

/// Whether the referenced columns are a key of `target`, and what is missing when they are only
/// part of one.
fn key_status_ui(ui: &mut Ui, target: &Table, ref_columns: &[String]) {
    if target.is_unique_key(ref_columns) {
        let what = if target.primary_key.len() == ref_columns.len()
            && ref_columns.iter().all(|c| target.primary_key.contains(c))
        {
            "primary key"
        } else {
            "unique key"
        };
        ui.label(
            egui::RichText::new(format!("✔ references the {what} of {}", target.name))
                .color(ui.visuals().weak_text_color()),
        );
        return;
    }
    let hint = match keys_containing(target, ref_columns).first() {
        Some(key) => {
            let missing: Vec<&str> = key
                .iter()
                .filter(|c| !ref_columns.contains(c))
                .map(String::as_str)
                .collect();
            format!(
                "✖ ({}) is part of the key ({}) of {}: add a pair for {}",
                ref_columns.join(", "),
                key.join(", "),
                target.name,
                missing.join(", ")
            )
        }
        None => format!(
            "✖ ({}) is not a primary key or unique index of {}",
            ref_columns.join(", "),
            target.name
        ),
    };
    ui.add(egui::Label::new(egui::RichText::new(hint).color(ui.visuals().error_fg_color)).wrap());
}

/// Two pickers and a button that extend the foreign key by one column pair (types checked).
fn add_pair_ui(
    ui: &mut Ui,
    persona: &PersonaDefinition,
    table: &Table,
    fk: &persona_core::ForeignKey,
    target: &Table,
    ref_columns: &[String],
    edits: &mut Edits,
) {
    let id = Id::new(("persona_inspector_fk_pair", &table.name, &fk.name));
    let free: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !fk.columns.iter().any(|x| x == c))
        .collect();
    let free_ref: Vec<&str> = target
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !ref_columns.iter().any(|x| x == c))
        .collect();
    if free.is_empty() || free_ref.is_empty() {
        return;
    }
    // Suggest the next column of the key being completed, and a column of the same name.
    let suggested_ref = keys_containing(target, ref_columns)
        .first()
        .and_then(|k| k.iter().find(|c| !ref_columns.contains(c)).cloned())
        .filter(|c| free_ref.contains(&c.as_str()));
    let mut picked: (Option<String>, Option<String>) =
        ui.data(|d| d.get_temp(id)).unwrap_or_else(|| {
            let column = suggested_ref
                .as_ref()
                .filter(|r| free.contains(&r.as_str()))
                .cloned();
            (column, suggested_ref.clone())
        });
    picked.0 = picked.0.filter(|c| free.contains(&c.as_str()));
    picked.1 = picked.1.filter(|c| free_ref.contains(&c.as_str()));
    let choose =
        |ui: &mut Ui, label: &str, salt: &str, options: &[&str], value: &mut Option<String>| {
            ui.horizontal(|ui| {
                let l = ui.label(label);
                egui::ComboBox::from_id_salt(id.with(salt))
                    .selected_text(value.as_deref().unwrap_or("choose…"))
                    .show_ui(ui, |ui| {
                        for c in options {
                            ui.selectable_value(value, Some((*c).to_owned()), *c);
                        }
                    })
                    .response
                    .labelled_by(l.id);
            });
        };
    choose(
        ui,
        &format!("Column of {}", table.name),
        "column",
        &free,
        &mut picked.0,
    );
    choose(
        ui,
        &format!("References {}", target.name),
        "ref",
        &free_ref,
        &mut picked.1,
    );
    let check = match &picked {
        (Some(c), Some(r)) => Some(check_pair(persona, &table.name, &fk.name, c, r)),
        _ => None,
    };
    if let Some(Err(e)) = &check {
        ui.add(
            egui::Label::new(egui::RichText::new(e.to_string()).color(ui.visuals().error_fg_color))
                .wrap(),
        );
    }
    let ok = matches!(check, Some(Ok(())));
    if ui
        .add_enabled(ok, egui::Button::new("Add column pair"))
        .clicked()
        && let (Some(column), Some(ref_column)) = picked.clone()
    {
        edits.push(CanvasAction::AddForeignKeyPair {
            table: table.name.clone(),
            name: fk.name.clone(),
            column,
            ref_column,
        });
        ui.data_mut(|d| d.remove::<(Option<String>, Option<String>)>(id));
    } else {
        ui.data_mut(|d| d.insert_temp(id, picked));
    }
}

fn index_ui(ui: &mut Ui, table: &Table, name: &str, edits: &mut Edits) {
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
        edits.push(replace(Index {
            name: to,
            ..index.clone()
        }));
    }
    let mut unique = index.unique;
    if ui.checkbox(&mut unique, "Unique").changed() {
        edits.push(replace(Index {
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
                edits.push(replace(next));
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
                        edits.push(replace(next));
                    }
                }
            });
    }
    let predicate = index.predicate.clone().unwrap_or_default();
    if let Some(p) = committed_text(ui, "Partial predicate", id.with("predicate"), &predicate) {
        let predicate = if p.trim().is_empty() { None } else { Some(p) };
        edits.push(replace(Index {
            predicate,
            ..index.clone()
        }));
    }
    ui.separator();
    if ui.button("Delete index").clicked() {
        edits.push(CanvasAction::Delete(vec![Target::Index {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}

fn check_ui(ui: &mut Ui, table: &Table, name: &str, edits: &mut Edits) {
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
        edits.push(edit(Check {
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
        edits.push(edit(Check {
            expression,
            ..check.clone()
        }));
    }
    ui.separator();
    if ui.button("Delete check").clicked() {
        edits.push(CanvasAction::Delete(vec![Target::Check {
            table: table.name.clone(),
            name: name.to_owned(),
        }]));
    }
}
