//! Verify: choose a record, a folder, a ZIP or a `.dsicdp`; show every record with its
//! signatures, references and components, verdicts in colour, and the transform that proved an
//! `equivalent` component.

use super::app::Command;
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::widgets::{self, PickKind, Picker};
use crate::verify::{VerifyOptions, VerifyReport};
use egui::{Color32, RichText, Ui};
use salvor_carvers::records::{RecordReport, Verdict};
use std::path::PathBuf;

/// State of the Verify screen.
#[derive(Default)]
pub struct VerifyScreen {
    pub input: String,
    /// Folder for restored components; empty: nothing written.
    pub restore: String,
    /// Show only what is not authentic.
    pub only_problems: bool,
    job: Option<Job<VerifyReport>>,
    pub report: Option<VerifyReport>,
    pub error: Option<String>,
    file_picker: Picker,
    folder_picker: Picker,
    restore_picker: Picker,
}

/// The colour of a verdict.
pub fn verdict_color(v: Verdict) -> Color32 {
    match v {
        Verdict::Authentic => Color32::from_rgb(0x2e, 0xa0, 0x43),
        Verdict::Equivalent => Color32::from_rgb(0x1f, 0x7a, 0xc4),
        Verdict::RepairedNotAuthentic => Color32::from_rgb(0xd0, 0x8c, 0x00),
        Verdict::Broken => Color32::from_rgb(0xd0, 0x30, 0x30),
    }
}

/// The translated word of a verdict.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Authentic => t("verdict.authentic"),
        Verdict::Equivalent => t("verdict.equivalent"),
        Verdict::RepairedNotAuthentic => t("verdict.repaired-not-authentic"),
        Verdict::Broken => t("verdict.broken"),
    }
}

fn verdict_label(ui: &mut Ui, v: Verdict) {
    ui.label(
        RichText::new(verdict_word(v))
            .color(verdict_color(v))
            .strong(),
    );
}

/// Where the shared corpus's SI sample is, when this machine has it (for the demo).
pub fn corpus_sample() -> Option<PathBuf> {
    let base = std::env::var_os("SALVOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    let p = base.join("tw/00111/1000000016.si");
    p.is_file().then_some(p)
}

impl VerifyScreen {
    /// Whether a verification is running.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Start verifying `self.input` on a thread.
    pub fn start(&mut self, ctx: &egui::Context) {
        let input = PathBuf::from(self.input.trim());
        let restore = self.restore.trim();
        let opts = VerifyOptions {
            restore_dir: (!restore.is_empty()).then(|| PathBuf::from(restore)),
        };
        self.error = None;
        self.report = None;
        self.job = Some(Job::spawn(ctx, move |p| {
            crate::verify::verify_path_with(&input, &opts, p)
        }));
    }

    /// Collect a finished verification.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        let Some(r) = self.job.as_mut().and_then(|j| j.poll()) else {
            return;
        };
        self.job = None;
        match r {
            Ok(rep) => {
                cmds.push(Command::Log(
                    if rep.verdict == Verdict::Broken {
                        Level::Warn
                    } else {
                        Level::Info
                    },
                    format!(
                        "{} {}: {} ({} {})",
                        t("verify.done"),
                        rep.input.display(),
                        rep.verdict,
                        rep.records.len(),
                        t("verify.records")
                    ),
                ));
                self.report = Some(rep);
            }
            Err(e) => {
                let m = format!("{e:#}");
                cmds.push(Command::Log(Level::Error, m.clone()));
                self.error = Some(m);
            }
        }
    }

    /// Draw the screen.
    pub fn verify_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        ui.heading(t("verify.title"));
        ui.label(RichText::new(t("verify.hint")).weak());
        let idle = self.job.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("verify.input"), &mut self.input, 420.0);
                if let Some(p) =
                    self.file_picker
                        .button_ui(ui, t("verify.pick-file"), PickKind::File)
                {
                    self.input = p.display().to_string();
                }
                if let Some(p) =
                    self.folder_picker
                        .button_ui(ui, t("verify.pick-folder"), PickKind::Folder)
                {
                    self.input = p.display().to_string();
                }
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("verify.restore"), &mut self.restore, 420.0);
                if let Some(p) = self
                    .restore_picker
                    .button_ui(ui, t("browse"), PickKind::Folder)
                {
                    self.restore = p.display().to_string();
                }
            });
            if ui
                .add_enabled(
                    !self.input.trim().is_empty(),
                    egui::Button::new(RichText::new(t("verify.start")).strong()),
                )
                .clicked()
            {
                self.start(ui.ctx());
            }
        });
        if let Some(job) = &self.job {
            let s = job.stats();
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("{} {} / {}", t("verify.running"), s.done, s.total));
                if ui.button(t("cancel")).clicked() {
                    job.cancel();
                }
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
        if let Some(e) = &self.error {
            ui.colored_label(verdict_color(Verdict::Broken), e);
        }
        if let Some(rep) = &self.report {
            ui.separator();
            ui.checkbox(&mut self.only_problems, t("verify.only-problems"));
            report_ui(ui, rep, self.only_problems, cmds);
        }
    }
}

/// The whole report: the package's verdict, then one collapsible block per record.
pub fn report_ui(ui: &mut Ui, rep: &VerifyReport, only_problems: bool, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.strong(format!("{} {}", rep.package, rep.input.display()));
        verdict_label(ui, rep.verdict);
    });
    ui.horizontal_wrapped(|ui| {
        for v in [
            Verdict::Authentic,
            Verdict::Equivalent,
            Verdict::RepairedNotAuthentic,
            Verdict::Broken,
        ] {
            ui.label(format!("{}", rep.count(v)));
            verdict_label(ui, v);
        }
    });
    for n in &rep.notes {
        ui.label(RichText::new(n).weak());
    }
    if !rep.restored.is_empty() {
        ui.horizontal(|ui| {
            ui.label(format!("{} {}", t("verify.restored"), rep.restored.len()));
            if let Some(d) = rep.restored.first().and_then(|r| r.written.parent()) {
                if ui.button(t("carve.open-folder")).clicked() {
                    cmds.push(Command::OpenFolder(d.to_owned()));
                }
            }
        });
    }
    egui::ScrollArea::vertical()
        .id_salt("verify-records")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (i, r) in rep.records.iter().enumerate() {
                record_ui(ui, &r.path, &r.report, only_problems, i.to_string());
            }
            if !rep.skipped.is_empty() {
                egui::CollapsingHeader::new(format!(
                    "{} ({})",
                    t("verify.skipped"),
                    rep.skipped.len()
                ))
                .id_salt("verify-skipped")
                .show(ui, |ui| {
                    for s in &rep.skipped {
                        ui.label(crate::util::printable(s));
                    }
                });
            }
        });
}

fn record_ui(ui: &mut Ui, path: &str, r: &RecordReport, only_problems: bool, id: String) {
    let title = RichText::new(format!(
        "{}  [{} · {} · {}]  {}",
        crate::util::printable(path),
        r.kind,
        r.root,
        r.encoding,
        verdict_word(r.verdict)
    ))
    .color(verdict_color(r.verdict));
    egui::CollapsingHeader::new(title)
        .id_salt(format!("verify-rec-{id}"))
        .default_open(true)
        .show(ui, |ui| {
            if !r.signatures.is_empty() {
                ui.strong(t("verify.signatures"));
                egui::Grid::new(format!("verify-sig-{id}"))
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        for k in [
                            "verify.id",
                            "verify.verdict",
                            "verify.signer",
                            "verify.valid-until",
                            "verify.variant",
                        ] {
                            ui.strong(t(k));
                        }
                        ui.end_row();
                        for s in &r.signatures {
                            ui.label(crate::util::printable(&s.id));
                            verdict_label(ui, s.verdict);
                            ui.label(
                                s.signer
                                    .as_ref()
                                    .map(|c| crate::util::printable(&c.subject))
                                    .unwrap_or_else(|| "—".into()),
                            );
                            let validity = s
                                .signer
                                .as_ref()
                                .map(|c| {
                                    let mark = match s.within_validity {
                                        Some(true) => t("verify.within"),
                                        Some(false) => t("verify.outside"),
                                        None => "",
                                    };
                                    format!("{} {mark}", c.not_after)
                                })
                                .unwrap_or_else(|| "—".into());
                            ui.label(validity);
                            ui.label(s.variant.as_deref().unwrap_or("—"))
                                .on_hover_text(crate::util::printable(&s.detail));
                            ui.end_row();
                        }
                    });
            }
            let refs: Vec<_> = r
                .references
                .iter()
                .filter(|x| !only_problems || x.verdict != Verdict::Authentic)
                .collect();
            if !refs.is_empty() {
                ui.strong(t("verify.references"));
                egui::Grid::new(format!("verify-ref-{id}"))
                    .striped(true)
                    .num_columns(3)
                    .show(ui, |ui| {
                        for x in refs {
                            ui.label(crate::util::printable(&x.uri));
                            verdict_label(ui, x.verdict);
                            ui.label(x.variant.as_deref().unwrap_or("—"))
                                .on_hover_text(crate::util::printable(&x.detail));
                            ui.end_row();
                        }
                    });
            }
            let comps: Vec<_> = r
                .components
                .iter()
                .filter(|c| !only_problems || c.verdict != Verdict::Authentic)
                .collect();
            if !comps.is_empty() {
                ui.strong(format!(
                    "{} ({})",
                    t("verify.components"),
                    r.components.len()
                ));
                egui::Grid::new(format!("verify-comp-{id}"))
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        for k in [
                            "verify.name",
                            "verify.verdict",
                            "verify.transform",
                            "verify.size",
                            "verify.digest",
                        ] {
                            ui.strong(t(k));
                        }
                        ui.end_row();
                        for c in comps {
                            ui.label(crate::util::printable(&c.name))
                                .on_hover_text(crate::util::printable(&c.detail));
                            verdict_label(ui, c.verdict);
                            ui.label(c.transform.as_deref().unwrap_or("—"));
                            ui.label(format!(
                                "{} / {}",
                                c.recorded_size
                                    .map(|n| n.to_string())
                                    .unwrap_or_else(|| "—".into()),
                                c.found_size
                                    .map(|n| n.to_string())
                                    .unwrap_or_else(|| "—".into())
                            ));
                            ui.label(
                                RichText::new(
                                    c.recorded_digest
                                        .as_deref()
                                        .map(|d| d.get(..16).unwrap_or(d))
                                        .unwrap_or("—"),
                                )
                                .monospace(),
                            );
                            ui.end_row();
                        }
                    });
            }
            for p in &r.problems {
                let at = p.offset.map(|o| format!(" @ {o:#x}")).unwrap_or_default();
                let file = p
                    .file
                    .as_deref()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default();
                ui.colored_label(
                    verdict_color(Verdict::Broken),
                    crate::util::printable(&format!(
                        "{}{file}{at}: {}",
                        t("verify.problem"),
                        p.message
                    )),
                );
            }
            for (j, ch) in r.children.iter().enumerate() {
                record_ui(
                    ui,
                    t("verify.nested"),
                    ch,
                    only_problems,
                    format!("{id}-{j}"),
                );
            }
        });
}
