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
    /// An assembly holds, but a member's header at `chosen` has a rival at `other` with the
    /// same directory facts and different bytes: not claimed.
    Ambiguous {
        member: String,
        chosen: u64,
        other: u64,
    },
}

/// Where a member's data begins, counted from the start of its local header (`head` holds at
/// least the fixed part): the fixed part, the name and the extra field.
fn data_offset(head: &[u8]) -> Option<u64> {
    let u16_at = |i: usize| {
        Some(u64::from(u16::from_le_bytes([
            *head.get(i)?,
            *head.get(i + 1)?,
        ])))
    };
    Some(records::LFH_LEN as u64 + u16_at(26)? + u16_at(28)?)
}

/// Decode one member through `view` with its local header at logical `at`; true when its CRC
/// and size hold.
fn member_holds(view: &dyn ByteView, at: u64, r: &Record, limits: &Limits) -> bool {
    let head = view.bytes_at(at, records::LFH_LEN);
    if head.len() < records::LFH_LEN || &head[..4] != records::LFH_SIG {
        return false;
    }
    let Some(data) = data_offset(&head) else {
        return false;
    };
    let start = at + data;
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

/// Sort ranges and merge those that overlap or touch.
pub fn merge_ranges(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Whether `[a, b)` meets any of the sorted, disjoint `ranges`.
fn overlaps(ranges: &[(u64, u64)], a: u64, b: u64) -> bool {
    let k = ranges.partition_point(|r| r.1 <= a);
    ranges.get(k).is_some_and(|r| r.0 < b)
}

/// What the reassembly of one archive may still spend, across all its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Member decodings (whole or split) left.
    pub decodes: u64,
    /// Compressed bytes the three-piece search may still decode.
    pub bridge_bytes: u64,
}

impl Budget {
    /// `decodes` member decodings, and 16 KiB of three-piece search per decoding.
    pub fn new(decodes: u64) -> Self {
        Budget {
            decodes,
            bridge_bytes: decodes.saturating_mul(BRIDGE_BYTES_PER_PROBE),
        }
    }
}

/// The directory's facts a reassembly starts from: members by logical offset, where the
/// directory sits logically and its shift, and the candidate shifts of each member's header.
struct Start {
    recs: Vec<Record>,
    cd_logical: u64,
    cd_shift: i128,
    shifts: Vec<Vec<i128>>,
}

fn start(
    data: &dyn ByteView,
    layout: &Layout,
    locals: &[u64],
    forbidden: &[(u64, u64)],
) -> Option<Start> {
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

    // Headers inside an archive that stands whole on its own are that archive's, not ours, and
    // so is a member span that runs into one; an archive lying wholly inside the span is stored
    // content of the member (a nested archive), not a reason to refuse it.
    for (i, c) in shifts.iter_mut().enumerate() {
        let lo = recs[i].local_offset;
        let span = span_end(&recs, i, cd_logical).saturating_sub(lo).max(1);
        c.retain(|&s| {
            let p = (lo as i128 + s) as u64;
            !forbidden
                .iter()
                .any(|&(a, b)| p < b && a < p + span && !(p < a && b <= p + span))
        });
        c.sort_unstable();
        c.dedup();
        // A flood of headers with the same facts (thousands of copies, or hostile input) is
        // cut to those nearest the directory's own fragment.
        if c.len() > MAX_CANDIDATES {
            c.sort_by_key(|&s| (s - cd_shift).unsigned_abs());
            c.truncate(MAX_CANDIDATES);
            c.sort_unstable();
        }
    }
    Some(Start {
        recs,
        cd_logical,
        cd_shift,
        shifts,
    })
}

/// Where the archive's first member may begin: the physical offsets of its header's
/// candidates, nearest first to where the directory's own fragment puts it (only that one when
/// the member decodes there). A caller that rules out an assembly as a splice of two copies
/// tries again from each of these in turn.
pub fn first_headers(
    data: &dyn ByteView,
    layout: &Layout,
    locals: &[u64],
    forbidden: &[(u64, u64)],
    limits: &Limits,
) -> Vec<u64> {
    let Some(st) = start(data, layout, locals, forbidden) else {
        return Vec::new();
    };
    let r = &st.recs[0];
    let lo = r.local_offset;
    let at = |s: i128| u64::try_from(lo as i128 + s).ok();
    if let Some(p) = at(st.cd_shift) {
        let len = span_end(&st.recs, 0, st.cd_logical).saturating_sub(lo);
        if member_holds(&Mapped::from_runs(data, &[(p, len)]), 0, r, limits) {
            return vec![p];
        }
    }
    let mut c = st.shifts[0].clone();
    c.sort_by_key(|&s| (s - st.cd_shift).unsigned_abs());
    c.into_iter().filter_map(at).collect()
}

/// Try to reassemble a damaged archive whose directory survives.
///
/// `locals` are the physical offsets of every local header signature in the source (sorted);
/// `forbidden` are archives that stand whole on their own; `claimed` are byte ranges other
/// findings prove are theirs (sorted and disjoint, see [`merge_ranges`]), where no headerless
/// middle piece is looked for; `budget` is what this archive may still spend, and is spent;
/// `first`, when given, is the physical offset the first member's header must be read from.
#[allow(clippy::too_many_arguments)]
pub fn reassemble(
    data: &dyn ByteView,
    layout: &Layout,
    locals: &[u64],
    geometry: Geometry,
    forbidden: &[(u64, u64)],
    claimed: &[(u64, u64)],
    limits: &Limits,
    budget: &mut Budget,
    first: Option<u64>,
) -> Option<Reassembly> {
    let Start {
        recs,
        cd_logical,
        cd_shift,
        shifts,
    } = start(data, layout, locals, forbidden)?;
    let end_record = layout.end_record.as_ref()?;
    let mut search = Search {
        data,
        recs: &recs,
        shifts,
        cd_logical,
        cd_shift,
        geometry,
        limits,
        budget: budget.decodes,
        holds: std::collections::HashMap::new(),
        dead: std::collections::HashSet::new(),
        proven: vec![false; recs.len()],
        reaches: std::collections::HashMap::new(),
        forbidden,
        claimed,
        bridge_budget: budget.bridge_bytes,
        bridges: std::collections::HashMap::new(),
        allow_bridge: false,
    };
    // A member whose header (or whole decoding) is where the directory's own fragment puts it
    // is this archive's own: another copy elsewhere is not, however well it decodes. If it is
    // damaged there, the archive is damaged in place, and no fragment elsewhere mends it.
    let candidates = search.shifts.clone();
    for i in 0..recs.len() {
        let here = search.shifts[i].contains(&cd_shift);
        if here || search.decode(i, cd_shift, search.hi(i), cd_shift) == Some(true) {
            search.shifts[i] = vec![cd_shift];
        }
    }
    if let Some(p) = first {
        let s = p as i128 - recs[0].local_offset as i128;
        if !search.shifts[0].contains(&s) {
            return None;
        }
        search.shifts[0] = vec![s];
    }
    // Three-piece members only when nothing simpler places every member: the search is run
    // again with them (decodings already made are remembered, not paid twice).
    let mut placed = search.place();
    if placed.is_none() && search.budget > 0 && search.bridge_budget > 0 {
        search.dead.clear();
        search.allow_bridge = true;
        placed = search.place();
    }
    *budget = Budget {
        decodes: search.budget,
        bridge_bytes: search.bridge_budget,
    };

    let names = |ok: &dyn Fn(usize) -> bool| -> Vec<String> {
        recs.iter()
            .enumerate()
            .filter(|(i, _)| ok(*i))
            .map(|(_, r)| String::from_utf8_lossy(&r.name).into_owned())
            .collect()
    };
    let proven = search.proven.clone();
    let Some(segs_members) = placed else {
        return Some(Reassembly::Partial {
            proven: names(&|i| proven[i]),
            unplaced: names(&|i| !proven[i]),
        });
    };
    let all = |_: usize| true;

    // Logical pieces → physical runs: everything before the first member rides with it; the
    // directory and end records ride with the directory.
    let mut segs: Vec<(u64, i128)> = segs_members;
    if let Some(first) = segs.first_mut() {
        first.0 = 0;
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
        let borrowed = runs.iter().any(|&(p, l)| {
            forbidden
                .iter()
                .any(|&(a, b)| p < b && a < p + l && !(p < a && b <= p + l))
        });
        if !aligned || borrowed {
            return Some(Reassembly::Partial {
                proven: names(&all),
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
            proven: names(&all),
            unplaced: Vec::new(),
        });
    }
    // Every change of fragment must have checked bytes on both sides: a member's header and
    // data (held to the directory and the CRC) or the directory itself. Bytes no check covers
    // (padding between members, a signing block before the directory) next to a change could
    // be whatever followed the fragment on disk.
    let checked = merge_ranges(
        check
            .entries
            .iter()
            .filter_map(|e| Some((e.header_offset?, e.end())))
            .chain(std::iter::once((cd_logical, view.len())))
            .collect(),
    );
    let covered = |b: u64| overlaps(&checked, b, b + 1);
    let mut at = 0u64;
    for &(_, len) in &runs[..runs.len() - 1] {
        at += len;
        if !(covered(at - 1) && covered(at)) {
            return Some(Reassembly::Partial {
                proven: names(&all),
                unplaced: Vec::new(),
            });
        }
    }
    // Another place holding a header with the same directory facts but other bytes (the same
    // files zipped again: only a time in the extra field differs) would fit as well, and which
    // of the two belongs with this directory cannot be told from the bytes.
    for e in &check.entries {
        let Some(at) = e.header_offset else { continue };
        let Some(i) = recs.iter().position(|r| r.local_offset == at) else {
            continue;
        };
        let mine = view.bytes_at(at, e.data_start.saturating_sub(at) as usize);
        let Some(phys) = to_physical(&runs, at) else {
            continue;
        };
        for &other in &candidates[i] {
            let Ok(o) = u64::try_from(at as i128 + other) else {
                continue;
            };
            // A rival is part of another copy of this archive's layout: a neighbouring member's
            // header sits at the same shift (a lone header with the same facts is some other
            // archive that holds the same file).
            let laid_out = [i.checked_sub(1), Some(i + 1)]
                .into_iter()
                .flatten()
                .any(|j| candidates.get(j).is_some_and(|c| c.contains(&other)));
            if o != phys && laid_out && data.bytes_at(o, mine.len()) != mine {
                return Some(Reassembly::Ambiguous {
                    member: e.display_name(),
                    chosen: phys,
                    other: o,
                });
            }
        }
    }
    Some(Reassembly::Whole {
        runs,
        layout: check,
    })
}

/// A raw-deflate decoder whose whole state can be copied: one decoding of a member's first piece
/// serves every candidate for the piece that follows it.
#[derive(Clone)]
struct Resumable {
    d: miniz_oxide::inflate::core::DecompressorOxide,
    window: Box<[u8]>,
    pos: usize,
    crc: crc32fast::Hasher,
    produced: u64,
    /// The member is UTF-8 XML (an OOXML, ODF or EPUB part): output holding a control character
    /// XML forbids is rejected at once, long before a CRC could say so.
    xml: bool,
}

/// Names of members that are XML text in the ZIP-family packages (OOXML, ODF, EPUB).
fn xml_part(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        &b".xml"[..],
        b".rels",
        b".xhtml",
        b".opf",
        b".ncx",
        b".svg",
        b".html",
        b".htm",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// A byte that cannot appear raw in an XML document (C0 controls other than tab, LF and CR).
fn xml_forbidden(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

/// How far a [`Resumable`] got with the input it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fed {
    /// Wants more input.
    More,
    /// The stream ended (deflate's final block).
    Done,
    /// The decoder rejected the data, or produced more than the member holds.
    Bad,
}

impl Resumable {
    const WINDOW: usize = 1 << 15;

    fn new() -> Self {
        Resumable {
            d: miniz_oxide::inflate::core::DecompressorOxide::new(),
            window: vec![0u8; Self::WINDOW].into_boxed_slice(),
            pos: 0,
            crc: crc32fast::Hasher::new(),
            produced: 0,
            xml: false,
        }
    }

    /// Feed `input`; output past `most` bytes is a rejection.
    fn feed(&mut self, mut input: &[u8], most: u64) -> Fed {
        use miniz_oxide::inflate::core::{decompress, inflate_flags::TINFL_FLAG_HAS_MORE_INPUT};
        use miniz_oxide::inflate::TINFLStatus;
        loop {
            let (st, nin, nout) = decompress(
                &mut self.d,
                input,
                &mut self.window,
                self.pos,
                TINFL_FLAG_HAS_MORE_INPUT,
            );
            let made = &self.window[self.pos..self.pos + nout];
            self.crc.update(made);
            if self.xml && made.iter().any(|&b| xml_forbidden(b)) {
                return Fed::Bad;
            }
            self.produced += nout as u64;
            self.pos = (self.pos + nout) & (Self::WINDOW - 1);
            input = &input[nin..];
            if self.produced > most {
                return Fed::Bad;
            }
            match st {
                TINFLStatus::Done => return Fed::Done,
                TINFLStatus::HasMoreOutput => continue,
                TINFLStatus::NeedsMoreInput if input.is_empty() => return Fed::More,
                TINFLStatus::NeedsMoreInput if nin > 0 || nout > 0 => continue,
                _ => return Fed::Bad,
            }
        }
    }
}

/// A three-piece placement: `(split1, middle piece's physical start, split2)`.
type Bridge = (u64, u64, u64);

/// Compressed bytes one unit of the placement budget pays for, beyond the decoding itself.
const DECODE_UNIT: u64 = 64 << 10;

/// Farthest a headerless middle piece is looked for from the end of the piece before it.
const BRIDGE_WINDOW: u64 = 4 << 20;

/// The three-piece search decodes at most this many compressed bytes per unit of the placement
/// budget (16 KiB x 4096 = 64 MiB per archive by default).
const BRIDGE_BYTES_PER_PROBE: u64 = 16 << 10;

/// Header candidates kept per member in all.
const MAX_CANDIDATES: usize = 64;

/// Candidates kept per member, nearest first to the shift the member would have if the archive
/// continued unbroken.
const SHIFTS_PER_MEMBER: usize = 12;

/// Depth-first placement of members: each member is read whole at one of its headers' shifts
/// or split between two shifts at a cluster boundary its CRC accepts; a change of shift between
/// two pieces must fall on a cluster boundary on both sides. Dead ends are remembered per
/// (member, incoming shift), so the search stays polynomial in members x candidates.
struct Search<'a> {
    data: &'a dyn ByteView,
    recs: &'a [Record],
    /// Candidate shifts of each member's header.
    shifts: Vec<Vec<i128>>,
    cd_logical: u64,
    cd_shift: i128,
    geometry: Geometry,
    limits: &'a Limits,
    budget: u64,
    /// Decodings already made: (member, pieces) → CRC and size hold.
    holds: std::collections::HashMap<(usize, i128, u64, i128), bool>,
    /// (member, incoming shift) from which no placement of the rest exists.
    dead: std::collections::HashSet<(usize, Option<i128>)>,
    /// Members some decoding proved.
    proven: Vec<bool>,
    /// Where a deflated member read contiguously from a shift stops decoding.
    reaches: std::collections::HashMap<(usize, i128), u64>,
    /// Ranges that belong to other archives.
    forbidden: &'a [(u64, u64)],
    /// Bytes other findings prove are theirs (sorted, disjoint): no middle piece lies there.
    claimed: &'a [(u64, u64)],
    /// Compressed bytes the three-piece search may still decode.
    bridge_budget: u64,
    /// Three-piece searches already made: (member, shift of the header piece, of the tail).
    bridges: std::collections::HashMap<(usize, i128, i128), Option<Bridge>>,
    /// Whether three-piece members are tried.
    allow_bridge: bool,
}

impl Search<'_> {
    fn lo(&self, i: usize) -> u64 {
        self.recs[i].local_offset
    }

    /// End of member `i`'s logical span (never before its start: a hostile directory may put a
    /// member after the directory itself).
    fn hi(&self, i: usize) -> u64 {
        span_end(self.recs, i, self.cd_logical).max(self.lo(i))
    }

    /// A change from shift `x` to shift `y` at logical offset `at` is possible.
    fn joins(&self, at: u64, x: i128, y: i128) -> bool {
        let phys = |s: i128| u64::try_from(at as i128 + s).ok();
        x == y
            || matches!((phys(x), phys(y)), (Some(a), Some(b))
                if self.geometry.is_boundary(a) && self.geometry.is_boundary(b))
    }

    /// Member `i` read with its header piece at shift `sa` and, from logical `split` on (when
    /// `split < hi`), at shift `sb`. Counted against the budget unless already known.
    fn decode(&mut self, i: usize, sa: i128, split: u64, sb: i128) -> Option<bool> {
        let key = (i, sa, split, sb);
        if let Some(&v) = self.holds.get(&key) {
            return Some(v);
        }
        if self.budget == 0 {
            return None;
        }
        // One unit per decoding, and one more per 64 KiB of compressed data it reads, so that
        // a search over a member of megabytes stays bounded in time, not only in count.
        let cost = 1 + self.recs[i].compressed_size / DECODE_UNIT;
        self.budget = self.budget.saturating_sub(cost);
        let (lo, hi) = (self.lo(i), self.hi(i));
        let phys = |at: u64, s: i128| u64::try_from(at as i128 + s).ok();
        let ok = match (phys(lo, sa), phys(split, sb)) {
            (Some(a), Some(b)) => {
                let mut runs = vec![(a, split.min(hi) - lo)];
                if split < hi {
                    runs.push((b, hi - split));
                }
                let view = Mapped::from_runs(self.data, &runs);
                member_holds(&view, 0, &self.recs[i], self.limits)
            }
            _ => false,
        };
        if ok {
            self.proven[i] = true;
        }
        self.holds.insert(key, ok);
        Some(ok)
    }

    /// For a deflated member read contiguously from shift `sa`: the logical offset where the
    /// decoder first rejects the data (the member's end when it does not). `None` for stored
    /// members, whose bytes say nothing about where they stop being theirs.
    fn reach(&mut self, i: usize, sa: i128) -> Option<u64> {
        let r = &self.recs[i];
        if r.method != 8 {
            return None;
        }
        if let Some(&v) = self.reaches.get(&(i, sa)) {
            return Some(v);
        }
        let (lo, hi) = (self.lo(i), self.hi(i));
        let a = u64::try_from(lo as i128 + sa).ok()?;
        let view = Mapped::from_runs(self.data, &[(a, hi - lo)]);
        let head = view.bytes_at(0, records::LFH_LEN);
        let reach = match data_offset(&head) {
            None => lo,
            Some(start) => {
                let res = stream::inflate(&view, start, hi - lo, self.limits, None);
                match res.outcome {
                    Outcome::Corrupt { at, .. } => lo + at + 1,
                    _ => hi,
                }
            }
        };
        self.reaches.insert((i, sa), reach);
        Some(reach)
    }

    /// A deflated member in three pieces whose middle one holds no header: its header piece at
    /// `sa` up to a boundary `split1`, a middle piece at an unknown cluster `x`, and its tail at
    /// `sb` from a boundary `split2`. The decoder's state after the header piece is kept and
    /// copied for every candidate `x` (nearest first); a candidate is followed cluster by
    /// cluster while it decodes, and at each possible `split2` the tail must end the stream with
    /// the recorded CRC and size. Returns `(split1, x, split2)`. It has its own budget, in
    /// compressed bytes decoded, so that it cannot starve the rest of the search.
    fn bridge(&mut self, i: usize, sa: i128, sb: i128) -> Option<Bridge> {
        if let Some(&known) = self.bridges.get(&(i, sa, sb)) {
            return known;
        }
        let found = self.bridge_search(i, sa, sb);
        self.bridges.insert((i, sa, sb), found);
        found
    }

    fn bridge_search(&mut self, i: usize, sa: i128, sb: i128) -> Option<Bridge> {
        let r = &self.recs[i];
        if r.method != 8 {
            return None;
        }
        let g = self.geometry;
        let (lo, hi) = (self.lo(i), self.hi(i));
        let reach = self.reach(i, sa)?;
        let (Ok(head_at), Ok(_)) = (
            u64::try_from(lo as i128 + sa),
            u64::try_from(hi as i128 + sb),
        ) else {
            return None;
        };
        let data_lo = lo + data_offset(&self.data.bytes_at(head_at, records::LFH_LEN))?;
        let most = r.uncompressed_size;
        // Boundaries under `sa` where the header piece may end: at or below where the contiguous
        // reading fails, nearest first, and not before the data starts.
        let mut splits1 = Vec::new();
        let mut phys = u64::try_from(reach.min(hi) as i128 + sa).ok()?;
        phys = if phys < g.origin {
            return None;
        } else {
            phys - (phys - g.origin) % g.cluster
        };
        while splits1.len() < 3 {
            let split = (phys as i128 - sa) as u64;
            if split <= data_lo || phys < g.origin {
                break;
            }
            if g.is_boundary((split as i128 + sb) as u64) {
                splits1.push(split);
            }
            if phys < g.cluster {
                break;
            }
            phys -= g.cluster;
        }
        for split1 in splits1 {
            let first_end = (split1 as i128 + sa) as u64;
            let mut base = Resumable::new();
            let piece = self
                .data
                .bytes_at(head_at + (data_lo - lo), (split1 - data_lo) as usize);
            if piece.len() as u64 != split1 - data_lo || base.feed(&piece, most) != Fed::More {
                continue;
            }
            // An XML part that began as UTF-8 XML (its first piece decoded to '<' and no
            // forbidden byte) must go on as such: candidates that do not are dropped unproven.
            if xml_part(&r.name) && base.produced > 0 {
                let first = base.window[0];
                let clean = !base.window[..(base.produced.min(Resumable::WINDOW as u64)) as usize]
                    .iter()
                    .any(|&b| xml_forbidden(b));
                let whole_window = base.produced > Resumable::WINDOW as u64;
                base.xml = clean && (whole_window || first == b'<' || first == 0xEF);
            }
            // Candidate middle pieces: cluster starts near the header piece's end, outside it
            // and outside archives that stand whole on their own.
            let lo_x = first_end.saturating_sub(BRIDGE_WINDOW).max(g.origin);
            let hi_x = first_end.saturating_add(BRIDGE_WINDOW).min(self.data.len());
            let mut xs: Vec<u64> = Vec::new();
            let mut x = g.origin + (lo_x - g.origin).div_ceil(g.cluster) * g.cluster;
            while x < hi_x {
                let ours = x >= head_at && x < first_end;
                let foreign = self
                    .forbidden
                    .iter()
                    .any(|&(a, b)| x < b && a < x + g.cluster)
                    || overlaps(self.claimed, x, x + g.cluster);
                if !ours && !foreign && x != first_end {
                    xs.push(x);
                }
                x += g.cluster;
            }
            xs.sort_by_key(|&x| x.abs_diff(first_end));
            for x in xs {
                if self.bridge_budget == 0 {
                    return None;
                }
                let mut st = base.clone();
                let mut m = 0u64;
                while split1 + m < hi {
                    let take = g.cluster.min(hi - split1 - m);
                    let bytes = self.data.bytes_at(x + m, take as usize);
                    self.bridge_budget = self.bridge_budget.saturating_sub(take);
                    if bytes.len() as u64 != take || st.feed(&bytes, most) != Fed::More {
                        break;
                    }
                    m += take;
                    let split2 = split1 + m;
                    if split2 >= hi || take != g.cluster {
                        break;
                    }
                    // The tail from `split2` under `sb` must end the stream exactly; it is fed
                    // a piece at a time and dropped at the first rejection.
                    if self.bridge_budget == 0 {
                        return None;
                    }
                    let data_hi = hi.min(data_lo + r.compressed_size);
                    if split2 >= data_hi {
                        continue;
                    }
                    let mut end = st.clone();
                    let mut fed = Fed::More;
                    let mut at = split2;
                    while at < data_hi && fed == Fed::More {
                        let take = (data_hi - at).min(1024);
                        let bytes = self.data.bytes_at((at as i128 + sb) as u64, take as usize);
                        if bytes.len() as u64 != take {
                            break;
                        }
                        self.bridge_budget = self.bridge_budget.saturating_sub(take);
                        fed = end.feed(&bytes, most);
                        at += take;
                    }
                    if fed == Fed::Done
                        && end.produced == r.uncompressed_size
                        && end.crc.clone().finalize() == r.crc32
                    {
                        self.proven[i] = true;
                        return Some((split1, x, split2));
                    }
                }
            }
        }
        None
    }

    /// Shifts a tail piece of member `i` may have: those of the next members' headers, or the
    /// directory's for the last.
    fn tail_shifts(&self, i: usize) -> Vec<i128> {
        let mut out = Vec::new();
        for j in i + 1..(i + 3).min(self.recs.len()) {
            out.extend(self.shifts[j].iter().copied());
        }
        if i + 2 >= self.recs.len() {
            out.push(self.cd_shift);
        }
        out.sort_unstable();
        out.dedup();
        if out.len() > SHIFTS_PER_MEMBER {
            let near = self.cd_shift;
            out.sort_by_key(|&s| (s - near).unsigned_abs());
            out.truncate(SHIFTS_PER_MEMBER);
        }
        out
    }

    /// Header shifts to try for member `i` whole, nearest first to the shift it would have if
    /// the archive went on unbroken.
    fn heads(&self, i: usize, incoming: Option<i128>) -> Vec<i128> {
        let expect = incoming.unwrap_or(self.cd_shift);
        let mut heads: Vec<i128> = self.shifts[i].clone();
        heads.sort_by_key(|&s| (s - expect).unsigned_abs());
        heads.truncate(SHIFTS_PER_MEMBER);
        heads
    }

    /// Shifts a first piece of member `i` may have: where a header is, or where the previous
    /// piece goes on (a header cut by the end of its fragment).
    fn firsts(&self, i: usize, incoming: Option<i128>) -> Vec<i128> {
        let mut firsts = self.heads(i, incoming);
        if let Some(p) = incoming {
            if !firsts.contains(&p) {
                firsts.push(p);
            }
        }
        firsts
    }

    /// Member `i` may begin at shift `s` after a piece at `incoming`.
    fn enters(&self, i: usize, incoming: Option<i128>, s: i128) -> bool {
        incoming.is_none_or(|p| self.joins(self.lo(i), p, s))
    }

    /// Logical split points of member `i` between a piece at `sa` and one at `sb`: cluster
    /// boundaries under both, inside the member. For a deflated member, only those at or below
    /// the point where the contiguous reading from `sa` stops decoding, nearest first.
    fn split_points(&mut self, i: usize, sa: i128, sb: i128) -> Vec<u64> {
        let g = self.geometry;
        let (lo, hi) = (self.lo(i), self.hi(i));
        let mut splits = Vec::new();
        if sb == sa || (sa - sb).rem_euclid(g.cluster as i128) != 0 {
            return splits;
        }
        let Ok(start) = u64::try_from(lo as i128 + 1 + sa) else {
            return splits;
        };
        let mut phys = if start <= g.origin {
            g.origin
        } else {
            g.origin + (start - g.origin).div_ceil(g.cluster) * g.cluster
        };
        loop {
            let split = (phys as i128 - sa) as u64;
            if split >= hi {
                break;
            }
            if u64::try_from(split as i128 + sb).is_ok() {
                splits.push(split);
            }
            phys += g.cluster;
        }
        if let Some(reach) = self.reach(i, sa) {
            splits.retain(|&x| x <= reach);
            splits.reverse();
        }
        splits
    }

    /// The next way to place member `f.i` after the ones already tried from this frame: its
    /// pieces and the shift in effect at its end. `Err` when the budget ran out.
    fn next_option(&mut self, f: &mut Frame) -> Result<Option<Option3>, OutOfBudget> {
        let (i, incoming) = (f.i, f.incoming);
        let (lo, hi) = (self.lo(i), self.hi(i));
        loop {
            match &mut f.stage {
                // Whole members first: the common case, one decoding each.
                Stage::Whole(k) => {
                    let heads = self.heads(i, incoming);
                    let Some(&s) = heads.get(*k) else {
                        f.stage = Stage::Split {
                            a: 0,
                            b: 0,
                            splits: None,
                            k: 0,
                        };
                        continue;
                    };
                    *k += 1;
                    if self.enters(i, incoming, s) && self.decode(i, s, hi, s).ok_or(OutOfBudget)? {
                        return Ok(Some((vec![(lo, s)], s)));
                    }
                }
                // Split members: the first piece where a header is (or the previous piece goes
                // on), the tail where a later header or the directory is.
                Stage::Split { a, b, splits, k } => {
                    let firsts = self.firsts(i, incoming);
                    let tails = self.tail_shifts(i);
                    let Some(&sa) = firsts.get(*a) else {
                        f.stage = if self.allow_bridge {
                            Stage::Bridge { a: 0, b: 0 }
                        } else {
                            Stage::Exhausted
                        };
                        continue;
                    };
                    let Some(&sb) = tails.get(*b) else {
                        (*a, *b, *splits) = (*a + 1, 0, None);
                        continue;
                    };
                    if splits.is_none() {
                        *splits = Some(if self.enters(i, incoming, sa) {
                            self.split_points(i, sa, sb)
                        } else {
                            Vec::new()
                        });
                        *k = 0;
                    }
                    let Some(&split) = splits.as_ref().and_then(|l| l.get(*k)) else {
                        (*b, *splits) = (*b + 1, None);
                        continue;
                    };
                    *k += 1;
                    if self.decode(i, sa, split, sb).ok_or(OutOfBudget)? {
                        return Ok(Some((vec![(lo, sa), (split, sb)], sb)));
                    }
                }
                // Three pieces, the middle one without a header.
                Stage::Bridge { a, b } => {
                    let firsts = self.firsts(i, incoming);
                    let tails = self.tail_shifts(i);
                    let Some(&sa) = firsts.get(*a) else {
                        f.stage = Stage::Exhausted;
                        continue;
                    };
                    let Some(&sb) = tails.get(*b) else {
                        (*a, *b) = (*a + 1, 0);
                        continue;
                    };
                    *b += 1;
                    if sb == sa || !self.enters(i, incoming, sa) {
                        continue;
                    }
                    if let Some((split1, x, split2)) = self.bridge(i, sa, sb) {
                        let mid = x as i128 - split1 as i128;
                        return Ok(Some((vec![(lo, sa), (split1, mid), (split2, sb)], sb)));
                    }
                }
                Stage::Exhausted => return Ok(None),
            }
        }
    }

    /// Place every member, backtracking, without recursion (an archive may have a million
    /// members). Returns the logical pieces `(logical start, shift)` of all members in order.
    fn place(&mut self) -> Option<Vec<(u64, i128)>> {
        let n = self.recs.len();
        let mut stack = vec![Frame::new(0, None)];
        while let Some(f) = stack.last_mut() {
            let Ok(next) = self.next_option(f) else {
                return None;
            };
            match next {
                None => {
                    if self.budget > 0 {
                        self.dead.insert((f.i, f.incoming));
                    }
                    stack.pop();
                }
                Some((pieces, end)) => {
                    let i = f.i;
                    if i + 1 == n {
                        if self.joins(self.cd_logical, end, self.cd_shift) {
                            let mut out: Vec<(u64, i128)> = Vec::new();
                            for fr in &stack[..stack.len() - 1] {
                                out.extend_from_slice(&fr.pieces);
                            }
                            out.extend(pieces);
                            return Some(out);
                        }
                        continue;
                    }
                    if self.dead.contains(&(i + 1, Some(end))) {
                        continue;
                    }
                    f.pieces = pieces;
                    stack.push(Frame::new(i + 1, Some(end)));
                }
            }
        }
        None
    }
}

/// The placement budget ran out.
struct OutOfBudget;

/// One way to place a member: its pieces `(logical start, shift)` and the shift at its end.
type Option3 = (Vec<(u64, i128)>, i128);

/// Where the enumeration of one member's placements stands.
enum Stage {
    /// Trying the k-th header shift, whole.
    Whole(usize),
    /// Trying first-piece shift `a`, tail shift `b`, the k-th of their split points.
    Split {
        a: usize,
        b: usize,
        splits: Option<Vec<u64>>,
        k: usize,
    },
    /// Trying a three-piece placement with first-piece shift `a` and tail shift `b`.
    Bridge {
        a: usize,
        b: usize,
    },
    Exhausted,
}

/// One member on the search stack: where it is tried from and the pieces of the placement
/// being explored below it.
struct Frame {
    i: usize,
    incoming: Option<i128>,
    stage: Stage,
    pieces: Vec<(u64, i128)>,
}

impl Frame {
    fn new(i: usize, incoming: Option<i128>) -> Self {
        Frame {
            i,
            incoming,
            stage: Stage::Whole(0),
            pieces: Vec::new(),
        }
    }
}

/// Follow a FAT volume's allocation from the cluster where an archive starts: its chain when the
/// file is still allocated, else the free clusters in order (a deleted file's clusters are free
/// again, and first-fit allocation laid it into the free clusters that followed its start).
/// The archive is accepted when an end record read through the walk gives an intact archive
/// that starts at the walk's first byte.
///
/// `foreign` are byte ranges known to belong to other files (archives that stand whole on their
/// own): a free cluster inside one is another deleted file's, and the free walk steps over it.
pub fn fat_walk(
    data: &dyn ByteView,
    vol: &crate::bootsector::Volume,
    start: u64,
    foreign: &[(u64, u64)],
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
    let mut seen = std::collections::HashSet::from([first]);
    if allocated {
        let mut n = first;
        while (clusters.len() as u64) < most {
            let next = fat.entry(data, n)?;
            if next >= eoc || next < 2 || next > last || !seen.insert(next) {
                break;
            }
            clusters.push(next);
            n = next;
        }
    } else {
        let mut n = first + 1;
        while (clusters.len() as u64) < most && n <= last {
            let phys = g.origin + (n - 2) * g.cluster;
            let theirs = foreign
                .iter()
                .any(|&(a, b)| phys < b && a < phys + g.cluster);
            if !theirs && fat.entry(data, n)? == 0 {
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

/// For an archive assembled from `runs` (its layout read through them): a member whose local
/// header has a rival elsewhere (at one of `locals`, outside `forbidden`) with the same name,
/// method, time, date and CRC but other bytes (the same files zipped again), which would fit the
/// directory as well. Returns the member's name, its header's physical offset and the rival's.
pub fn rival_header(
    data: &dyn ByteView,
    runs: &[(u64, u64)],
    layout: &Layout,
    locals: &[u64],
    forbidden: &[(u64, u64)],
) -> Option<(String, u64, u64)> {
    let view = Mapped::from_runs(data, runs);
    // A header of entry `j` at logical offset + `shift`, physically.
    let has_header = |j: usize, shift: i128| {
        let Some(e) = layout.entries.get(j) else {
            return false;
        };
        let Some(at) = e.header_offset else {
            return false;
        };
        let Ok(q) = u64::try_from(at as i128 + shift) else {
            return false;
        };
        let h = data.bytes_at(q, records::LFH_LEN + e.name.len());
        h.len() == records::LFH_LEN + e.name.len()
            && &h[..4] == records::LFH_SIG
            && h[records::LFH_LEN..] == e.name[..]
    };
    for (k, e) in layout.entries.iter().enumerate() {
        let Some(at) = e.header_offset else { continue };
        let mine = view.bytes_at(at, (e.data_start.saturating_sub(at)) as usize);
        if mine.len() < records::LFH_LEN {
            continue;
        }
        let phys = to_physical(runs, at)?;
        let name_end = records::LFH_LEN + e.name.len();
        for &p in locals {
            if p == phys || forbidden.iter().any(|&(a, b)| a <= p && p < b) {
                continue;
            }
            let theirs = data.bytes_at(p, mine.len());
            // Same method, time, date and CRC (bytes 8..18) and the same name.
            // Part of another copy of this layout: a neighbouring entry's header at the same
            // shift (a lone header is some other archive holding the same file).
            let shift = p as i128 - at as i128;
            let laid_out =
                k.checked_sub(1).is_some_and(|j| has_header(j, shift)) || has_header(k + 1, shift);
            if theirs.len() == mine.len()
                && theirs[8..18] == mine[8..18]
                && theirs.get(records::LFH_LEN..name_end) == Some(&e.name[..])
                && theirs != mine
                && laid_out
            {
                return Some((e.display_name(), phys, p));
            }
        }
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
    fn a_resumable_decoder_copied_midway_finishes_with_the_right_crc() {
        use flate2::write::DeflateEncoder;
        use std::io::Write;
        let text: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("{} ", i % 977).into_bytes())
            .collect();
        let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&text).unwrap();
        let z = e.finish().unwrap();
        let most = text.len() as u64;
        let mut a = Resumable::new();
        assert_eq!(a.feed(&z[..z.len() / 3], most), Fed::More);
        let mut b = a.clone();
        for piece in z[z.len() / 3..].chunks(512) {
            let f = b.feed(piece, most);
            assert_ne!(f, Fed::Bad);
        }
        assert_eq!(b.produced, most);
        assert_eq!(b.crc.clone().finalize(), crc32fast::hash(&text));
        // The copy left behind still decodes the rest on its own; garbage never ends it.
        assert_eq!(a.clone().feed(&z[z.len() / 3..], most), Fed::Done);
        assert_ne!(a.feed(&[0xffu8; 4096], most), Fed::Done);
    }

    #[test]
    fn an_xml_part_rejects_output_no_xml_document_holds() {
        use flate2::write::DeflateEncoder;
        use std::io::Write;
        let deflate = |b: &[u8]| {
            let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        };
        let text = b"<?xml version=\"1.0\"?>\r\n<a>\t<b/>\n</a>";
        let mut ok = Resumable::new();
        ok.xml = true;
        assert_eq!(ok.feed(&deflate(text), 1 << 20), Fed::Done);
        let mut bad = Resumable::new();
        bad.xml = true;
        assert_eq!(bad.feed(&deflate(b"<a>\x01</a>"), 1 << 20), Fed::Bad);
        let mut plain = Resumable::new();
        assert_eq!(plain.feed(&deflate(b"<a>\x01</a>"), 1 << 20), Fed::Done);
        assert!(xml_part(b"word/_rels/document.xml.rels") && xml_part(b"EPUB/ch1.XHTML"));
        assert!(!xml_part(b"Thumbnails/thumbnail.png"));
    }

    #[test]
    fn merged_ranges_answer_overlap_questions() {
        let r = merge_ranges(vec![(50, 60), (10, 20), (15, 30), (30, 35), (70, 71)]);
        assert_eq!(r, vec![(10, 35), (50, 60), (70, 71)]);
        assert!(overlaps(&r, 34, 40));
        assert!(!overlaps(&r, 35, 50));
        assert!(overlaps(&r, 0, 11));
        assert!(!overlaps(&r, 0, 10));
        assert!(overlaps(&r, 70, 1000));
        assert!(!overlaps(&r, 71, 1000));
        assert!(!overlaps(&[], 0, 1));
    }

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
