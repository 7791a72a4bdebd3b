//! Canvas intents: every edit the schema editor can make, recorded while drawing ([`Edits`]) and
//! applied to the persona (and its layout) after the frame.

use persona_core::model::names;
use persona_core::{
    AccessPattern, Check, Column, DataType, DefaultValue, ForeignKey, ForeignKeyAction, Index,
    IndexColumn, PerformanceProfile, PersonaDefinition, Table,
};

use super::CanvasLayout;

/// One thing the user can select or delete on the canvas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Table(String),
    Column { table: String, column: String },
    ForeignKey { table: String, name: String },
    Index { table: String, name: String },
    Check { table: String, name: String },
}

/// A change to one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnEdit {
    /// Rename; keys, indexes and foreign keys that name the column follow.
    Rename(String),
    Type(DataType),
    Nullable(bool),
    Default(Option<DefaultValue>),
    Identity(bool),
    /// Add or remove a single-column unique index.
    Unique(bool),
    /// Add the column to, or remove it from, the primary key.
    PrimaryKey(bool),
}

/// An edit of the persona or its layout. Applied after the frame through
/// [`super::SchemaEditor`], which records it for undo.
#[derive(Debug, Clone, PartialEq)]
pub enum CanvasAction {
    /// A new table with an `id bigint` identity primary key, at a canvas position.
    AddTable {
        name: String,
        at: [f32; 2],
    },
    /// Absolute new positions of tables.
    MoveTables(Vec<(String, [f32; 2])>),
    /// Rename a table; foreign keys, hints and the layout follow.
    RenameTable {
        table: String,
        to: String,
    },
    SetTableComment {
        table: String,
        comment: Option<String>,
    },
    AddColumn {
        table: String,
        column: Column,
    },
    EditColumn {
        table: String,
        column: String,
        edit: ColumnEdit,
    },
    /// Delete tables, columns, foreign keys, indexes and checks (and what depends on them).
    Delete(Vec<Target>),
    /// A foreign key from one column to another table's key column (types checked).
    Connect {
        from: (String, String),
        to: (String, String),
    },
    EditForeignKey {
        table: String,
        name: String,
        on_delete: ForeignKeyAction,
        on_update: ForeignKeyAction,
    },
    /// Extend a foreign key by one column pair (a composite key): `column` of `table` references
    /// `ref_column` of the referenced table (types checked).
    AddForeignKeyPair {
        table: String,
        name: String,
        column: String,
        ref_column: String,
    },
    /// Drop the column pair at `position` from a foreign key that has more than one.
    RemoveForeignKeyPair {
        table: String,
        name: String,
        position: usize,
    },
    AddIndex {
        table: String,
        index: Index,
    },
    /// Replace the index called `name`.
    EditIndex {
        table: String,
        name: String,
        index: Index,
    },
    /// Add (`position: None`), replace, or (`check: None`) remove a check constraint.
    EditCheck {
        table: String,
        position: Option<usize>,
        check: Option<Check>,
    },
    /// Add (`position: None`), replace, or (`pattern: None`) remove an access pattern.
    EditPattern {
        position: Option<usize>,
        pattern: Option<AccessPattern>,
    },
    EditProfile(PerformanceProfile),
    EditPersona {
        name: String,
        description: String,
    },
    /// Lay out every table, layered by foreign-key direction.
    AutoLayout,
}

/// Why an action could not be applied. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("there is no table `{0}`")]
    UnknownTable(String),
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn { table: String, column: String },
    #[error("table `{table}` has no {what} `{name}`")]
    UnknownItem {
        table: String,
        what: &'static str,
        name: String,
    },
    #[error("there is no item at position {0}")]
    UnknownPosition(usize),
    #[error("a column cannot reference itself")]
    SelfReference,
    #[error(
        "`{from}` ({from_type}) cannot reference `{to}` ({to_type}): the types are not compatible"
    )]
    IncompatibleTypes {
        from: String,
        from_type: DataType,
        to: String,
        to_type: DataType,
    },
    #[error("`{0}` is not part of a primary key or unique index, so nothing can reference it")]
    NotAKey(String),
    #[error("`{from}` already references `{to}`")]
    AlreadyConnected { from: String, to: String },
    #[error("`{0}` is already part of this foreign key")]
    AlreadyInForeignKey(String),
    #[error("a foreign key needs at least one column pair; delete the relationship instead")]
    LastPair,
}

/// The edits recorded while drawing one frame, and which continuous widgets (sliders, drag
/// values) are still being dragged or typed into, so that each such gesture is one undo step.
#[derive(Debug, Default)]
pub struct Edits {
    pub(super) list: Vec<(CanvasAction, Option<egui::Id>)>,
    pub(super) live: Vec<egui::Id>,
}

impl Edits {
    /// A discrete edit (a click, a drop, a committed text): one undo step.
    pub fn push(&mut self, action: CanvasAction) {
        self.list.push((action, None));
    }

    /// Watch a continuous widget: returns whether it changed its value this frame, and keeps
    /// its gesture open while it is dragged or focused.
    pub fn watch(&mut self, response: &egui::Response) -> bool {
        if response.dragged() || response.has_focus() {
            self.live.push(response.id);
        }
        response.changed()
    }

    /// An edit made by the continuous widget `gesture`: every edit it makes until it is released
    /// (or loses focus) joins one undo step.
    pub fn push_gesture(&mut self, action: CanvasAction, gesture: egui::Id) {
        self.list.push((action, Some(gesture)));
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl CanvasAction {
    /// A short description for the undo history and the status line.
    pub fn describe(&self) -> String {
        match self {
            CanvasAction::AddTable { name, .. } => format!("add table {name}"),
            CanvasAction::MoveTables(moves) => format!("move {} table(s)", moves.len()),
            CanvasAction::RenameTable { table, to } => format!("rename table {table} to {to}"),
            CanvasAction::SetTableComment { table, .. } => format!("comment on {table}"),
            CanvasAction::AddColumn { table, column } => {
                format!("add column {table}.{}", column.name)
            }
            CanvasAction::EditColumn { table, column, .. } => format!("edit {table}.{column}"),
            CanvasAction::Delete(targets) => format!("delete {} item(s)", targets.len()),
            CanvasAction::Connect { from, to } => {
                format!("connect {}.{} to {}.{}", from.0, from.1, to.0, to.1)
            }
            CanvasAction::EditForeignKey { name, .. } => format!("edit foreign key {name}"),
            CanvasAction::AddForeignKeyPair {
                name,
                column,
                ref_column,
                ..
            } => format!("add {column} → {ref_column} to {name}"),
            CanvasAction::RemoveForeignKeyPair { name, .. } => {
                format!("remove a column pair from {name}")
            }
            CanvasAction::AddIndex { table, .. } => format!("add index on {table}"),
            CanvasAction::EditIndex { name, .. } => format!("edit index {name}"),
            CanvasAction::EditCheck { table, .. } => format!("edit check on {table}"),
            CanvasAction::EditPattern { .. } => "edit access pattern".to_owned(),
            CanvasAction::EditProfile(_) => "edit performance profile".to_owned(),
            CanvasAction::EditPersona { .. } => "edit persona".to_owned(),
            CanvasAction::AutoLayout => "auto-layout".to_owned(),
        }
    }

    /// Apply to `persona` and `layout`. On error nothing has changed.
    pub fn apply(
        &self,
        persona: &mut PersonaDefinition,
        layout: &mut CanvasLayout,
    ) -> Result<(), ActionError> {
        match self {
            CanvasAction::AddTable { name, at } => {
                let mut id = Column::new("id", DataType::BigInt);
                id.nullable = false;
                id.identity = true;
                persona.initial_schema.tables.push(Table {
                    name: name.clone(),
                    columns: vec![id],
                    primary_key: vec!["id".to_owned()],
                    ..Table::default()
                });
                layout
                    .positions
                    .insert(name.clone(), super::layout::snap(*at));
            }
            CanvasAction::MoveTables(moves) => {
                for (name, at) in moves {
                    layout.positions.insert(name.clone(), *at);
                }
            }
            CanvasAction::RenameTable { table, to } => rename_table(persona, layout, table, to)?,
            CanvasAction::SetTableComment { table, comment } => {
                table_mut(persona, table)?.comment.clone_from(comment);
            }
            CanvasAction::AddColumn { table, column } => {
                table_mut(persona, table)?.columns.push(column.clone());
            }
            CanvasAction::EditColumn {
                table,
                column,
                edit,
            } => {
                edit_column(persona, table, column, edit)?;
            }
            CanvasAction::Delete(targets) => {
                for target in targets {
                    delete(persona, layout, target);
                }
            }
            CanvasAction::Connect { from, to } => connect(persona, from, to)?,
            CanvasAction::EditForeignKey {
                table,
                name,
                on_delete,
                on_update,
            } => {
                let fk = foreign_key_mut(persona, table, name)?;
                fk.on_delete = *on_delete;
                fk.on_update = *on_update;
            }
            CanvasAction::AddForeignKeyPair {
                table,
                name,
                column,
                ref_column,
            } => add_pair(persona, table, name, column, ref_column)?,
            CanvasAction::RemoveForeignKeyPair {
                table,
                name,
                position,
            } => {
                let fk = foreign_key_mut(persona, table, name)?;
                if *position >= fk.columns.len() {
                    return Err(ActionError::UnknownPosition(*position));
                }
                if fk.columns.len() < 2 {
                    return Err(ActionError::LastPair);
                }
                fk.columns.remove(*position);
                if *position < fk.ref_columns.len() {
                    fk.ref_columns.remove(*position);
                }
            }
            CanvasAction::AddIndex { table, index } => {
                let t = table_mut(persona, table)?;
                let mut index = index.clone();
                if index.name.is_empty() {
                    let parts: Vec<&str> = index
                        .columns
                        .iter()
                        .map(|c| c.column.as_deref().unwrap_or("expr"))
                        .collect();
                    let suffix = if index.unique { "key" } else { "idx" };
                    index.name = unique_name(t, &names::derived(table, &parts, suffix));
                }
                t.indexes.push(index);
            }
            CanvasAction::EditIndex { table, name, index } => {
                let t = table_mut(persona, table)?;
                let slot = t
                    .indexes
                    .iter_mut()
                    .find(|i| i.name == *name)
                    .ok_or_else(|| ActionError::UnknownItem {
                        table: table.clone(),
                        what: "index",
                        name: name.clone(),
                    })?;
                *slot = index.clone();
            }
            CanvasAction::EditCheck {
                table,
                position,
                check,
            } => {
                let t = table_mut(persona, table)?;
                edit_list(&mut t.checks, *position, check.clone())?;
            }
            CanvasAction::EditPattern { position, pattern } => {
                edit_list(&mut persona.access_patterns, *position, pattern.clone())?;
            }
            CanvasAction::EditProfile(profile) => persona.performance_profile = profile.clone(),
            CanvasAction::EditPersona { name, description } => {
                persona.name.clone_from(name);
                persona.description.clone_from(description);
            }
            CanvasAction::AutoLayout => {
                layout.positions = super::layout::auto_layout(&persona.initial_schema);
            }
        }
        Ok(())
    }
}

fn table_mut<'a>(
    persona: &'a mut PersonaDefinition,
    name: &str,
) -> Result<&'a mut Table, ActionError> {
    persona
        .initial_schema
        .table_mut(name)
        .ok_or_else(|| ActionError::UnknownTable(name.to_owned()))
}

fn edit_list<T>(
    list: &mut Vec<T>,
    position: Option<usize>,
    item: Option<T>,
) -> Result<(), ActionError> {
    match (position, item) {
        (None, Some(item)) => list.push(item),
        (None, None) => {}
        (Some(i), item) => {
            if i >= list.len() {
                return Err(ActionError::UnknownPosition(i));
            }
            match item {
                Some(item) => list[i] = item,
                None => {
                    list.remove(i);
                }
            }
        }
    }
    Ok(())
}

/// `base`, or `base_2`, `base_3`, … whichever no index, foreign key or check of `table` uses.
fn unique_name(table: &Table, base: &str) -> String {
    let taken = |n: &str| {
        table.indexes.iter().any(|i| i.name == n)
            || table.foreign_keys.iter().any(|f| f.name == n)
            || table.checks.iter().any(|c| c.name == n)
    };
    if !taken(base) {
        return base.to_owned();
    }
    (2..=u32::MAX)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

fn rename_table(
    persona: &mut PersonaDefinition,
    layout: &mut CanvasLayout,
    from: &str,
    to: &str,
) -> Result<(), ActionError> {
    to.clone_into(&mut table_mut(persona, from)?.name);
    for t in &mut persona.initial_schema.tables {
        for fk in &mut t.foreign_keys {
            if fk.ref_table == from {
                to.clone_into(&mut fk.ref_table);
            }
        }
    }
    if let Some(hints) = persona.data_hints.remove(from) {
        persona.data_hints.insert(to.to_owned(), hints);
    }
    let growth = &mut persona.performance_profile.growth_rows_per_day;
    if let Some(rows) = growth.remove(from) {
        growth.insert(to.to_owned(), rows);
    }
    if let Some(pos) = layout.positions.remove(from) {
        layout.positions.insert(to.to_owned(), pos);
    }
    Ok(())
}

fn rename_in(list: &mut [String], from: &str, to: &str) {
    for c in list.iter_mut().filter(|c| *c == from) {
        to.clone_into(c);
    }
}

fn edit_column(
    persona: &mut PersonaDefinition,
    table: &str,
    column: &str,
    edit: &ColumnEdit,
) -> Result<(), ActionError> {
    let unknown = || ActionError::UnknownColumn {
        table: table.to_owned(),
        column: column.to_owned(),
    };
    let t = table_mut(persona, table)?;
    let ci = t
        .columns
        .iter()
        .position(|c| c.name == column)
        .ok_or_else(unknown)?;
    match edit {
        ColumnEdit::Rename(to) => {
            t.columns[ci].name.clone_from(to);
            rename_in(&mut t.primary_key, column, to);
            for ix in &mut t.indexes {
                for part in &mut ix.columns {
                    if part.column.as_deref() == Some(column) {
                        part.column = Some(to.clone());
                    }
                }
                rename_in(&mut ix.include, column, to);
            }
            for fk in &mut t.foreign_keys {
                rename_in(&mut fk.columns, column, to);
            }
            for other in &mut persona.initial_schema.tables {
                for fk in &mut other.foreign_keys {
                    if fk.ref_table == table {
                        rename_in(&mut fk.ref_columns, column, to);
                    }
                }
            }
            if let Some(hints) = persona.data_hints.get_mut(table)
                && let Some(hint) = hints.columns.remove(column)
            {
                hints.columns.insert(to.clone(), hint);
            }
        }
        ColumnEdit::Type(ty) => t.columns[ci].data_type = *ty,
        ColumnEdit::Nullable(n) => t.columns[ci].nullable = *n,
        ColumnEdit::Default(d) => t.columns[ci].default.clone_from(d),
        ColumnEdit::Identity(i) => t.columns[ci].identity = *i,
        ColumnEdit::Unique(true) => {
            if !is_single_unique(t, column) {
                let name = unique_name(t, &names::derived(table, &[column], "key"));
                t.indexes.push(Index {
                    name,
                    columns: vec![IndexColumn::column(column)],
                    unique: true,
                    predicate: None,
                    include: Vec::new(),
                    method: persona_core::IndexMethod::Btree,
                });
            }
        }
        ColumnEdit::Unique(false) => t.indexes.retain(|ix| !is_unique_on(ix, column)),
        ColumnEdit::PrimaryKey(true) => {
            if !t.primary_key.iter().any(|c| c == column) {
                t.primary_key.push(column.to_owned());
            }
            t.columns[ci].nullable = false;
        }
        ColumnEdit::PrimaryKey(false) => t.primary_key.retain(|c| c != column),
    }
    Ok(())
}

fn is_unique_on(ix: &Index, column: &str) -> bool {
    ix.unique
        && ix.predicate.is_none()
        && ix.columns.len() == 1
        && ix.columns[0].column.as_deref() == Some(column)
}

/// Whether a single-column unique index (no predicate) covers `column`.
pub fn is_single_unique(table: &Table, column: &str) -> bool {
    table.indexes.iter().any(|ix| is_unique_on(ix, column))
}

fn delete(persona: &mut PersonaDefinition, layout: &mut CanvasLayout, target: &Target) {
    let schema = &mut persona.initial_schema;
    match target {
        Target::Table(name) => {
            schema.tables.retain(|t| t.name != *name);
            for t in &mut schema.tables {
                t.foreign_keys.retain(|fk| fk.ref_table != *name);
            }
            layout.positions.remove(name);
            persona.data_hints.remove(name);
            persona.performance_profile.growth_rows_per_day.remove(name);
        }
        Target::Column { table, column } => {
            let Some(t) = schema.table_mut(table) else {
                return;
            };
            t.columns.retain(|c| c.name != *column);
            t.primary_key.retain(|c| c != column);
            for ix in &mut t.indexes {
                ix.columns
                    .retain(|p| p.column.as_deref() != Some(column.as_str()));
                ix.include.retain(|c| c != column);
            }
            t.indexes.retain(|ix| !ix.columns.is_empty());
            t.foreign_keys.retain(|fk| !fk.columns.contains(column));
            for other in &mut schema.tables {
                other
                    .foreign_keys
                    .retain(|fk| !(fk.ref_table == *table && fk.ref_columns.contains(column)));
            }
            if let Some(hints) = persona.data_hints.get_mut(table) {
                hints.columns.remove(column);
            }
        }
        Target::ForeignKey { table, name } => {
            if let Some(t) = schema.table_mut(table) {
                t.foreign_keys.retain(|f| f.name != *name);
            }
        }
        Target::Index { table, name } => {
            if let Some(t) = schema.table_mut(table) {
                t.indexes.retain(|i| i.name != *name);
            }
        }
        Target::Check { table, name } => {
            if let Some(t) = schema.table_mut(table) {
                t.checks.retain(|c| c.name != *name);
            }
        }
    }
}

/// Whether `column` belongs to the primary key or to a unique index (without predicate) of
/// `table`: a column a foreign key may reference, alone or with the rest of that key.
pub fn is_key_column(table: &Table, column: &str) -> bool {
    table.primary_key.iter().any(|c| c == column)
        || table.indexes.iter().any(|ix| {
            ix.unique
                && ix.predicate.is_none()
                && ix
                    .columns
                    .iter()
                    .any(|p| p.column.as_deref() == Some(column))
        })
}

/// The keys of `table` (primary key first, then unique indexes) that contain every column of
/// `columns`: what a partial composite foreign key can be completed to.
pub fn keys_containing(table: &Table, columns: &[String]) -> Vec<Vec<String>> {
    let mut keys = Vec::new();
    if !table.primary_key.is_empty() {
        keys.push(table.primary_key.clone());
    }
    for ix in &table.indexes {
        if ix.unique && ix.predicate.is_none() && ix.columns.iter().all(|p| p.column.is_some()) {
            keys.push(ix.columns.iter().filter_map(|p| p.column.clone()).collect());
        }
    }
    keys.retain(|k| columns.iter().all(|c| k.contains(c)));
    keys.dedup();
    keys
}

fn foreign_key_mut<'a>(
    persona: &'a mut PersonaDefinition,
    table: &str,
    name: &str,
) -> Result<&'a mut ForeignKey, ActionError> {
    table_mut(persona, table)?
        .foreign_keys
        .iter_mut()
        .find(|f| f.name == name)
        .ok_or_else(|| ActionError::UnknownItem {
            table: table.to_owned(),
            what: "foreign key",
            name: name.to_owned(),
        })
}

/// Check that the pair `column` → `ref_column` may be added to the foreign key `name` of
/// `table`: the columns exist, neither is in the key yet, and their types are compatible.
pub fn check_pair(
    persona: &PersonaDefinition,
    table: &str,
    name: &str,
    column: &str,
    ref_column: &str,
) -> Result<(), ActionError> {
    let schema = &persona.initial_schema;
    let t = schema
        .table(table)
        .ok_or_else(|| ActionError::UnknownTable(table.to_owned()))?;
    let fk = t
        .foreign_keys
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| ActionError::UnknownItem {
            table: table.to_owned(),
            what: "foreign key",
            name: name.to_owned(),
        })?;
    let target = schema
        .table(&fk.ref_table)
        .ok_or_else(|| ActionError::UnknownTable(fk.ref_table.clone()))?;
    let col = t.column(column).ok_or_else(|| ActionError::UnknownColumn {
        table: table.to_owned(),
        column: column.to_owned(),
    })?;
    let ref_col = target
        .column(ref_column)
        .ok_or_else(|| ActionError::UnknownColumn {
            table: target.name.clone(),
            column: ref_column.to_owned(),
        })?;
    let from = format!("{table}.{column}");
    let to = format!("{}.{ref_column}", target.name);
    if fk.columns.iter().any(|c| c == column) {
        return Err(ActionError::AlreadyInForeignKey(from));
    }
    let referenced = if fk.ref_columns.is_empty() {
        &target.primary_key
    } else {
        &fk.ref_columns
    };
    if referenced.iter().any(|c| c == ref_column) {
        return Err(ActionError::AlreadyInForeignKey(to));
    }
    if !col.data_type.is_compatible_with(ref_col.data_type) {
        return Err(ActionError::IncompatibleTypes {
            from,
            from_type: col.data_type,
            to,
            to_type: ref_col.data_type,
        });
    }
    Ok(())
}

fn add_pair(
    persona: &mut PersonaDefinition,
    table: &str,
    name: &str,
    column: &str,
    ref_column: &str,
) -> Result<(), ActionError> {
    check_pair(persona, table, name, column, ref_column)?;
    // An implicit reference to the primary key is spelled out before it grows.
    let schema = &persona.initial_schema;
    let primary_key = schema
        .table(table)
        .and_then(|t| t.foreign_keys.iter().find(|f| f.name == name))
        .and_then(|fk| schema.table(&fk.ref_table))
        .map(|t| t.primary_key.clone())
        .unwrap_or_default();
    let fk = foreign_key_mut(persona, table, name)?;
    if fk.ref_columns.is_empty() {
        fk.ref_columns = primary_key;
    }
    fk.columns.push(column.to_owned());
    fk.ref_columns.push(ref_column.to_owned());
    Ok(())
}

/// Check that `from` may reference `to`: both exist, types are compatible, and `to` is a key
/// column (alone, or part of a composite key the relationship inspector then completes).
pub fn check_connect(
    persona: &PersonaDefinition,
    from: &(String, String),
    to: &(String, String),
) -> Result<(), ActionError> {
    let schema = &persona.initial_schema;
    let col = |(t, c): &(String, String)| -> Result<(&Table, &Column), ActionError> {
        let table = schema
            .table(t)
            .ok_or_else(|| ActionError::UnknownTable(t.clone()))?;
        let column = table.column(c).ok_or_else(|| ActionError::UnknownColumn {
            table: t.clone(),
            column: c.clone(),
        })?;
        Ok((table, column))
    };
    let (from_table, from_col) = col(from)?;
    let (to_table, to_col) = col(to)?;
    if from == to {
        return Err(ActionError::SelfReference);
    }
    let from_name = format!("{}.{}", from.0, from.1);
    let to_name = format!("{}.{}", to.0, to.1);
    if !from_col.data_type.is_compatible_with(to_col.data_type) {
        return Err(ActionError::IncompatibleTypes {
            from: from_name,
            from_type: from_col.data_type,
            to: to_name,
            to_type: to_col.data_type,
        });
    }
    if !is_key_column(to_table, &to.1) {
        return Err(ActionError::NotAKey(to_name));
    }
    if from_table.foreign_keys.iter().any(|fk| {
        fk.columns == [from.1.clone()] && fk.ref_table == to.0 && fk.ref_columns == [to.1.clone()]
    }) {
        return Err(ActionError::AlreadyConnected {
            from: from_name,
            to: to_name,
        });
    }
    Ok(())
}

fn connect(
    persona: &mut PersonaDefinition,
    from: &(String, String),
    to: &(String, String),
) -> Result<(), ActionError> {
    check_connect(persona, from, to)?;
    let t = table_mut(persona, &from.0)?;
    let name = unique_name(t, &names::derived(&from.0, &[from.1.as_str()], "fkey"));
    t.foreign_keys.push(ForeignKey {
        name,
        columns: vec![from.1.clone()],
        ref_table: to.0.clone(),
        ref_columns: vec![to.1.clone()],
        on_delete: ForeignKeyAction::NoAction,
        on_update: ForeignKeyAction::NoAction,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persona() -> PersonaDefinition {
        persona_core::template::load_builtin("ecommerce").expect("template")
    }

    #[test]
    fn renaming_a_column_updates_keys_and_references() {
        let mut p = persona();
        let mut layout = CanvasLayout::default();
        let referencing = |p: &PersonaDefinition, col: &str| {
            p.initial_schema
                .tables
                .iter()
                .flat_map(|t| &t.foreign_keys)
                .filter(|fk| fk.ref_table == "products" && fk.ref_columns == [col.to_owned()])
                .count()
        };
        let before = referencing(&p, "id");
        assert!(before > 0);
        CanvasAction::EditColumn {
            table: "products".into(),
            column: "id".into(),
            edit: ColumnEdit::Rename("product_id".into()),
        }
        .apply(&mut p, &mut layout)
        .unwrap();
        assert_eq!(referencing(&p, "id"), 0);
        assert_eq!(referencing(&p, "product_id"), before);
        assert_eq!(
            p.initial_schema.table("products").unwrap().primary_key,
            ["product_id"]
        );
    }

    #[test]
    fn connect_checks_types_and_keys() {
        let mut p = persona();
        let mut layout = CanvasLayout::default();
        let err = CanvasAction::Connect {
            from: ("products".into(), "name".into()),
            to: ("categories".into(), "id".into()),
        }
        .apply(&mut p, &mut layout)
        .unwrap_err();
        assert!(
            matches!(err, ActionError::IncompatibleTypes { .. }),
            "{err}"
        );
        let err = CanvasAction::Connect {
            from: ("products".into(), "id".into()),
            to: ("categories".into(), "position".into()),
        }
        .apply(&mut p, &mut layout)
        .unwrap_err();
        assert!(matches!(err, ActionError::NotAKey(_)), "{err}");
    }

    #[test]
    fn a_composite_foreign_key_grows_pair_by_pair_with_type_checks() {
        let mut p = persona();
        let mut layout = CanvasLayout::default();
        // order_items has the composite primary key (order_id, line_no).
        let mut returns = Table {
            name: "returns".into(),
            columns: vec![
                Column::new("id", DataType::BigInt),
                Column::new("order_id", DataType::BigInt),
                Column::new("line_no", DataType::SmallInt),
                Column::new("reason", DataType::Text),
            ],
            primary_key: vec!["id".into()],
            ..Table::default()
        };
        returns.columns[0].nullable = false;
        p.initial_schema.tables.push(returns);
        let target = p.initial_schema.table("order_items").unwrap();
        assert_eq!(target.primary_key, ["order_id", "line_no"]);
        assert!(is_key_column(target, "line_no"));

        CanvasAction::Connect {
            from: ("returns".into(), "order_id".into()),
            to: ("order_items".into(), "order_id".into()),
        }
        .apply(&mut p, &mut layout)
        .unwrap();
        let name = p.initial_schema.table("returns").unwrap().foreign_keys[0]
            .name
            .clone();
        let pair = |column: &str, ref_column: &str| CanvasAction::AddForeignKeyPair {
            table: "returns".into(),
            name: name.clone(),
            column: column.into(),
            ref_column: ref_column.into(),
        };
        let err = pair("reason", "line_no")
            .apply(&mut p, &mut layout)
            .unwrap_err();
        assert!(
            matches!(err, ActionError::IncompatibleTypes { .. }),
            "{err}"
        );
        let err = pair("order_id", "line_no")
            .apply(&mut p, &mut layout)
            .unwrap_err();
        assert!(matches!(err, ActionError::AlreadyInForeignKey(_)), "{err}");
        pair("line_no", "line_no")
            .apply(&mut p, &mut layout)
            .unwrap();
        let fk = &p.initial_schema.table("returns").unwrap().foreign_keys[0];
        assert_eq!(fk.columns, ["order_id", "line_no"]);
        assert_eq!(fk.ref_columns, ["order_id", "line_no"]);
        assert!(
            !persona_core::validate::validate(&p, &[])
                .iter()
                .any(|pr| pr.severity == persona_core::validate::Severity::Error),
            "the completed key validates"
        );

        let remove = |position| CanvasAction::RemoveForeignKeyPair {
            table: "returns".into(),
            name: name.clone(),
            position,
        };
        remove(0).apply(&mut p, &mut layout).unwrap();
        let fk = &p.initial_schema.table("returns").unwrap().foreign_keys[0];
        assert_eq!(fk.columns, ["line_no"]);
        assert_eq!(fk.ref_columns, ["line_no"]);
        assert_eq!(
            remove(0).apply(&mut p, &mut layout).unwrap_err(),
            ActionError::LastPair
        );
    }
}
