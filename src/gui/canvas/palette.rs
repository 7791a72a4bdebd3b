//! The palette: a new table and the column types, dragged onto the canvas to add them.

use egui::{Align2, FontId, Id, Sense, Stroke, StrokeKind, Ui, WidgetInfo, WidgetType, vec2};
use persona_core::DataType;

/// What is being dragged out of the palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteItem {
    Table,
    Column(DataType),
}

impl PaletteItem {
    fn text(self) -> String {
        match self {
            PaletteItem::Table => "▦ Table".to_owned(),
            PaletteItem::Column(ty) => ty.to_string(),
        }
    }

    /// The accessible name: what a screen reader says, and what tests look for.
    pub fn label(self) -> String {
        match self {
            PaletteItem::Table => "New table".to_owned(),
            PaletteItem::Column(ty) => format!("New {ty} column"),
        }
    }
}

/// The column types offered, most used first.
const TYPES: [DataType; 14] = [
    DataType::BigInt,
    DataType::Integer,
    DataType::Text,
    DataType::Varchar(255),
    DataType::Decimal {
        precision: 12,
        scale: 2,
    },
    DataType::Boolean,
    DataType::TimestampTz,
    DataType::Date,
    DataType::Uuid,
    DataType::Json,
    DataType::Double,
    DataType::SmallInt,
    DataType::Timestamp,
    DataType::Bytes,
];

/// Draw the palette; a dragged item is carried as an [`egui::DragAndDrop`] payload that the
/// canvas takes on release.
pub fn palette_ui(ui: &mut Ui) {
    ui.add_space(4.0);
    ui.strong("Palette");
    ui.label(egui::RichText::new("drag onto the canvas").small().weak());
    ui.add_space(4.0);
    item_ui(ui, PaletteItem::Table);
    ui.add_space(6.0);
    ui.label(egui::RichText::new("Columns").small().weak());
    for ty in TYPES {
        item_ui(ui, PaletteItem::Column(ty));
    }
    if let Some(item) = egui::DragAndDrop::payload::<PaletteItem>(ui.ctx())
        && let Some(p) = ui.ctx().pointer_latest_pos()
    {
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Tooltip,
            Id::new("persona_palette_ghost"),
        ));
        let r = painter.text(
            p + vec2(10.0, 4.0),
            Align2::LEFT_TOP,
            item.text(),
            FontId::proportional(13.0),
            ui.visuals().strong_text_color(),
        );
        painter.rect(
            r.expand(4.0),
            4.0,
            ui.visuals().selection.bg_fill.gamma_multiply(0.4),
            Stroke::new(1.0, ui.visuals().selection.stroke.color),
            StrokeKind::Outside,
        );
    }
}

fn item_ui(ui: &mut Ui, item: PaletteItem) {
    let (rect, response) = ui.allocate_exact_size(vec2(ui.available_width(), 22.0), Sense::drag());
    response.widget_info(|| WidgetInfo::labeled(WidgetType::Button, true, item.label()));
    response.dnd_set_drag_payload(item);
    let response = response.on_hover_cursor(egui::CursorIcon::Grab);
    let visuals = ui.style().interact(&response);
    ui.painter().rect(
        rect,
        4.0,
        visuals.bg_fill,
        visuals.bg_stroke,
        StrokeKind::Inside,
    );
    ui.painter().text(
        rect.left_center() + vec2(8.0, 0.0),
        Align2::LEFT_CENTER,
        item.text(),
        FontId::proportional(13.0),
        visuals.text_color(),
    );
}
