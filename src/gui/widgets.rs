//! Small drawing helpers shared by the screens.

use super::i18n::t;
use super::jobs::Stats;
use egui::{Color32, RichText, Ui};

/// Bytes in binary units, e.g. `2.00 MiB`.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// A duration as `1h02m03s`, `2m05s` or `7s`.
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// The colour of a carve or repair status.
pub fn status_color(status: &str) -> Color32 {
    match status {
        "intact" | "corrected" | "recovered-from-directory" | "finished" | "passed" => {
            Color32::from_rgb(0x2e, 0xa0, 0x43)
        }
        "damaged" | "partial" | "encrypted" | "unverified" => Color32::from_rgb(0xd0, 0x8c, 0x00),
        "truncated" | "lost" | "failed" | "bad" => Color32::from_rgb(0xd0, 0x30, 0x30),
        _ => Color32::GRAY,
    }
}

/// A status word, translated and coloured.
pub fn status_label(ui: &mut Ui, status: &str) {
    let key: &'static str = match status {
        "intact" => "status.intact",
        "damaged" => "status.damaged",
        "truncated" => "status.truncated",
        "corrected" => "status.corrected",
        "recovered-from-directory" => "status.recovered-from-directory",
        "partial" => "status.partial",
        "lost" => "status.lost",
        "encrypted" => "status.encrypted",
        "unverified" => "status.unverified",
        _ => "",
    };
    let text = if key.is_empty() { status } else { t(key) };
    ui.label(RichText::new(text).color(status_color(status)).strong());
}

/// A one-line text field with its label (the label names the field for screen readers and
/// tests).
pub fn text_field(ui: &mut Ui, label: &str, value: &mut String, width: f32) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(value).desired_width(width))
            .labelled_by(l.id)
    })
    .inner
}

/// A progress bar with done/total, rate and ETA under it.
pub fn progress_ui(ui: &mut Ui, s: &Stats, phase: &str) {
    let text = format!("{:.1} %  {phase}", s.fraction() * 100.0);
    ui.add(egui::ProgressBar::new(s.fraction()).text(text));
    let eta = s.eta().map(duration).unwrap_or_else(|| "—".into());
    ui.label(format!(
        "{} {} / {}   {} {}/s   {} {}   {} {}",
        t("progress.done"),
        size(s.done),
        size(s.total),
        t("progress.rate"),
        size(s.rate() as u64),
        t("progress.elapsed"),
        duration(s.elapsed),
        t("progress.eta"),
        eta
    ));
}

/// A button that runs a file or folder dialog on its own thread (the frame never waits).
#[derive(Default)]
pub struct Picker {
    rx: Option<std::sync::mpsc::Receiver<Option<std::path::PathBuf>>>,
}

/// What a [`Picker`] asks for.
#[derive(Debug, Clone, Copy)]
pub enum PickKind {
    File,
    Folder,
    Save,
}

impl Picker {
    /// Draw the button; returns a path once the user has chosen one.
    pub fn button_ui(
        &mut self,
        ui: &mut Ui,
        label: &str,
        kind: PickKind,
    ) -> Option<std::path::PathBuf> {
        let busy = self.rx.is_some();
        if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
            let (tx, rx) = std::sync::mpsc::channel();
            let ctx = ui.ctx().clone();
            std::thread::spawn(move || {
                let d = rfd::FileDialog::new();
                let r = match kind {
                    PickKind::File => d.pick_file(),
                    PickKind::Folder => d.pick_folder(),
                    PickKind::Save => d.save_file(),
                };
                let _ = tx.send(r);
                ctx.request_repaint();
            });
            self.rx = Some(rx);
        }
        let got = self.rx.as_ref()?.try_recv();
        match got {
            Ok(r) => {
                self.rx = None;
                r
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(_) => {
                self.rx = None;
                None
            }
        }
    }
}

/// Open a folder in the desktop's file manager (without waiting for it).
pub fn open_folder(path: &std::path::Path) -> anyhow::Result<()> {
    std::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot run xdg-open {}: {e}", path.display()))
}
