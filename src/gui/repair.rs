//! Repair: rebuild a damaged package (a whole file, or a finding's byte range inside an image)
//! and show the per-member report with coloured statuses and the package check.

use super::app::Command;
use super::hex::parse_offset;
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::widgets::{self, PickKind, Picker};
use crate::repair::RepairRecord;
use crate::source::{ReadMode, Source};
use egui::{RichText, Ui};
use salvor_carvers::zip::repair::{MemberStatus, RepairOptions};
use salvor_carvers::ByteView;
use std::path::{Path, PathBuf};

/// State of the Repair screen.
#[derive(Default)]
pub struct RepairScreen {
    pub input: String,
    /// Start and length of a finding inside an image; empty for a whole file.
    pub offset: String,
    pub length: String,
    pub output: String,
    job: Option<Job<RepairRecord>>,
    pub record: Option<RepairRecord>,
    pub error: Option<String>,
    in_picker: Picker,
    out_picker: Picker,
}

/// A name beside `input` that does not exist yet: `<name>.repaired[-N].<ext>`.
pub fn propose_output(input: &Path, offset: Option<u64>) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    let ext = match offset {
        Some(_) => "zip".to_owned(),
        None => input
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_else(|| "zip".into()),
    };
    let at = offset.map(|o| format!("-{o:x}")).unwrap_or_default();
    let dir = input.parent().map(Path::to_owned).unwrap_or_default();
    (0..1000)
        .map(|n| {
            let n = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            dir.join(format!("{stem}{at}.repaired{n}.{ext}"))
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.repaired.{ext}")))
}

fn status_str(s: MemberStatus) -> &'static str {
    match s {
        MemberStatus::Intact => "intact",
        MemberStatus::Corrected => "corrected",
        MemberStatus::RecoveredFromDirectory => "recovered-from-directory",
        MemberStatus::Partial => "partial",
        MemberStatus::Lost => "lost",
        MemberStatus::Encrypted => "encrypted",
        MemberStatus::Unverified => "unverified",
    }
}

impl RepairScreen {
    /// Preload the first damaged archive of the demo image.
    pub fn demo(&mut self) {
        if let Some(img) = super::app::demo_image() {
            self.input = img.display().to_string();
            self.offset = "0x58bbb".into();
            self.length = "10987".into();
            self.output = std::env::temp_dir()
                .join(format!(
                    "salvor-gui-demo-{}.repaired.zip",
                    std::process::id()
                ))
                .display()
                .to_string();
        }
    }

    /// Collect a finished repair.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        let Some(r) = self.job.as_mut().and_then(|j| j.poll()) else {
            return;
        };
        self.job = None;
        match r {
            Ok(rec) => {
                cmds.push(Command::Log(
                    Level::Info,
                    format!(
                        "{} {} ({} {})",
                        t("repair.done"),
                        rec.output.display(),
                        rec.report.members.len(),
                        t("carve.members")
                    ),
                ));
                self.record = Some(rec);
            }
            Err(e) => {
                let m = format!("{e:#}");
                cmds.push(Command::Log(Level::Error, m.clone()));
                self.error = Some(m);
            }
        }
    }

    /// Start the repair on a thread.
    pub fn start(&mut self, ctx: &egui::Context) {
        let input = PathBuf::from(self.input.trim());
        let offset = parse_offset(&self.offset);
        let length = parse_offset(&self.length);
        if self.output.trim().is_empty() {
            self.output = propose_output(&input, offset).display().to_string();
        }
        let output = PathBuf::from(self.output.trim());
        self.error = None;
        self.record = None;
        self.job = Some(Job::spawn(ctx, move |_| {
            let opts = RepairOptions::default();
            match offset {
                None => crate::repair::repair_file(&input, &output, &opts),
                Some(off) => {
                    if output.exists() {
                        anyhow::bail!(
                            "{} already exists; choose a new name (repair never overwrites)",
                            output.display()
                        );
                    }
                    let src = Source::open(&input, ReadMode::Auto)?;
                    let len = length.unwrap_or(src.len().saturating_sub(off));
                    if off.checked_add(len).is_none_or(|e| e > src.len()) {
                        anyhow::bail!("the range {off:#x}+{len} runs past the end of the source");
                    }
                    crate::repair::repair_view(&src, &input, off, len, &output, &opts)
                }
            }
        }));
    }

    /// Draw the screen.
    pub fn repair_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        ui.heading(t("repair.title"));
        let idle = self.job.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("repair.input"), &mut self.input, 420.0);
                if let Some(p) = self.in_picker.button_ui(ui, t("browse"), PickKind::File) {
                    self.input = p.display().to_string();
                    self.output = propose_output(&p, None).display().to_string();
                }
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("repair.offset"), &mut self.offset, 100.0);
                widgets::text_field(ui, t("repair.length"), &mut self.length, 100.0);
                ui.label(RichText::new(t("repair.range-hint")).weak());
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("repair.output"), &mut self.output, 420.0);
                if let Some(p) = self.out_picker.button_ui(ui, t("browse"), PickKind::Save) {
                    self.output = p.display().to_string();
                }
            });
            if ui
                .button(RichText::new(t("repair.start")).strong())
                .clicked()
            {
                self.start(ui.ctx());
            }
        });
        if !idle {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t("repair.running"));
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
        if let Some(e) = &self.error {
            ui.colored_label(widgets::status_color("lost"), e);
        }
        if let Some(rec) = &self.record {
            ui.separator();
            report_ui(ui, rec, cmds);
        }
    }
}

/// The per-member report of one repair.
pub fn report_ui(ui: &mut Ui, rec: &RepairRecord, cmds: &mut Vec<Command>) {
    let r = &rec.report;
    ui.horizontal(|ui| {
        ui.strong(format!("{} {}", t("repair.output"), rec.output.display()));
        if let Some(d) = rec.output.parent() {
            if ui.button(t("carve.open-folder")).clicked() {
                cmds.push(Command::OpenFolder(d.to_owned()));
            }
        }
    });
    ui.label(format!(
        "{} {}   {} {} / {}   {} {}",
        t("carve.type"),
        r.kind,
        t("repair.members-written"),
        r.members_written,
        r.members.len(),
        t("repair.bytes-salvaged"),
        widgets::size(r.bytes_salvaged)
    ));
    ui.horizontal_wrapped(|ui| {
        for s in [
            MemberStatus::Intact,
            MemberStatus::Corrected,
            MemberStatus::RecoveredFromDirectory,
            MemberStatus::Partial,
            MemberStatus::Lost,
            MemberStatus::Encrypted,
            MemberStatus::Unverified,
        ] {
            let n = rec.count(s);
            if n > 0 {
                ui.label(format!("{n}"));
                widgets::status_label(ui, status_str(s));
            }
        }
    });
    if let Some(p) = &r.package {
        let (color, word) = if p.openable {
            (widgets::status_color("intact"), t("repair.openable"))
        } else {
            (widgets::status_color("lost"), t("repair.not-openable"))
        };
        ui.colored_label(
            color,
            format!(
                "{} {}: {word}{}{}",
                t("repair.package"),
                p.kind,
                if p.missing.is_empty() {
                    String::new()
                } else {
                    format!("; {} {}", t("repair.missing"), p.missing.join(", "))
                },
                if p.damaged.is_empty() {
                    String::new()
                } else {
                    format!("; {} {}", t("repair.damaged-parts"), p.damaged.join(", "))
                }
            ),
        );
    }
    for c in &r.corrections {
        ui.label(c);
    }
    egui::ScrollArea::vertical()
        .id_salt("repair-members")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("repair-grid")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for k in [
                        "carve.member-name",
                        "carve.status",
                        "repair.expected",
                        "repair.salvaged",
                        "repair.crc",
                        "repair.action",
                    ] {
                        ui.strong(t(k));
                    }
                    ui.end_row();
                    for m in &r.members {
                        ui.label(crate::util::printable(&m.name));
                        widgets::status_label(ui, status_str(m.status));
                        ui.label(widgets::size(m.expected_size));
                        ui.label(widgets::size(m.salvaged_size));
                        ui.label(
                            RichText::new(format!(
                                "{} / {}",
                                m.crc_expected,
                                m.crc_actual.as_deref().unwrap_or("—")
                            ))
                            .monospace(),
                        );
                        ui.label(crate::util::printable(&m.action));
                        ui.end_row();
                    }
                });
        });
}
