//! The log panel: what the app did, newest last.

use super::i18n::t;
use egui::{Color32, RichText, Ui};

/// How much a line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One line of the log.
#[derive(Debug, Clone)]
pub struct Line {
    pub time: String,
    pub level: Level,
    pub text: String,
}

/// The lines kept in memory (the engine's own records are on disk).
#[derive(Debug, Default)]
pub struct Log {
    pub lines: Vec<Line>,
}

const KEEP: usize = 2000;

impl Log {
    /// Add a line (control characters from evidence are escaped).
    pub fn push(&mut self, level: Level, text: impl AsRef<str>) {
        let time = crate::util::now_rfc3339();
        let time = time.get(11..19).unwrap_or(&time).to_owned();
        self.lines.push(Line {
            time,
            level,
            text: crate::util::printable(text.as_ref()),
        });
        if self.lines.len() > KEEP {
            self.lines.drain(..self.lines.len() - KEEP);
        }
    }

    /// Draw the panel's contents.
    pub fn log_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.strong(t("log.title"));
            if ui.small_button(t("log.clear")).clicked() {
                self.lines.clear();
            }
        });
        egui::ScrollArea::vertical()
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for l in &self.lines {
                    let color = match l.level {
                        Level::Info => ui.visuals().text_color(),
                        Level::Warn => Color32::from_rgb(0xd0, 0x8c, 0x00),
                        Level::Error => Color32::from_rgb(0xd0, 0x30, 0x30),
                    };
                    ui.label(
                        RichText::new(format!("{}  {}", l.time, l.text))
                            .monospace()
                            .color(color),
                    );
                }
            });
    }
}
