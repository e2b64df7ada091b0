//! Reading the source: direct I/O with aligned buffers where it is wanted and possible, and
//! positional reads that report errors instead of hiding them.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Alignment of direct-I/O buffers (covers 512 and 4096-byte sectors and the page size).
pub const ALIGN: usize = 4096;

/// A byte buffer whose usable part starts on an `ALIGN` boundary. Made safely by
/// over-allocating a `Vec` and using the aligned sub-slice.
pub struct AlignedBuf {
    raw: Vec<u8>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` usable bytes.
    pub fn new(len: usize) -> AlignedBuf {
        let raw = vec![0u8; len + ALIGN];
        let off = raw.as_ptr().align_offset(ALIGN);
        AlignedBuf { raw, off, len }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.off..self.off + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.off..self.off + self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// How to open the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direct {
    /// Direct I/O on block devices, the page cache for files.
    Auto,
    /// Direct I/O always (falls back with a warning when the filesystem refuses it).
    On,
    /// Never direct I/O.
    Off,
}

/// A read-only source with its read granularity.
pub struct Reader {
    file: File,
    /// True when the file was opened with O_DIRECT.
    pub direct: bool,
}

impl Reader {
    /// Open `path` read-only, with O_DIRECT when asked and allowed.
    pub fn open(path: &Path, want_direct: bool) -> anyhow::Result<Reader> {
        if want_direct {
            let flags = rustix::fs::OFlags::DIRECT.bits() as i32;
            match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(flags)
                .open(path)
            {
                Ok(file) => return Ok(Reader { file, direct: true }),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "direct I/O refused; reading through the page cache"
                ),
            }
        }
        let file =
            File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        Ok(Reader {
            file,
            direct: false,
        })
    }

    /// One positional read (retried on EINTR). With O_DIRECT, `offset` and `buf.len()` must be
    /// multiples of the logical sector size and `buf` aligned.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Read as much of `buf` as possible; stops at the end of the source or at an error (the
    /// error is returned only when nothing was read).
    pub fn read_full(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if got == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(got)
    }
}
