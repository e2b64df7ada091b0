//! Destroy: wipe a device or file. Refused targets are greyed out with the reason from the
//! safety checks; method and verification; typing the serial (or the path) to confirm;
//! progress; the certificate shown and saved.

use super::app::Command;
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::settings::Case;
use super::widgets::{self, PickKind, Picker};
use crate::wipe::pattern::Method;
use crate::wipe::safety::{self, Refusal, TargetFacts};
use crate::wipe::{VerifyMode, WipeOptions, WipeOutcome, WipeResult};
use egui::{RichText, Ui};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A target with the outcome of its safety checks.
#[derive(Debug, Clone)]
pub struct Checked {
    pub facts: TargetFacts,
    pub refusals: Vec<Refusal>,
}

/// Inspect a target and run every safety check (reads only).
pub fn check_target(path: &Path) -> anyhow::Result<Checked> {
    let facts = safety::inspect(path)?;
    let refusals = safety::check(&facts);
    Ok(Checked { facts, refusals })
}

/// The label key of a refusal's kind.
pub fn refusal_key(r: &Refusal) -> &'static str {
    match r {
        Refusal::NotFileOrDevice { .. } => "refusal.not-file-or-device",
        Refusal::HoldsSystem { .. } => "refusal.holds-system",
        Refusal::Mounted { .. } => "refusal.mounted",
        Refusal::Swap { .. } => "refusal.swap",
        Refusal::Held { .. } => "refusal.held",
        Refusal::Holder { .. } => "refusal.holder",
        Refusal::BacksLoop { .. } => "refusal.backs-loop",
        Refusal::OpenElsewhere { .. } => "refusal.open-elsewhere",
    }
}

const METHODS: [&str; 6] = [
    "zero",
    "one",
    "random",
    "nist-clear",
    "dod-3pass",
    "gutmann",
];
const VERIFY: [(VerifyMode, &str); 4] = [
    (VerifyMode::All, "verify.all"),
    (VerifyMode::Last, "verify.last"),
    (VerifyMode::Sample, "verify.sample"),
    (VerifyMode::Off, "verify.off"),
];

/// State of the Destroy screen.
pub struct DestroyScreen {
    pub target: String,
    pub devices: Vec<Checked>,
    listing: Option<Job<Vec<Checked>>>,
    listed_once: bool,
    pub checked: Option<Checked>,
    checking: Option<Job<Checked>>,
    pub method: &'static str,
    pub verify: VerifyMode,
    pub confirm: String,
    pub out: String,
    job: Option<Job<WipeOutcome>>,
    passes: Vec<crate::wipe::pattern::Pattern>,
    /// Why the last attempt was refused (or failed).
    pub refused: Option<String>,
    pub outcome: Option<WipeOutcome>,
    picker: Picker,
    out_picker: Picker,
}

impl Default for DestroyScreen {
    fn default() -> Self {
        DestroyScreen {
            target: String::new(),
            devices: Vec::new(),
            listing: None,
            listed_once: false,
            checked: None,
            checking: None,
            method: "zero",
            verify: VerifyMode::Last,
            confirm: String::new(),
            out: std::env::current_dir()
                .unwrap_or_else(|_| std::env::temp_dir())
                .display()
                .to_string(),
            job: None,
            passes: Vec::new(),
            refused: None,
            outcome: None,
            picker: Picker::default(),
            out_picker: Picker::default(),
        }
    }
}

impl DestroyScreen {
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.checking.is_some() || self.listing.is_some()
    }

    /// Choose a target; its checks run on a thread.
    pub fn set_target(&mut self, p: &Path) {
        self.target = p.display().to_string();
        self.checked = None;
        self.refused = None;
        self.confirm.clear();
    }

    fn check_now(&mut self, ctx: &egui::Context) {
        let p = PathBuf::from(self.target.trim());
        self.checked = None;
        self.checking = Some(Job::spawn(ctx, move |_| check_target(&p)));
    }

    /// Collect finished checks and wipes.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        if let Some(r) = self.listing.as_mut().and_then(|j| j.poll()) {
            self.listing = None;
            if let Ok(d) = r {
                self.devices = d;
            }
        }
        if let Some(r) = self.checking.as_mut().and_then(|j| j.poll()) {
            self.checking = None;
            match r {
                Ok(c) => self.checked = Some(c),
                Err(e) => self.refused = Some(format!("{e:#}")),
            }
        }
        if let Some(r) = self.job.as_mut().and_then(|j| j.poll()) {
            self.job = None;
            match r {
                Ok(o) => {
                    let (level, word) = match o.result {
                        WipeResult::Passed => (Level::Info, t("destroy.passed")),
                        WipeResult::Failed => (Level::Error, t("destroy.failed")),
                        WipeResult::Interrupted => (Level::Warn, t("destroy.interrupted")),
                    };
                    cmds.push(Command::Log(
                        level,
                        format!(
                            "{word}: {} {}",
                            self.target,
                            o.json_path
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default()
                        ),
                    ));
                    self.outcome = Some(o);
                }
                Err(e) => {
                    let m = format!("{e:#}");
                    cmds.push(Command::Log(Level::Error, m.clone()));
                    self.refused = Some(m);
                }
            }
        }
    }

    /// The Wipe button: every check again, then the confirmation, then the job.
    pub fn attempt(&mut self, ctx: &egui::Context, case: &Case, cmds: &mut Vec<Command>) {
        self.refused = None;
        let Some(c) = &self.checked else {
            self.refused = Some(t("destroy.not-checked").to_owned());
            return;
        };
        if let Some(r) = c.refusals.first() {
            self.refused = Some(format!("{}: {r}", t(refusal_key(r))));
            cmds.push(Command::Log(
                Level::Warn,
                format!("{} {r}", t("destroy.refused")),
            ));
            return;
        }
        if c.facts.size == 0 {
            self.refused = Some(t("destroy.empty").to_owned());
            return;
        }
        if !safety::confirm_matches(&c.facts, &self.confirm) {
            self.refused = Some(format!(
                "{} {}",
                t("destroy.confirm-mismatch"),
                safety::confirm_hint(&c.facts)
            ));
            cmds.push(Command::Log(
                Level::Warn,
                format!("{} {}", t("destroy.refused"), t("destroy.confirm-mismatch")),
            ));
            return;
        }
        let method = match Method::parse(self.method) {
            Ok(m) => m,
            Err(e) => {
                self.refused = Some(e);
                return;
            }
        };
        let opts = WipeOptions {
            method,
            verify: self.verify,
            sample_percent: 10,
            fail_fast: false,
            out: PathBuf::from(self.out.trim()),
            block_size: 4 << 20,
            resume: false,
            command: format!(
                "salvor gui wipe {} --method {} --confirm ***{}",
                c.facts.path.display(),
                self.method,
                case.command_suffix()
            ),
            checkpoint_interval: Duration::from_secs(2),
            throttle: None,
            info: case.to_cert_info(),
        };
        if let Err(e) = crate::wipe::check_options(&opts) {
            self.refused = Some(e);
            return;
        }
        self.passes = opts.method.passes();
        self.outcome = None;
        let facts = c.facts.clone();
        cmds.push(Command::Log(
            Level::Warn,
            format!("{} {}", t("destroy.started"), facts.path.display()),
        ));
        self.job = Some(Job::spawn(ctx, move |p| crate::wipe::run(&opts, &facts, p)));
    }

    /// Draw the screen.
    pub fn destroy_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        if !self.listed_once {
            self.listed_once = true;
            self.listing = Some(Job::spawn(ui.ctx(), |_| {
                Ok(super::sources::list_devices()
                    .iter()
                    .filter_map(|d| check_target(&d.path).ok())
                    .collect())
            }));
        }
        if self.checked.is_none() && self.checking.is_none() && !self.target.trim().is_empty() {
            self.check_now(ui.ctx());
        }
        egui::ScrollArea::vertical()
            .id_salt("destroy-page")
            .auto_shrink([false, false])
            .show(ui, |ui| self.page_ui(ui, case, cmds));
    }

    fn page_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        ui.heading(t("destroy.title"));
        ui.label(RichText::new(t("destroy.warning")).color(widgets::status_color("lost")));
        let idle = self.job.is_none();
        ui.add_enabled_ui(idle, |ui| self.settings_ui(ui, case, cmds));
        if let Some(job) = &self.job {
            let s = job.stats();
            let phase = crate::wipe::phase_label(&self.passes, s.phase);
            if ui.button(t("cancel")).clicked() {
                job.cancel();
            }
            widgets::progress_ui(ui, &s, &phase);
        }
        if let Some(o) = &self.outcome {
            ui.separator();
            outcome_ui(ui, o, cmds);
        }
        ui.separator();
        self.devices_ui(ui);
    }

    fn devices_ui(&mut self, ui: &mut Ui) {
        ui.strong(t("destroy.devices"));
        let mut pick = None;
        egui::ScrollArea::vertical()
            .id_salt("wipe-devices")
            .max_height(150.0)
            .show(ui, |ui| {
                egui::Grid::new("wipe-devices-grid")
                    .striped(true)
                    .num_columns(4)
                    .show(ui, |ui| {
                        for c in &self.devices {
                            let f = &c.facts;
                            let ok = c.refusals.is_empty();
                            let name = format!(
                                "{}  {}",
                                f.path.display(),
                                f.model.as_deref().unwrap_or("")
                            );
                            if ui.add_enabled(ok, egui::Button::new(name)).clicked() {
                                pick = Some(f.path.clone());
                            }
                            ui.add_enabled(
                                ok,
                                egui::Label::new(f.serial.as_deref().unwrap_or("—")),
                            );
                            ui.add_enabled(ok, egui::Label::new(widgets::size(f.size)));
                            if ok {
                                ui.label(t("destroy.allowed"));
                            } else {
                                let why: Vec<String> = c
                                    .refusals
                                    .iter()
                                    .map(|r| t(refusal_key(r)).to_owned())
                                    .collect();
                                let l = ui.add_enabled(false, egui::Label::new(why.join(", ")));
                                let detail: Vec<String> =
                                    c.refusals.iter().map(|r| r.to_string()).collect();
                                l.on_disabled_hover_text(detail.join("\n"));
                            }
                            ui.end_row();
                        }
                    });
            });
        if let Some(p) = pick {
            self.set_target(&p);
        }
    }

    fn settings_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            let before = self.target.clone();
            widgets::text_field(ui, t("destroy.target"), &mut self.target, 380.0);
            if let Some(p) = self.picker.button_ui(ui, t("browse"), PickKind::File) {
                self.target = p.display().to_string();
            }
            if self.target != before {
                self.checked = None;
                self.refused = None;
            }
        });
        if self.checking.is_some() {
            ui.spinner();
        }
        if let Some(c) = &self.checked {
            let f = &c.facts;
            ui.label(format!(
                "{} {}   {} {}   {} {}   {} {}   {} {}",
                t("sources.model"),
                f.model.as_deref().unwrap_or("—"),
                t("sources.serial"),
                f.serial.as_deref().unwrap_or("—"),
                t("sources.size"),
                widgets::size(f.size),
                t("destroy.media"),
                f.media_type,
                t("destroy.hidden"),
                f.hidden_areas
            ));
            if c.refusals.is_empty() {
                ui.colored_label(widgets::status_color("intact"), t("destroy.checks-passed"));
            }
            for r in &c.refusals {
                ui.colored_label(
                    widgets::status_color("lost"),
                    format!("{} {}: {r}", t("destroy.refused"), t(refusal_key(r))),
                );
            }
        }
        ui.horizontal(|ui| {
            ui.label(t("destroy.method"));
            egui::ComboBox::from_id_salt("wipe-method")
                .selected_text(self.method)
                .show_ui(ui, |ui| {
                    for m in METHODS {
                        ui.selectable_value(&mut self.method, m, m);
                    }
                });
            if let Ok(m) = Method::parse(self.method) {
                ui.label(RichText::new(m.details()).weak());
                if let Some(req) = m.required_verify() {
                    if req == "all" {
                        self.verify = VerifyMode::All;
                    } else if !matches!(self.verify, VerifyMode::All | VerifyMode::Last) {
                        self.verify = VerifyMode::Last;
                    }
                }
            }
        });
        ui.horizontal(|ui| {
            ui.label(t("destroy.verify"));
            let current = VERIFY
                .iter()
                .find(|(v, _)| *v == self.verify)
                .map(|(_, k)| t(k))
                .unwrap_or("");
            egui::ComboBox::from_id_salt("wipe-verify")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (v, k) in VERIFY {
                        ui.selectable_value(&mut self.verify, v, t(k));
                    }
                });
        });
        ui.horizontal(|ui| {
            widgets::text_field(ui, t("destroy.out"), &mut self.out, 380.0);
            if let Some(p) = self.out_picker.button_ui(ui, t("browse"), PickKind::Folder) {
                self.out = p.display().to_string();
            }
        });
        let hint = self
            .checked
            .as_ref()
            .map(|c| safety::confirm_hint(&c.facts))
            .unwrap_or_default();
        ui.horizontal(|ui| {
            widgets::text_field(ui, t("destroy.confirm"), &mut self.confirm, 240.0);
            ui.label(RichText::new(hint).weak());
        });
        let allowed = self.checked.as_ref().is_some_and(|c| c.refusals.is_empty());
        let button = egui::Button::new(
            RichText::new(t("destroy.wipe"))
                .strong()
                .color(egui::Color32::WHITE),
        )
        .fill(if allowed {
            widgets::status_color("lost")
        } else {
            egui::Color32::from_gray(0x60)
        });
        if ui.add(button).clicked() {
            self.attempt(ui.ctx(), case, cmds);
        }
        if let Some(r) = &self.refused {
            ui.colored_label(
                widgets::status_color("lost"),
                format!("{} {r}", t("destroy.refused")),
            );
        }
    }
}

/// The result and the certificate of a finished wipe.
pub fn outcome_ui(ui: &mut Ui, o: &WipeOutcome, cmds: &mut Vec<Command>) {
    let (color, word) = match o.result {
        WipeResult::Passed => (widgets::status_color("passed"), t("destroy.passed")),
        WipeResult::Failed => (widgets::status_color("failed"), t("destroy.failed")),
        WipeResult::Interrupted => (widgets::status_color("damaged"), t("destroy.interrupted")),
    };
    ui.label(RichText::new(word).color(color).strong().size(18.0));
    for p in [&o.json_path, &o.pdf_path].into_iter().flatten() {
        ui.horizontal(|ui| {
            ui.label(format!("{} {}", t("destroy.saved"), p.display()));
            if let Some(d) = p.parent() {
                if ui.small_button(t("carve.open-folder")).clicked() {
                    cmds.push(Command::OpenFolder(d.to_owned()));
                }
            }
        });
    }
    if let Some(c) = &o.certificate {
        ui.strong(t("destroy.certificate"));
        let text = serde_json::to_string_pretty(c).unwrap_or_default();
        egui::ScrollArea::vertical()
            .id_salt("certificate")
            .max_height(320.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.label(RichText::new(text).monospace());
            });
    }
}
