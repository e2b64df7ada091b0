//! Which target may be wiped. Everything here only reads /proc and /sys and stats paths: it
//! never opens the target for writing, so it can be tried against any device, the system disk
//! included.

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A device number as `(major, minor)`.
pub type DevNum = (u32, u32);

/// What kind of object the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    File,
    BlockDevice,
}

/// Facts about a target gathered without opening it for writing.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TargetFacts {
    pub path: PathBuf,
    pub canonical: PathBuf,
    pub kind: TargetKind,
    pub size: u64,
    /// `major:minor` of a block device.
    pub device_number: Option<String>,
    /// Kernel name (`sda`, `loop3`, `nvme0n1p2`).
    pub kernel_name: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// hdd, ssd, nvme, mmc, loop, file or unknown.
    pub media_type: String,
    /// File backing a loop device.
    pub loop_backing_file: Option<PathBuf>,
    /// Whether hidden areas (ATA HPA/DCO) were checked, in words; never "none" unless proven.
    pub hidden_areas: String,
}

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{target} is neither a regular file nor a block device")]
    NotFileOrDevice { target: String },
    #[error("{target} holds the root filesystem `{mountpoint}` (through {device})")]
    HoldsSystem {
        target: String,
        device: String,
        mountpoint: String,
    },
    #[error("{target} is mounted: {device} on {mountpoint}; unmount it first")]
    Mounted {
        target: String,
        device: String,
        mountpoint: String,
    },
    #[error("{target} is active swap ({swap}); run swapoff first")]
    Swap { target: String, swap: String },
    #[error("{target} is held by {holder} (LVM, RAID, dm-crypt or similar); take it apart first")]
    Held { target: String, holder: String },
    #[error("{target} is built on {slave} (a dm or md device); wipe the member devices instead")]
    Holder { target: String, slave: String },
    #[error("{target} backs loop device {loop_dev}; detach it first (losetup -d)")]
    BacksLoop { target: String, loop_dev: String },
    #[error("{target} is open in process {pid} ({command}), perhaps a running job; stop it first")]
    OpenElsewhere {
        target: String,
        pid: u32,
        command: String,
    },
}

fn read_trim(path: &Path) -> Option<String> {
    let t = std::fs::read_to_string(path).ok()?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn sys_dir(name: &str) -> PathBuf {
    PathBuf::from("/sys/class/block").join(name)
}

fn devnum_of_rdev(rdev: u64) -> DevNum {
    (rustix::fs::major(rdev), rustix::fs::minor(rdev))
}

/// Kernel name of a block device number, from /sys/dev/block.
fn kernel_name(dev: DevNum) -> Option<String> {
    let link = std::fs::read_link(format!("/sys/dev/block/{}:{}", dev.0, dev.1)).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The device number in a sysfs folder's `dev` file.
fn sys_devnum(dir: &Path) -> Option<DevNum> {
    let t = read_trim(&dir.join("dev"))?;
    let (a, b) = t.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Partitions of a whole disk: sub-folders of its sysfs folder with a `partition` file.
fn partitions(name: &str) -> Vec<String> {
    list_dir(&sys_dir(name))
        .into_iter()
        .filter(|c| sys_dir(name).join(c).join("partition").exists())
        .collect()
}

/// The target, its partitions and everything stacked on any of them, by kernel name.
fn related(name: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let mut todo = vec![name.to_owned()];
    todo.extend(partitions(name));
    while let Some(n) = todo.pop() {
        if set.insert(n.clone()) {
            todo.extend(list_dir(&sys_dir(&n).join("holders")));
        }
    }
    set
}

/// Gather facts about a target: stat, sysfs, never an open for writing.
pub fn inspect(path: &Path) -> Result<TargetFacts, anyhow::Error> {
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot inspect {}: {e}", path.display()))?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let shown = path.display().to_string();
    if meta.is_file() {
        return Ok(TargetFacts {
            path: path.to_owned(),
            canonical,
            kind: TargetKind::File,
            size: meta.len(),
            device_number: None,
            kernel_name: None,
            vendor: None,
            model: None,
            serial: None,
            media_type: "file".into(),
            loop_backing_file: None,
            hidden_areas: "not applicable (a file has none)".into(),
        });
    }
    if !meta.file_type().is_block_device() {
        return Err(Refusal::NotFileOrDevice { target: shown }.into());
    }
    let dev = devnum_of_rdev(meta.rdev());
    let name = kernel_name(dev);
    let sys = PathBuf::from(format!("/sys/dev/block/{}:{}", dev.0, dev.1));
    let sectors: u64 = read_trim(&sys.join("size"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // A partition's device facts live in its parent's folder.
    let dev_dir = if sys.join("partition").exists() {
        sys.join("../device")
    } else {
        sys.join("device")
    };
    let n = name.clone().unwrap_or_default();
    let rotational = read_trim(&sys.join("queue/rotational"));
    let media_type = if n.starts_with("loop") {
        "loop"
    } else if n.starts_with("nvme") {
        "nvme"
    } else if n.starts_with("mmcblk") {
        "mmc"
    } else {
        match rotational.as_deref() {
            Some("1") => "hdd",
            Some("0") => "ssd",
            _ => "unknown",
        }
    };
    let hidden_areas = match media_type {
        "loop" => "not applicable (loop device over a file)".to_owned(),
        "nvme" | "mmc" | "ssd" => {
            "not determined: over-provisioned and remapped flash cannot be reached by \
             overwriting, and Salvor sends no firmware commands"
                .to_owned()
        }
        _ => "not determined: Salvor does not query ATA HPA/DCO".to_owned(),
    };
    Ok(TargetFacts {
        path: path.to_owned(),
        canonical,
        kind: TargetKind::BlockDevice,
        size: sectors * 512,
        device_number: Some(format!("{}:{}", dev.0, dev.1)),
        kernel_name: name,
        vendor: read_trim(&dev_dir.join("vendor")),
        model: read_trim(&dev_dir.join("model")),
        serial: read_trim(&dev_dir.join("serial"))
            .or_else(|| read_trim(&sys.join("serial")))
            .or_else(|| read_trim(&dev_dir.join("wwid"))),
        media_type: media_type.into(),
        loop_backing_file: read_trim(&sys.join("loop/backing_file")).map(PathBuf::from),
        hidden_areas,
    })
}

/// One line of /proc/self/mountinfo: device number, mount point and mount source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: DevNum,
    pub mountpoint: String,
    pub source: String,
}

/// Parse /proc/self/mountinfo (octal escapes in paths are decoded).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let unescape = |s: &str| {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && i + 4 <= b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let (maj, min) = f.get(2)?.split_once(':')?;
            let sep = f.iter().position(|x| *x == "-")?;
            Some(Mount {
                dev: (maj.parse().ok()?, min.parse().ok()?),
                mountpoint: unescape(f.get(4)?),
                source: unescape(f.get(sep + 2)?),
            })
        })
        .collect()
}

/// Paths in /proc/swaps.
pub fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(|s| s.replace("\\040", " "))
        .collect()
}

/// Every reason to refuse `facts`, reading the live system. Empty means the target may be
/// wiped. Reads only.
pub fn check(facts: &TargetFacts) -> Vec<Refusal> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    let mut out = check_with(facts, &parse_mountinfo(&mountinfo), &parse_swaps(&swaps));
    out.extend(open_elsewhere(facts));
    out
}

/// The checks that depend on mounts and swaps, with those given (for tests).
pub fn check_with(facts: &TargetFacts, mounts: &[Mount], swaps: &[String]) -> Vec<Refusal> {
    let target = facts.path.display().to_string();
    let mut out = Vec::new();
    match facts.kind {
        TargetKind::File => {
            let me = std::fs::metadata(&facts.canonical).ok();
            for s in swaps {
                let same = match (&me, std::fs::metadata(s)) {
                    (Some(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                    _ => false,
                };
                if same {
                    out.push(Refusal::Swap {
                        target: target.clone(),
                        swap: s.clone(),
                    });
                }
            }
            for l in list_dir(Path::new("/sys/block")) {
                if !l.starts_with("loop") {
                    continue;
                }
                let backing = read_trim(&sys_dir(&l).join("loop/backing_file"));
                if backing.as_deref().map(Path::new) == Some(facts.canonical.as_path()) {
                    out.push(Refusal::BacksLoop {
                        target: target.clone(),
                        loop_dev: format!("/dev/{l}"),
                    });
                }
            }
        }
        TargetKind::BlockDevice => {
            let Some(name) = facts.kernel_name.clone() else {
                return out;
            };
            let rel = related(&name);
            let nums: BTreeSet<DevNum> =
                rel.iter().filter_map(|n| sys_devnum(&sys_dir(n))).collect();
            let rdev_in = |p: &str| {
                std::fs::metadata(p)
                    .ok()
                    .filter(|m| m.file_type().is_block_device())
                    .map(|m| nums.contains(&devnum_of_rdev(m.rdev())))
                    .unwrap_or(false)
            };
            for m in mounts {
                if !(nums.contains(&m.dev) || (m.source.starts_with('/') && rdev_in(&m.source))) {
                    continue;
                }
                let device = kernel_name(m.dev)
                    .map(|n| format!("/dev/{n}"))
                    .unwrap_or_else(|| m.source.clone());
                if m.mountpoint == "/" || m.mountpoint == "/boot" || m.mountpoint == "/boot/efi" {
                    out.push(Refusal::HoldsSystem {
                        target: target.clone(),
                        device,
                        mountpoint: m.mountpoint.clone(),
                    });
                } else {
                    out.push(Refusal::Mounted {
                        target: target.clone(),
                        device,
                        mountpoint: m.mountpoint.clone(),
                    });
                }
            }
            for s in swaps {
                if rdev_in(s) {
                    out.push(Refusal::Swap {
                        target: target.clone(),
                        swap: s.clone(),
                    });
                }
            }
            for n in std::iter::once(name.clone()).chain(partitions(&name)) {
                for h in list_dir(&sys_dir(&n).join("holders")) {
                    out.push(Refusal::Held {
                        target: target.clone(),
                        holder: format!("/dev/{h}"),
                    });
                }
            }
            for s in list_dir(&sys_dir(&name).join("slaves")) {
                out.push(Refusal::Holder {
                    target: target.clone(),
                    slave: format!("/dev/{s}"),
                });
            }
        }
    }
    out
}

/// Other processes that have the target open (a running carve or acquisition, a shell...).
fn open_elsewhere(facts: &TargetFacts) -> Vec<Refusal> {
    let Ok(me) = std::fs::metadata(&facts.canonical) else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let hit = fds.flatten().any(|fd| match std::fs::metadata(fd.path()) {
            Ok(m) => match facts.kind {
                TargetKind::BlockDevice => m.file_type().is_block_device() && m.rdev() == me.rdev(),
                TargetKind::File => m.dev() == me.dev() && m.ino() == me.ino(),
            },
            Err(_) => false,
        });
        if hit {
            out.push(Refusal::OpenElsewhere {
                target: facts.path.display().to_string(),
                pid,
                command: read_trim(&p.path().join("comm")).unwrap_or_default(),
            });
        }
    }
    out
}

/// `--confirm` must be the device's serial number or the target's exact path.
pub fn confirm_matches(facts: &TargetFacts, confirm: &str) -> bool {
    let c = confirm.trim();
    !c.is_empty()
        && (facts.serial.as_deref() == Some(c)
            || Path::new(c) == facts.path
            || Path::new(c) == facts.canonical)
}

/// What `--confirm` accepts, for the refusal message.
pub fn confirm_hint(facts: &TargetFacts) -> String {
    match &facts.serial {
        Some(s) => format!(
            "the serial number {s:?} or the path {}",
            facts.path.display()
        ),
        None => format!("the path {}", facts.path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let t = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                 90 27 7:3 / /tmp/a\\040b rw shared:5 - ext4 /dev/loop3 rw\n";
        let m = parse_mountinfo(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].dev, (254, 0));
        assert_eq!(m[1].mountpoint, "/tmp/a b");
        assert_eq!(m[1].source, "/dev/loop3");
    }

    #[test]
    fn swaps_lines() {
        let t = "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 100 0 -2\n";
        assert_eq!(parse_swaps(t), vec!["/dev/sda2".to_owned()]);
    }
}
