//! Surface scan: read the whole medium block by block and record how long each block took and
//! how many of its sectors failed, as CSV for a plot. Needs no vendor commands.

use super::io::{AlignedBuf, Reader};
use crate::job::Progress;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Totals of a scan.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScanSummary {
    pub size: u64,
    pub blocks: u64,
    pub bad_blocks: u64,
    pub bad_sectors: u64,
    pub slowest_block_us: u64,
    pub seconds: f64,
    pub interrupted: bool,
}

/// Scan `source` in `block`-byte reads, writing `offset,length,read_us,bad_sectors,error` lines.
pub fn scan(
    source: &Path,
    block: u64,
    sector: Option<u64>,
    direct: super::io::Direct,
    out: &mut dyn Write,
    progress: &Progress,
) -> anyhow::Result<ScanSummary> {
    let facts = super::device::probe(source)?;
    let sector = sector.unwrap_or(facts.logical_sector).max(1);
    let block = block.max(sector).next_multiple_of(sector);
    let want_direct = match direct {
        super::io::Direct::On => true,
        super::io::Direct::Off => false,
        super::io::Direct::Auto => facts.kind == "block-device",
    };
    let reader = Reader::open(source, want_direct)?;
    let mut buf = AlignedBuf::new(block as usize);
    let size = facts.size;
    progress
        .total
        .store(size, std::sync::atomic::Ordering::Relaxed);
    writeln!(out, "offset,length,read_us,bad_sectors,error")?;
    let t0 = Instant::now();
    let mut sum = ScanSummary {
        size,
        ..Default::default()
    };
    let mut pos = 0u64;
    while pos < size {
        if progress.cancelled() {
            sum.interrupted = true;
            break;
        }
        let len = (size - pos).min(block);
        let want = len.next_multiple_of(sector) as usize;
        let t = Instant::now();
        let r = reader.read_full(&mut buf.as_mut_slice()[..want], pos);
        let mut us = t.elapsed().as_micros() as u64;
        let (bad, err) = match r {
            Ok(n) if n as u64 >= len => (0, String::new()),
            other => {
                let err = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "short read".into(),
                };
                // Count the failing sectors one by one.
                let mut bad = 0;
                let mut s = pos;
                while s < pos + len {
                    let l = (pos + len - s).min(sector);
                    let w = l.next_multiple_of(sector) as usize;
                    match reader.read_full(&mut buf.as_mut_slice()[..w], s) {
                        Ok(n) if n as u64 >= l => {}
                        _ => bad += 1,
                    }
                    s += l;
                }
                us = t.elapsed().as_micros() as u64;
                (bad, err)
            }
        };
        writeln!(out, "{pos},{len},{us},{bad},{}", err.replace(',', ";"))?;
        sum.blocks += 1;
        sum.bad_sectors += bad;
        sum.bad_blocks += u64::from(bad > 0);
        sum.slowest_block_us = sum.slowest_block_us.max(us);
        pos += len;
        progress
            .done
            .store(pos, std::sync::atomic::Ordering::Relaxed);
        progress.found.store(
            sum.bad_sectors * sector,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    out.flush()?;
    sum.seconds = t0.elapsed().as_secs_f64();
    Ok(sum)
}
