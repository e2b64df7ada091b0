//! The desktop app: one egui window over the engine, in Traditional Chinese and English.
//!
//! Each screen is a file with a state struct and a `*_ui` drawing function. Long jobs run on
//! threads through [`jobs::Job`] (the engine's `Progress` counters and cancel flag); screens
//! never block the frame and return [`app::Command`]s that the app applies after drawing.

pub mod acquire;
pub mod app;
pub mod carve;
pub mod destroy;
pub mod fonts;
pub mod hex;
pub mod i18n;
pub mod jobs;
pub mod log;
pub mod repair;
pub mod settings;
pub mod sources;
pub mod verify;
pub mod widgets;

pub use app::{SalvorApp, Screen};

/// How the window starts (from `salvor gui`).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Screen to open first (`sources`, `carve`, `repair`, `verify`, `acquire`, `destroy`, `hex`).
    pub screen: Option<String>,
    /// Preload the bundled demo image and run its carve (screenshots, demonstrations).
    pub demo: bool,
    /// Force a language (`en` or `zh-TW`) instead of the saved or system one.
    pub lang: Option<String>,
    /// A source to preselect (with `demo`, the acquisition and surface scan read it).
    pub source: Option<std::path::PathBuf>,
}

/// Open the window and run until it is closed.
pub fn run(opts: StartOptions) -> anyhow::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Salvor")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 560.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Salvor",
        native,
        Box::new(move |cc| {
            fonts::install(&cc.egui_ctx);
            Ok(Box::new(SalvorApp::new(&opts)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window (needs OpenGL and X11 or Wayland): {e}"))
}
