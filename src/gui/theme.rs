//! Light and dark themes: one accent colour, calmer panels, rounded widgets, and the colours
//! pages use for cards, badges and notices.

use egui::{Color32, CornerRadius, Stroke, Theme, Visuals};

/// The brand accent (buttons, selection, links).
pub const ACCENT: Color32 = Color32::from_rgb(99, 102, 241);
pub const SUCCESS: Color32 = Color32::from_rgb(34, 160, 107);
pub const DANGER: Color32 = Color32::from_rgb(220, 68, 68);
pub const WARNING: Color32 = Color32::from_rgb(217, 145, 30);

/// Install both themes' styles and choose `dark` or light.
pub fn install(ctx: &egui::Context, dark: bool) {
    // The proportional font lacks arrows and box-drawing symbols (→, ⇄, …) that the monospace
    // one has: fall back to it rather than draw a missing-glyph box.
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
        && fonts.font_data.contains_key("Hack")
    {
        family.push("Hack".to_owned());
    }
    ctx.set_fonts(fonts);
    ctx.set_visuals_of(Theme::Dark, visuals(true));
    ctx.set_visuals_of(Theme::Light, visuals(false));
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(10.0, 4.0);
        style.spacing.interact_size.y = 24.0;
        style.spacing.window_margin = egui::Margin::same(14);
    });
    apply(ctx, dark);
}

/// Switch between the installed themes.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark { Theme::Dark } else { Theme::Light });
}

fn visuals(dark: bool) -> Visuals {
    let mut v = if dark {
        Visuals::dark()
    } else {
        Visuals::light()
    };
    // Small enough that check boxes stay boxes (not radio-like circles).
    let radius = CornerRadius::same(4);
    v.selection.bg_fill = ACCENT.gamma_multiply(if dark { 0.55 } else { 0.35 });
    v.selection.stroke = Stroke::new(1.0, ACCENT);
    v.hyperlink_color = ACCENT;
    v.window_corner_radius = CornerRadius::same(10);
    v.menu_corner_radius = radius;
    if dark {
        v.panel_fill = Color32::from_rgb(24, 25, 30);
        v.window_fill = Color32::from_rgb(32, 33, 40);
        v.extreme_bg_color = Color32::from_rgb(17, 18, 22);
        v.faint_bg_color = Color32::from_rgb(30, 31, 38);
    } else {
        v.panel_fill = Color32::from_rgb(246, 247, 250);
        v.window_fill = Color32::WHITE;
        v.extreme_bg_color = Color32::WHITE;
        v.faint_bg_color = Color32::from_rgb(238, 240, 245);
    }
    for w in [
        &mut v.widgets.noninteractive,
        &mut v.widgets.inactive,
        &mut v.widgets.hovered,
        &mut v.widgets.active,
        &mut v.widgets.open,
    ] {
        w.corner_radius = radius;
    }
    v.widgets.hovered.bg_stroke = Stroke::new(1.0, ACCENT.gamma_multiply(0.8));
    v
}

/// The fill of a card on the current theme.
pub fn card_fill(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(34, 35, 43)
    } else {
        Color32::WHITE
    }
}

/// The border of a card (`selected`: accent).
pub fn card_stroke(ui: &egui::Ui, selected: bool) -> Stroke {
    if selected {
        Stroke::new(2.0, ACCENT)
    } else if ui.visuals().dark_mode {
        Stroke::new(1.0, Color32::from_rgb(52, 54, 66))
    } else {
        Stroke::new(1.0, Color32::from_rgb(218, 221, 230))
    }
}

/// Secondary text colour.
pub fn muted(ui: &egui::Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// A small rounded badge.
pub fn badge(ui: &mut egui::Ui, text: &str, color: Color32) -> egui::Response {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(CornerRadius::same(8))
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(egui::RichText::new(text).small().color(color));
        })
        .response
}
