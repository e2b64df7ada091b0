//! Carve: source, types and output folder; live progress; the findings table with sorting and
//! filtering; the members of the selected finding; a jump into the hex view.

use super::app::Command;
use super::hex::Mark;
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::settings::Case;
use super::widgets::{self, PickKind, Picker};
use crate::carve::{CarveOptions, CarveReport, FindingRecord};
use crate::scan::ScanOptions;
use crate::source::ReadMode;
use egui::{RichText, Ui};
use std::path::{Path, PathBuf};

/// Column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Offset,
    Type,
    Size,
    Status,
    Defects,
}

/// State of the Carve screen.
pub struct CarveScreen {
    pub source: String,
    pub out: String,
    pub types: String,
    pub report_only: bool,
    pub buffered: bool,
    job: Option<Job<CarveReport>>,
    pub report: Option<CarveReport>,
    pub out_dir: Option<PathBuf>,
    pub error: Option<String>,
    pub sort: SortBy,
    pub ascending: bool,
    /// Show only this status (`None`: all).
    pub status_filter: Option<&'static str>,
    pub text_filter: String,
    /// Selected finding id.
    pub selected: Option<usize>,
    src_picker: Picker,
    out_picker: Picker,
}

impl Default for CarveScreen {
    fn default() -> Self {
        CarveScreen {
            source: String::new(),
            out: String::new(),
            types: String::new(),
            report_only: false,
            buffered: false,
            job: None,
            report: None,
            out_dir: None,
            error: None,
            sort: SortBy::Offset,
            ascending: true,
            status_filter: None,
            text_filter: String::new(),
            selected: None,
            src_picker: Picker::default(),
            out_picker: Picker::default(),
        }
    }
}

/// A new output folder name beside `root`: `<stem>-carve-<time>`.
pub fn propose_out(source: &Path, root: Option<&Path>) -> PathBuf {
    let stem = source
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".into());
    let stamp = crate::util::now_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect::<String>();
    let root = root
        .map(Path::to_owned)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(std::env::temp_dir);
    root.join(format!("{stem}-carve-{stamp}"))
}

impl CarveScreen {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// A new source: propose a fresh output folder for it.
    pub fn set_source(&mut self, p: &Path) {
        self.source = p.display().to_string();
        self.out = propose_out(p, None).display().to_string();
    }

    /// Start carving with the current fields.
    pub fn start(&mut self, ctx: &egui::Context, case: &Case, cmds: &mut Vec<Command>) {
        if self.job.is_some() {
            return;
        }
        let source = PathBuf::from(self.source.trim());
        let out = PathBuf::from(self.out.trim());
        if source.as_os_str().is_empty() || out.as_os_str().is_empty() {
            self.error = Some(t("carve.need-paths").to_owned());
            return;
        }
        let types = self
            .types
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let opts = CarveOptions {
            command: format!(
                "salvor gui carve {} --out {}{}",
                source.display(),
                out.display(),
                case.command_suffix()
            ),
            source,
            out: out.clone(),
            read_mode: if self.buffered {
                ReadMode::Buffered
            } else {
                ReadMode::Auto
            },
            scan: ScanOptions {
                types,
                ..ScanOptions::default()
            },
            manifest: None,
            report_only: self.report_only,
        };
        cmds.push(Command::Log(
            Level::Info,
            format!("{} {} → {}", t("carve.started"), self.source, out.display()),
        ));
        self.error = None;
        self.report = None;
        self.selected = None;
        self.out_dir = Some(out);
        self.job = Some(Job::spawn(ctx, move |p| crate::carve::run(&opts, p)));
    }

    /// Collect a finished carve.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        let Some(r) = self.job.as_mut().and_then(|j| j.poll()) else {
            return;
        };
        self.job = None;
        match r {
            Ok(rep) => {
                let s = &rep.summary;
                cmds.push(Command::Log(
                    Level::Info,
                    format!(
                        "{}: {} {}, {} {}, {} {}, {} {}{}",
                        t("carve.finished"),
                        rep.findings.len(),
                        t("carve.findings"),
                        s.intact,
                        t("status.intact"),
                        s.damaged,
                        t("status.damaged"),
                        s.truncated,
                        t("status.truncated"),
                        if rep.interrupted {
                            format!(" ({})", t("carve.interrupted"))
                        } else {
                            String::new()
                        }
                    ),
                ));
                self.report = Some(rep);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                cmds.push(Command::Log(Level::Error, msg.clone()));
                self.error = Some(msg);
            }
        }
    }

    /// Findings shown, after filtering and sorting (indices into the report).
    pub fn visible(&self) -> Vec<usize> {
        let Some(rep) = &self.report else {
            return Vec::new();
        };
        let needle = self.text_filter.to_lowercase();
        let mut v: Vec<usize> = (0..rep.findings.len())
            .filter(|&i| {
                let f = &rep.findings[i];
                self.status_filter.is_none_or(|s| f.status.as_str() == s)
                    && (needle.is_empty()
                        || f.kind.contains(&needle)
                        || format!("{:#x}", f.offset).contains(&needle)
                        || f.defects.iter().any(|d| d.kind.as_str().contains(&needle))
                        || f.member_list
                            .iter()
                            .any(|m| m.name.to_lowercase().contains(&needle)))
            })
            .collect();
        let key = |f: &FindingRecord| match self.sort {
            SortBy::Offset => (String::new(), f.offset),
            SortBy::Type => (f.kind.to_owned(), f.offset),
            SortBy::Size => (String::new(), f.length),
            SortBy::Status => (f.status.as_str().to_owned(), f.offset),
            SortBy::Defects => (String::new(), f.defects.len() as u64),
        };
        v.sort_by(|&a, &b| {
            let o = key(&rep.findings[a]).cmp(&key(&rep.findings[b]));
            if self.ascending {
                o
            } else {
                o.reverse()
            }
        });
        v
    }

    /// Draw the screen.
    pub fn carve_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        ui.heading(t("carve.title"));
        self.settings_ui(ui, case, cmds);
        ui.separator();
        if let Some(job) = &self.job {
            let s = job.stats();
            let phase = crate::scan::PHASES
                .get(s.phase as usize)
                .map(|p| t(phase_key(p)))
                .unwrap_or("");
            ui.horizontal(|ui| {
                if ui.button(t("cancel")).clicked() {
                    job.cancel();
                }
                ui.label(format!("{} {}", s.found, t("carve.found-so-far")));
            });
            widgets::progress_ui(ui, &s, phase);
        }
        if let Some(e) = &self.error {
            ui.colored_label(egui::Color32::from_rgb(0xd0, 0x30, 0x30), e);
        }
        if self.report.is_some() {
            self.results_ui(ui, cmds);
        }
    }

    fn settings_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        let idle = self.job.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("carve.source"), &mut self.source, 420.0);
                if let Some(p) = self.src_picker.button_ui(ui, t("browse"), PickKind::File) {
                    self.set_source(&p);
                }
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("carve.out"), &mut self.out, 420.0);
                if let Some(p) = self.out_picker.button_ui(ui, t("browse"), PickKind::Folder) {
                    self.out = p
                        .join(
                            propose_out(Path::new(&self.source), None)
                                .file_name()
                                .unwrap_or_default(),
                        )
                        .display()
                        .to_string();
                }
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("carve.types"), &mut self.types, 220.0);
                ui.label(RichText::new(t("carve.types-hint")).weak());
            });
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.report_only, t("carve.report-only"));
                ui.checkbox(&mut self.buffered, t("carve.buffered"));
                if ui
                    .button(RichText::new(t("carve.start")).strong())
                    .clicked()
                {
                    self.start(ui.ctx(), case, cmds);
                }
            });
        });
    }

    fn results_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let Some(rep) = &self.report else { return };
        let s = &rep.summary;
        ui.horizontal(|ui| {
            ui.strong(format!("{} {}", rep.findings.len(), t("carve.findings")));
            for (n, st) in [
                (s.intact, "intact"),
                (s.damaged, "damaged"),
                (s.truncated, "truncated"),
            ] {
                ui.label(format!("{n}"));
                widgets::status_label(ui, st);
            }
            ui.label(format!("{} {}", s.nested, t("carve.nested")));
            if let Some(d) = &self.out_dir {
                if ui.button(t("carve.open-folder")).clicked() {
                    cmds.push(Command::OpenFolder(d.clone()));
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label(t("carve.filter"));
            for (label, f) in [
                (t("all"), None),
                (t("status.intact"), Some("intact")),
                (t("status.damaged"), Some("damaged")),
                (t("status.truncated"), Some("truncated")),
            ] {
                if ui
                    .selectable_label(self.status_filter == f, label)
                    .clicked()
                {
                    self.status_filter = f;
                }
            }
            widgets::text_field(ui, t("carve.search"), &mut self.text_filter, 160.0);
        });
        let rows = self.visible();
        self.table_ui(ui, &rows, cmds);
        ui.separator();
        self.members_ui(ui, cmds);
    }

    fn table_ui(&mut self, ui: &mut Ui, rows: &[usize], cmds: &mut Vec<Command>) {
        use egui_extras::{Column, TableBuilder};
        let Some(rep) = &self.report else { return };
        let mut clicked = None;
        let mut sort_click = None;
        let mut jump = None;
        let height = (ui.available_height() * 0.55).max(120.0);
        TableBuilder::new(ui)
            .id_salt("findings")
            .striped(true)
            .sense(egui::Sense::click())
            .max_scroll_height(height)
            .column(Column::exact(120.0))
            .column(Column::exact(70.0))
            .column(Column::exact(90.0))
            .column(Column::exact(90.0))
            .column(Column::remainder().clip(true))
            .column(Column::exact(84.0))
            .header(22.0, |mut h| {
                for (k, by) in [
                    ("carve.offset", SortBy::Offset),
                    ("carve.type", SortBy::Type),
                    ("carve.size", SortBy::Size),
                    ("carve.status", SortBy::Status),
                    ("carve.defects", SortBy::Defects),
                ] {
                    h.col(|ui| {
                        let arrow = match (self.sort == by, self.ascending) {
                            (true, true) => " ^",
                            (true, false) => " v",
                            _ => "",
                        };
                        if ui
                            .add(
                                egui::Button::new(
                                    RichText::new(format!("{}{arrow}", t(k))).strong(),
                                )
                                .frame(false),
                            )
                            .clicked()
                        {
                            sort_click = Some(by);
                        }
                    });
                }
                h.col(|ui| {
                    ui.strong(t("carve.hex"));
                });
            })
            .body(|body| {
                body.rows(22.0, rows.len(), |mut row| {
                    let f = &rep.findings[rows[row.index()]];
                    row.set_selected(self.selected == Some(f.id));
                    row.col(|ui| {
                        let indent = if f.parent.is_some() { "  └ " } else { "" };
                        ui.label(RichText::new(format!("{indent}{:#x}", f.offset)).monospace());
                    });
                    row.col(|ui| {
                        ui.label(f.kind);
                    });
                    row.col(|ui| {
                        ui.label(widgets::size(f.length));
                    });
                    row.col(|ui| widgets::status_label(ui, f.status.as_str()));
                    row.col(|ui| {
                        let d: Vec<&str> = f.defects.iter().map(|d| d.kind.as_str()).collect();
                        ui.label(d.join(", "));
                    });
                    row.col(|ui| {
                        if ui.small_button(t("carve.hex")).clicked() {
                            jump = Some(f.id);
                        }
                    });
                    if row.response().clicked() {
                        clicked = Some(f.id);
                    }
                    if row.response().double_clicked() {
                        jump = Some(f.id);
                    }
                });
            });
        if let Some(by) = sort_click {
            if self.sort == by {
                self.ascending = !self.ascending;
            } else {
                self.sort = by;
                self.ascending = true;
            }
        }
        if let Some(id) = clicked {
            self.selected = Some(id);
        }
        if let Some(id) = jump {
            self.selected = Some(id);
            if let Some(c) = self.jump_command(id) {
                cmds.push(c);
            }
        }
    }

    /// The command that shows finding `id` in the hex view, every finding highlighted.
    pub fn jump_command(&self, id: usize) -> Option<Command> {
        let rep = self.report.as_ref()?;
        let f = rep.findings.iter().find(|f| f.id == id)?;
        let marks = rep
            .findings
            .iter()
            .map(|f| Mark {
                start: f.offset,
                end: f.end,
                status: f.status.as_str().to_owned(),
                label: format!("{} {:#x}", f.kind, f.offset),
            })
            .collect();
        Some(Command::HexJump {
            path: rep.source.path.clone(),
            offset: f.offset,
            marks,
        })
    }

    fn members_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let Some(rep) = &self.report else { return };
        let Some(f) = self
            .selected
            .and_then(|id| rep.findings.iter().find(|f| f.id == id))
        else {
            ui.label(RichText::new(t("carve.select-hint")).weak());
            return;
        };
        ui.horizontal(|ui| {
            ui.strong(format!(
                "{} {:#x} {} — {} {}",
                f.kind,
                f.offset,
                f.file.as_deref().unwrap_or(""),
                f.members,
                t("carve.members")
            ));
            if let Some(c) = (ui.button(t("carve.show-hex")).clicked())
                .then(|| self.jump_command(f.id))
                .flatten()
            {
                cmds.push(c);
            }
        });
        if let Some(p) = &f.provenance {
            ui.label(format!("{} {p}", t("carve.provenance")));
        }
        for d in &f.defects {
            ui.colored_label(widgets::status_color("damaged"), d.to_string());
        }
        if let Some(r) = &f.repair {
            ui.label(format!(
                "{} {} ({} {}, {} {}, {} {})",
                t("carve.repaired-copy"),
                r.file,
                r.whole,
                t("repair.whole"),
                r.partial,
                t("status.partial"),
                r.lost,
                t("status.lost")
            ));
        }
        egui::ScrollArea::vertical()
            .id_salt("members")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("members-grid")
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        for k in [
                            "carve.member-name",
                            "carve.offset",
                            "carve.size",
                            "carve.method",
                            "carve.check",
                        ] {
                            ui.strong(t(k));
                        }
                        ui.end_row();
                        for m in &f.member_list {
                            ui.label(crate::util::printable(&m.name));
                            ui.label(RichText::new(format!("{:#x}", m.data_start)).monospace());
                            ui.label(widgets::size(m.size));
                            ui.label(match m.method {
                                0 => "stored".to_owned(),
                                8 => "deflate".to_owned(),
                                n => format!("{n}"),
                            });
                            let color = if m.check == "ok" || m.check.is_empty() {
                                widgets::status_color("intact")
                            } else {
                                widgets::status_color("damaged")
                            };
                            ui.colored_label(color, &m.check);
                            ui.end_row();
                        }
                    });
            });
    }
}

fn phase_key(p: &str) -> &'static str {
    match p {
        "scanning" => "phase.scanning",
        "checking" => "phase.checking",
        _ => "phase.done",
    }
}
