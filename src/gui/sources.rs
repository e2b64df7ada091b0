//! Sources: block devices and optical drives from /sys/block, image files through a dialog, and
//! the device and volume facts of the selected one.

use super::app::{Command, Screen};
use super::i18n::t;
use super::jobs::Job;
use super::log::Level;
use super::widgets::{self, PickKind, Picker};
use egui::{RichText, Ui};
use std::path::{Path, PathBuf};

/// One block device as listed.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub path: PathBuf,
    pub name: String,
    pub model: String,
    pub serial: String,
    pub size: u64,
    pub removable: bool,
    /// Mount points of the device and its partitions.
    pub mounts: Vec<String>,
    pub optical: bool,
}

fn sysfs(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn dev_number(p: &Path) -> Option<(u32, u32)> {
    let s = sysfs(p);
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Every block device under /sys/block (RAM disks and unattached loop devices left out).
pub fn list_devices() -> Vec<DeviceRow> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| crate::wipe::safety::parse_mountinfo(&t))
        .unwrap_or_default();
    let mut rows = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return rows;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let sys = e.path();
        let size = sysfs(&sys.join("size")).parse::<u64>().unwrap_or(0) * 512;
        if name.starts_with("ram")
            || name.starts_with("zram")
            || (name.starts_with("loop") && size == 0)
        {
            continue;
        }
        // The device itself and each partition directory (`sda1`, `nvme0n1p2`...).
        let mut devs: Vec<(u32, u32)> = dev_number(&sys.join("dev")).into_iter().collect();
        if let Ok(parts) = std::fs::read_dir(&sys) {
            for p in parts.flatten() {
                if p.file_name().to_string_lossy().starts_with(&name) {
                    devs.extend(dev_number(&p.path().join("dev")));
                }
            }
        }
        let mut on: Vec<String> = mounts
            .iter()
            .filter(|m| devs.iter().any(|d| (d.0, d.1) == (m.dev.0, m.dev.1)))
            .map(|m| m.mountpoint.clone())
            .collect();
        on.dedup();
        let mut serial = sysfs(&sys.join("device/serial"));
        if serial.is_empty() {
            serial = sysfs(&sys.join("serial"));
        }
        rows.push(DeviceRow {
            path: PathBuf::from("/dev").join(&name),
            model: sysfs(&sys.join("device/model")),
            serial,
            size,
            removable: sysfs(&sys.join("removable")) == "1",
            mounts: on,
            optical: name.starts_with("sr"),
            name,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// Device and volume facts of one source, as label/value pairs.
pub type Facts = Vec<(String, String)>;

fn facts_of(path: &Path) -> anyhow::Result<Facts> {
    let dev = crate::acquire::device::probe(path)?;
    let vol = crate::acquire::device::volumes(path);
    let mut out = Facts::new();
    let mut add = |prefix: &str, v: serde_json::Value| {
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    v => v.to_string(),
                };
                out.push((format!("{prefix}{k}"), text));
            }
        }
    };
    add("", serde_json::to_value(&dev)?);
    if let Some(iso) = vol.iso9660 {
        add("iso9660.", serde_json::to_value(&iso)?);
    }
    if let Some(udf) = vol.udf {
        add("udf.", serde_json::to_value(&udf)?);
    }
    Ok(out)
}

/// State of the Sources screen.
#[derive(Default)]
pub struct SourcesScreen {
    pub devices: Vec<DeviceRow>,
    listing: Option<Job<Vec<DeviceRow>>>,
    listed_once: bool,
    pub selected: Option<PathBuf>,
    pub facts: Option<Facts>,
    probing: Option<Job<Facts>>,
    picker: Picker,
}

impl SourcesScreen {
    pub fn busy(&self) -> bool {
        self.listing.is_some() || self.probing.is_some()
    }

    /// Collect finished listings and probes.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) {
        if let Some(r) = self.listing.as_mut().and_then(|j| j.poll()) {
            self.listing = None;
            match r {
                Ok(d) => self.devices = d,
                Err(e) => cmds.push(Command::Log(Level::Error, format!("{e:#}"))),
            }
        }
        if let Some(r) = self.probing.as_mut().and_then(|j| j.poll()) {
            self.probing = None;
            match r {
                Ok(f) => self.facts = Some(f),
                Err(e) => {
                    self.facts = None;
                    cmds.push(Command::Log(Level::Error, format!("{e:#}")));
                }
            }
        }
    }

    fn refresh(&mut self, ctx: &egui::Context) {
        self.listing = Some(Job::spawn(ctx, |_| Ok(list_devices())));
    }

    /// Select a source and probe its facts on a thread.
    pub fn select(&mut self, ctx: &egui::Context, path: PathBuf) {
        self.facts = None;
        let p = path.clone();
        self.probing = Some(Job::spawn(ctx, move |_| facts_of(&p)));
        self.selected = Some(path);
    }

    /// Select a source and make it the current source of the other screens.
    fn choose(&mut self, ctx: &egui::Context, path: PathBuf, cmds: &mut Vec<Command>) {
        self.select(ctx, path.clone());
        cmds.push(Command::UseSource(path));
    }

    /// Draw the screen.
    pub fn sources_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        if !self.listed_once {
            self.listed_once = true;
            self.refresh(ui.ctx());
        }
        ui.heading(t("sources.title"));
        ui.horizontal(|ui| {
            if ui.button(t("sources.refresh")).clicked() {
                self.refresh(ui.ctx());
            }
            if let Some(p) = self
                .picker
                .button_ui(ui, t("sources.open-image"), PickKind::File)
            {
                self.choose(ui.ctx(), p, cmds);
            }
            if let Some(img) = super::app::demo_image() {
                if ui.button(t("sources.demo")).clicked() {
                    self.choose(ui.ctx(), img, cmds);
                }
            }
        });
        ui.add_space(4.0);
        self.devices_ui(ui, cmds);
        ui.separator();
        self.facts_ui(ui, cmds);
    }

    fn devices_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        use egui_extras::{Column, TableBuilder};
        let mut pick = None;
        TableBuilder::new(ui)
            .id_salt("devices")
            .striped(true)
            .max_scroll_height(220.0)
            .column(Column::exact(110.0))
            .column(Column::exact(220.0).clip(true))
            .column(Column::exact(180.0).clip(true))
            .column(Column::exact(90.0))
            .column(Column::exact(80.0))
            .column(Column::remainder())
            .header(22.0, |mut h| {
                for k in [
                    "sources.device",
                    "sources.model",
                    "sources.serial",
                    "sources.size",
                    "sources.removable",
                    "sources.mounted",
                ] {
                    h.col(|ui| {
                        ui.strong(t(k));
                    });
                }
            })
            .body(|mut body| {
                for d in &self.devices {
                    body.row(22.0, |mut row| {
                        row.set_selected(self.selected.as_deref() == Some(d.path.as_path()));
                        row.col(|ui| {
                            let name = if d.optical {
                                format!("{} ({})", d.path.display(), t("sources.optical"))
                            } else {
                                d.path.display().to_string()
                            };
                            if ui.selectable_label(false, name).clicked() {
                                pick = Some(d.path.clone());
                            }
                        });
                        row.col(|ui| {
                            ui.label(&d.model);
                        });
                        row.col(|ui| {
                            ui.label(&d.serial);
                        });
                        row.col(|ui| {
                            ui.label(widgets::size(d.size));
                        });
                        row.col(|ui| {
                            ui.label(if d.removable { t("yes") } else { t("no") });
                        });
                        row.col(|ui| {
                            if d.mounts.is_empty() {
                                ui.label(t("no"));
                            } else {
                                ui.label(d.mounts.join(", "));
                            }
                        });
                    });
                }
            });
        if self.devices.is_empty() && self.listing.is_none() {
            ui.label(t("sources.none"));
        }
        if let Some(p) = pick {
            self.choose(ui.ctx(), p, cmds);
        }
    }

    fn facts_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let Some(sel) = self.selected.clone() else {
            ui.label(t("sources.pick-one"));
            return;
        };
        ui.horizontal(|ui| {
            ui.strong(format!("{} {}", t("sources.selected"), sel.display()));
            for (key, screen) in [
                ("sources.to-carve", Screen::Carve),
                ("sources.to-acquire", Screen::Acquire),
                ("sources.to-hex", Screen::Hex),
                ("sources.to-destroy", Screen::Destroy),
            ] {
                if ui.button(t(key)).clicked() {
                    cmds.push(Command::UseSource(sel.clone()));
                    if screen == Screen::Destroy {
                        cmds.push(Command::WipeTarget(sel.clone()));
                    }
                    if screen == Screen::Hex {
                        cmds.push(Command::HexJump {
                            path: sel.clone(),
                            offset: 0,
                            marks: Vec::new(),
                        });
                    } else {
                        cmds.push(Command::Goto(screen));
                    }
                }
            }
        });
        if self.probing.is_some() {
            ui.spinner();
        }
        let Some(facts) = &self.facts else { return };
        ui.label(RichText::new(t("sources.facts")).strong());
        egui::ScrollArea::vertical()
            .id_salt("facts")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                egui::Grid::new("facts-grid")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for (k, v) in facts {
                            ui.label(RichText::new(k).monospace());
                            ui.label(v);
                            ui.end_row();
                        }
                    });
            });
    }
}
