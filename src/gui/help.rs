//! The help panel: keyboard shortcuts and a short guide to the pages.

use egui::RichText;

/// Every keyboard shortcut, as (keys, what it does). The shell and the canvas implement them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Ctrl+N", "New persona from a template"),
    ("Ctrl+S", "Save the persona in the editor as a new version"),
    ("Ctrl+Z", "Undo (schema canvas)"),
    ("Ctrl+Shift+Z", "Redo (schema canvas)"),
    ("Delete", "Delete the selection (asks first in the library)"),
    ("Ctrl+F", "Search personas and templates"),
    ("F1", "Show or hide this help"),
];

/// Draw the help content.
pub fn help_ui(ui: &mut egui::Ui) {
    ui.label(RichText::new("Keyboard shortcuts").strong());
    egui::Grid::new("shortcuts")
        .num_columns(2)
        .spacing([24.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            for (keys, what) in SHORTCUTS {
                ui.label(RichText::new(*keys).monospace().strong());
                ui.label(*what);
                ui.end_row();
            }
        });
    ui.add_space(12.0);
    ui.label(RichText::new("Pages").strong());
    ui.label(
        "Library: start from a template, or manage your personas (rename, duplicate, \
         history, import and export).",
    );
    ui.label("Editor: design a persona's schema on the canvas and save it as a new version.");
    ui.label(
        "Connections: save databases (passwords are never stored), test them, read a \
         schema into a persona, or provision a persona after reviewing its DDL.",
    );
}
