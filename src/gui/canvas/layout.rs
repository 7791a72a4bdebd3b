//! Canvas geometry: card sizes, snapping to the grid, and the deterministic auto-layout that
//! places tables in layers by foreign-key direction (referenced tables left of their referrers),
//! wrapping a layer into several columns when it would be much taller than the schema is wide.

use std::collections::{BTreeMap, HashMap};

use persona_core::{Schema, Table};

/// The grid step, in canvas units.
pub const GRID: f32 = 20.0;
/// Width of a table card.
pub const CARD_WIDTH: f32 = 240.0;
/// Height of a card's header (the table name).
pub const HEADER_HEIGHT: f32 = 28.0;
/// Height of one column row.
pub const ROW_HEIGHT: f32 = 20.0;
/// Space below the last row.
pub const CARD_PADDING: f32 = 6.0;

const LAYER_GAP: f32 = 120.0;
const CARD_GAP: f32 = 40.0;
/// Layers shorter than this never wrap (small schemas keep one column per layer).
const MIN_WRAP_HEIGHT: f32 = 900.0;
/// The height-to-width ratio a wrapped layout aims at (a landscape screen).
const ASPECT: f32 = 0.6;

/// Height of the card of a table with `columns` columns.
pub fn card_height(columns: usize) -> f32 {
    HEADER_HEIGHT + ROW_HEIGHT * columns.max(1) as f32 + CARD_PADDING
}

/// `at`, moved to the nearest grid point.
pub fn snap(at: [f32; 2]) -> [f32; 2] {
    [(at[0] / GRID).round() * GRID, (at[1] / GRID).round() * GRID]
}

/// Positions for every table of `schema`: tables that reference nothing in layer 0, every other
/// table one layer right of the deepest table it references; within a layer, tables are ordered
/// by the mean row of what they reference, then by name, and a layer taller than the whole
/// layout should be continues in a further column. The result depends only on the schema.
pub fn auto_layout(schema: &Schema) -> BTreeMap<String, [f32; 2]> {
    let depth = layer_of_each(schema);
    let max_layer = depth.values().copied().max().unwrap_or(0);
    // The column height at which a layer wraps: what a layout of ASPECT would need.
    let area: f32 = schema
        .tables
        .iter()
        .map(|t| (CARD_WIDTH + CARD_GAP) * (card_height(t.columns.len()) + CARD_GAP))
        .sum();
    let wrap_at = (area * ASPECT).sqrt().max(MIN_WRAP_HEIGHT);
    let mut row_of: HashMap<&str, f32> = HashMap::new();
    let mut out = BTreeMap::new();
    let mut x = 0.0;
    for layer in 0..=max_layer {
        let mut members: Vec<(f32, &Table)> = schema
            .tables
            .iter()
            .filter(|t| depth.get(t.name.as_str()) == Some(&layer))
            .map(|t| {
                let rows: Vec<f32> = t
                    .foreign_keys
                    .iter()
                    .filter_map(|fk| row_of.get(fk.ref_table.as_str()).copied())
                    .collect();
                let key = if rows.is_empty() {
                    f32::MAX
                } else {
                    rows.iter().sum::<f32>() / rows.len() as f32
                };
                (key, t)
            })
            .collect();
        members.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        if members.is_empty() {
            continue;
        }
        let mut y = 0.0;
        for (row, (_, t)) in members.iter().enumerate() {
            let height = card_height(t.columns.len());
            if y > 0.0 && y + height > wrap_at {
                x += CARD_WIDTH + CARD_GAP;
                y = 0.0;
            }
            row_of.insert(t.name.as_str(), row as f32);
            out.insert(t.name.clone(), snap([x, y]));
            y += height + CARD_GAP;
        }
        x += CARD_WIDTH + LAYER_GAP;
    }
    out
}

/// The layer of every table: 0 when it references no other table, else one more than the
/// deepest table it references. Cycles are cut after as many rounds as there are tables.
fn layer_of_each(schema: &Schema) -> HashMap<&str, usize> {
    let mut depth: HashMap<&str, usize> =
        schema.tables.iter().map(|t| (t.name.as_str(), 0)).collect();
    for _ in 0..schema.tables.len() {
        let mut changed = false;
        for t in &schema.tables {
            let want = t
                .foreign_keys
                .iter()
                .filter(|fk| fk.ref_table != t.name)
                .filter_map(|fk| depth.get(fk.ref_table.as_str()))
                .map(|d| d + 1)
                .max()
                .unwrap_or(0)
                .min(schema.tables.len());
            if depth.get(t.name.as_str()) != Some(&want) {
                depth.insert(t.name.as_str(), want);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referenced_tables_are_left_of_their_referrers_and_layout_is_stable() {
        let persona = persona_core::template::load_builtin("ecommerce").expect("template");
        let schema = &persona.initial_schema;
        let a = auto_layout(schema);
        assert_eq!(a, auto_layout(schema));
        assert_eq!(a.len(), schema.tables.len());
        for t in &schema.tables {
            for fk in t.foreign_keys.iter().filter(|fk| fk.ref_table != t.name) {
                assert!(
                    a[&t.name][0] > a[&fk.ref_table][0],
                    "{} vs {}",
                    t.name,
                    fk.ref_table
                );
            }
        }
        for p in a.values() {
            assert!(snap(*p).iter().zip(p).all(|(a, b)| (a - b).abs() < 1e-3));
        }
    }

    #[test]
    fn a_long_layer_wraps_into_columns_and_keeps_the_layout_wide() {
        let table = |i: usize| Table {
            name: format!("t{i:03}"),
            columns: vec![persona_core::Column::new(
                "id",
                persona_core::DataType::BigInt,
            )],
            ..Table::default()
        };
        // 120 tables that reference nothing: one layer.
        let schema = Schema {
            tables: (0..120).map(table).collect(),
        };
        let a = auto_layout(&schema);
        let (mut w, mut h) = (0.0_f32, 0.0_f32);
        for p in a.values() {
            w = w.max(p[0] + CARD_WIDTH);
            h = h.max(p[1] + card_height(1));
        }
        assert!(h / w < 1.5, "{w} x {h}");
        // No two cards overlap.
        let cards: Vec<[f32; 2]> = a.values().copied().collect();
        for (i, p) in cards.iter().enumerate() {
            for q in &cards[i + 1..] {
                let apart =
                    (p[0] - q[0]).abs() >= CARD_WIDTH || (p[1] - q[1]).abs() >= card_height(1);
                assert!(apart, "{p:?} overlaps {q:?}");
            }
        }
    }
}
