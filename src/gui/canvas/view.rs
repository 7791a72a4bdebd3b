//! Drawing and direct manipulation of the canvas: table cards with their columns and badges,
//! relationship edges between the exact column rows (crow's foot on the "many" side), the grid,
//! selection (click, Shift/Ctrl-click, Shift-drag box), moving tables, connecting columns, pan,
//! zoom, "fit", drops from the palette, and the minimap.
//!
//! The view owns only view state (selection, the gesture in progress, pan and zoom); edits of
//! the persona are pushed as [`CanvasAction`]s and applied after the frame.

use std::collections::{BTreeSet, HashMap};

use egui::{
    Align2, Color32, CornerRadius, FontId, Id, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Ui,
    Vec2, WidgetInfo, WidgetType, emath::TSTransform, epaint::CubicBezierShape, pos2, vec2,
};
use persona_core::{Column, DataType, PersonaDefinition, Table};

use super::actions::{CanvasAction, Edits, Target, is_single_unique};
use super::layout::{CARD_WIDTH, HEADER_HEIGHT, ROW_HEIGHT, card_height, snap};
use super::palette::PaletteItem;
use super::{CanvasLayout, ProblemIndex};

/// Below this zoom, rows are drawn without text and cannot be clicked.
const DETAIL_ZOOM: f32 = 0.45;
const MIN_ZOOM: f32 = 0.05;
const MAX_ZOOM: f32 = 3.0;
/// Show the minimap from this many tables on.
const MINIMAP_FROM: usize = 8;

/// What the canvas reads while drawing.
pub struct CanvasContext<'a> {
    pub persona: &'a PersonaDefinition,
    pub problems: &'a ProblemIndex,
}

/// Selected tables, and the one item (column, foreign key, index, check) the inspector shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub tables: BTreeSet<String>,
    pub item: Option<Target>,
}

impl Selection {
    fn only(target: Target) -> Self {
        let mut s = Selection::default();
        s.set(target);
        s
    }

    fn set(&mut self, target: Target) {
        self.tables.clear();
        match &target {
            Target::Table(t) => {
                self.tables.insert(t.clone());
                self.item = None;
                return;
            }
            Target::Column { table, .. }
            | Target::ForeignKey { table, .. }
            | Target::Index { table, .. }
            | Target::Check { table, .. } => {
                self.tables.insert(table.clone());
            }
        }
        self.item = Some(target);
    }

    fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.item.is_none()
    }

    /// What the Delete key removes: the item if one is selected, else the selected tables.
    fn targets(&self) -> Vec<Target> {
        match &self.item {
            Some(item) => vec![item.clone()],
            None => self.tables.iter().cloned().map(Target::Table).collect(),
        }
    }
}

/// A pointer gesture in progress.
#[derive(Debug, Clone, Default)]
enum Gesture {
    #[default]
    None,
    /// Moving the named tables; `delta` is in canvas units.
    Move { tables: Vec<String>, delta: Vec2 },
    /// Dragging a relationship out of a column.
    Connect {
        from: (String, String),
        pointer: Pos2,
    },
    /// Box selection, in screen points.
    Select { start: Pos2, end: Pos2 },
}

/// View state of the canvas.
#[derive(Debug, Default)]
pub struct CanvasView {
    selection: Selection,
    gesture: Gesture,
    fit_requested: bool,
    reveal: Option<String>,
    last_rect: Option<Rect>,
}

/// A table card placed on screen this frame.
struct Card<'a> {
    table: &'a Table,
    rect: Rect,
}

impl CanvasView {
    pub fn selection_mut(&mut self) -> &mut Selection {
        &mut self.selection
    }

    /// Zoom and pan to show every table on the next frame.
    pub fn request_fit(&mut self, fit: bool) {
        self.fit_requested |= fit;
    }

    /// Select `target` and center the view on its table.
    pub fn select_and_reveal(&mut self, target: Target, _layout: &CanvasLayout) {
        let table = match &target {
            Target::Table(t)
            | Target::Column { table: t, .. }
            | Target::ForeignKey { table: t, .. }
            | Target::Index { table: t, .. }
            | Target::Check { table: t, .. } => t.clone(),
        };
        self.selection = Selection::only(target);
        self.reveal = Some(table);
    }

    /// Keep the selection pointing at what an applied action created or renamed.
    pub fn after_action(&mut self, action: &CanvasAction, persona: &PersonaDefinition) {
        match action {
            CanvasAction::AddTable { name, .. } => {
                self.selection = Selection::only(Target::Table(name.clone()));
            }
            CanvasAction::AddColumn { table, column } => {
                self.selection = Selection::only(Target::Column {
                    table: table.clone(),
                    column: column.name.clone(),
                });
            }
            CanvasAction::RenameTable { table, to } => {
                if self.selection.tables.remove(table) {
                    self.selection.tables.insert(to.clone());
                }
                if let Some(item) = &mut self.selection.item {
                    match item {
                        Target::Table(t)
                        | Target::Column { table: t, .. }
                        | Target::ForeignKey { table: t, .. }
                        | Target::Index { table: t, .. }
                        | Target::Check { table: t, .. } => {
                            if t == table {
                                t.clone_from(to);
                            }
                        }
                    }
                }
            }
            CanvasAction::EditColumn {
                table,
                column,
                edit: super::ColumnEdit::Rename(to),
            } if self.selection.item
                == Some(Target::Column {
                    table: table.clone(),
                    column: column.clone(),
                }) =>
            {
                self.selection.item = Some(Target::Column {
                    table: table.clone(),
                    column: to.clone(),
                });
            }
            CanvasAction::Connect { from, .. } => {
                if let Some(fk) = persona
                    .initial_schema
                    .table(&from.0)
                    .and_then(|t| t.foreign_keys.last())
                {
                    self.selection = Selection::only(Target::ForeignKey {
                        table: from.0.clone(),
                        name: fk.name.clone(),
                    });
                }
            }
            CanvasAction::AddIndex { table, .. } => {
                if let Some(ix) = persona
                    .initial_schema
                    .table(table)
                    .and_then(|t| t.indexes.last())
                {
                    self.selection = Selection::only(Target::Index {
                        table: table.clone(),
                        name: ix.name.clone(),
                    });
                }
            }
            CanvasAction::EditIndex { table, name, index } if *name != index.name => {
                self.selection = Selection::only(Target::Index {
                    table: table.clone(),
                    name: index.name.clone(),
                });
            }
            _ => {}
        }
        self.retain_existing(persona);
    }

    /// Forget selected things that no longer exist (after delete, undo, redo).
    pub fn retain_existing(&mut self, persona: &PersonaDefinition) {
        let schema = &persona.initial_schema;
        self.selection.tables.retain(|t| schema.table(t).is_some());
        let exists = match &self.selection.item {
            None => true,
            Some(Target::Table(t)) => schema.table(t).is_some(),
            Some(Target::Column { table, column }) => schema
                .table(table)
                .is_some_and(|t| t.column(column).is_some()),
            Some(Target::ForeignKey { table, name }) => schema
                .table(table)
                .is_some_and(|t| t.foreign_keys.iter().any(|f| f.name == *name)),
            Some(Target::Index { table, name }) => schema
                .table(table)
                .is_some_and(|t| t.indexes.iter().any(|i| i.name == *name)),
            Some(Target::Check { table, name }) => schema
                .table(table)
                .is_some_and(|t| t.checks.iter().any(|c| c.name == *name)),
        };
        if !exists {
            self.selection.item = None;
        }
    }

    /// Draw the canvas into the rest of `ui` and record edits in `edits`.
    pub fn canvas_ui(
        &mut self,
        ui: &mut Ui,
        cx: &CanvasContext<'_>,
        layout: &mut CanvasLayout,
        edits: &mut Edits,
    ) {
        let (rect, background) =
            ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        background.widget_info(|| WidgetInfo::labeled(WidgetType::Other, true, "Schema canvas"));
        self.last_rect = Some(rect);
        let tables = &cx.persona.initial_schema.tables;

        if self.fit_requested {
            self.fit_requested = false;
            fit(tables, layout, rect);
        }
        if let Some(name) = self.reveal.take()
            && let Some(at) = layout.positions.get(&name)
        {
            let world = pos2(at[0] + CARD_WIDTH / 2.0, at[1] + HEADER_HEIGHT * 2.0);
            let pan = rect.center() - rect.min - world.to_vec2() * layout.zoom;
            layout.pan = [pan.x, pan.y];
        }

        Self::zoom_ui(ui, rect, layout);
        if let Gesture::Move { delta, .. } = &mut self.gesture
            && let (Some(origin), Some(latest)) =
                ui.input(|i| (i.pointer.press_origin(), i.pointer.latest_pos()))
        {
            *delta = (latest - origin) / layout.zoom;
        }
        let to_screen = transform(rect, layout);

        // Card rectangles on screen, moved by a move in progress.
        let moving: Vec<&str> = match &self.gesture {
            Gesture::Move { tables, .. } => tables.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        let move_delta = match &self.gesture {
            Gesture::Move { delta, .. } => *delta,
            _ => Vec2::ZERO,
        };
        let cards: Vec<Card<'_>> = tables
            .iter()
            .map(|table| {
                let at = layout
                    .positions
                    .get(&table.name)
                    .copied()
                    .unwrap_or([0.0, 0.0]);
                let mut min = pos2(at[0], at[1]);
                if moving.contains(&table.name.as_str()) {
                    min += move_delta;
                }
                let world =
                    Rect::from_min_size(min, vec2(CARD_WIDTH, card_height(table.columns.len())));
                Card {
                    table,
                    rect: to_screen.mul_rect(world),
                }
            })
            .collect();
        let card_of: HashMap<&str, usize> = cards
            .iter()
            .enumerate()
            .map(|(i, c)| (c.table.name.as_str(), i))
            .collect();

        let painter = ui.painter_at(rect);
        let visuals = ui.visuals().clone();
        painter.rect_filled(rect, 0.0, visuals.extreme_bg_color);
        grid(&painter, rect, &to_screen, layout.zoom, &visuals);

        let detail = layout.zoom >= DETAIL_ZOOM;
        self.edges(&painter, rect, &cards, &card_of, layout.zoom, &visuals);

        // Cards: interaction first (so a press this frame is seen), then painting.
        let mut clicked_item = false;
        for card in &cards {
            if !card.rect.intersects(rect) {
                continue;
            }
            clicked_item |= self.card_interact_ui(ui, rect, card, layout, edits, detail);
        }
        for card in &cards {
            if card.rect.intersects(rect) {
                self.paint_card(&painter, card, cx.problems, layout.zoom, detail, &visuals);
            }
        }

        self.background_interact(ui, &background, rect, &cards, layout, clicked_item);
        self.connect_preview(
            ui,
            &painter,
            &cards,
            &card_of,
            edits,
            cx.persona,
            layout.zoom,
        );
        Self::palette_drop(ui, rect, &cards, layout, edits, cx.persona);
        if let Gesture::Select { start, end } = &self.gesture {
            let r = Rect::from_two_pos(*start, *end);
            painter.rect(
                r,
                2.0,
                visuals.selection.bg_fill.gamma_multiply(0.25),
                Stroke::new(1.0, visuals.selection.stroke.color),
                StrokeKind::Inside,
            );
        }
        if tables.len() >= MINIMAP_FROM {
            minimap_ui(ui, rect, &cards, layout, &visuals);
        }
        painter.text(
            rect.left_bottom() + vec2(8.0, -6.0),
            Align2::LEFT_BOTTOM,
            "Drag header: move · drag column onto a key: relate · Shift-drag: select · wheel: zoom · Del: delete",
            FontId::proportional(11.0),
            visuals.weak_text_color(),
        );

        if !self.selection.is_empty()
            && !ui.ctx().egui_wants_keyboard_input()
            && ui.input(|i| i.key_pressed(egui::Key::Delete) || i.key_pressed(egui::Key::Backspace))
        {
            edits.push(CanvasAction::Delete(self.selection.targets()));
        }
        if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            self.gesture = Gesture::None;
        }
    }

    /// Mouse wheel and pinch zoom around the pointer.
    fn zoom_ui(ui: &Ui, rect: Rect, layout: &mut CanvasLayout) {
        let Some(pointer) = ui.ctx().pointer_hover_pos() else {
            return;
        };
        if !rect.contains(pointer) || !ui.rect_contains_pointer(rect) {
            return;
        }
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = pinch * (scroll * 0.002).exp();
        if (factor - 1.0).abs() < 1e-4 {
            return;
        }
        let old = layout.zoom;
        let new = (old * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let world = (pointer - rect.min - Vec2::from(layout.pan)) / old;
        let pan = pointer - rect.min - world * new;
        layout.zoom = new;
        layout.pan = [pan.x, pan.y];
    }

    /// Interaction with one card: header (select, move) and rows (select, connect). Returns
    /// whether something on it was clicked.
    fn card_interact_ui(
        &mut self,
        ui: &mut Ui,
        clip: Rect,
        card: &Card<'_>,
        layout: &mut CanvasLayout,
        edits: &mut Edits,
        detail: bool,
    ) -> bool {
        let name = &card.table.name;
        let zoom = layout.zoom;
        let header =
            Rect::from_min_size(card.rect.min, vec2(card.rect.width(), HEADER_HEIGHT * zoom))
                .intersect(clip);
        let id = Id::new(("persona_canvas_table", name));
        let response = ui.interact(header, id, Sense::click_and_drag());
        response.widget_info(|| {
            WidgetInfo::selected(
                WidgetType::Button,
                true,
                self.selection.tables.contains(name),
                format!("{name} table"),
            )
        });
        let mut clicked = false;
        if response.clicked() {
            clicked = true;
            let modifiers = ui.input(|i| i.modifiers);
            if modifiers.shift || modifiers.command {
                if !self.selection.tables.remove(name) {
                    self.selection.tables.insert(name.clone());
                }
                self.selection.item = None;
            } else {
                self.selection = Selection::only(Target::Table(name.clone()));
            }
        }
        if response.dragged_by(egui::PointerButton::Middle) {
            pan_by(layout, response.drag_delta());
        } else if response.drag_started_by(egui::PointerButton::Primary) {
            if !self.selection.tables.contains(name) {
                self.selection = Selection::only(Target::Table(name.clone()));
            }
            self.gesture = Gesture::Move {
                tables: self.selection.tables.iter().cloned().collect(),
                delta: Vec2::ZERO,
            };
        }
        if response.drag_stopped()
            && let Gesture::Move { tables, delta } = std::mem::take(&mut self.gesture)
            && delta.length() > 0.5
        {
            {
                let moves = tables
                    .into_iter()
                    .filter_map(|t| {
                        let at = layout.positions.get(&t)?;
                        let mut to = [at[0] + delta.x, at[1] + delta.y];
                        if layout.snap {
                            to = snap(to);
                        }
                        Some((t, to))
                    })
                    .collect();
                edits.push(CanvasAction::MoveTables(moves));
            }
        }

        if !detail {
            return clicked;
        }
        for (ci, column) in card.table.columns.iter().enumerate() {
            let row = row_rect(card.rect, ci, zoom);
            if !row.intersects(clip) {
                continue;
            }
            let id = Id::new(("persona_canvas_column", name, &column.name, ci));
            let response = ui.interact(row.intersect(clip), id, Sense::click_and_drag());
            response.widget_info(|| {
                WidgetInfo::labeled(WidgetType::Button, true, format!("{name}.{}", column.name))
            });
            let target = Target::Column {
                table: name.clone(),
                column: column.name.clone(),
            };
            if response.clicked() {
                clicked = true;
                self.selection = Selection::only(target.clone());
            }
            if response.dragged_by(egui::PointerButton::Middle) {
                pan_by(layout, response.drag_delta());
            } else if response.drag_started_by(egui::PointerButton::Primary) {
                self.gesture = Gesture::Connect {
                    from: (name.clone(), column.name.clone()),
                    pointer: response.interact_pointer_pos().unwrap_or(row.center()),
                };
            }
        }
        clicked
    }

    fn background_interact(
        &mut self,
        ui: &Ui,
        background: &egui::Response,
        rect: Rect,
        cards: &[Card<'_>],
        layout: &mut CanvasLayout,
        clicked_item: bool,
    ) {
        if background.clicked() && !clicked_item {
            let pointer = background.interact_pointer_pos();
            let edge = pointer.and_then(|p| Self::edge_at(p, cards, layout.zoom));
            match edge {
                Some(target) => self.selection = Selection::only(target),
                None => self.selection = Selection::default(),
            }
        }
        let shift = ui.input(|i| i.modifiers.shift);
        if background.drag_started_by(egui::PointerButton::Primary) && shift {
            let start = background.interact_pointer_pos().unwrap_or(rect.center());
            self.gesture = Gesture::Select { start, end: start };
        }
        match &mut self.gesture {
            Gesture::Select { end, .. } if background.dragged() => {
                if let Some(p) = background.interact_pointer_pos() {
                    *end = p;
                }
            }
            _ => {
                if background.dragged_by(egui::PointerButton::Primary)
                    || background.dragged_by(egui::PointerButton::Middle)
                {
                    pan_by(layout, background.drag_delta());
                }
            }
        }
        if background.drag_stopped()
            && let Gesture::Select { start, end } = std::mem::take(&mut self.gesture)
        {
            let area = Rect::from_two_pos(start, end);
            let hit: BTreeSet<String> = cards
                .iter()
                .filter(|c| area.intersects(c.rect))
                .map(|c| c.table.name.clone())
                .collect();
            if shift {
                self.selection.tables.extend(hit);
            } else {
                self.selection.tables = hit;
            }
            self.selection.item = None;
        }
    }

    /// The foreign key whose edge passes within a few points of `p`.
    fn edge_at(p: Pos2, cards: &[Card<'_>], zoom: f32) -> Option<Target> {
        let card_of: HashMap<&str, usize> = cards
            .iter()
            .enumerate()
            .map(|(i, c)| (c.table.name.as_str(), i))
            .collect();
        for card in cards {
            for fk in &card.table.foreign_keys {
                let Some(points) = edge_points(card, fk, cards, &card_of, zoom) else {
                    continue;
                };
                let bezier = CubicBezierShape::from_points_stroke(
                    points,
                    false,
                    Color32::TRANSPARENT,
                    Stroke::NONE,
                );
                let near = (0..=24).any(|i| bezier.sample(i as f32 / 24.0).distance(p) < 6.0);
                if near {
                    return Some(Target::ForeignKey {
                        table: card.table.name.clone(),
                        name: fk.name.clone(),
                    });
                }
            }
        }
        None
    }

    /// Relationship edges: from the referencing column's row to the referenced column's row.
    fn edges(
        &self,
        painter: &egui::Painter,
        clip: Rect,
        cards: &[Card<'_>],
        card_of: &HashMap<&str, usize>,
        zoom: f32,
        visuals: &egui::Visuals,
    ) {
        let normal = Stroke::new(
            (1.4 * zoom).clamp(0.6, 2.0),
            visuals.text_color().gamma_multiply(0.55),
        );
        let selected = Stroke::new((2.5 * zoom).clamp(1.5, 3.5), visuals.selection.stroke.color);
        for card in cards {
            for fk in &card.table.foreign_keys {
                let Some(points) = edge_points(card, fk, cards, card_of, zoom) else {
                    continue;
                };
                let bounds = Rect::from_points(&points);
                if !bounds.intersects(clip) {
                    continue;
                }
                let is_selected = self.selection.item
                    == Some(Target::ForeignKey {
                        table: card.table.name.clone(),
                        name: fk.name.clone(),
                    });
                let stroke = if is_selected { selected } else { normal };
                if zoom < DETAIL_ZOOM {
                    painter.line_segment([points[0], points[3]], stroke);
                    continue;
                }
                painter.add(CubicBezierShape::from_points_stroke(
                    points,
                    false,
                    Color32::TRANSPARENT,
                    stroke,
                ));
                // Crow's foot at the referencing ("many") end, a bar at the referenced ("one") end.
                let many_dir = (points[1] - points[0]).normalized();
                let one_dir = (points[2] - points[3]).normalized();
                let s = 10.0 * zoom;
                let tip = points[0] + many_dir * s;
                let across = vec2(0.0, 6.0 * zoom);
                painter.line_segment([tip, points[0] + across], stroke);
                painter.line_segment([tip, points[0] - across], stroke);
                let bar = points[3] + one_dir * (s * 0.8);
                painter.line_segment([bar + across, bar - across], stroke);
            }
        }
    }

    fn paint_card(
        &self,
        painter: &egui::Painter,
        card: &Card<'_>,
        problems: &ProblemIndex,
        zoom: f32,
        detail: bool,
        visuals: &egui::Visuals,
    ) {
        let table = card.table;
        let name = &table.name;
        let rect = card.rect;
        let selected = self.selection.tables.contains(name);
        let radius = CornerRadius::same((6.0 * zoom).clamp(1.0, 8.0) as u8);
        let outline = if problems.error_tables.contains(name) {
            Stroke::new(2.0, visuals.error_fg_color)
        } else if problems.warning_tables.contains(name) {
            Stroke::new(1.5, visuals.warn_fg_color)
        } else if selected {
            Stroke::new(2.0, visuals.selection.stroke.color)
        } else {
            Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color)
        };
        painter.rect(
            rect,
            radius,
            visuals.panel_fill,
            Stroke::NONE,
            StrokeKind::Inside,
        );
        let header = Rect::from_min_size(rect.min, vec2(rect.width(), HEADER_HEIGHT * zoom));
        let header_fill = if selected {
            visuals.selection.bg_fill
        } else {
            visuals.widgets.inactive.bg_fill
        };
        painter.rect_filled(
            header,
            CornerRadius {
                nw: radius.nw,
                ne: radius.ne,
                sw: 0,
                se: 0,
            },
            header_fill,
        );
        if zoom >= 0.2 {
            let clipped = painter.with_clip_rect(header.intersect(painter.clip_rect()));
            clipped.text(
                header.left_center() + vec2(8.0 * zoom, 0.0),
                Align2::LEFT_CENTER,
                name,
                FontId::proportional(14.0 * zoom),
                visuals.strong_text_color(),
            );
        }
        let fk_columns: BTreeSet<&str> = table
            .foreign_keys
            .iter()
            .flat_map(|fk| fk.columns.iter().map(String::as_str))
            .collect();
        let selected_column = match &self.selection.item {
            Some(Target::Column { table: t, column }) if t == name => Some(column.as_str()),
            _ => None,
        };
        let body = painter.with_clip_rect(rect.intersect(painter.clip_rect()));
        for (ci, column) in table.columns.iter().enumerate() {
            let row = row_rect(rect, ci, zoom);
            let key = (name.clone(), column.name.clone());
            let error = problems.error_columns.contains(&key);
            let warning = problems.warning_columns.contains(&key);
            if selected_column == Some(column.name.as_str()) {
                body.rect_filled(row, 0.0, visuals.selection.bg_fill.gamma_multiply(0.6));
            } else if error {
                body.rect_filled(row, 0.0, visuals.error_fg_color.gamma_multiply(0.18));
            }
            if error || warning {
                let color = if error {
                    visuals.error_fg_color
                } else {
                    visuals.warn_fg_color
                };
                body.rect_stroke(
                    row.shrink(1.0),
                    0.0,
                    Stroke::new(1.0, color),
                    StrokeKind::Inside,
                );
            }
            if !detail {
                body.rect_filled(
                    Rect::from_min_size(
                        row.min + vec2(6.0 * zoom, row.height() * 0.35),
                        vec2(row.width() * 0.5, row.height() * 0.3),
                    ),
                    0.0,
                    visuals.weak_text_color().gamma_multiply(0.5),
                );
                continue;
            }
            paint_row(&body, row, table, column, &fk_columns, zoom, error, visuals);
        }
        painter.rect_stroke(rect, radius, outline, StrokeKind::Inside);
    }

    /// A relationship being dragged out of a column: the line, the target it would land on,
    /// and on release the `Connect` action (reversed when only the other direction is valid).
    #[allow(clippy::too_many_arguments)]
    fn connect_preview(
        &mut self,
        ui: &Ui,
        painter: &egui::Painter,
        cards: &[Card<'_>],
        card_of: &HashMap<&str, usize>,
        edits: &mut Edits,
        persona: &PersonaDefinition,
        zoom: f32,
    ) {
        let Gesture::Connect { from, pointer } = &mut self.gesture else {
            return;
        };
        if let Some(p) = ui.ctx().pointer_latest_pos() {
            *pointer = p;
        }
        let target = row_at(*pointer, cards, zoom);
        let valid = target.as_ref().map(|to| {
            super::actions::check_connect(persona, from, to)
                .or_else(|e| super::actions::check_connect(persona, to, from).map_err(|_| e))
        });
        let start = card_of.get(from.0.as_str()).and_then(|&i| {
            let card = &cards[i];
            let ci = card.table.columns.iter().position(|c| c.name == from.1)?;
            Some(row_rect(card.rect, ci, zoom).right_center())
        });
        let visuals = ui.visuals();
        let color = match &valid {
            Some(Err(_)) => visuals.error_fg_color,
            _ => visuals.selection.stroke.color,
        };
        if let Some(start) = start {
            painter.line_segment([start, *pointer], Stroke::new(2.0, color));
            painter.circle_filled(*pointer, 4.0, color);
        }
        if let (Some(to), Some(result)) = (&target, &valid)
            && let Some(&i) = card_of.get(to.0.as_str())
            && let Some(ci) = cards[i].table.columns.iter().position(|c| c.name == to.1)
        {
            let row = row_rect(cards[i].rect, ci, zoom);
            painter.rect_stroke(row, 2.0, Stroke::new(2.0, color), StrokeKind::Outside);
            if let Err(e) = result {
                painter.text(
                    *pointer + vec2(12.0, 12.0),
                    Align2::LEFT_TOP,
                    e.to_string(),
                    FontId::proportional(12.0),
                    color,
                );
            }
        }
        if ui.input(|i| i.pointer.any_released()) {
            let from = from.clone();
            self.gesture = Gesture::None;
            if let Some(to) = target
                && to != from
            {
                let forward = super::actions::check_connect(persona, &from, &to).is_ok();
                let backward = super::actions::check_connect(persona, &to, &from).is_ok();
                let (from, to) = if !forward && backward {
                    (to, from)
                } else {
                    (from, to)
                };
                edits.push(CanvasAction::Connect { from, to });
            }
        }
    }

    /// A palette item dropped on the canvas: a new table where it lands, or a new column on the
    /// table it lands on.
    fn palette_drop(
        ui: &Ui,
        rect: Rect,
        cards: &[Card<'_>],
        layout: &CanvasLayout,
        edits: &mut Edits,
        persona: &PersonaDefinition,
    ) {
        let ctx = ui.ctx();
        let Some(item) = egui::DragAndDrop::payload::<PaletteItem>(ctx) else {
            return;
        };
        let Some(pointer) = ctx.pointer_latest_pos() else {
            return;
        };
        if !rect.contains(pointer) {
            return;
        }
        let over = cards.iter().rev().find(|c| c.rect.contains(pointer));
        let painter = ui.painter_at(rect);
        let accent = ui.visuals().selection.stroke.color;
        match (&*item, over) {
            (PaletteItem::Column(_), Some(card)) => {
                painter.rect_stroke(
                    card.rect,
                    6.0,
                    Stroke::new(3.0, accent),
                    StrokeKind::Outside,
                );
            }
            (PaletteItem::Column(_), None) => {
                painter.text(
                    pointer + vec2(14.0, 14.0),
                    Align2::LEFT_TOP,
                    "drop onto a table",
                    FontId::proportional(12.0),
                    ui.visuals().warn_fg_color,
                );
            }
            (PaletteItem::Table, _) => {
                let size = vec2(CARD_WIDTH, card_height(1)) * layout.zoom;
                painter.rect_stroke(
                    Rect::from_min_size(pointer, size),
                    6.0,
                    Stroke::new(2.0, accent),
                    StrokeKind::Inside,
                );
            }
        }
        if !ui.input(|i| i.pointer.any_released()) {
            return;
        }
        egui::DragAndDrop::clear_payload(ctx);
        let world = (pointer - rect.min - Vec2::from(layout.pan)) / layout.zoom;
        match (&*item, over) {
            (PaletteItem::Table, _) => {
                let name = free_name(|n| persona.initial_schema.table(n).is_some(), "new_table");
                let at = if layout.snap {
                    snap([world.x, world.y])
                } else {
                    [world.x, world.y]
                };
                edits.push(CanvasAction::AddTable { name, at });
            }
            (PaletteItem::Column(ty), Some(card)) => {
                let name = free_name(|n| card.table.column(n).is_some(), "column");
                edits.push(CanvasAction::AddColumn {
                    table: card.table.name.clone(),
                    column: Column::new(name, *ty),
                });
            }
            (PaletteItem::Column(_), None) => {}
        }
    }
}

/// `base`, or `base_2`, `base_3`, … whichever is not taken.
pub fn free_name(taken: impl Fn(&str) -> bool, base: &str) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..=u32::MAX)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

fn transform(rect: Rect, layout: &CanvasLayout) -> TSTransform {
    TSTransform::new(rect.min.to_vec2() + Vec2::from(layout.pan), layout.zoom)
}

fn pan_by(layout: &mut CanvasLayout, delta: Vec2) {
    layout.pan[0] += delta.x;
    layout.pan[1] += delta.y;
}

/// Zoom and pan so that every table fits in `rect`.
fn fit(tables: &[Table], layout: &mut CanvasLayout, rect: Rect) {
    let mut bounds = Rect::NOTHING;
    for t in tables {
        if let Some(at) = layout.positions.get(&t.name) {
            bounds |= Rect::from_min_size(
                pos2(at[0], at[1]),
                vec2(CARD_WIDTH, card_height(t.columns.len())),
            );
        }
    }
    if !bounds.is_positive() || !rect.is_positive() {
        return;
    }
    let margin = 40.0;
    let zoom = ((rect.width() - margin) / bounds.width())
        .min((rect.height() - margin) / bounds.height())
        .clamp(MIN_ZOOM, 1.0);
    let pan = rect.size() / 2.0 - bounds.center().to_vec2() * zoom;
    layout.zoom = zoom;
    layout.pan = [pan.x, pan.y];
}

fn row_rect(card: Rect, index: usize, zoom: f32) -> Rect {
    Rect::from_min_size(
        card.min + vec2(0.0, (HEADER_HEIGHT + ROW_HEIGHT * index as f32) * zoom),
        vec2(card.width(), ROW_HEIGHT * zoom),
    )
}

/// The column row under `p`, if any (top-most card first).
fn row_at(p: Pos2, cards: &[Card<'_>], zoom: f32) -> Option<(String, String)> {
    let card = cards.iter().rev().find(|c| c.rect.contains(p))?;
    let offset = (p.y - card.rect.min.y) / zoom - HEADER_HEIGHT;
    if offset < 0.0 {
        return None;
    }
    let column = card.table.columns.get((offset / ROW_HEIGHT) as usize)?;
    Some((card.table.name.clone(), column.name.clone()))
}

/// Bezier control points of the edge for `fk` of `card`: from the side of the first referencing
/// column's row to the side of the first referenced column's row, facing each other.
fn edge_points(
    card: &Card<'_>,
    fk: &persona_core::ForeignKey,
    cards: &[Card<'_>],
    card_of: &HashMap<&str, usize>,
    zoom: f32,
) -> Option<[Pos2; 4]> {
    let target = &cards[*card_of.get(fk.ref_table.as_str())?];
    let from_ci = fk
        .columns
        .first()
        .and_then(|c| card.table.columns.iter().position(|x| x.name == *c))?;
    let to_ci = fk
        .ref_columns
        .first()
        .and_then(|c| target.table.columns.iter().position(|x| x.name == *c))?;
    let from_row = row_rect(card.rect, from_ci, zoom);
    let to_row = row_rect(target.rect, to_ci, zoom);
    let (a, b, da, db) = if std::ptr::eq(card.table, target.table) {
        (from_row.right_center(), to_row.right_center(), 1.0, 1.0)
    } else if card.rect.center().x >= target.rect.center().x {
        (from_row.left_center(), to_row.right_center(), -1.0, 1.0)
    } else {
        (from_row.right_center(), to_row.left_center(), 1.0, -1.0)
    };
    let reach = ((b.x - a.x).abs() * 0.5).max(40.0 * zoom);
    Some([a, a + vec2(da * reach, 0.0), b + vec2(db * reach, 0.0), b])
}

#[allow(clippy::too_many_arguments)]
fn paint_row(
    painter: &egui::Painter,
    row: Rect,
    table: &Table,
    column: &Column,
    fk_columns: &BTreeSet<&str>,
    zoom: f32,
    error: bool,
    visuals: &egui::Visuals,
) {
    let font = FontId::proportional(12.5 * zoom);
    let badge_font = FontId::monospace(9.0 * zoom);
    let mut x = row.min.x + 6.0 * zoom;
    let mut badge = |text: &str, color: Color32| {
        let r = Rect::from_min_size(
            pos2(x, row.center().y - 6.0 * zoom),
            vec2(6.5 * zoom * text.len() as f32 + 4.0 * zoom, 12.0 * zoom),
        );
        painter.rect_filled(r, 3.0 * zoom, color.gamma_multiply(0.25));
        painter.text(
            r.center(),
            Align2::CENTER_CENTER,
            text,
            badge_font.clone(),
            color,
        );
        x = r.max.x + 3.0 * zoom;
    };
    if table.primary_key.contains(&column.name) {
        badge("PK", Color32::from_rgb(214, 160, 30));
    }
    if fk_columns.contains(column.name.as_str()) {
        badge("FK", Color32::from_rgb(70, 140, 230));
    }
    if is_single_unique(table, &column.name) {
        badge("U", Color32::from_rgb(60, 170, 110));
    }
    let name_color = if error {
        visuals.error_fg_color
    } else {
        visuals.text_color()
    };
    painter.text(
        pos2(x + 2.0 * zoom, row.center().y),
        Align2::LEFT_CENTER,
        &column.name,
        font.clone(),
        name_color,
    );
    let mut right = row.max.x - 6.0 * zoom;
    if column.nullable {
        let r = painter.text(
            pos2(right, row.center().y),
            Align2::RIGHT_CENTER,
            "NULL",
            badge_font,
            visuals.weak_text_color(),
        );
        right = r.min.x - 4.0 * zoom;
    }
    painter.text(
        pos2(right, row.center().y),
        Align2::RIGHT_CENTER,
        type_label(column.data_type),
        font,
        visuals.weak_text_color(),
    );
}

fn type_label(ty: DataType) -> String {
    ty.to_string()
}

fn grid(
    painter: &egui::Painter,
    rect: Rect,
    to_screen: &TSTransform,
    zoom: f32,
    visuals: &egui::Visuals,
) {
    let mut step = super::layout::GRID * zoom;
    while step < 12.0 {
        step *= 5.0;
    }
    let color = visuals
        .widgets
        .noninteractive
        .bg_stroke
        .color
        .gamma_multiply(0.35);
    let stroke = Stroke::new(1.0, color);
    let origin = to_screen.mul_pos(Pos2::ZERO);
    let first_x = origin.x + ((rect.min.x - origin.x) / step).ceil() * step;
    let first_y = origin.y + ((rect.min.y - origin.y) / step).ceil() * step;
    let mut shapes = Vec::new();
    let mut x = first_x;
    while x < rect.max.x {
        shapes.push(Shape::line_segment(
            [pos2(x, rect.min.y), pos2(x, rect.max.y)],
            stroke,
        ));
        x += step;
    }
    let mut y = first_y;
    while y < rect.max.y {
        shapes.push(Shape::line_segment(
            [pos2(rect.min.x, y), pos2(rect.max.x, y)],
            stroke,
        ));
        y += step;
    }
    painter.extend(shapes);
}

/// An overview of every table in the bottom-right corner, with the visible area outlined;
/// clicking or dragging in it moves the view there.
fn minimap_ui(
    ui: &mut Ui,
    rect: Rect,
    cards: &[Card<'_>],
    layout: &mut CanvasLayout,
    visuals: &egui::Visuals,
) {
    let size = vec2(200.0, 140.0);
    let map = Rect::from_min_size(rect.max - size - vec2(12.0, 28.0), size);
    if !rect.contains_rect(map) {
        return;
    }
    let to_world = transform(rect, layout).inverse();
    let mut bounds = Rect::NOTHING;
    for c in cards {
        bounds |= to_world.mul_rect(c.rect);
    }
    let view = to_world.mul_rect(rect);
    bounds |= view;
    if !bounds.is_positive() {
        return;
    }
    let scale = ((size.x - 8.0) / bounds.width()).min((size.y - 8.0) / bounds.height());
    let offset = map.center().to_vec2() - bounds.center().to_vec2() * scale;
    let to_map = TSTransform::new(offset, scale);

    let response = ui.interact(
        map,
        Id::new("persona_canvas_minimap"),
        Sense::click_and_drag(),
    );
    response.widget_info(|| WidgetInfo::labeled(WidgetType::Other, true, "Minimap"));
    if (response.clicked() || response.dragged())
        && let Some(p) = response.interact_pointer_pos()
    {
        let world = to_map.inverse().mul_pos(p);
        let pan = rect.size() / 2.0 - world.to_vec2() * layout.zoom;
        layout.pan = [pan.x, pan.y];
    }
    let painter = ui.painter_at(map);
    painter.rect(
        map,
        4.0,
        visuals.panel_fill.gamma_multiply(0.92),
        Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        StrokeKind::Inside,
    );
    let fill = visuals.widgets.inactive.bg_fill;
    let shapes: Vec<Shape> = cards
        .iter()
        .map(|c| Shape::rect_filled(to_map.mul_rect(to_world.mul_rect(c.rect)), 1.0, fill))
        .collect();
    painter.extend(shapes);
    painter.rect_stroke(
        to_map.mul_rect(view),
        1.0,
        Stroke::new(1.5, visuals.selection.stroke.color),
        StrokeKind::Inside,
    );
}
