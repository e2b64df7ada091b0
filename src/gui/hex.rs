//! Hex view: any source through the memory map. Only the rows on screen are read, and the
//! position is a row number (u64), not a pixel offset, so images of hundreds of GiB scroll as
//! smoothly as small ones.

use super::app::Command;
use super::i18n::t;
use super::log::Level;
use super::widgets;
use crate::source::{ReadMode, Source};
use egui::{Color32, FontId, Rect, RichText, Sense, Ui, Vec2};
use salvor_carvers::ByteView;
use std::path::{Path, PathBuf};

/// A highlighted byte range (a finding).
#[derive(Debug, Clone)]
pub struct Mark {
    pub start: u64,
    pub end: u64,
    pub status: String,
    pub label: String,
}

const COLS: u64 = 16;

/// State of the hex view.
#[derive(Default)]
pub struct HexScreen {
    /// Path typed or chosen.
    pub path: String,
    source: Option<(PathBuf, Source)>,
    pub top_row: u64,
    /// The byte jumped to (outlined).
    pub cursor: Option<u64>,
    pub jump_text: String,
    pub marks: Vec<Mark>,
    pub error: Option<String>,
}

/// Parse `0x1f00`, `1f00h` or `7936`.
pub fn parse_offset(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(h) = s.strip_suffix('h') {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

impl HexScreen {
    /// Open `path` (if not open yet) and show `offset`, highlighting `marks`.
    pub fn open(&mut self, path: &Path, offset: u64, marks: Vec<Mark>) {
        self.path = path.display().to_string();
        let same = self.source.as_ref().is_some_and(|(p, _)| p == path);
        if !same {
            match Source::open(path, ReadMode::Auto) {
                Ok(s) => {
                    self.source = Some((path.to_owned(), s));
                    self.error = None;
                }
                Err(e) => {
                    self.source = None;
                    self.error = Some(format!("{e}"));
                    return;
                }
            }
        }
        if !marks.is_empty() {
            self.marks = marks;
        }
        self.goto(offset);
    }

    /// Put `offset` near the top of the view.
    pub fn goto(&mut self, offset: u64) {
        self.cursor = Some(offset);
        self.top_row = (offset / COLS).saturating_sub(2);
        self.jump_text = format!("{offset:#x}");
    }

    /// Size of the open source.
    pub fn source_len(&self) -> u64 {
        self.source.as_ref().map(|(_, s)| s.len()).unwrap_or(0)
    }

    /// Draw the screen.
    pub fn hex_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        ui.heading(t("hex.title"));
        ui.horizontal(|ui| {
            widgets::text_field(ui, t("hex.source"), &mut self.path, 380.0);
            if ui.button(t("hex.open")).clicked() {
                let p = PathBuf::from(self.path.trim());
                self.source = None;
                self.open(&p, 0, Vec::new());
                if let Some(e) = &self.error {
                    cmds.push(Command::Log(Level::Error, e.clone()));
                }
            }
            let r = widgets::text_field(ui, t("hex.jump"), &mut self.jump_text, 140.0);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button(t("hex.go")).clicked() || enter {
                match parse_offset(&self.jump_text) {
                    Some(o) if o < self.source_len().max(1) => self.goto(o),
                    _ => self.error = Some(t("hex.bad-offset").to_owned()),
                }
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), e);
        }
        let len = self.source_len();
        if self.source.is_none() {
            ui.label(t("hex.nothing-open"));
            return;
        }
        ui.label(format!(
            "{} {} ({len} B)   {} {}",
            t("hex.size"),
            widgets::size(len),
            t("hex.marks"),
            self.marks.len()
        ));
        self.view_ui(ui, len);
    }

    fn view_ui(&mut self, ui: &mut Ui, len: u64) {
        let rows_total = len.div_ceil(COLS).max(1);
        let font = FontId::monospace(13.0);
        let row_h = 17.0;
        let char_w = ui.ctx().fonts_mut(|f| f.glyph_width(&font, '0'));
        let avail = ui.available_size();
        let visible = (((avail.y - 8.0) / row_h).floor() as u64).max(1);
        let max_top = rows_total.saturating_sub(visible);

        ui.horizontal_top(|ui| {
            let width = char_w * (14.0 + 3.0 * COLS as f32 + 2.0 + COLS as f32) + 16.0;
            let (rect, resp) =
                ui.allocate_exact_size(Vec2::new(width, visible as f32 * row_h), Sense::hover());

            // Scrolling by wheel and keys moves whole rows.
            if resp.hovered() {
                let (dy, keys) = ui.input(|i| {
                    (
                        i.smooth_scroll_delta.y,
                        (
                            i.key_pressed(egui::Key::PageDown),
                            i.key_pressed(egui::Key::PageUp),
                            i.key_pressed(egui::Key::Home),
                            i.key_pressed(egui::Key::End),
                        ),
                    )
                });
                let step = (dy / row_h).round() as i64;
                if step < 0 {
                    self.top_row = self.top_row.saturating_add(step.unsigned_abs());
                } else {
                    self.top_row = self.top_row.saturating_sub(step as u64);
                }
                if keys.0 {
                    self.top_row = self.top_row.saturating_add(visible);
                }
                if keys.1 {
                    self.top_row = self.top_row.saturating_sub(visible);
                }
                if keys.2 {
                    self.top_row = 0;
                }
                if keys.3 {
                    self.top_row = max_top;
                }
            }
            self.top_row = self.top_row.min(max_top);
            self.paint(ui, rect, len, visible, row_h, char_w, &font);

            let mut pos = max_top - self.top_row;
            let slider = egui::Slider::new(&mut pos, 0..=max_top.max(1))
                .vertical()
                .show_value(false);
            ui.spacing_mut().slider_width = visible as f32 * row_h - 10.0;
            if ui.add(slider).changed() {
                self.top_row = max_top.saturating_sub(pos);
            }
            ui.vertical(|ui| self.legend_ui(ui));
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn paint(
        &self,
        ui: &Ui,
        rect: Rect,
        len: u64,
        visible: u64,
        row_h: f32,
        char_w: f32,
        font: &FontId,
    ) {
        let Some((_, src)) = &self.source else { return };
        let painter = ui.painter_at(rect);
        let text = ui.visuals().text_color();
        let weak = ui.visuals().weak_text_color();
        let start = self.top_row * COLS;
        let end = (start + visible * COLS).min(len);
        let bytes = src.bytes_at(start, (end - start) as usize);
        let marks: Vec<&Mark> = self
            .marks
            .iter()
            .filter(|m| m.start < end && m.end > start)
            .collect();
        for r in 0..visible {
            let row_start = start + r * COLS;
            if row_start >= end {
                break;
            }
            let y = rect.top() + r as f32 * row_h;
            painter.text(
                egui::pos2(rect.left(), y),
                egui::Align2::LEFT_TOP,
                format!("{row_start:012x}"),
                font.clone(),
                weak,
            );
            for c in 0..COLS {
                let off = row_start + c;
                if off >= end {
                    break;
                }
                let b = bytes[(off - start) as usize];
                let x = rect.left() + char_w * (14.0 + 3.0 * c as f32);
                let cell =
                    Rect::from_min_size(egui::pos2(x - 1.0, y), Vec2::new(char_w * 2.6, row_h));
                // The innermost mark (the last, smallest) decides the colour.
                if let Some(m) = marks
                    .iter()
                    .filter(|m| m.start <= off && off < m.end)
                    .min_by_key(|m| m.end - m.start)
                {
                    let c = widgets::status_color(&m.status);
                    let alpha = if off == m.start { 160 } else { 60 };
                    painter.rect_filled(
                        cell,
                        2.0,
                        Color32::from_rgba_unmultiplied(c.r(), c.g(), c.b(), alpha),
                    );
                }
                if self.cursor == Some(off) {
                    painter.rect_stroke(
                        cell,
                        2.0,
                        egui::Stroke::new(1.5, ui.visuals().selection.stroke.color),
                        egui::StrokeKind::Inside,
                    );
                }
                painter.text(
                    egui::pos2(x, y),
                    egui::Align2::LEFT_TOP,
                    format!("{b:02x}"),
                    font.clone(),
                    if b == 0 { weak } else { text },
                );
                let ax = rect.left() + char_w * (14.0 + 3.0 * COLS as f32 + 2.0 + c as f32);
                let ch = if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                };
                painter.text(
                    egui::pos2(ax, y),
                    egui::Align2::LEFT_TOP,
                    ch.to_string(),
                    font.clone(),
                    if ch == '.' { weak } else { text },
                );
            }
        }
    }

    fn legend_ui(&self, ui: &mut Ui) {
        let start = self.top_row * COLS;
        ui.strong(t("hex.in-view"));
        let shown: Vec<&Mark> = self
            .marks
            .iter()
            .filter(|m| m.end > start && m.start < start + 64 * COLS)
            .take(12)
            .collect();
        if shown.is_empty() {
            ui.label(RichText::new("—").weak());
        }
        for m in shown {
            ui.colored_label(widgets::status_color(&m.status), &m.label);
        }
    }
}
