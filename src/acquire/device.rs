//! Facts about a source: what it is, its size and sector sizes (ioctls), its identity (sysfs),
//! and, for optical media and their images, the ISO 9660 and UDF volume facts.

use crate::source::{ReadMode, Source};
use salvor_carvers::iso9660::{self, IsoVolume};
use salvor_carvers::udf::{self, UdfVolume};
use serde::Serialize;
use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Major number of SCSI CD-ROM devices (`/dev/sr*`).
const SCSI_CDROM_MAJOR: u32 = 11;
/// Major number of loop devices.
const LOOP_MAJOR: u32 = 7;

/// Everything known about a source before reading it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceFacts {
    pub path: PathBuf,
    pub canonical: PathBuf,
    /// `file`, `block-device`.
    pub kind: &'static str,
    /// `disk`, `optical`, `loop` or `image-file`.
    pub class: &'static str,
    pub size: u64,
    pub logical_sector: u64,
    pub physical_sector: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotational: Option<bool>,
    /// The file behind a loop device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backing_file: Option<String>,
    /// Modification time of an image file (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
}

/// Volume facts of optical media or ISO/UDF images.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VolumeFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso9660: Option<IsoVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udf: Option<UdfVolume>,
}

fn sysfs(path: &Path) -> Option<String> {
    let t = std::fs::read_to_string(path).ok()?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn sysfs_num(path: &Path) -> Option<u64> {
    sysfs(path)?.parse().ok()
}

/// Probe a source (opened read-only).
pub fn probe(path: &Path) -> anyhow::Result<DeviceFacts> {
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let meta = file.metadata()?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    if meta.is_file() {
        return Ok(DeviceFacts {
            path: path.to_owned(),
            canonical,
            kind: "file",
            class: "image-file",
            size: meta.len(),
            logical_sector: 512,
            physical_sector: 512,
            device_number: None,
            model: None,
            vendor: None,
            serial: None,
            firmware: None,
            removable: None,
            rotational: None,
            backing_file: None,
            mtime: Some(meta.mtime()),
        });
    }
    if !meta.file_type().is_block_device() {
        anyhow::bail!(
            "{} is neither a regular file nor a block device",
            path.display()
        );
    }
    let rdev = meta.rdev();
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    // Whole disks have queue/ directly; a partition's queue is its parent's.
    let queue = if sys.join("queue").is_dir() {
        sys.join("queue")
    } else {
        sys.join("../queue")
    };
    let logical = super::ioctl::logical_sector(&file)
        .or_else(|| sysfs_num(&queue.join("logical_block_size")))
        .unwrap_or(512);
    let physical = super::ioctl::physical_sector(&file)
        .or_else(|| sysfs_num(&queue.join("physical_block_size")))
        .unwrap_or(logical);
    let size = match super::ioctl::size_bytes(&file) {
        Some(s) => s,
        None => sysfs_num(&sys.join("size")).map_or(0, |s| s * 512),
    };
    let class = match major {
        SCSI_CDROM_MAJOR => "optical",
        LOOP_MAJOR => "loop",
        _ => "disk",
    };
    let dev = sys.join("device");
    Ok(DeviceFacts {
        path: path.to_owned(),
        canonical,
        kind: "block-device",
        class,
        size,
        logical_sector: logical,
        physical_sector: physical,
        device_number: Some(format!("{major}:{minor}")),
        model: sysfs(&dev.join("model")),
        vendor: sysfs(&dev.join("vendor")),
        serial: sysfs(&dev.join("serial"))
            .or_else(|| sysfs(&sys.join("serial")))
            .or_else(|| sysfs(&dev.join("wwid"))),
        firmware: sysfs(&dev.join("rev")).or_else(|| sysfs(&dev.join("firmware_rev"))),
        removable: sysfs_num(&sys.join("removable")).map(|v| v != 0),
        rotational: sysfs_num(&queue.join("rotational")).map(|v| v != 0),
        backing_file: sysfs(&sys.join("loop/backing_file")),
        mtime: None,
    })
}

/// Read the ISO 9660 and UDF facts; unreadable sectors just leave a fact out.
pub fn volumes(path: &Path) -> VolumeFacts {
    let Ok(source) = Source::open(path, ReadMode::Buffered) else {
        return VolumeFacts::default();
    };
    VolumeFacts {
        iso9660: iso9660::probe(&source),
        udf: udf::probe(&source),
    }
}
