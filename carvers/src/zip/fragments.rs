//! Reassembling ZIP archives whose bytes were split across a disk.
//!
//! The central directory gives every member's logical offset, sizes and CRC; the local headers
//! repeat the names. So each member's header can be looked up wherever it now lies, the distance
//! between its physical and logical position (its *shift*) tells which fragment holds it, and a
//! member whose bytes straddle two fragments is split at the cluster boundary whose assembly the
//! CRC accepts. An assembly is only claimed when the archive re-read through it is intact.

use super::layout::{self, Central as Record, Layout};
use super::records;
use super::stream::{self, Outcome};
use crate::model::{Limits, Status};
use crate::view::ByteView;
use std::borrow::Cow;

/// Where cluster boundaries are: `origin + k * cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub cluster: u64,
    pub origin: u64,
}

impl Geometry {
    /// Sector granularity: every boundary of any cluster size on a sector-aligned volume.
    pub const SECTOR: Geometry = Geometry {
        cluster: 512,
        origin: 0,
    };

    fn is_boundary(&self, phys: u64) -> bool {
        phys >= self.origin && (phys - self.origin).is_multiple_of(self.cluster)
    }
}

/// A byte source assembled from pieces of another: logical `[at, at + len)` reads physical
/// `[phys, phys + len)`.
pub struct Mapped<'a> {
    inner: &'a dyn ByteView,
    /// `(logical start, physical start, length)`, sorted and contiguous in logical order.
    pieces: Vec<(u64, u64, u64)>,
    len: u64,
}

impl<'a> Mapped<'a> {
    /// A view over physical runs `(start, len)` taken in order.
    pub fn from_runs(inner: &'a dyn ByteView, runs: &[(u64, u64)]) -> Self {
        let mut pieces = Vec::with_capacity(runs.len());
        let mut at = 0u64;
        for &(phys, len) in runs {
            pieces.push((at, phys, len));
            at += len;
        }
        Mapped {
            inner,
            pieces,
            len: at,
        }
    }
}

impl ByteView for Mapped<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        if offset >= self.len {
            return Cow::Borrowed(&[]);
        }
        let end = offset.saturating_add(len as u64).min(self.len);
        let mut out = Vec::with_capacity((end - offset) as usize);
        let first = self.pieces.partition_point(|p| p.0 + p.2 <= offset);
        for &(at, phys, plen) in &self.pieces[first..] {
            if at >= end {
                break;
            }
            let lo = offset.max(at);
            let hi = end.min(at + plen);
            let got = self.inner.bytes_at(phys + (lo - at), (hi - lo) as usize);
            let short = got.len() < (hi - lo) as usize;
            out.extend_from_slice(&got);
            if short {
                break;
            }
        }
        Cow::Owned(out)
    }
}

fn read_records(data: &dyn ByteView, layout: &Layout) -> Vec<Record> {
    let mut out: Vec<Record> = layout
        .entries
        .iter()
        .filter_map(|e| layout::read_central(data, e.central_offset?))
        .collect();
    out.sort_by_key(|r| r.local_offset);
    out
}

/// What reassembly found.
#[derive(Debug, Clone)]
pub enum Reassembly {
    /// Every member proven; the archive is the concatenation of these physical runs.
    Whole {
        runs: Vec<(u64, u64)>,
        layout: Layout,
    },
    /// Some members proven at their physical places, others not placed.
    Partial {
        proven: Vec<String>,
        unplaced: Vec<String>,
    },
}

/// Decode one member through `view` with its local header at logical `at`; true when its CRC
/// and size hold.
fn member_holds(view: &dyn ByteView, at: u64, r: &Record, limits: &Limits) -> bool {
    let head = view.bytes_at(at, records::LFH_LEN);
    if head.len() < records::LFH_LEN || &head[..4] != records::LFH_SIG {
        return false;
    }
    let n = u64::from(u16::from_le_bytes([head[26], head[27]]));
    let e = u64::from(u16::from_le_bytes([head[28], head[29]]));
    let start = at + records::LFH_LEN as u64 + n + e;
    let end = start + r.compressed_size;
    let res = match r.method {
        0 => stream::stored(view, start, end, None),
        8 => stream::inflate(view, start, end, limits, None),
        _ => return false,
    };
    res.outcome == Outcome::Complete && res.crc32 == r.crc32 && res.produced == r.uncompressed_size
}

/// Logical span of member `i`: up to the next member's header or the directory.
fn span_end(recs: &[Record], i: usize, cd_offset: u64) -> u64 {
    recs.get(i + 1).map_or(cd_offset, |n| n.local_offset)
}

/// Try to reassemble a damaged archive whose directory survives.
///
/// `locals` are the physical offsets of every local header signature in the source (sorted);
/// `budget` bounds the number of member decodings tried.
pub fn reassemble(
    data: &dyn ByteView,
    layout: &Layout,
    locals: &[u64],
    geometry: Geometry,
    forbidden: &[(u64, u64)],
    limits: &Limits,
    mut budget: u64,
) -> Option<Reassembly> {
    let dir = layout.directory.as_ref()?;
    let end_record = layout.end_record.as_ref()?;
    let recs = read_records(data, layout);
    if recs.is_empty() {
        return None;
    }
    // The directory's own shift: it sits at its recorded logical offset in its fragment.
    let cd_fixed = data.bytes_at(end_record.offset, records::EOCD_LEN);
    let cd_logical = match end_record.zip64_record {
        Some(z) => {
            let b = data.bytes_at(z, records::Z64_EOCD_LEN);
            records::zip64_end_record(&b).ok()?.1.cd_offset
        }
        None => u64::from(u32::from_le_bytes(cd_fixed.get(16..20)?.try_into().ok()?)),
    };
    let cd_shift = dir.start as i128 - cd_logical as i128;

    // Physical candidates of each member's header: same name, method and timestamp, and the
    // same CRC and size where the header carries them. Another archive's copy of the same file
    // would decode to the same CRC; its header rarely agrees on all of these.
    let mut shifts: Vec<Vec<i128>> = Vec::with_capacity(recs.len());
    for r in &recs {
        let mut c = Vec::new();
        for &p in locals {
            let head = data.bytes_at(p, records::LFH_LEN + r.name.len());
            if head.len() != records::LFH_LEN + r.name.len()
                || &head[records::LFH_LEN..] != r.name.as_slice()
            {
                continue;
            }
            let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
            let u32_at =
                |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
            let deferred = u16_at(6) & records::FLAG_DATA_DESCRIPTOR != 0 && u32_at(18) == 0;
            let sizes_agree = deferred
                || (u32_at(14) == r.crc32
                    && (u32_at(18) == u32::MAX || u64::from(u32_at(18)) == r.compressed_size));
            if u16_at(8) == r.method
                && u16_at(10) == r.mod_time
                && u16_at(12) == r.mod_date
                && sizes_agree
            {
                c.push(p as i128 - r.local_offset as i128);
            }
        }
        shifts.push(c);
    }

    // Place members one by one: whole inside a fragment, or split at a cluster boundary.
    let mut placed: Vec<Option<Vec<(u64, i128)>>> = vec![None; recs.len()];
    for i in 0..recs.len() {
        let r = &recs[i];
        let lo = r.local_offset;
        let hi = span_end(&recs, i, cd_logical);
        // Nearest first to where the member would be if it followed its neighbour unbroken.
        let expect = i
            .checked_sub(1)
            .and_then(|k| placed[k].as_ref())
            .and_then(|p| p.last().map(|x| x.1))
            .unwrap_or(cd_shift);
        // Headers inside an archive that stands whole on its own are that archive's, not ours.
        let span = hi.saturating_sub(lo).max(1);
        shifts[i].retain(|&s| {
            let p = (lo as i128 + s) as u64;
            !forbidden.iter().any(|&(a, b)| p < b && a < p + span)
        });
        shifts[i].sort_by_key(|&s| (s - expect).unsigned_abs());
        shifts[i].truncate(8);
        for &s in &shifts[i] {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let phys = (lo as i128 + s) as u64;
            let view = Mapped::from_runs(data, &[(phys, hi.saturating_sub(lo).max(1))]);
            if member_holds(&view, 0, r, limits) {
                placed[i] = Some(vec![(lo, s)]);
                break;
            }
        }
    }
    // A change of fragment between two whole members must fall on a cluster boundary on both
    // sides; where it does not, the member before it was read whole from the wrong place (a copy
    // lying just after its first fragment): place it again as a straddling member.
    for i in 0..recs.len() {
        let Some(p) = &placed[i] else { continue };
        if p.len() != 1 {
            continue;
        }
        let s_here = p[0].1;
        let s_next = match placed.get(i + 1) {
            Some(Some(n)) => n[0].1,
            Some(None) => continue,
            None => cd_shift,
        };
        let at = span_end(&recs, i, cd_logical);
        let fits = |s: i128| geometry.is_boundary((at as i128 + s) as u64);
        if s_here != s_next && !(fits(s_here) && fits(s_next)) {
            placed[i] = None;
        }
    }
    // Members that straddle two fragments: the shift before comes from the previous member (or
    // the member's own header), the shift after from the next placed piece (or the directory).
    for i in 0..recs.len() {
        if placed[i].is_some() {
            continue;
        }
        let r = &recs[i];
        let lo = r.local_offset;
        let hi = span_end(&recs, i, cd_logical);
        let mut before: Vec<i128> = shifts[i].clone();
        if let Some(Some(p)) = i.checked_sub(1).map(|k| &placed[k]) {
            before.push(p.last()?.1);
        }
        let after = placed
            .get(i + 1)
            .and_then(|p| p.as_ref())
            .map_or(cd_shift, |p| p[0].1);
        before.dedup();
        'outer: for &sa in &before {
            if sa == after {
                continue;
            }
            // Candidate split points: logical positions whose physical place under `sa` is a
            // cluster boundary, inside the member's span.
            let mut split = lo + 1;
            while split < hi {
                let phys = (split as i128 + sa) as u64;
                if geometry.is_boundary(phys) {
                    if budget == 0 {
                        break 'outer;
                    }
                    budget -= 1;
                    let first = ((lo as i128 + sa) as u64, split - lo);
                    let second = ((split as i128 + after) as u64, hi - split);
                    let view = Mapped::from_runs(data, &[first, second]);
                    if member_holds(&view, 0, r, limits) {
                        placed[i] = Some(vec![(lo, sa), (split, after)]);
                        break 'outer;
                    }
                    split += geometry.cluster;
                } else {
                    let off = (phys as i128 - geometry.origin as i128)
                        .rem_euclid(geometry.cluster as i128) as u64;
                    split += geometry.cluster - off;
                }
            }
        }
    }

    let names = |ok: bool| -> Vec<String> {
        recs.iter()
            .zip(&placed)
            .filter(|(_, p)| p.is_some() == ok)
            .map(|(r, _)| String::from_utf8_lossy(&r.name).into_owned())
            .collect()
    };
    if placed.iter().any(Option::is_none) {
        return Some(Reassembly::Partial {
            proven: names(true),
            unplaced: names(false),
        });
    }

    // Logical pieces → physical runs: everything before the first member rides with it; the
    // directory and end records ride with the directory.
    let mut segs: Vec<(u64, i128)> = Vec::new();
    for (i, p) in placed.iter().enumerate() {
        let p = p.as_ref()?;
        for (k, &(at, s)) in p.iter().enumerate() {
            let at = if i == 0 && k == 0 { 0 } else { at };
            segs.push((at, s));
        }
    }
    segs.push((cd_logical, cd_shift));
    let total = (layout.end as i128 - cd_shift) as u64;
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (k, &(at, s)) in segs.iter().enumerate() {
        let next = segs.get(k + 1).map_or(total, |n| n.0);
        if next <= at {
            continue;
        }
        let phys = (at as i128 + s) as u64;
        match runs.last_mut() {
            Some(last) if last.0 + last.1 == phys => last.1 += next - at,
            _ => runs.push((phys, next - at)),
        }
    }
    if runs
        .iter()
        .any(|&(p, l)| p.checked_add(l).is_none_or(|e| e > data.len()))
    {
        return None;
    }
    // A fragmented file starts on a cluster and breaks only at cluster boundaries; and it takes
    // no bytes from another archive that stands whole on its own (an image may hold several
    // copies of the same file, whose members would decode to the same CRCs).
    if runs.len() > 1 {
        let aligned = runs.iter().enumerate().all(|(k, &(p, l))| {
            geometry.is_boundary(p) && (k + 1 == runs.len() || geometry.is_boundary(p + l))
        });
        let borrowed = runs
            .iter()
            .any(|&(p, l)| forbidden.iter().any(|&(a, b)| p < b && a < p + l));
        if !aligned || borrowed {
            return Some(Reassembly::Partial {
                proven: names(true),
                unplaced: Vec::new(),
            });
        }
    }

    // The proof: the archive read back through the runs is intact.
    let view = Mapped::from_runs(data, &runs);
    let eocd_logical = (end_record.offset as i128 - cd_shift) as u64;
    let mut check = layout::from_end(&view, eocd_logical, limits)?;
    super::check_entries(&view, &mut check, limits);
    let cand = super::to_candidate(&view, &check);
    if cand.status != Status::Intact || check.entries.len() != recs.len() {
        return Some(Reassembly::Partial {
            proven: names(true),
            unplaced: Vec::new(),
        });
    }
    Some(Reassembly::Whole {
        runs,
        layout: check,
    })
}

/// Follow a FAT volume's allocation from the cluster where an archive starts: its chain when the
/// file is still allocated, else the free clusters in order (a deleted file's clusters are free
/// again, and first-fit allocation laid it into the free clusters that followed its start).
/// The archive is accepted when an end record read through the walk gives an intact archive
/// that starts at the walk's first byte.
pub fn fat_walk(
    data: &dyn ByteView,
    vol: &crate::bootsector::Volume,
    start: u64,
    limits: &Limits,
    max_len: u64,
) -> Option<(Vec<(u64, u64)>, Layout)> {
    let fat = vol.fat?;
    let g = vol.geometry;
    if !g.is_boundary(start) {
        return None;
    }
    let first = (start - g.origin) / g.cluster + 2;
    let last = fat.clusters + 1;
    let most = max_len.div_ceil(g.cluster).max(1);
    let eoc = match fat.bits {
        32 => 0x0FFF_FFF8,
        16 => 0xFFF8,
        _ => 0xFF8,
    };
    let allocated = fat.entry(data, first)? != 0;
    let mut clusters = vec![first];
    if allocated {
        let mut n = first;
        while (clusters.len() as u64) < most {
            let next = fat.entry(data, n)?;
            if next >= eoc || next < 2 || next > last || clusters.contains(&next) {
                break;
            }
            clusters.push(next);
            n = next;
        }
    } else {
        let mut n = first + 1;
        while (clusters.len() as u64) < most && n <= last {
            if fat.entry(data, n)? == 0 {
                clusters.push(n);
            }
            n += 1;
        }
    }
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for c in clusters {
        let phys = g.origin + (c - 2) * g.cluster;
        match runs.last_mut() {
            Some(r) if r.0 + r.1 == phys => r.1 += g.cluster,
            _ => runs.push((phys, g.cluster)),
        }
    }
    let view = Mapped::from_runs(data, &runs);
    let finder = memchr::memmem::Finder::new(records::EOCD_SIG);
    let mut pos = 0u64;
    const PIECE: usize = 1 << 20;
    while pos < view.len() {
        let piece = view.bytes_at(pos, PIECE + 3);
        for i in finder.find_iter(&piece) {
            let e = pos + i as u64;
            let Some(mut l) = layout::from_end(&view, e, limits) else {
                continue;
            };
            if l.start != 0 || l.entries.is_empty() {
                continue;
            }
            super::check_entries(&view, &mut l, limits);
            if super::to_candidate(&view, &l).status != Status::Intact {
                continue;
            }
            // Keep the runs up to the archive's end.
            let mut left = l.end;
            let mut cut = Vec::new();
            for &(p, n) in &runs {
                if left == 0 {
                    break;
                }
                cut.push((p, n.min(left)));
                left -= n.min(left);
            }
            return Some((cut, l));
        }
        if piece.len() <= PIECE {
            break;
        }
        pos += PIECE as u64;
    }
    None
}

/// Physical position of logical offset `at` through `runs`.
fn to_physical(runs: &[(u64, u64)], at: u64) -> Option<u64> {
    let mut base = 0u64;
    for &(phys, len) in runs {
        if at < base + len {
            return Some(phys + (at - base));
        }
        base += len;
    }
    None
}

/// The engine-facing candidate of a reassembled archive: physical offsets, several runs.
pub fn reassembled_candidate(
    data: &dyn ByteView,
    runs: &[(u64, u64)],
    layout: &Layout,
) -> crate::Candidate {
    let view = Mapped::from_runs(data, runs);
    let mut c = super::to_candidate(&view, layout);
    let phys = |at: u64| to_physical(runs, at).unwrap_or(at);
    c.status = Status::Reassembled;
    c.start = runs.iter().map(|r| r.0).min().unwrap_or(0);
    c.end = runs.iter().map(|r| r.0 + r.1).max().unwrap_or(0);
    for m in &mut c.members {
        m.header_offset = m.header_offset.map(phys);
        let len = m.data_end - m.data_start;
        m.data_start = phys(m.data_start);
        m.data_end = m.data_start + len;
    }
    c.anchors = c.anchors.iter().map(|&a| phys(a)).collect();
    c.anchors.extend(runs.iter().map(|r| r.0));
    c.anchors.sort_unstable();
    c.anchors.dedup();
    // Regions are only kept where they lie whole inside one run.
    let regions = std::mem::take(&mut c.regions);
    c.regions = regions
        .into_iter()
        .filter_map(|mut r| {
            let (a, b) = (phys(r.start), to_physical(runs, r.end.saturating_sub(1))?);
            let contiguous = r.end > r.start && (b + 1).checked_sub(a) == Some(r.end - r.start);
            contiguous.then(|| {
                r.start = a;
                r.end = b + 1;
                r
            })
        })
        .collect();
    c.notes.push(format!(
        "reassembled from {} fragments: {}",
        runs.len(),
        runs.iter()
            .map(|(p, l)| format!("{p:#x}+{l}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    c.runs = runs.to_vec();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_view_reads_across_pieces() {
        let src: &[u8] = b"0123456789abcdef";
        let m = Mapped::from_runs(&src, &[(10, 3), (2, 4)]);
        assert_eq!(m.len(), 7);
        assert_eq!(&*m.bytes_at(0, 7), b"abc2345");
        assert_eq!(&*m.bytes_at(2, 3), b"c23");
        assert!(m.bytes_at(7, 1).is_empty());
    }
}
