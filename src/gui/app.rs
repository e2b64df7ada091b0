//! The window: navigation, language switch, case fields, log panel, and the command queue.

use super::i18n::{self, t, Lang};
use super::log::{Level, Log};
use super::settings::Settings;
use super::{acquire, carve, destroy, hex, repair, sources, verify, StartOptions};
use egui::Ui;
use std::path::PathBuf;

/// The screens, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Sources,
    Carve,
    Repair,
    Verify,
    Acquire,
    Destroy,
    Hex,
}

impl Screen {
    pub const ALL: [Screen; 7] = [
        Screen::Sources,
        Screen::Carve,
        Screen::Repair,
        Screen::Verify,
        Screen::Acquire,
        Screen::Destroy,
        Screen::Hex,
    ];

    /// The label key of its navigation button.
    pub fn key(self) -> &'static str {
        match self {
            Screen::Sources => "nav.sources",
            Screen::Carve => "nav.carve",
            Screen::Repair => "nav.repair",
            Screen::Verify => "nav.verify",
            Screen::Acquire => "nav.acquire",
            Screen::Destroy => "nav.destroy",
            Screen::Hex => "nav.hex",
        }
    }

    /// From `--screen NAME`.
    pub fn parse(s: &str) -> Option<Screen> {
        Some(match s.to_ascii_lowercase().as_str() {
            "sources" | "source" => Screen::Sources,
            "carve" => Screen::Carve,
            "repair" => Screen::Repair,
            "verify" | "records" => Screen::Verify,
            "acquire" | "image" => Screen::Acquire,
            "destroy" | "wipe" => Screen::Destroy,
            "hex" => Screen::Hex,
            _ => return None,
        })
    }
}

/// What a screen asks the app to do once the frame is drawn.
#[derive(Debug, Clone)]
pub enum Command {
    Goto(Screen),
    /// Show a source in the hex view at an offset, with findings to highlight.
    HexJump {
        path: PathBuf,
        offset: u64,
        marks: Vec<hex::Mark>,
    },
    /// Make a path the current source of the carve, acquire, hex and destroy screens.
    UseSource(PathBuf),
    /// Make a path the target of the Destroy screen (its safety checks run at once).
    WipeTarget(PathBuf),
    Log(Level, String),
    OpenFolder(PathBuf),
}

/// The whole app: persisted settings, then runtime state of each screen.
pub struct SalvorApp {
    pub settings: Settings,
    pub screen: Screen,
    pub log: Log,
    pub sources: sources::SourcesScreen,
    pub carve: carve::CarveScreen,
    pub repair: repair::RepairScreen,
    pub verify: verify::VerifyScreen,
    pub acquire: acquire::AcquireScreen,
    pub destroy: destroy::DestroyScreen,
    pub hex: hex::HexScreen,
    saved: Settings,
    /// Whether settings changes are written to the settings file (not in tests).
    persist: bool,
    last_save: std::time::Instant,
    /// `--source` given with `--demo`: what the demo acquisition reads.
    demo_source: Option<PathBuf>,
    /// Demo jobs to start on the first frame (they need the context).
    demo_pending: bool,
    /// Show the first damaged finding in the hex view once the demo carve is done.
    demo_hex_pending: bool,
}

/// The bundled demo image, when the app runs from a source tree.
pub fn demo_image() -> Option<PathBuf> {
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testimages/demo.img"));
    [PathBuf::from("testimages/demo.img"), here]
        .into_iter()
        .find(|p| p.is_file())
}

impl SalvorApp {
    /// A new app; `opts` may pick the screen and language, or preload the demo image.
    pub fn new(opts: &StartOptions) -> SalvorApp {
        let persist = std::env::var_os("SALVOR_GUI_NO_SETTINGS").is_none();
        let settings = if persist {
            Settings::load()
        } else {
            Settings::default()
        };
        let mut app = SalvorApp::with_settings(opts, settings);
        app.persist = persist;
        app
    }

    /// A new app with the given settings (tests pass defaults, never the user's file).
    pub fn with_settings(opts: &StartOptions, settings: Settings) -> SalvorApp {
        let lang = opts
            .lang
            .as_deref()
            .and_then(Lang::parse)
            .or(settings.lang)
            .unwrap_or_else(Lang::from_env);
        i18n::set(lang);
        let mut app = SalvorApp {
            saved: settings.clone(),
            settings,
            screen: Screen::Sources,
            log: Log::default(),
            sources: sources::SourcesScreen::default(),
            carve: carve::CarveScreen::default(),
            repair: repair::RepairScreen::default(),
            verify: verify::VerifyScreen::default(),
            acquire: acquire::AcquireScreen::default(),
            destroy: destroy::DestroyScreen::default(),
            hex: hex::HexScreen::default(),
            persist: false,
            last_save: std::time::Instant::now(),
            demo_source: None,
            demo_pending: false,
            demo_hex_pending: false,
        };
        app.log
            .push(Level::Info, format!("{} {}", crate::TOOL, t("log.started")));
        if let Some(name) = opts.screen.as_deref() {
            if name == "surface" {
                app.screen = Screen::Acquire;
                app.acquire.tab = acquire::Tab::Surface;
            } else if let Some(s) = Screen::parse(name) {
                app.screen = s;
            }
        }
        if let Some(src) = &opts.source {
            app.apply(Command::UseSource(src.clone()));
            app.demo_source = Some(src.clone());
        }
        if opts.demo {
            if let Some(img) = demo_image() {
                app.apply(Command::UseSource(img.clone()));
                app.repair.demo();
                app.hex.open(&img, 0, Vec::new());
                app.demo_pending = true;
                app.demo_hex_pending = true;
            }
        }
        app
    }

    /// Start the demo's jobs: carve, repair, imaging and surface scan of the demo image into a
    /// temporary folder, and a small temporary file as the wipe target.
    fn start_demo(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let Some(img) = demo_image() else { return };
        let dir = std::env::temp_dir().join(format!("salvor-gui-demo-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let case = self.settings.case.clone();
        self.sources.select(ctx, img.clone());
        self.carve.set_source(&img);
        self.carve.out = dir.join("carve").display().to_string();
        self.carve.start(ctx, &case, cmds);
        self.repair.output = dir.join("repaired.zip").display().to_string();
        self.repair.start(ctx);
        if let Some(si) = verify::corpus_sample() {
            self.verify.input = si.display().to_string();
            self.verify.restore = dir.join("restored").display().to_string();
            self.verify.start(ctx);
        }
        if let Some(src) = &self.demo_source {
            self.acquire.set_source(src);
        }
        self.acquire.dest = dir.join("demo-image.dd").display().to_string();
        self.acquire.block = "16K".into();
        self.acquire.start(ctx, &case, cmds);
        self.acquire.start_scan(ctx);
        let target = dir.join("wipe-target.bin");
        if std::fs::write(&target, vec![0x5au8; 4 << 20]).is_ok() {
            self.destroy.set_target(&target);
            self.destroy.out = dir.join("certificates").display().to_string();
        }
    }

    /// Switch the language (and remember it).
    pub fn set_lang(&mut self, lang: Lang) {
        i18n::set(lang);
        self.settings.lang = Some(lang);
    }

    /// Draw one frame into `ui` (the window's root, or a test harness).
    pub fn frame_ui(&mut self, ui: &mut Ui) {
        let mut cmds = Vec::new();
        if std::mem::take(&mut self.demo_pending) {
            self.start_demo(ui.ctx(), &mut cmds);
        }
        egui::Panel::top("salvor-top").show(ui, |ui| self.top_ui(ui));
        egui::Panel::left("salvor-nav")
            .resizable(false)
            .exact_size(150.0)
            .show(ui, |ui| self.nav_ui(ui));
        if self.settings.show_log {
            egui::Panel::bottom("salvor-log")
                .resizable(true)
                .default_size(120.0)
                .show(ui, |ui| self.log.log_ui(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let case = self.settings.case.clone();
            match self.screen {
                Screen::Sources => self.sources.sources_ui(ui, &mut cmds),
                Screen::Carve => self.carve.carve_ui(ui, &case, &mut cmds),
                Screen::Repair => self.repair.repair_ui(ui, &mut cmds),
                Screen::Verify => self.verify.verify_ui(ui, &mut cmds),
                Screen::Acquire => self.acquire.acquire_ui(ui, &case, &mut cmds),
                Screen::Destroy => self.destroy.destroy_ui(ui, &case, &mut cmds),
                Screen::Hex => self.hex.hex_ui(ui, &mut cmds),
            }
        });

        // Jobs finish and report even while their screen is not shown.
        self.carve.poll(&mut cmds);
        self.repair.poll(&mut cmds);
        self.verify.poll(&mut cmds);
        self.acquire.poll(&mut cmds);
        self.destroy.poll(&mut cmds);
        self.sources.poll(&mut cmds);
        if self.carve.busy()
            || self.verify.busy()
            || self.acquire.busy()
            || self.destroy.busy()
            || self.sources.busy()
        {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }

        if self.demo_hex_pending && self.carve.report.is_some() {
            self.demo_hex_pending = false;
            let rep = self.carve.report.as_ref();
            let id = rep.and_then(|r| {
                r.findings
                    .iter()
                    .find(|f| f.status.as_str() == "damaged")
                    .map(|f| f.id)
            });
            self.carve.selected = id;
            if let Some(c) = id.and_then(|id| self.carve.jump_command(id)) {
                let screen = self.screen;
                self.apply(c);
                self.screen = screen;
            }
        }
        for c in cmds {
            self.apply(c);
        }
        // Typing in a case field changes the settings at every key: save at most once a second
        // (and at exit, see Drop).
        if self.settings != self.saved && self.last_save.elapsed().as_secs() >= 1 {
            self.save_settings();
        }
    }

    fn save_settings(&mut self) {
        self.saved = self.settings.clone();
        self.last_save = std::time::Instant::now();
        if self.persist {
            if let Err(e) = self.settings.save() {
                self.log.push(Level::Warn, format!("{e:#}"));
            }
        }
    }

    /// Apply one command.
    pub fn apply(&mut self, c: Command) {
        match c {
            Command::Goto(s) => self.screen = s,
            Command::HexJump {
                path,
                offset,
                marks,
            } => {
                self.hex.open(&path, offset, marks);
                self.screen = Screen::Hex;
            }
            Command::UseSource(p) => {
                self.carve.set_source(&p);
                self.acquire.set_source(&p);
                self.hex.path = p.display().to_string();
                self.log.push(
                    Level::Info,
                    format!("{} {}", t("log.source-chosen"), p.display()),
                );
            }
            Command::WipeTarget(p) => self.destroy.set_target(&p),
            Command::Log(level, text) => self.log.push(level, text),
            Command::OpenFolder(p) => {
                if let Err(e) = super::widgets::open_folder(&p) {
                    self.log.push(Level::Error, format!("{e:#}"));
                }
            }
        }
    }

    fn top_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.heading("Salvor");
            ui.separator();
            let case = &mut self.settings.case;
            super::widgets::text_field(ui, t("case.case"), &mut case.case_number, 110.0);
            super::widgets::text_field(ui, t("case.examiner"), &mut case.examiner, 110.0);
            super::widgets::text_field(ui, t("case.evidence"), &mut case.evidence_number, 110.0);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                for lang in [Lang::ZhTw, Lang::En] {
                    if ui
                        .selectable_label(i18n::current() == lang, lang.native_name())
                        .clicked()
                    {
                        self.set_lang(lang);
                    }
                }
                ui.label(t("top.language"));
                ui.checkbox(&mut self.settings.show_log, t("top.show-log"));
            });
        });
    }

    fn nav_ui(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        for s in Screen::ALL {
            let busy = match s {
                Screen::Carve => self.carve.busy(),
                Screen::Acquire => self.acquire.busy(),
                Screen::Destroy => self.destroy.busy(),
                _ => false,
            };
            let label = if busy {
                format!("{} …", t(s.key()))
            } else {
                t(s.key()).to_owned()
            };
            let b =
                egui::Button::selectable(self.screen == s, egui::RichText::new(label).size(16.0))
                    .min_size(egui::vec2(ui.available_width(), 32.0));
            if ui.add(b).clicked() {
                self.screen = s;
            }
        }
    }
}

impl Drop for SalvorApp {
    fn drop(&mut self) {
        if self.settings != self.saved {
            self.save_settings();
        }
    }
}

impl eframe::App for SalvorApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }
}
