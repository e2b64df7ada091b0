//! Evidence sources: image files and block devices, always opened read-only.
//!
//! A source is read through a memory map where the kernel allows one, and through positional
//! reads otherwise. This is the only module with `unsafe` code (the map itself).

use salvor_carvers::ByteView;
use std::borrow::Cow;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How to read the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReadMode {
    /// Memory map, falling back to positional reads when mapping fails.
    #[default]
    Auto,
    /// Positional reads only (safer on failing media: a read error cannot raise SIGBUS).
    Buffered,
}

/// What kind of object the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    File,
    BlockDevice,
}

/// Facts that identify a source in reports and the audit log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Identity {
    pub path: PathBuf,
    pub canonical: PathBuf,
    pub kind: SourceKind,
    pub size: u64,
    /// Device number of the filesystem holding a file, or of the device itself.
    pub dev: u64,
    pub inode: u64,
    /// `major:minor` of a block device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Modification time of a file source, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
}

/// Why a source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is neither a regular file nor a block device")]
    Unsupported { path: PathBuf },
    #[error("cannot find the size of {path}: {source}")]
    Size {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An open, read-only source.
pub struct Source {
    file: File,
    map: Option<memmap2::Mmap>,
    len: u64,
    identity: Identity,
}

impl Source {
    /// Open a file or block device read-only.
    pub fn open(path: &Path, mode: ReadMode) -> Result<Source, SourceError> {
        let open_err = |cause| SourceError::Open {
            path: path.to_owned(),
            cause,
        };
        // Look before opening: opening a FIFO or a terminal would block or consume it.
        let before = std::fs::metadata(path).map_err(open_err)?;
        if !(before.is_file() || before.file_type().is_block_device()) {
            return Err(SourceError::Unsupported {
                path: path.to_owned(),
            });
        }
        // O_RDONLY: the evidence is never opened for writing.
        let mut file = File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        let kind = if meta.file_type().is_block_device() {
            SourceKind::BlockDevice
        } else if meta.is_file() {
            SourceKind::File
        } else {
            return Err(SourceError::Unsupported {
                path: path.to_owned(),
            });
        };
        let len = match kind {
            SourceKind::File => meta.len(),
            // A block device reports size 0 in its metadata; seeking to its end gives the size.
            SourceKind::BlockDevice => {
                file.seek(SeekFrom::End(0))
                    .map_err(|source| SourceError::Size {
                        path: path.to_owned(),
                        source,
                    })?
            }
        };
        let map = match mode {
            ReadMode::Buffered => None,
            ReadMode::Auto => map_file(&file, len),
        };
        match &map {
            Some(_) => tracing::debug!(path = %path.display(), len, "reading through a memory map"),
            None => {
                tracing::debug!(path = %path.display(), len, ?mode, "reading with positional reads")
            }
        }
        let identity = identify(path, &meta, kind, len);
        Ok(Source {
            file,
            map,
            len,
            identity,
        })
    }

    /// Identifying facts for reports.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// True when reads go through the memory map.
    pub fn is_mapped(&self) -> bool {
        self.map.is_some()
    }
}

fn map_file(file: &File, len: u64) -> Option<memmap2::Mmap> {
    if len == 0 || usize::try_from(len).is_err() {
        return None;
    }
    // SAFETY: the map is read-only and private to this process. Salvor never writes the source.
    // If another process truncates the file while it is mapped, reads past the new end would
    // fault; sources are evidence that nobody should be changing, and `--read buffered` exists
    // for media that may fail under us.
    let map = unsafe { memmap2::MmapOptions::new().len(len as usize).map(file) };
    match map {
        Ok(m) => {
            let _ = m.advise(memmap2::Advice::Sequential);
            Some(m)
        }
        Err(e) => {
            tracing::debug!(error = %e, "memory map failed; falling back to positional reads");
            None
        }
    }
}

fn sysfs_text(path: &Path) -> Option<String> {
    let t = std::fs::read_to_string(path).ok()?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn identify(path: &Path, meta: &std::fs::Metadata, kind: SourceKind, len: u64) -> Identity {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let (mut device_number, mut model, mut serial) = (None, None, None);
    if kind == SourceKind::BlockDevice {
        let rdev = meta.rdev();
        let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
        let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
        device_number = Some(format!("{major}:{minor}"));
        model = sysfs_text(&sys.join("device/model"));
        serial = sysfs_text(&sys.join("device/serial")).or_else(|| sysfs_text(&sys.join("serial")));
    }
    Identity {
        path: path.to_owned(),
        canonical,
        kind,
        size: len,
        dev: if kind == SourceKind::BlockDevice {
            meta.rdev()
        } else {
            meta.dev()
        },
        inode: meta.ino(),
        device_number,
        model,
        serial,
        mtime: (kind == SourceKind::File).then(|| meta.mtime()),
    }
}

impl ByteView for Source {
    fn len(&self) -> u64 {
        self.len
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        if offset >= self.len {
            return Cow::Borrowed(&[]);
        }
        let want = (self.len - offset).min(len as u64) as usize;
        if let Some(m) = &self.map {
            let start = offset as usize;
            return Cow::Borrowed(&m[start..start + want]);
        }
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match self.file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // A read error ends the readable bytes here, like the end of the source.
                    tracing::warn!(offset = offset + got as u64, error = %e, "read error in source");
                    break;
                }
            }
        }
        buf.truncate(got);
        Cow::Owned(buf)
    }
}
