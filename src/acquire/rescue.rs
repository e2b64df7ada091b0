//! The rescue phases, modelled on GNU ddrescue: copy (large reads, skip what fails), trim (the
//! edges of failed areas, sector by sector), scrape (the rest of them, sector by sector) and
//! retry (bad sectors again, N passes, optionally backwards). The map says what every byte is;
//! only `+` bytes were read, everything else stays zero in the image.

use super::hash::{self, Hashers, Pool};
use super::io::{AlignedBuf, Reader, ALIGN};
use crate::job::Progress;
use salvor_carvers::mapfile::{BlockStatus, Map, Phase};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Names of the phases, indexed by `Progress::phase`.
pub const PHASES: [&str; 6] = [
    "copying",
    "trimming",
    "scraping",
    "retrying",
    "hashing",
    "verifying",
];

/// How a rescue runs.
pub struct Settings {
    pub block: u64,
    pub sector: u64,
    pub retries: u32,
    pub reverse: bool,
    pub map_interval: Duration,
    pub max_rate: Option<u64>,
}

/// First skip after a failed read in the copy phase (GNU ddrescue's default).
pub const SKIP_MIN: u64 = 64 << 10;

/// Largest skip in the copy phase: 1 % of the source, at least [`SKIP_MIN`] and at most
/// [`SKIP_CAP`], in whole sectors.
pub fn skip_max(size: u64, sector: u64) -> u64 {
    let sector = sector.max(1);
    (size / 100)
        .clamp(SKIP_MIN, SKIP_CAP)
        .next_multiple_of(sector)
}

/// Cap of the skip. GNU ddrescue allows up to 1 GiB because it re-reads skipped areas in large
/// reads; here trim reads a skipped area's far edge back sector by sector until it meets the bad
/// area, so the good data a skip may overshoot is kept small.
pub const SKIP_CAP: u64 = 1 << 20;

/// Time and bytes of one phase.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PhaseTiming {
    pub phase: String,
    pub seconds: f64,
    pub bytes_read: u64,
    /// Reads that failed in this phase (one per failed request, whatever its size).
    pub read_errors: u64,
}

/// Why a rescue stopped early.
#[derive(Debug)]
pub enum Stop {
    /// Ctrl-C.
    Cancelled,
    /// Writing the image failed (destination full, I/O error); the map was saved if possible.
    Write { offset: u64, error: io::Error },
}

/// The state of a run.
pub struct Rescue<'a> {
    pub map: Map,
    reader: &'a Reader,
    dest: &'a File,
    map_path: &'a Path,
    header: Vec<String>,
    s: &'a Settings,
    progress: &'a Progress,
    last_save: Instant,
    /// Set when the last map save failed (e.g. destination full): what is on disk is older.
    pub map_save_error: Option<String>,
    pub timings: Vec<PhaseTiming>,
    /// Hashing while reading, kept only while the image is written in one sequential pass.
    inline: Option<(u64, Hashers<AlignedBuf>)>,
    pool: Pool,
    sector_buf: AlignedBuf,
    started: Instant,
    bytes_read: u64,
    /// Reads that failed, in every phase.
    failed_reads: u64,
}

impl<'a> Rescue<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        map: Map,
        reader: &'a Reader,
        dest: &'a File,
        map_path: &'a Path,
        header: Vec<String>,
        s: &'a Settings,
        progress: &'a Progress,
        inline: Option<Hashers<AlignedBuf>>,
    ) -> Rescue<'a> {
        let block = s.block as usize + ALIGN;
        Rescue {
            map,
            reader,
            dest,
            map_path,
            header,
            s,
            progress,
            last_save: Instant::now(),
            map_save_error: None,
            timings: Vec::new(),
            inline: inline.map(|h| (0, h)),
            // At most about 64 MiB of buffers whatever the block size.
            pool: Pool::new((hash::QUEUE + 3).min((64 << 20) / block).max(4), block),
            sector_buf: AlignedBuf::new((s.sector as usize).max(ALIGN)),
            started: Instant::now(),
            bytes_read: 0,
            failed_reads: 0,
        }
    }

    /// Run every phase that still has work. Returns the inline digests when the image was
    /// written in one sequential pass.
    pub fn run(&mut self) -> Result<Option<BTreeMap<String, String>>, Stop> {
        // A mapfile exists from the start, so even a run that fills the disk at once leaves one.
        self.save(true);
        let phases = [
            Phase::Copying,
            Phase::Trimming,
            Phase::Scraping,
            Phase::Retrying,
        ];
        for (idx, phase) in phases.into_iter().enumerate() {
            let t = Instant::now();
            let (read0, err0) = (self.bytes_read, self.failed_reads);
            self.map.phase = phase;
            self.progress
                .phase
                .store(idx as u64, std::sync::atomic::Ordering::Relaxed);
            let r = match phase {
                Phase::Copying => self.copy(),
                Phase::Trimming => self.trim(),
                Phase::Scraping => self.scrape(),
                _ => self.retry(),
            };
            self.timings.push(PhaseTiming {
                phase: PHASES[idx].to_owned(),
                seconds: t.elapsed().as_secs_f64(),
                bytes_read: self.bytes_read - read0,
                read_errors: self.failed_reads - err0,
            });
            if let Err(stop) = r {
                // Whatever stopped the run, the map on disk says what is in the image.
                self.save(true);
                return Err(stop);
            }
            self.save(true);
        }
        self.map.phase = Phase::Finished;
        self.map.current_pos = self.map.size();
        self.save(true);
        let size = self.map.size();
        Ok(match self.inline.take() {
            Some((pos, h)) if pos == size => Some(h.finish()),
            _ => None,
        })
    }

    /// Stop hashing inline: the image is no longer being written in order.
    fn break_inline(&mut self) {
        self.inline = None;
    }

    fn check_cancel(&mut self) -> Result<(), Stop> {
        if self.progress.cancelled() {
            self.save(true);
            return Err(Stop::Cancelled);
        }
        self.save(false);
        Ok(())
    }

    fn throttle(&self) {
        if let Some(rate) = self.s.max_rate {
            let due = Duration::from_secs_f64(self.bytes_read as f64 / rate as f64);
            let el = self.started.elapsed();
            if due > el {
                std::thread::sleep(due - el);
            }
        }
    }

    fn publish(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.progress
            .done
            .store(self.map.total(BlockStatus::Finished), Relaxed);
        self.progress.total.store(self.map.size(), Relaxed);
        self.progress
            .found
            .store(self.map.total(BlockStatus::BadSector), Relaxed);
    }

    /// Write the map atomically when due (or now when `force`). The image is flushed first, so
    /// the map never claims bytes that are not on disk.
    pub fn save(&mut self, force: bool) {
        self.publish();
        if !force && self.last_save.elapsed() < self.s.map_interval {
            return;
        }
        self.last_save = Instant::now();
        let text = self.map.to_text(&self.header);
        let r = self
            .dest
            .sync_data()
            .and_then(|()| write_atomic(self.map_path, text.as_bytes()));
        self.map_save_error = match r {
            Ok(()) => None,
            // A full filesystem has no room for a temporary copy, but the mapfile's own blocks
            // can be rewritten in place: better than leaving an old checkpoint.
            Err(e) if e.raw_os_error() == Some(28) => {
                rewrite_in_place(self.map_path, text.as_bytes())
                    .err()
                    .map(|e2| format!("{e}; rewriting it in place also failed: {e2}"))
            }
            Err(e) => Some(e.to_string()),
        };
    }

    fn store(&mut self, pos: u64, data: &[u8]) -> Result<(), Stop> {
        self.dest
            .write_all_at(data, pos)
            .map_err(|error| Stop::Write { offset: pos, error })?;
        self.map.set(pos, data.len() as u64, BlockStatus::Finished);
        Ok(())
    }

    /// Copy: every non-tried block in large reads. A failed read marks its block non-trimmed
    /// (`*`; non-scraped `/` when it is a single sector) and, as GNU ddrescue does, skips ahead
    /// beyond it: the skipped area is marked with the failed block, so trim and scrape read it
    /// sector by sector later. The skip starts at [`SKIP_MIN`], doubles with each consecutive
    /// failed read up to [`skip_max`], and starts again after a good read. A large bad area thus
    /// costs a few failed reads here instead of one per block.
    fn copy(&mut self) -> Result<(), Stop> {
        let todo = self.map.ranges(BlockStatus::NonTried);
        if todo.iter().any(|&(p, _)| p != 0) || todo.len() > 1 {
            self.break_inline();
        }
        let sector = self.s.sector;
        let skip_min = SKIP_MIN.next_multiple_of(sector);
        let skip_max = skip_max(self.map.size(), sector);
        for (start, size) in todo {
            let end = start + size;
            let mut pos = start;
            // The skip after the next failed read; reset by every good read.
            let mut skip = skip_min;
            while pos < end {
                self.check_cancel()?;
                self.throttle();
                self.map.current_pos = pos;
                // Read from the sector boundary at or before `pos` up to a block boundary.
                let astart = pos - pos % sector;
                let aend = (astart + self.s.block).min(end.next_multiple_of(sector));
                let want = (aend - astart) as usize;
                let skip_bytes = (pos - astart) as usize;
                let reader = self.reader;
                let buf = self.pool.take();
                let b = Arc::get_mut(buf).expect("pool buffer is free");
                let r = reader.read_full(&mut b.as_mut_slice()[..want], astart);
                let buf = buf.clone();
                match r {
                    Ok(n) if n > skip_bytes => {
                        let n = (n as u64).min(end - astart) as usize;
                        self.bytes_read += (n - skip_bytes) as u64;
                        self.store(pos, &buf.as_slice()[skip_bytes..n])?;
                        if let Some((hpos, h)) = &mut self.inline {
                            if *hpos == pos {
                                h.feed(&buf, skip_bytes, n - skip_bytes);
                                *hpos += (n - skip_bytes) as u64;
                            }
                        }
                        pos = astart + n as u64;
                        skip = skip_min;
                    }
                    _ => {
                        self.failed_reads += 1;
                        let failed_end = (astart + want as u64).min(end);
                        let bad_end = failed_end.saturating_add(skip).min(end);
                        tracing::debug!(
                            pos,
                            failed = failed_end - pos,
                            skipped = bad_end - failed_end,
                            "read error while copying; skipping ahead"
                        );
                        let status = if bad_end - pos > sector {
                            BlockStatus::NonTrimmed
                        } else {
                            BlockStatus::NonScraped
                        };
                        self.map.set(pos, bad_end - pos, status);
                        self.break_inline();
                        pos = bad_end;
                        skip = skip.saturating_mul(2).min(skip_max);
                    }
                }
            }
        }
        Ok(())
    }

    /// Read one sector-sized piece `[pos, end)` (end within the sector) and store it when good.
    fn read_sector(&mut self, pos: u64, end: u64) -> Result<bool, Stop> {
        self.throttle();
        let sector = self.s.sector;
        let astart = pos - pos % sector;
        let want = (end.next_multiple_of(sector) - astart) as usize;
        let skip = (pos - astart) as usize;
        let len = (end - pos) as usize;
        if self.sector_buf.len() < want {
            self.sector_buf = AlignedBuf::new(want.next_multiple_of(ALIGN));
        }
        let r = self
            .reader
            .read_full(&mut self.sector_buf.as_mut_slice()[..want], astart);
        match r {
            Ok(n) if n >= skip + len => {
                self.bytes_read += len as u64;
                let data = self.sector_buf.as_slice()[skip..skip + len].to_vec();
                self.store(pos, &data)?;
                Ok(true)
            }
            _ => {
                self.failed_reads += 1;
                Ok(false)
            }
        }
    }

    /// The sector boundaries inside `[pos, end)`.
    fn next_cut(&self, pos: u64, end: u64) -> u64 {
        (pos - pos % self.s.sector + self.s.sector).min(end)
    }

    /// Trim: read the edges of each non-trimmed block sector by sector until a read fails; the
    /// failing edge sectors are bad, the middle is left for scraping.
    fn trim(&mut self) -> Result<(), Stop> {
        for (start, size) in self.map.ranges(BlockStatus::NonTrimmed) {
            let end = start + size;
            let mut lo = start;
            while lo < end {
                self.check_cancel()?;
                self.map.current_pos = lo;
                let cut = self.next_cut(lo, end);
                if !self.read_sector(lo, cut)? {
                    self.map.set(lo, cut - lo, BlockStatus::BadSector);
                    lo = cut;
                    break;
                }
                lo = cut;
            }
            let mut hi = end;
            while hi > lo {
                self.check_cancel()?;
                let from = ((hi - 1) - (hi - 1) % self.s.sector).max(lo);
                self.map.current_pos = from;
                if !self.read_sector(from, hi)? {
                    self.map.set(from, hi - from, BlockStatus::BadSector);
                    hi = from;
                    break;
                }
                hi = from;
            }
            if hi > lo {
                self.map.set(lo, hi - lo, BlockStatus::NonScraped);
            }
        }
        Ok(())
    }

    /// Scrape: every sector of each non-scraped block, once.
    fn scrape(&mut self) -> Result<(), Stop> {
        for (start, size) in self.map.ranges(BlockStatus::NonScraped) {
            let end = start + size;
            let mut pos = start;
            while pos < end {
                self.check_cancel()?;
                self.map.current_pos = pos;
                let cut = self.next_cut(pos, end);
                if !self.read_sector(pos, cut)? {
                    self.map.set(pos, cut - pos, BlockStatus::BadSector);
                }
                pos = cut;
            }
        }
        Ok(())
    }

    /// Retry: the bad sectors again, `retries` passes, alternately backwards when `reverse`.
    fn retry(&mut self) -> Result<(), Stop> {
        for pass in 1..=self.s.retries {
            self.map.pass = pass;
            let mut sectors: Vec<(u64, u64)> = Vec::new();
            for (start, size) in self.map.ranges(BlockStatus::BadSector) {
                let end = start + size;
                let mut pos = start;
                while pos < end {
                    let cut = self.next_cut(pos, end);
                    sectors.push((pos, cut));
                    pos = cut;
                }
            }
            if self.s.reverse && pass % 2 == 1 {
                sectors.reverse();
            }
            for (pos, cut) in sectors {
                self.check_cancel()?;
                self.map.current_pos = pos;
                self.read_sector(pos, cut)?;
            }
        }
        self.map.pass = 1;
        Ok(())
    }
}

/// Write a file atomically: temporary file beside it, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = tmp_path(path);
    let r = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return r;
    }
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Overwrite an existing file in place, then cut it to the new length and flush it.
fn rewrite_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all_at(bytes, 0)?;
    f.set_len(bytes.len() as u64)?;
    f.sync_all()
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_limits() {
        // 1 % of 32 MiB, rounded up to whole 4 KiB sectors.
        assert_eq!(skip_max(32 << 20, 4096), 335_872);
        // Small sources keep the 64 KiB minimum, large ones the 1 MiB cap.
        assert_eq!(skip_max(1 << 20, 512), SKIP_MIN);
        assert_eq!(skip_max(1 << 40, 512), SKIP_CAP);
        // Optical sectors: a whole number of 2048-byte sectors; a zero sector size is tolerated.
        assert_eq!(skip_max(100 << 20, 2048) % 2048, 0);
        assert_eq!(skip_max(u64::MAX, 0), SKIP_CAP);
    }
}
