//! Acquire: imaging settings, a live sector map read from the mapfile (coloured like
//! ddrescueview), rate, ETA and bad bytes, the acquisition record at the end; and a surface
//! scan plotted with egui_plot (read time per block, errors marked).

use super::app::Command;
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::settings::Case;
use super::widgets::{self, PickKind, Picker};
use crate::acquire::hash::Algo;
use crate::acquire::io::Direct;
use crate::acquire::record::Record;
use crate::acquire::{Ending, ImageOptions};
use egui::{Color32, RichText, Ui};
use salvor_carvers::mapfile::{BlockStatus, Map};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which part of the screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Image,
    Surface,
}

/// One surface-scan block: offset, read time in µs, bad sectors.
#[derive(Debug, Clone, Copy)]
pub struct ScanPoint {
    pub offset: u64,
    pub micros: u64,
    pub bad: u64,
}

/// A `Write` the surface scan fills with CSV lines while the screen reads them.
#[derive(Clone, Default)]
struct SharedCsv(Arc<Mutex<Vec<u8>>>);

impl Write for SharedCsv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// State of the Acquire screen.
pub struct AcquireScreen {
    pub tab: Tab,
    pub source: String,
    pub dest: String,
    pub block: String,
    pub retries: u32,
    pub reverse: bool,
    pub direct: bool,
    pub verify: bool,
    pub hashes: [bool; 4],
    job: Option<Job<(Record, Ending)>>,
    map_path: Option<PathBuf>,
    pub map: Option<Map>,
    map_read: Option<Instant>,
    pub record: Option<Record>,
    pub error: Option<String>,
    scan_job: Option<Job<crate::acquire::surface::ScanSummary>>,
    scan_csv: SharedCsv,
    pub scan_points: Vec<ScanPoint>,
    pub scan_summary: Option<crate::acquire::surface::ScanSummary>,
    src_picker: Picker,
    dest_picker: Picker,
}

impl Default for AcquireScreen {
    fn default() -> Self {
        AcquireScreen {
            tab: Tab::Image,
            source: String::new(),
            dest: String::new(),
            block: "1M".into(),
            retries: 1,
            reverse: false,
            direct: true,
            verify: true,
            hashes: [true, true, true, false],
            job: None,
            map_path: None,
            map: None,
            map_read: None,
            record: None,
            error: None,
            scan_job: None,
            scan_csv: SharedCsv::default(),
            scan_points: Vec::new(),
            scan_summary: None,
            src_picker: Picker::default(),
            dest_picker: Picker::default(),
        }
    }
}

const ALGOS: [Algo; 4] = [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Blake3];

/// The colour of a mapfile status.
pub fn block_color(s: BlockStatus) -> Color32 {
    match s {
        BlockStatus::Finished => Color32::from_rgb(0x2e, 0xa0, 0x43),
        BlockStatus::NonTried => Color32::from_gray(0x70),
        BlockStatus::NonTrimmed => Color32::from_rgb(0xe0, 0xc0, 0x20),
        BlockStatus::NonScraped => Color32::from_rgb(0x40, 0x80, 0xe0),
        BlockStatus::BadSector => Color32::from_rgb(0xd0, 0x30, 0x30),
    }
}

fn severity(s: BlockStatus) -> u8 {
    match s {
        BlockStatus::Finished => 0,
        BlockStatus::NonTried => 1,
        BlockStatus::NonScraped => 2,
        BlockStatus::NonTrimmed => 3,
        BlockStatus::BadSector => 4,
    }
}

impl AcquireScreen {
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.scan_job.is_some()
    }

    /// A new source: propose an image name for it in the working folder.
    pub fn set_source(&mut self, p: &Path) {
        self.source = p.display().to_string();
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "source".into());
        let cwd = std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir());
        self.dest = cwd
            .join(format!("{}-image.dd", name.trim_end_matches(".img")))
            .display()
            .to_string();
    }

    /// Start imaging with the current settings.
    pub fn start(&mut self, ctx: &egui::Context, case: &Case, cmds: &mut Vec<Command>) {
        let Ok(block) = crate::util::parse_size(&self.block) else {
            self.error = Some(format!("{}: {}", t("acquire.block"), self.block));
            return;
        };
        let dest = PathBuf::from(self.dest.trim());
        let source = PathBuf::from(self.source.trim());
        let opts = ImageOptions {
            command: format!(
                "salvor gui image {} {}{}",
                source.display(),
                dest.display(),
                case.command_suffix()
            ),
            source,
            dest: dest.clone(),
            map: None,
            hashes: ALGOS
                .iter()
                .zip(self.hashes)
                .filter(|(_, on)| *on)
                .map(|(a, _)| *a)
                .collect(),
            verify: self.verify,
            retries: self.retries,
            reverse: self.reverse,
            block: block.max(512),
            sector: None,
            direct: if self.direct {
                Direct::Auto
            } else {
                Direct::Off
            },
            map_interval: Duration::from_secs(1),
            max_rate: None,
            piecewise: None,
            truncate_map: false,
            case: case.to_case_info(),
        };
        self.map_path = Some(crate::acquire::side_path(&dest, "map"));
        self.map = None;
        self.record = None;
        self.error = None;
        cmds.push(Command::Log(
            Level::Info,
            format!(
                "{} {} → {}",
                t("acquire.started"),
                self.source,
                dest.display()
            ),
        ));
        self.job = Some(Job::spawn(ctx, move |p| crate::acquire::image(&opts, p)));
    }

    /// Start a surface scan of the source.
    pub fn start_scan(&mut self, ctx: &egui::Context) {
        if self.scan_job.is_some() {
            return;
        }
        let source = PathBuf::from(self.source.trim());
        let block = crate::util::parse_size(&self.block).unwrap_or(1 << 20);
        let direct = if self.direct {
            Direct::Auto
        } else {
            Direct::Off
        };
        self.scan_csv = SharedCsv::default();
        self.scan_points.clear();
        self.scan_summary = None;
        self.error = None;
        let mut out = self.scan_csv.clone();
        self.scan_job = Some(Job::spawn(ctx, move |p| {
            crate::acquire::surface::scan(&source, block, None, direct, &mut out, p)
        }));
    }

    /// Collect finished jobs.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        if let Some(r) = self.job.as_mut().and_then(|j| j.poll()) {
            self.job = None;
            self.reload_map();
            match r {
                Ok((rec, ending)) => {
                    let (level, word) = match ending {
                        Ending::Complete => (Level::Info, t("acquire.complete")),
                        Ending::CompleteWithBadSectors => (Level::Warn, t("acquire.with-bad")),
                        Ending::Interrupted => (Level::Warn, t("acquire.interrupted")),
                    };
                    cmds.push(Command::Log(level, format!("{word}: {}", rec.image)));
                    self.record = Some(rec);
                }
                Err(e) => {
                    let m = format!("{e:#}");
                    cmds.push(Command::Log(Level::Error, m.clone()));
                    self.error = Some(m);
                }
            }
        }
        if let Some(r) = self.scan_job.as_mut().and_then(|j| j.poll()) {
            self.scan_job = None;
            self.parse_scan();
            match r {
                Ok(s) => {
                    cmds.push(Command::Log(
                        Level::Info,
                        format!(
                            "{}: {} {}, {} {}",
                            t("acquire.scan-done"),
                            s.blocks,
                            t("acquire.blocks"),
                            s.bad_blocks,
                            t("acquire.bad-blocks")
                        ),
                    ));
                    self.scan_summary = Some(s);
                }
                Err(e) => {
                    let m = format!("{e:#}");
                    cmds.push(Command::Log(Level::Error, m.clone()));
                    self.error = Some(m);
                }
            }
        }
    }

    fn reload_map(&mut self) {
        self.map_read = Some(Instant::now());
        if let Some(p) = &self.map_path {
            if let Some(m) = std::fs::read_to_string(p)
                .ok()
                .and_then(|t| Map::parse(&t).ok())
            {
                self.map = Some(m);
            }
        }
    }

    fn parse_scan(&mut self) {
        let text = match self.scan_csv.0.lock() {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => return,
        };
        self.scan_points = text
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some(ScanPoint {
                    offset: f.first()?.parse().ok()?,
                    micros: f.get(2)?.parse().ok()?,
                    bad: f.get(3)?.parse().ok()?,
                })
            })
            .collect();
    }

    /// Draw the screen.
    pub fn acquire_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        ui.heading(t("acquire.title"));
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, Tab::Image, t("acquire.tab-image"));
            ui.selectable_value(&mut self.tab, Tab::Surface, t("acquire.tab-surface"));
        });
        ui.separator();
        ui.horizontal(|ui| {
            widgets::text_field(ui, t("acquire.source"), &mut self.source, 380.0);
            if let Some(p) = self.src_picker.button_ui(ui, t("browse"), PickKind::File) {
                self.set_source(&p);
            }
        });
        match self.tab {
            Tab::Image => self.image_ui(ui, case, cmds),
            Tab::Surface => self.surface_ui(ui),
        }
        if let Some(e) = &self.error {
            ui.colored_label(widgets::status_color("lost"), e);
        }
    }

    fn image_ui(&mut self, ui: &mut Ui, case: &Case, cmds: &mut Vec<Command>) {
        let idle = self.job.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("acquire.dest"), &mut self.dest, 380.0);
                if let Some(p) = self.dest_picker.button_ui(ui, t("browse"), PickKind::Save) {
                    self.dest = p.display().to_string();
                }
            });
            ui.horizontal(|ui| {
                widgets::text_field(ui, t("acquire.block"), &mut self.block, 60.0);
                ui.label(t("acquire.retries"));
                ui.add(egui::DragValue::new(&mut self.retries).range(0..=16));
                ui.checkbox(&mut self.reverse, t("acquire.reverse"));
                ui.checkbox(&mut self.direct, t("acquire.direct"));
                ui.checkbox(&mut self.verify, t("acquire.verify"));
            });
            ui.horizontal(|ui| {
                ui.label(t("acquire.hashes"));
                for (a, on) in ALGOS.iter().zip(self.hashes.iter_mut()) {
                    ui.checkbox(on, a.name());
                }
                if ui
                    .button(RichText::new(t("acquire.start")).strong())
                    .clicked()
                {
                    self.start(ui.ctx(), case, cmds);
                }
            });
        });
        if let Some(job) = &self.job {
            let s = job.stats();
            let phase = crate::acquire::rescue::PHASES
                .get(s.phase as usize)
                .map(|p| phase_key(p))
                .map(t)
                .unwrap_or("");
            ui.horizontal(|ui| {
                if ui.button(t("cancel")).clicked() {
                    job.cancel();
                }
                ui.colored_label(
                    if s.found > 0 {
                        widgets::status_color("bad")
                    } else {
                        ui.visuals().text_color()
                    },
                    format!("{} {}", t("acquire.bad-bytes"), widgets::size(s.found)),
                );
            });
            widgets::progress_ui(ui, &s, phase);
            if self
                .map_read
                .is_none_or(|t| t.elapsed() > Duration::from_millis(500))
            {
                self.reload_map();
            }
        }
        if let Some(map) = &self.map {
            map_ui(ui, map);
        }
        if let Some(rec) = &self.record {
            ui.separator();
            ui.strong(t("acquire.record"));
            egui::ScrollArea::vertical()
                .id_salt("record")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.label(RichText::new(rec.to_info()).monospace());
                });
        }
    }

    fn surface_ui(&mut self, ui: &mut Ui) {
        let idle = self.scan_job.is_none();
        ui.horizontal(|ui| {
            ui.add_enabled_ui(idle, |ui| {
                widgets::text_field(ui, t("acquire.block"), &mut self.block, 60.0);
                if ui
                    .button(RichText::new(t("acquire.scan-start")).strong())
                    .clicked()
                {
                    self.start_scan(ui.ctx());
                }
            });
            if let Some(j) = &self.scan_job {
                if ui.button(t("cancel")).clicked() {
                    j.cancel();
                }
            }
        });
        if let Some(j) = &self.scan_job {
            let s = j.stats();
            widgets::progress_ui(ui, &s, t("acquire.tab-surface"));
            self.parse_scan();
        }
        if let Some(s) = &self.scan_summary {
            ui.label(format!(
                "{} {}   {} {}   {} {}   {} {} µs",
                t("acquire.blocks"),
                s.blocks,
                t("acquire.bad-blocks"),
                s.bad_blocks,
                t("acquire.bad-sectors"),
                s.bad_sectors,
                t("acquire.slowest"),
                s.slowest_block_us
            ));
        }
        self.plot_ui(ui);
    }

    fn plot_ui(&self, ui: &mut Ui) {
        use egui_plot::{Legend, Line, Plot, Points};
        const MAX: usize = 4000;
        let step = self.scan_points.len().div_ceil(MAX).max(1);
        // Keep the slowest read of each bucket so slow spots survive the thinning.
        let times: Vec<[f64; 2]> = self
            .scan_points
            .chunks(step)
            .filter_map(|c| c.iter().max_by_key(|p| p.micros))
            .map(|p| [p.offset as f64 / 1048576.0, p.micros as f64 / 1000.0])
            .collect();
        let errors: Vec<[f64; 2]> = self
            .scan_points
            .iter()
            .filter(|p| p.bad > 0)
            .take(MAX)
            .map(|p| [p.offset as f64 / 1048576.0, p.micros as f64 / 1000.0])
            .collect();
        Plot::new("surface-plot")
            .legend(Legend::default())
            .x_axis_label(t("acquire.plot-x"))
            .y_axis_label(t("acquire.plot-y"))
            .height(ui.available_height().max(160.0))
            .show(ui, move |p| {
                p.line(
                    Line::new(t("acquire.read-time"), times)
                        .color(Color32::from_rgb(0x40, 0x90, 0xe0)),
                );
                p.points(
                    Points::new(t("acquire.errors"), errors)
                        .color(widgets::status_color("bad"))
                        .radius(4.0),
                );
            });
    }
}

fn phase_key(p: &str) -> &'static str {
    match p {
        "copying" => "phase.copying",
        "trimming" => "phase.trimming",
        "scraping" => "phase.scraping",
        "retrying" => "phase.retrying",
        "hashing" => "phase.hashing",
        _ => "phase.verifying",
    }
}

/// The worst status inside each of `cells` equal slices of the map (bad beats non-trimmed beats
/// non-scraped beats non-tried beats finished), so one bad sector stays visible at any size.
pub fn cell_statuses(map: &Map, cells: u64) -> Vec<Option<BlockStatus>> {
    let size = map.size().max(1);
    let blocks = map.blocks();
    let mut out = Vec::with_capacity(cells as usize);
    let mut b = 0;
    for i in 0..cells {
        let lo = (size as u128 * i as u128 / cells as u128) as u64;
        let hi = ((size as u128 * (i + 1) as u128 / cells as u128) as u64).max(lo + 1);
        while b < blocks.len() && blocks[b].end() <= lo {
            b += 1;
        }
        let mut worst = None::<BlockStatus>;
        let mut k = b;
        while k < blocks.len() && blocks[k].pos < hi {
            let s = blocks[k].status;
            if worst.is_none_or(|w| severity(s) > severity(w)) {
                worst = Some(s);
            }
            k += 1;
        }
        out.push(worst);
    }
    out
}

/// The sector map: the source split into cells, each coloured by the worst status inside it.
pub fn map_ui(ui: &mut Ui, map: &Map) {
    let cols = 96u64;
    let rows = 12u64;
    let cells = cols * rows;
    let cell = egui::vec2(
        ((ui.available_width() - 10.0) / cols as f32).clamp(4.0, 12.0),
        10.0,
    );
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(cell.x * cols as f32, cell.y * rows as f32),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    for (i, s) in cell_statuses(map, cells).into_iter().enumerate() {
        let Some(s) = s else { continue };
        let i = i as u64;
        let x = rect.left() + (i % cols) as f32 * cell.x;
        let y = rect.top() + (i / cols) as f32 * cell.y;
        painter.rect_filled(
            egui::Rect::from_min_size(egui::pos2(x, y), cell - egui::vec2(1.0, 1.0)),
            0.0,
            block_color(s),
        );
    }
    ui.horizontal_wrapped(|ui| {
        for (s, key) in [
            (BlockStatus::Finished, "map.finished"),
            (BlockStatus::NonTried, "map.non-tried"),
            (BlockStatus::NonTrimmed, "map.non-trimmed"),
            (BlockStatus::NonScraped, "map.non-scraped"),
            (BlockStatus::BadSector, "map.bad"),
        ] {
            ui.colored_label(block_color(s), "■");
            ui.label(format!("{} {}", t(key), widgets::size(map.total(s))));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_sector_colours_its_cell() {
        let mut map = Map::new(1 << 30);
        map.set(0, 1 << 30, BlockStatus::Finished);
        map.set(700 << 20, 512, BlockStatus::BadSector);
        map.set(900 << 20, 1 << 20, BlockStatus::NonTried);
        let cells = cell_statuses(&map, 1024);
        assert_eq!(cells.len(), 1024);
        assert_eq!(cells[700], Some(BlockStatus::BadSector));
        assert_eq!(cells[900], Some(BlockStatus::NonTried));
        let bad = cells
            .iter()
            .filter(|c| **c == Some(BlockStatus::BadSector))
            .count();
        assert_eq!(bad, 1);
        assert!(cells.iter().all(Option::is_some));
    }
}
