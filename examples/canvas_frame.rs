//! Frame-time benchmark of the schema canvas: 200 tables and 400 relationships, drawn headless
//! (no GPU) for a number of frames; prints the mean and p95 CPU time per frame, for the egui pass
//! alone and with tessellation, at "fit" (every table visible) and at 50% and 100% zoom centred
//! on the schema (the busiest views: many cards with text, many curved edges).
//!
//! Run: `cargo run --release --example canvas_frame [frames]` (target: ≤ 8 ms per frame).

use std::time::Instant;

use persona_core::{
    Column, DataType, ForeignKey, ForeignKeyAction, PersonaDefinition, Schema, Table,
};
use persona_studio::gui::canvas::{CanvasLayout, SchemaEditor};

const TABLES: usize = 200;

fn schema() -> Schema {
    let mut tables = Vec::with_capacity(TABLES);
    let mut relationships = 0;
    for i in 0..TABLES {
        let mut id = Column::new("id", DataType::BigInt);
        id.nullable = false;
        id.identity = true;
        let mut columns = vec![id];
        for c in 0..(3 + i % 6) {
            let ty = [
                DataType::Text,
                DataType::Integer,
                DataType::TimestampTz,
                DataType::Boolean,
            ][c % 4];
            columns.push(Column::new(format!("field_{c}"), ty));
        }
        let mut foreign_keys = Vec::new();
        // Two relationships per table after the first, three for the last two: 400 in all.
        let count = match i {
            0 => 0,
            _ if i >= TABLES - 2 => 3,
            _ => 2,
        };
        for k in 0..count {
            let target = (i * (7 + 6 * k) + 3 * k + 1) % i;
            let name = format!("ref{k}_id");
            columns.push(Column::new(name.clone(), DataType::BigInt));
            foreign_keys.push(ForeignKey {
                name: format!("t{i:03}_{name}_fkey"),
                columns: vec![name],
                ref_table: format!("t{target:03}"),
                ref_columns: vec!["id".to_owned()],
                on_delete: ForeignKeyAction::NoAction,
                on_update: ForeignKeyAction::NoAction,
            });
            relationships += 1;
        }
        tables.push(Table {
            name: format!("t{i:03}"),
            columns,
            primary_key: vec!["id".to_owned()],
            foreign_keys,
            ..Table::default()
        });
    }
    assert_eq!(relationships, 400);
    Schema { tables }
}

fn persona() -> PersonaDefinition {
    let mut persona = persona_core::template::load_builtin("ecommerce").expect("template");
    "canvas benchmark".clone_into(&mut persona.name);
    persona.access_patterns.clear();
    persona.performance_profile.growth_rows_per_day.clear();
    persona.data_hints.clear();
    persona.initial_schema = schema();
    persona
}

/// Run `frames` frames and return the sorted per-frame times in ms: (egui pass, pass + tessellation).
fn measure(editor: &mut SchemaEditor, frames: usize) -> (Vec<f64>, Vec<f64>) {
    let ctx = egui::Context::default();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0));
    let mut pass = Vec::with_capacity(frames);
    let mut total = Vec::with_capacity(frames);
    for frame in 0..frames + 10 {
        let mut input = egui::RawInput {
            screen_rect: Some(screen),
            ..Default::default()
        };
        // Hover over the canvas, moving a little each frame.
        let x = 500.0 + (frame % 50) as f32 * 4.0;
        input
            .events
            .push(egui::Event::PointerMoved(egui::pos2(x, 400.0)));
        let start = Instant::now();
        let mut output = ctx.run_ui(input, |ui| {
            let _ = editor.ui(ui);
        });
        let ran = start.elapsed();
        // No renderer here: textures are not uploaded anywhere.
        output.textures_delta.clear();
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        let all = start.elapsed();
        std::hint::black_box(primitives);
        if frame >= 10 {
            pass.push(ran.as_secs_f64() * 1e3);
            total.push(all.as_secs_f64() * 1e3);
        }
    }
    pass.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);
    (pass, total)
}

fn report(what: &str, times: &[f64]) {
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let p95 = times[((times.len() as f64 * 0.95) as usize).min(times.len() - 1)];
    println!("{what:<44} mean {mean:6.2} ms   p95 {p95:6.2} ms");
}

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    println!("canvas: {TABLES} tables, 400 relationships, 1600x1000 window, {frames} frames");

    let mut fit = SchemaEditor::new(persona(), None);
    let (pass, total) = measure(&mut fit, frames);
    let fitted = fit.layout().clone();
    println!("zoom after fit: {:.0}%", fitted.zoom * 100.0);
    report("fit (every table visible): egui pass", &pass);
    report("fit (every table visible): pass + tessellate", &total);

    // The centre of the schema, which "fit" put in the middle of the canvas.
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in fitted.positions.values() {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let centre = [f32::midpoint(lo[0], hi[0]), f32::midpoint(lo[1], hi[1])];
    for zoom in [0.5_f32, 1.0] {
        let layout = CanvasLayout {
            zoom,
            pan: [
                fitted.pan[0] + centre[0] * (fitted.zoom - zoom),
                fitted.pan[1] + centre[1] * (fitted.zoom - zoom),
            ],
            ..fitted.clone()
        };
        let mut editor = SchemaEditor::new(persona(), Some(layout));
        let (pass, total) = measure(&mut editor, frames);
        let percent = zoom * 100.0;
        report(&format!("{percent:.0}% zoom: egui pass"), &pass);
        report(&format!("{percent:.0}% zoom: pass + tessellate"), &total);
    }
}
