//! The bundled CJK font (a subset of Noto Sans CJK TC, SIL OFL 1.1; see `assets/fonts/`).

use egui::{FontData, FontDefinitions, FontFamily};
use std::sync::Arc;

/// The subset, embedded so the app reads correctly on a machine with no CJK fonts.
pub const CJK_TC: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKtc-Regular-subset.otf");

const NAME: &str = "noto-sans-cjk-tc-subset";

/// egui's default fonts, then the CJK subset as a fallback for both families.
pub fn definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert(NAME.to_owned(), Arc::new(FontData::from_static(CJK_TC)));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push(NAME.to_owned());
    }
    fonts
}

/// Install the fonts on a context (the app at start, tests in their harness set-up).
pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(definitions());
}
