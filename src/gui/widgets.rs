//! Small widgets shared by pages: labelled text fields, primary buttons, section headers,
//! dialog frames.

use egui::{Color32, RichText};

use super::theme;

/// A single-line text field with a visible label that is also its accessible name.
pub fn labelled_field(ui: &mut egui::Ui, label: &str, text: &mut String) -> egui::Response {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(f32::INFINITY))
        .labelled_by(label.id)
}

/// A password field (the text is hidden).
pub fn password_field(ui: &mut egui::Ui, label: &str, text: &mut String) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .password(true)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id)
}

/// An accent-filled button for the main action of a view.
pub fn primary_button(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.add(
        egui::Button::new(RichText::new(text).color(Color32::WHITE).strong()).fill(theme::ACCENT),
    )
}

/// A red button for destructive actions.
pub fn danger_button(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.add(
        egui::Button::new(RichText::new(text).color(Color32::WHITE).strong()).fill(theme::DANGER),
    )
}

/// A page title with a muted subtitle.
pub fn page_header(ui: &mut egui::Ui, title: &str, subtitle: &str) {
    ui.label(RichText::new(title).size(22.0).strong());
    ui.label(RichText::new(subtitle).color(theme::muted(ui)));
}

/// A section title.
pub fn section(ui: &mut egui::Ui, title: &str, count: Option<usize>) {
    ui.add_space(10.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).size(15.0).strong());
        if let Some(n) = count {
            ui.label(RichText::new(n.to_string()).color(theme::muted(ui)));
        }
    });
    ui.add_space(4.0);
}

/// Show a modal dialog titled `title`; `body` returns whether the dialog should close.
/// Escape or a click outside closes it too. Returns true when it closed this frame.
pub fn modal(
    ctx: &egui::Context,
    id: &str,
    title: &str,
    body: impl FnOnce(&mut egui::Ui) -> bool,
) -> bool {
    let frame = egui::Frame::popup(&ctx.global_style())
        .inner_margin(egui::Margin::same(18))
        .corner_radius(egui::CornerRadius::same(10));
    let response = egui::Modal::new(egui::Id::new(id))
        .frame(frame)
        .show(ctx, |ui| {
            ui.set_width(420.0);
            ui.label(RichText::new(title).size(17.0).strong());
            ui.add_space(6.0);
            body(ui)
        });
    response.inner || response.should_close()
}

/// A name not among `taken`: `base`, else `base-2`, `base-3`, …
pub fn unique_name<'a>(base: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let taken: Vec<&str> = taken.collect();
    let mut candidate = base.to_owned();
    let mut n = 1;
    while taken.contains(&candidate.as_str()) {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_skip_taken_ones() {
        let taken = ["shop", "shop-2"];
        assert_eq!(unique_name("shop", taken.iter().copied()), "shop-3");
        assert_eq!(unique_name("feed", taken.iter().copied()), "feed");
    }
}
