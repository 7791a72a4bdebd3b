//! A tiny drawing of a schema for cards: boxes for tables (height by column count), lines for
//! foreign keys, laid out in layers so referenced tables sit left of the tables that use them.

use std::collections::HashMap;

use egui::{Color32, CornerRadius, Pos2, Rect, Sense, Stroke, StrokeKind, vec2};
use persona_core::Schema;

use super::theme;

/// Draw `schema` into a `size` area; returns the response of the area.
pub fn schema_preview_ui(ui: &mut egui::Ui, schema: &Schema, size: egui::Vec2) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let painter = ui.painter_at(rect);
    let dark = ui.visuals().dark_mode;
    let bg = if dark {
        Color32::from_rgb(26, 27, 34)
    } else {
        Color32::from_rgb(243, 244, 249)
    };
    painter.rect_filled(rect, CornerRadius::same(6), bg);
    let boxes = layout(schema, rect.shrink(8.0));
    let edge = Stroke::new(1.0, theme::ACCENT.gamma_multiply(0.7));
    for table in &schema.tables {
        let Some(from) = boxes.get(table.name.as_str()) else {
            continue;
        };
        for fk in &table.foreign_keys {
            if let Some(to) = boxes.get(fk.ref_table.as_str()) {
                let a = Pos2::new(from.left(), from.center().y);
                let b = Pos2::new(to.right(), to.center().y);
                if from == to {
                    continue;
                }
                let mid = f32::midpoint(a.x, b.x);
                painter.line(vec![a, Pos2::new(mid, a.y), Pos2::new(mid, b.y), b], edge);
            }
        }
    }
    let fill = if dark {
        Color32::from_rgb(58, 60, 78)
    } else {
        Color32::WHITE
    };
    let header = theme::ACCENT.gamma_multiply(0.85);
    for r in boxes.values() {
        painter.rect(
            *r,
            CornerRadius::same(2),
            fill,
            Stroke::new(1.0, header),
            StrokeKind::Inside,
        );
        let head = Rect::from_min_size(r.min, vec2(r.width(), 3.0_f32.min(r.height())));
        painter.rect_filled(head, CornerRadius::same(2), header);
    }
    response
}

/// Table rectangles keyed by name: layer = longest FK path to a table with no FKs.
fn layout(schema: &Schema, area: Rect) -> HashMap<&str, Rect> {
    let names: HashMap<&str, usize> = schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut layer = vec![0_usize; schema.tables.len()];
    // Relax a bounded number of times (cycles just stop growing).
    for _ in 0..schema.tables.len() {
        let mut changed = false;
        for (i, t) in schema.tables.iter().enumerate() {
            for fk in &t.foreign_keys {
                if let Some(&j) = names.get(fk.ref_table.as_str())
                    && j != i
                    && layer[i] < layer[j] + 1
                    && layer[j] + 1 < schema.tables.len()
                {
                    layer[i] = layer[j] + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let layers = layer.iter().max().map_or(1, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (i, l) in layer.iter().enumerate() {
        columns[*l].push(i);
    }
    let gap = 6.0;
    let col_w = ((area.width() - gap * (layers as f32 - 1.0)) / layers as f32).clamp(8.0, 46.0);
    let total_w = col_w * layers as f32 + gap * (layers as f32 - 1.0);
    let x0 = area.center().x - total_w / 2.0;
    let mut out = HashMap::new();
    for (c, members) in columns.iter().enumerate() {
        let heights: Vec<f32> = members
            .iter()
            .map(|&i| 6.0 + 1.6 * schema.tables[i].columns.len().min(12) as f32)
            .collect();
        let sum: f32 = heights.iter().sum::<f32>() + gap * members.len().saturating_sub(1) as f32;
        let scale = if sum > area.height() {
            area.height() / sum
        } else {
            1.0
        };
        let mut y = area.center().y - sum * scale / 2.0;
        let x = x0 + c as f32 * (col_w + gap);
        for (&i, h) in members.iter().zip(&heights) {
            let r = Rect::from_min_size(Pos2::new(x, y), vec2(col_w, h * scale));
            out.insert(schema.tables[i].name.as_str(), r);
            y += (h + gap) * scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referenced_tables_sit_left_of_their_referrers_and_all_fit() {
        let schema = persona_core::template::load_builtin("ecommerce")
            .unwrap()
            .initial_schema;
        let area = Rect::from_min_size(Pos2::ZERO, vec2(240.0, 80.0));
        let boxes = layout(&schema, area);
        assert_eq!(boxes.len(), schema.tables.len());
        for t in &schema.tables {
            let me = boxes[t.name.as_str()];
            assert!(area.expand(0.5).contains_rect(me), "{} outside", t.name);
            for fk in &t.foreign_keys {
                if fk.ref_table != t.name {
                    assert!(boxes[fk.ref_table.as_str()].left() < me.left());
                }
            }
        }
    }
}
