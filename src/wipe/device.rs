//! The target opened for wiping: direct I/O with aligned buffers, so that writes reach the
//! medium and verification reads the medium, not the page cache.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Alignment of direct I/O buffers, offsets and lengths.
pub const ALIGN: usize = 4096;

/// A heap buffer whose usable part starts on a 4 KiB boundary (over-allocated, no `unsafe`).
pub struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let raw = vec![0u8; len + ALIGN];
        let start = raw.as_ptr().align_offset(ALIGN);
        AlignedBuf { raw, start, len }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// The open target.
pub struct Device {
    /// Opened with O_DIRECT (and O_EXCL for a block device); `None` when the filesystem
    /// refuses direct I/O (tmpfs).
    direct: Option<File>,
    /// Buffered descriptor for the unaligned tail and as the fallback.
    buffered: File,
    pub size: u64,
}

fn direct_flags(block: bool) -> i32 {
    let mut f = rustix::fs::OFlags::DIRECT;
    if block {
        // An exclusive open fails with EBUSY while the kernel has the device mounted or claimed.
        f |= rustix::fs::OFlags::EXCL;
    }
    f.bits() as i32
}

impl Device {
    /// Open for reading and writing. Only called after every safety check passed.
    pub fn open(path: &Path, block: bool, size: u64) -> anyhow::Result<Device> {
        let direct = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(direct_flags(block))
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                tracing::debug!(
                    "direct I/O refused on {}; using buffered I/O with syncs",
                    path.display()
                );
                None
            }
            Err(e) if block && e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) => {
                anyhow::bail!(
                    "{} is busy (the kernel has it mounted or claimed); refusing to wipe it",
                    path.display()
                )
            }
            Err(e) => anyhow::bail!("cannot open {} for wiping: {e}", path.display()),
        };
        let buffered = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot open {} for wiping: {e}", path.display()))?;
        Ok(Device {
            direct,
            buffered,
            size,
        })
    }

    /// True when direct I/O is in use.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    fn pick(&self, offset: u64, len: usize) -> &File {
        match &self.direct {
            Some(d) if offset.is_multiple_of(ALIGN as u64) && len.is_multiple_of(ALIGN) => d,
            _ => &self.buffered,
        }
    }

    /// Write all of `buf` at `offset`.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        self.pick(offset, buf.len()).write_all_at(buf, offset)
    }

    /// Read exactly `buf.len()` bytes at `offset` from the medium. Buffered reads (the tail, or
    /// no direct I/O) drop the cached pages first so that the medium is what is read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = self.pick(offset, buf.len());
        if !std::ptr::eq(f, &self.buffered) {
            return f.read_exact_at(buf, offset);
        }
        self.drop_cache(offset, buf.len() as u64);
        f.read_exact_at(buf, offset)
    }

    /// Make everything written durable on the medium (flushes the device's write cache).
    pub fn sync(&self) -> io::Result<()> {
        if let Some(d) = &self.direct {
            d.sync_all()?;
        }
        self.buffered.sync_all()
    }

    fn drop_cache(&self, offset: u64, len: u64) {
        let _ = self.buffered.sync_data();
        let _ = rustix::fs::fadvise(
            &self.buffered,
            offset,
            std::num::NonZeroU64::new(len),
            rustix::fs::Advice::DontNeed,
        );
    }

    /// Drop every cached page of the target (after a pass, before verifying it).
    pub fn drop_all_cache(&self) {
        self.drop_cache(0, self.size);
    }
}
