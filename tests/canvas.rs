//! The schema canvas editor driven through its real UI with egui_kittest (no GPU): palette
//! drags, connecting columns, undo/redo, validation blocking save, and the DDL preview.

use egui::accesskit::Role;
use egui::{Key, Modifiers, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use persona_core::ddl::{create_schema, script};
use persona_core::{DataType, Dialect, PersonaDefinition};
use persona_studio::gui::canvas::{EditorOutput, SchemaEditor};

struct State {
    editor: SchemaEditor,
    outputs: Vec<EditorOutput>,
}

fn harness(persona: PersonaDefinition) -> Harness<'static, State> {
    Harness::builder()
        .with_size(vec2(1600.0, 1000.0))
        .build_ui_state(
            |ui, state: &mut State| {
                let out = state.editor.ui(ui);
                if out != EditorOutput::Idle {
                    state.outputs.push(out);
                }
            },
            State {
                editor: SchemaEditor::new(persona, None),
                outputs: Vec::new(),
            },
        )
}

fn ecommerce() -> PersonaDefinition {
    persona_core::template::load_builtin("ecommerce").expect("the e-commerce template parses")
}

fn center(h: &Harness<'_, State>, label: &str) -> Pos2 {
    h.get_by_label(label).rect().center()
}

/// Press at `from`, move in steps to `to`, release: a real pointer drag.
fn drag(h: &mut Harness<'_, State>, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.drag_at(from);
    for i in 1..=4 {
        h.hover_at(from + (to - from) * (i as f32 / 4.0));
    }
    h.drop_at(to);
    h.run();
}

fn undo(h: &mut Harness<'_, State>) {
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
}

fn redo(h: &mut Harness<'_, State>) {
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
}

fn persona(h: &Harness<'_, State>) -> PersonaDefinition {
    h.state().editor.persona().clone()
}

#[test]
fn palette_drags_add_a_table_and_columns_and_connect_makes_a_foreign_key_all_undoable() {
    let original = ecommerce();
    let mut h = harness(original.clone());
    h.run();
    let tables_before = original.initial_schema.tables.len();

    // 1. Drag a new table from the palette onto an empty spot of the canvas.
    let canvas = h.get_by_label("Schema canvas").rect();
    let drop = canvas.left_bottom() + vec2(60.0, -260.0);
    let (from, to) = (center(&h, "New table"), drop);
    drag(&mut h, from, to);
    let after_table = persona(&h);
    assert_eq!(after_table.initial_schema.tables.len(), tables_before + 1);
    let new = after_table
        .initial_schema
        .table("new_table")
        .expect("the new table is in the model");
    assert_eq!(new.primary_key, ["id"]);
    assert!(
        h.state()
            .editor
            .layout()
            .positions
            .contains_key("new_table")
    );

    // 2. Two columns dragged from the palette onto the new table.
    let header = center(&h, "new_table table");
    let (from, to) = (center(&h, "New bigint column"), header + vec2(0.0, 20.0));
    drag(&mut h, from, to);
    let after_col1 = persona(&h);
    let header = center(&h, "new_table table");
    let (from, to) = (center(&h, "New text column"), header + vec2(0.0, 20.0));
    drag(&mut h, from, to);
    let after_col2 = persona(&h);
    let columns: Vec<(String, DataType)> = after_col2
        .initial_schema
        .table("new_table")
        .unwrap()
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type))
        .collect();
    assert_eq!(
        columns,
        [
            ("id".to_owned(), DataType::BigInt),
            ("column".to_owned(), DataType::BigInt),
            ("column_2".to_owned(), DataType::Text),
        ]
    );

    // 3. Drag from new_table.column onto customers.id: a foreign key in the model.
    let (from, to) = (center(&h, "new_table.column"), center(&h, "customers.id"));
    drag(&mut h, from, to);
    let after_fk = persona(&h);
    let fks = &after_fk
        .initial_schema
        .table("new_table")
        .unwrap()
        .foreign_keys;
    assert_eq!(fks.len(), 1, "{fks:?}");
    assert_eq!(fks[0].columns, ["column"]);
    assert_eq!(fks[0].ref_table, "customers");
    assert_eq!(fks[0].ref_columns, ["id"]);

    // A text column cannot reference a bigint key: refused, the model is unchanged.
    let (from, to) = (center(&h, "new_table.column_2"), center(&h, "products.id"));
    drag(&mut h, from, to);
    assert_eq!(persona(&h), after_fk);

    // 4. Undo each edit, newest first, then redo each.
    let states = [&original, &after_table, &after_col1, &after_col2, &after_fk];
    for want in states.iter().rev().skip(1) {
        undo(&mut h);
        assert_eq!(&&persona(&h), want);
    }
    assert!(!h.state().editor.can_undo());
    for want in states.iter().skip(1) {
        redo(&mut h);
        assert_eq!(&&persona(&h), want);
    }
    assert!(!h.state().editor.can_redo());
    // The toolbar button undoes too.
    h.get_by_label("Undo").click();
    h.run();
    assert_eq!(persona(&h), after_col2);
}

#[test]
fn moving_a_table_snaps_it_to_the_grid_and_undo_puts_it_back() {
    let mut h = harness(ecommerce());
    h.run();
    let before = h.state().editor.layout().positions["orders"];
    let header = center(&h, "orders table");
    drag(&mut h, header, header + vec2(57.0, 33.0));
    let after = h.state().editor.layout().positions["orders"];
    let moved = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() + (a[1] - b[1]).abs() > 1.0;
    assert!(moved(after, before), "{before:?} -> {after:?}");
    let on_grid = |v: f32| (v / 20.0 - (v / 20.0).round()).abs() < 1e-3;
    assert!(on_grid(after[0]) && on_grid(after[1]), "{after:?}");
    undo(&mut h);
    assert!(!moved(
        h.state().editor.layout().positions["orders"],
        before
    ));
}

#[test]
fn an_invalid_rename_in_the_inspector_shows_its_problem_and_blocks_saving() {
    let mut h = harness(ecommerce());
    h.run();
    assert!(
        !persona_core::validate::has_errors(h.state().editor.problems()),
        "{:?}",
        h.state().editor.problems()
    );

    // Select products.name on the canvas and rename it to `sku` in the inspector.
    h.get_by_label("products.name").click();
    h.run();
    let field = h.get_by_label("Column name");
    field.focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Column name").type_text("sku");
    h.key_press(Key::Enter);
    h.run();

    let products = persona(&h);
    let products = products.initial_schema.table("products").unwrap();
    assert_eq!(
        products.columns.iter().filter(|c| c.name == "sku").count(),
        2
    );
    let problems = h.state().editor.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("duplicate column name `sku`")),
        "{problems:?}"
    );

    // Saving is refused with the reason, which is shown.
    h.get_by_label("Save").click();
    h.run();
    let outputs = &h.state().outputs;
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, EditorOutput::Save { .. })),
        "{outputs:?}"
    );
    let Some(EditorOutput::SaveRefused { reason }) = outputs.last() else {
        panic!("save was not refused: {outputs:?}");
    };
    assert!(reason.contains("duplicate column name"), "{reason}");
    assert!(h.query_by_label_contains("cannot save").is_some());
    // Listed in the problems panel (and quoted in the status line).
    assert!(
        h.query_all_by_label_contains("duplicate column name `sku`")
            .count()
            >= 2
    );

    // Undo makes it valid again, and saving goes through with the layout.
    undo(&mut h);
    h.get_by_label("Save").click();
    h.run();
    let Some(EditorOutput::Save {
        persona: saved,
        layout,
    }) = h.state().outputs.last()
    else {
        panic!("save was refused: {:?}", h.state().outputs);
    };
    assert_eq!(**saved, ecommerce());
    assert_eq!(layout.positions.len(), saved.initial_schema.tables.len());
}

#[test]
fn ddl_preview_for_each_dialect_is_the_core_generator_output() {
    let persona = ecommerce();
    let mut h = harness(persona.clone());
    h.run();
    h.get_by_label("DDL").click();
    h.run();
    for dialect in Dialect::ALL {
        h.get_by_label(dialect.as_str()).click();
        h.run();
        let shown = h
            .get_by_label(&format!("DDL ({})", dialect.as_str()))
            .value()
            .expect("the DDL field has a value");
        assert_eq!(
            shown,
            script(&create_schema(&persona.initial_schema, dialect)),
            "{dialect:?}"
        );
    }
}

#[test]
fn pattern_sql_is_checked_against_the_schema_while_typing() {
    let mut h = harness(ecommerce());
    h.run();
    h.get_by_label("Patterns").click();
    h.run();
    let first = h.state().editor.persona().access_patterns[0].name.clone();
    h.get_by_label_contains(&format!("{first} ·")).click();
    h.run();
    let field = h.get_by_label("Pattern SQL");
    field.focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Pattern SQL")
        .type_text("SELECT nosuch FROM products");
    h.run();
    assert!(h.query_by_label_contains("nosuch").is_some());
    // Not committed while typing.
    assert_eq!(
        h.state().editor.persona().access_patterns[0],
        ecommerce().access_patterns[0]
    );
}

/// Press at `from`, move in `steps` frames to `to` (a frame between each move), release.
fn slow_drag(h: &mut Harness<'_, State>, from: Pos2, to: Pos2, steps: usize) {
    h.hover_at(from);
    h.run();
    h.drag_at(from);
    h.run();
    for i in 1..=steps {
        h.hover_at(from + (to - from) * (i as f32 / steps as f32));
        h.run();
    }
    h.drop_at(to);
    h.run();
}

#[test]
fn dragging_a_slider_is_one_undo_step() {
    let original = ecommerce();
    let mut h = harness(original.clone());
    h.run();
    h.get_by_label("Patterns").click();
    h.run();
    let rail = h.get_by_role_and_label(Role::Slider, "Read ratio").rect();
    let from = rail.left_center() + vec2(rail.width() * 0.1, 0.0);
    let to = rail.left_center() + vec2(rail.width() * 0.8, 0.0);
    slow_drag(&mut h, from, to, 8);
    let ratio = h.state().editor.persona().performance_profile.read_ratio;
    assert!(
        (ratio - original.performance_profile.read_ratio).abs() > 0.05,
        "the slider moved the read ratio: {ratio}"
    );
    // Eight frames of dragging, one step.
    undo(&mut h);
    assert!(persona(&h) == original, "not back to `original`");
    assert!(!h.state().editor.can_undo());
    redo(&mut h);
    assert!((persona(&h).performance_profile.read_ratio - ratio).abs() < 1e-9);

    // A second drag of the same slider is a step of its own.
    slow_drag(&mut h, to, from, 4);
    undo(&mut h);
    assert!((persona(&h).performance_profile.read_ratio - ratio).abs() < 1e-9);
    undo(&mut h);
    assert!(persona(&h) == original, "not back to `original`");
}

#[test]
fn a_name_typed_character_by_character_is_one_undo_step() {
    let original = ecommerce();
    let mut h = harness(original.clone());
    h.run();
    h.get_by_label("orders table").click();
    h.run();
    h.get_by_label("Table name").focus();
    h.run();
    h.key_press(Key::End);
    h.run();
    for c in ["_", "v", "2"] {
        h.get_by_label("Table name").type_text(c);
        h.run();
    }
    h.key_press(Key::Enter);
    h.run();
    let renamed = persona(&h);
    assert!(renamed.initial_schema.table("orders_v2").is_some());
    assert!(renamed.initial_schema.table("orders").is_none());
    // References followed the rename in the same step.
    assert!(
        renamed
            .initial_schema
            .tables
            .iter()
            .flat_map(|t| &t.foreign_keys)
            .any(|fk| fk.ref_table == "orders_v2")
    );
    undo(&mut h);
    assert!(persona(&h) == original, "not back to `original`");
    assert!(!h.state().editor.can_undo());
}

/// The e-commerce template plus `returns`, whose (order_id, line_no) can reference the
/// composite primary key of `order_items`.
fn with_returns() -> PersonaDefinition {
    let mut p = ecommerce();
    let mut id = persona_core::Column::new("id", DataType::BigInt);
    id.nullable = false;
    id.identity = true;
    p.initial_schema.tables.push(persona_core::Table {
        name: "returns".into(),
        columns: vec![
            id,
            persona_core::Column::new("order_id", DataType::BigInt),
            persona_core::Column::new("line_no", DataType::SmallInt),
            persona_core::Column::new("reason", DataType::Text),
        ],
        primary_key: vec!["id".into()],
        ..persona_core::Table::default()
    });
    p
}

/// Open the combo box labelled `combo` and pick `option` in it.
fn choose(h: &mut Harness<'_, State>, combo: &str, option: &str) {
    h.get_by_label(combo).click();
    h.run();
    h.get_by_role_and_label(Role::Button, option).click();
    h.run();
}

#[test]
fn a_two_column_foreign_key_is_built_on_the_canvas_and_in_the_inspector() {
    let original = with_returns();
    let mut h = harness(original.clone());
    h.run();
    let key = original.initial_schema.table("order_items").unwrap();
    assert_eq!(key.primary_key, ["order_id", "line_no"]);

    // 1. Drag returns.order_id onto order_items.order_id: one column of the composite key.
    let (from, to) = (
        center(&h, "returns.order_id"),
        center(&h, "order_items.order_id"),
    );
    drag(&mut h, from, to);
    let half = persona(&h);
    let fk = &half.initial_schema.table("returns").unwrap().foreign_keys;
    assert_eq!(fk.len(), 1, "{fk:?}");
    assert_eq!(fk[0].columns, ["order_id"]);
    assert_eq!(fk[0].ref_columns, ["order_id"]);
    // Incomplete: the problem is listed and the user is told what to add.
    assert!(
        h.state().editor.problems().iter().any(|p| p
            .message
            .contains("neither its primary key nor a unique index")),
        "{:?}",
        h.state().editor.problems()
    );
    assert!(
        h.query_by_label_contains("add a pair for line_no")
            .is_some()
    );

    // 2. A text column cannot pair with a smallint key column: refused with the reason.
    choose(&mut h, "Column of returns", "reason");
    choose(&mut h, "References order_items", "line_no");
    assert!(h.query_by_label_contains("not compatible").is_some());
    h.get_by_label("Add column pair").click();
    h.run();
    assert!(persona(&h) == half, "not back to `half`");

    // 3. line_no → line_no completes the key.
    choose(&mut h, "Column of returns", "line_no");
    h.get_by_label("Add column pair").click();
    h.run();
    let full = persona(&h);
    let fk = &full.initial_schema.table("returns").unwrap().foreign_keys[0];
    assert_eq!(fk.columns, ["order_id", "line_no"]);
    assert_eq!(fk.ref_table, "order_items");
    assert_eq!(fk.ref_columns, ["order_id", "line_no"]);
    assert!(
        !persona_core::validate::has_errors(h.state().editor.problems()),
        "{:?}",
        h.state().editor.problems()
    );
    assert!(
        h.query_by_label_contains("references the primary key of order_items")
            .is_some()
    );

    // 4. Undo and redo each step.
    undo(&mut h);
    assert!(persona(&h) == half, "not back to `half`");
    undo(&mut h);
    assert!(persona(&h) == original, "not back to `original`");
    redo(&mut h);
    redo(&mut h);
    assert!(persona(&h) == full, "not back to `full`");
}
