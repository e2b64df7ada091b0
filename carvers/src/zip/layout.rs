//! Working out where a ZIP archive is: from a local header forwards, or from its end record back.
//!
//! The result is a [`Layout`]: every member found, with the absolute position of its local
//! header, data and descriptor, the central directory and end records when present, and the
//! defects seen on the way. Repair reuses the same layout.

use super::records::{self, CentralHeader, DataDescriptor, LocalHeader};
use super::stream::{self, Outcome, StreamResult};
use crate::model::{Defect, DefectKind, Limits};
use crate::view::ByteView;
use memchr::memmem;

/// Compression methods defined by APPNOTE; anything else at a local header is taken as noise.
const KNOWN_METHODS: &[u16] = &[
    0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 16, 18, 19, 20, 93, 94, 95, 96, 97, 98, 99,
];

/// How far back from a central directory the carver looks for its first local header when the
/// recorded offsets disagree with the bytes, beyond the sum of the members' own sizes.
const BASE_SEARCH_SLACK: u64 = 1 << 20;

/// How far a data descriptor is searched for when a member's size is unknown and its data cannot
/// be decoded to its end.
const DESCRIPTOR_SEARCH_MAX: u64 = 1 << 30;

/// How far before an end record its central directory is searched when its recorded size is wrong.
const CD_SEARCH_MAX: u64 = 64 << 20;

/// A member as reconstructed from the local header, the central directory, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    /// Absolute offset of the local header, when one was found there.
    pub header_offset: Option<u64>,
    /// Length of the local header with name and extra.
    pub header_len: u64,
    /// Absolute offset of the central directory record, when there is one.
    pub central_offset: Option<u64>,
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub mod_time: u16,
    pub mod_date: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Absolute start and end of the stored bytes.
    pub data_start: u64,
    pub data_end: u64,
    /// The data descriptor after the data, with its absolute offset.
    pub descriptor: Option<(u64, DataDescriptor)>,
    /// Result of decoding, when it was already needed to delimit the member.
    pub check: Option<StreamResult>,
    /// True when the data runs past the end of the source.
    pub cut: bool,
}

impl Entry {
    /// End of everything the member occupies (data plus descriptor).
    pub fn end(&self) -> u64 {
        match self.descriptor {
            Some((at, dd)) => at + dd.len(),
            None => self.data_end,
        }
    }

    /// Name for display and reports.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Whether the member is encrypted.
    pub fn encrypted(&self) -> bool {
        self.flags & records::FLAG_ENCRYPTED != 0
    }
}

/// The central directory as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub start: u64,
    pub end: u64,
    pub records: usize,
}

/// The end record as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub offset: u64,
    /// End of the record including its declared comment, clipped to the source.
    pub end: u64,
    pub comment_start: u64,
    pub declared_entries: u64,
    pub zip64_record: Option<u64>,
    pub disk: u16,
}

/// Everything known about one archive's position and structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Absolute start of the archive (offsets in the directory are relative to it).
    pub start: u64,
    /// Absolute end of the archive's structure.
    pub end: u64,
    pub entries: Vec<Entry>,
    pub directory: Option<Directory>,
    pub end_record: Option<End>,
    pub defects: Vec<Defect>,
    pub notes: Vec<String>,
    /// True when the structure runs past the end of the source or stops in unrelated data.
    pub truncated: bool,
}

impl Layout {
    fn defect(&mut self, d: Defect) {
        if !self.defects.contains(&d) {
            self.defects.push(d);
        }
    }
}

fn short_hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(8).map(|x| format!("{x:02x}")).collect();
    if b.is_empty() {
        s.push_str("end of data");
    }
    s
}

/// A local header read from the source, with owned variable parts.
#[derive(Debug, Clone)]
struct Local {
    pos: u64,
    name: Vec<u8>,
    header_len: u64,
    version_needed: u16,
    flags: u16,
    method: u16,
    mod_time: u16,
    mod_date: u16,
    crc32: u32,
    compressed_size: u64,
    uncompressed_size: u64,
    sizes_deferred: bool,
}

impl Local {
    fn from_header(pos: u64, h: &LocalHeader<'_>) -> Local {
        Local {
            pos,
            header_len: h.header_len(),
            sizes_deferred: h.sizes_deferred(),
            name: h.name.to_vec(),
            version_needed: h.version_needed,
            flags: h.flags,
            method: h.method,
            mod_time: h.mod_time,
            mod_date: h.mod_date,
            crc32: h.crc32,
            compressed_size: h.compressed_size,
            uncompressed_size: h.uncompressed_size,
        }
    }
}

enum LocalRead {
    Found(Local),
    NotHere,
    /// The signature is there but the source ends inside the header.
    Cut,
}

fn read_local(data: &dyn ByteView, pos: u64) -> LocalRead {
    let fixed = data.bytes_at(pos, records::LFH_LEN);
    if fixed.len() < 4 || &fixed[..4] != records::LFH_SIG {
        return LocalRead::NotHere;
    }
    if fixed.len() < records::LFH_LEN {
        return LocalRead::Cut;
    }
    let n = usize::from(u16::from_le_bytes([fixed[26], fixed[27]]));
    let e = usize::from(u16::from_le_bytes([fixed[28], fixed[29]]));
    let whole = data.bytes_at(pos, records::LFH_LEN + n + e);
    let h: LocalHeader<'_> = match records::local_header(&whole) {
        Ok((_, h)) => h,
        Err(_) => return LocalRead::Cut,
    };
    if !KNOWN_METHODS.contains(&h.method) || (h.version_needed & 0xff) > 100 {
        return LocalRead::NotHere;
    }
    LocalRead::Found(Local::from_header(pos, &h))
}

/// A central directory record with owned variable parts.
#[derive(Debug, Clone)]
pub(crate) struct Central {
    pub(crate) pos: u64,
    pub(crate) len: u64,
    pub(crate) name: Vec<u8>,
    pub(crate) version_needed: u16,
    pub(crate) flags: u16,
    pub(crate) method: u16,
    pub(crate) mod_time: u16,
    pub(crate) mod_date: u16,
    pub(crate) crc32: u32,
    pub(crate) compressed_size: u64,
    pub(crate) uncompressed_size: u64,
    pub(crate) local_offset: u64,
    pub(crate) extra_len: u64,
}

/// Read the central directory record at `pos` (fixed part, then name, extra and comment) and
/// hand it to `f`; `None` when no whole record is there.
pub(crate) fn with_central<T>(
    data: &dyn ByteView,
    pos: u64,
    f: impl FnOnce(&CentralHeader<'_>) -> T,
) -> Option<T> {
    let fixed = data.bytes_at(pos, records::CDH_LEN);
    if fixed.len() < records::CDH_LEN || &fixed[..4] != records::CDH_SIG {
        return None;
    }
    let n = usize::from(u16::from_le_bytes([fixed[28], fixed[29]]));
    let e = usize::from(u16::from_le_bytes([fixed[30], fixed[31]]));
    let c = usize::from(u16::from_le_bytes([fixed[32], fixed[33]]));
    let whole = data.bytes_at(pos, records::CDH_LEN + n + e + c);
    let (_, h) = records::central_header(&whole).ok()?;
    Some(f(&h))
}

pub(crate) fn read_central(data: &dyn ByteView, pos: u64) -> Option<Central> {
    with_central(data, pos, |h| Central {
        pos,
        len: h.record_len(),
        name: h.name.to_vec(),
        version_needed: h.version_needed,
        flags: h.flags,
        method: h.method,
        mod_time: h.mod_time,
        mod_date: h.mod_date,
        crc32: h.crc32,
        compressed_size: h.compressed_size,
        uncompressed_size: h.uncompressed_size,
        local_offset: h.local_offset,
        extra_len: h.extra.len() as u64,
    })
}

/// Consecutive central directory records from `start`; returns them and where they stop.
fn read_directory(data: &dyn ByteView, start: u64, limits: &Limits) -> (Vec<Central>, u64) {
    let mut out = Vec::new();
    let mut pos = start;
    while out.len() < limits.max_members {
        match read_central(data, pos) {
            Some(c) => {
                pos += c.len;
                out.push(c);
            }
            None => break,
        }
    }
    (out, pos)
}

/// Skip the records that may sit between a central directory and its end record; return the end
/// record's offset when one is there.
fn find_end_after(data: &dyn ByteView, mut pos: u64) -> Option<u64> {
    for _ in 0..4 {
        let head = data.bytes_at(pos, 12);
        if head.len() < 4 {
            return None;
        }
        let sig: [u8; 4] = head[..4].try_into().ok()?;
        match &sig {
            s if s == records::EOCD_SIG => return Some(pos),
            s if s == records::Z64_LOCATOR_SIG => pos += records::Z64_LOCATOR_LEN as u64,
            s if s == records::Z64_EOCD_SIG && head.len() == 12 => {
                let size = u64::from_le_bytes(head[4..12].try_into().ok()?);
                pos = pos.checked_add(12)?.checked_add(size)?;
            }
            s if s == records::DIGSIG_SIG && head.len() >= 6 => {
                pos += 6 + u64::from(u16::from_le_bytes([head[4], head[5]]));
            }
            _ => return None,
        }
    }
    None
}

/// Where a member whose sizes are deferred to a data descriptor ends, found by searching for the
/// descriptor: the next header signature preceded by a descriptor whose size field equals the
/// distance from the data start. For stored data the CRC must agree too.
fn find_descriptor(
    data: &dyn ByteView,
    data_start: u64,
    verify_crc: bool,
    limits: &Limits,
) -> Option<(u64, u64, DataDescriptor)> {
    const PIECE: usize = 1 << 20;
    let limit = data
        .len()
        .min(data_start.saturating_add(DESCRIPTOR_SEARCH_MAX.min(limits.max_size)));
    let finder = memmem::Finder::new(b"PK");
    let mut window = data_start;
    while window < limit {
        let piece = data.bytes_at(window, PIECE + 3);
        if piece.len() < 4 {
            return None;
        }
        for i in finder.find_iter(&piece) {
            let q = window + i as u64;
            if q >= limit {
                return None;
            }
            let Some(tail) = piece.get(i + 2..i + 4) else {
                continue;
            };
            let found = match tail {
                [7, 8] => descriptor_at(data, data_start, q, true),
                [3, 4] | [1, 2] => descriptor_at(data, data_start, q, false),
                _ => None,
            };
            let Some((data_end, dd)) = found else {
                continue;
            };
            if verify_crc {
                let r = stream::stored(data, data_start, data_end, None);
                if r.crc32 != dd.crc32 {
                    continue;
                }
            }
            return Some((data_end, data_end, dd));
        }
        window += PIECE as u64;
    }
    None
}

/// A descriptor that ends at `q` (unsigned) or starts at `q` (signed), agreeing on the size.
fn descriptor_at(
    data: &dyn ByteView,
    data_start: u64,
    q: u64,
    signed: bool,
) -> Option<(u64, DataDescriptor)> {
    if signed {
        let csize = q.checked_sub(data_start)?;
        let b = data.bytes_at(q, 24);
        for wide in [false, true] {
            if let Ok((_, dd)) = records::data_descriptor(&b, true, wide) {
                if dd.compressed_size == csize {
                    return Some((q, dd));
                }
            }
        }
        return None;
    }
    for (back, wide) in [(12u64, false), (20, true)] {
        let at = q.checked_sub(back)?;
        let Some(csize) = at.checked_sub(data_start) else {
            continue;
        };
        let b = data.bytes_at(at, back as usize);
        if let Ok((_, dd)) = records::data_descriptor(&b, false, wide) {
            if dd.compressed_size == csize {
                return Some((at, dd));
            }
        }
    }
    None
}

/// Delimit a member that starts with a local header.
fn delimit(data: &dyn ByteView, l: &Local, limits: &Limits) -> Entry {
    let data_start = l.pos + l.header_len;
    let mut e = Entry {
        name: l.name.clone(),
        header_offset: Some(l.pos),
        header_len: l.header_len,
        central_offset: None,
        version_needed: l.version_needed,
        flags: l.flags,
        method: l.method,
        mod_time: l.mod_time,
        mod_date: l.mod_date,
        crc32: l.crc32,
        compressed_size: l.compressed_size,
        uncompressed_size: l.uncompressed_size,
        data_start,
        data_end: data_start,
        descriptor: None,
        check: None,
        cut: false,
    };
    if !l.sizes_deferred {
        e.data_end = data_start.saturating_add(l.compressed_size);
        if l.flags & records::FLAG_DATA_DESCRIPTOR != 0 {
            let b = data.bytes_at(e.data_end, 24);
            let crc = (l.crc32 != 0).then_some(l.crc32);
            e.descriptor =
                records::matching_descriptor(&b, l.compressed_size, crc).map(|d| (e.data_end, d));
        }
        e.cut = e.end() > data.len();
        return e;
    }

    // Sizes are deferred: decode to the end of the stream, or search for the descriptor.
    if l.method == 8 && l.flags & records::FLAG_ENCRYPTED == 0 {
        let bound = data.len().min(data_start.saturating_add(limits.max_size));
        let r = stream::inflate(data, data_start, bound, limits, None);
        match r.outcome {
            Outcome::Complete => {
                e.data_end = data_start + r.consumed;
                let b = data.bytes_at(e.data_end, 24);
                let dd = records::matching_descriptor(&b, r.consumed, Some(r.crc32))
                    .or_else(|| records::matching_descriptor(&b, r.consumed, None));
                if let Some(dd) = dd {
                    e.descriptor = Some((e.data_end, dd));
                    e.crc32 = dd.crc32;
                    e.uncompressed_size = dd.uncompressed_size;
                } else {
                    e.crc32 = r.crc32;
                    e.uncompressed_size = r.produced;
                }
                e.compressed_size = r.consumed;
                e.check = Some(r);
                return e;
            }
            Outcome::ShortInput => {
                e.data_end = bound;
                e.compressed_size = bound - data_start;
                e.cut = true;
                e.check = Some(r);
                return e;
            }
            Outcome::Corrupt { .. } | Outcome::LimitExceeded => {
                if let Some((end, at, dd)) = find_descriptor(data, data_start, false, limits) {
                    e.data_end = end;
                    e.descriptor = Some((at, dd));
                    e.crc32 = dd.crc32;
                    e.compressed_size = dd.compressed_size;
                    e.uncompressed_size = dd.uncompressed_size;
                } else if let Outcome::Corrupt { at, .. } = r.outcome {
                    e.data_end = at.max(data_start);
                    e.compressed_size = e.data_end - data_start;
                }
                e.check = Some(r);
                return e;
            }
        }
    }
    match find_descriptor(data, data_start, l.method == 0, limits) {
        Some((end, at, dd)) => {
            e.data_end = end;
            e.descriptor = Some((at, dd));
            e.crc32 = dd.crc32;
            e.compressed_size = dd.compressed_size;
            e.uncompressed_size = dd.uncompressed_size;
        }
        None => {
            e.data_end = data.len();
            e.compressed_size = e.data_end.saturating_sub(data_start);
            e.cut = true;
        }
    }
    e
}

/// Why a walk over local headers stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A central directory header follows the last member.
    Directory,
    /// Something else follows.
    Other,
    /// The source ended inside the structure.
    Cut,
}

/// Follow local headers from `pos` while each member is followed by the next header.
fn walk_locals(data: &dyn ByteView, pos: u64, limits: &Limits) -> (Vec<Entry>, u64, Stop) {
    let mut entries = Vec::new();
    let mut at = pos;
    loop {
        if entries.len() >= limits.max_members || at - pos > limits.max_size {
            return (entries, at, Stop::Other);
        }
        let l = match read_local(data, at) {
            LocalRead::Found(l) => l,
            LocalRead::Cut => return (entries, at, Stop::Cut),
            LocalRead::NotHere => {
                let sig = data.bytes_at(at, 4);
                let stop = if &sig[..] == records::CDH_SIG {
                    Stop::Directory
                } else {
                    Stop::Other
                };
                return (entries, at, stop);
            }
        };
        let e = delimit(data, &l, limits);
        let cut = e.cut;
        at = e.end().min(data.len());
        entries.push(e);
        if cut {
            return (entries, at, Stop::Cut);
        }
    }
}

fn plausible_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b >= 0x20)
}

/// The member whose local header sits at `pos`, delimited as the walk would delimit it.
pub fn member_at(data: &dyn ByteView, pos: u64, limits: &Limits) -> Option<Entry> {
    match read_local(data, pos) {
        LocalRead::Found(l) => Some(delimit(data, &l, limits)),
        _ => None,
    }
}

/// An archive found from one of its local headers.
pub fn from_local(data: &dyn ByteView, pos: u64, limits: &Limits) -> Option<Layout> {
    let LocalRead::Found(first) = read_local(data, pos) else {
        return None;
    };
    if !plausible_name(&first.name) {
        return None;
    }
    let (entries, walk_end, stop) = walk_locals(data, pos, limits);

    if stop == Stop::Directory {
        let (recs, cd_end) = read_directory(data, walk_end, limits);
        if let Some(e) = find_end_after(data, cd_end) {
            if let Some(mut full) = from_end(data, e, limits) {
                if full.start <= pos && full.entries.iter().any(|x| x.header_offset == Some(pos)) {
                    reuse_checks(&mut full, &entries);
                    return Some(full);
                }
            }
        }
        return Some(without_end(data, pos, entries, walk_end, &recs, cd_end));
    }

    let mut layout = Layout {
        start: pos,
        end: walk_end,
        entries,
        directory: None,
        end_record: None,
        defects: Vec::new(),
        notes: Vec::new(),
        truncated: true,
    };
    if stop == Stop::Cut || layout.entries.iter().any(|e| e.cut) {
        layout.defect(Defect::new(
            DefectKind::Truncated,
            data.len(),
            "more archive bytes",
            "end of source",
        ));
    } else {
        let found = short_hex(&data.bytes_at(walk_end, 4));
        layout.defect(Defect::new(
            DefectKind::CentralDirectoryMissing,
            walk_end,
            "local or central directory header",
            found,
        ));
    }
    Some(layout)
}

/// Carry decoding results from a walk into a layout built from the directory.
fn reuse_checks(full: &mut Layout, walked: &[Entry]) {
    for e in &mut full.entries {
        if let Some(w) = walked
            .iter()
            .find(|w| w.header_offset == e.header_offset && w.header_offset.is_some())
        {
            if w.data_start == e.data_start && w.data_end == e.data_end && e.check.is_none() {
                e.check = w.check.clone();
            }
        }
    }
}

/// Members and a directory, but no end record after it.
fn without_end(
    data: &dyn ByteView,
    pos: u64,
    mut entries: Vec<Entry>,
    cd_start: u64,
    recs: &[Central],
    cd_end: u64,
) -> Layout {
    // Relative offsets are measured from the first member's header when nothing else is known.
    for r in recs {
        let abs = pos.checked_add(r.local_offset);
        if let Some(e) = entries
            .iter_mut()
            .find(|e| e.header_offset == abs && e.name == r.name)
        {
            e.central_offset = Some(r.pos);
            if e.descriptor.is_none() && e.check.is_none() {
                e.crc32 = r.crc32;
            }
        }
    }
    let cut_at_end = read_central(data, cd_end).is_none() && data.bytes_at(cd_end, 1).is_empty();
    let incomplete = recs.len() < entries.len();
    let damaged_end = damaged_end_record(data, cd_start, cd_end, recs.len());
    let mut layout = Layout {
        start: pos,
        end: damaged_end.unwrap_or(cd_end),
        entries,
        directory: Some(Directory {
            start: cd_start,
            end: cd_end,
            records: recs.len(),
        }),
        end_record: None,
        defects: Vec::new(),
        notes: Vec::new(),
        // Without an end record, even a damaged one, the directory runs into unrelated bytes.
        truncated: damaged_end.is_none() || incomplete,
    };
    let found = short_hex(&data.bytes_at(cd_end, 4));
    let expected = if damaged_end.is_some() {
        "end of central directory signature 504b0506"
    } else {
        "end of central directory record"
    };
    layout.defect(Defect::new(
        DefectKind::EocdMissing,
        cd_end,
        expected,
        found,
    ));
    if damaged_end.is_some() && !incomplete {
        // The record is there with a damaged signature: damage, not truncation.
    } else if cut_at_end {
        layout.defect(Defect::new(
            DefectKind::Truncated,
            cd_end,
            "end of central directory record",
            "end of source",
        ));
    } else if incomplete {
        layout.defect(Defect::new(
            DefectKind::Truncated,
            cd_end,
            format!("{} directory records", layout.entries.len()),
            format!("{} records", recs.len()),
        ));
    } else {
        layout.defect(Defect::new(
            DefectKind::Truncated,
            cd_end,
            "end of central directory record",
            "unrelated bytes",
        ));
    }
    layout
}

/// An end record at `cd_end` whose signature is damaged but whose counts and directory size
/// match the directory just read; returns where it ends (with its comment, clipped).
fn damaged_end_record(data: &dyn ByteView, cd_start: u64, cd_end: u64, n: usize) -> Option<u64> {
    let b = data.bytes_at(cd_end, records::EOCD_LEN);
    if b.len() < records::EOCD_LEN || n == 0 {
        return None;
    }
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let n = n as u64;
    let fits = u16_at(4) == 0
        && u16_at(6) == 0
        && u16_at(8) == n
        && u16_at(10) == n
        && u32_at(12) == cd_end - cd_start;
    let end = (cd_end + records::EOCD_LEN as u64 + u16_at(20)).min(data.len());
    fits.then_some(end)
}

/// The values of an end record, after any ZIP64 record has been applied.
struct EndValues {
    entries: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the central directory should end (the ZIP64 record or the end record).
    cd_end: u64,
    zip64_record: Option<u64>,
}

fn zip64_values(data: &dyn ByteView, e: u64) -> Option<(u64, records::Zip64EndRecord)> {
    let loc_pos = e.checked_sub(records::Z64_LOCATOR_LEN as u64)?;
    let loc = data.bytes_at(loc_pos, records::Z64_LOCATOR_LEN);
    records::zip64_locator(&loc).ok()?;
    // The record normally sits right before the locator; extensible data can make it longer.
    let back = 64 * 1024u64;
    let from = loc_pos.saturating_sub(back);
    let region = data.bytes_at(from, (loc_pos - from) as usize);
    let finder = memmem::FinderRev::new(records::Z64_EOCD_SIG);
    for i in finder.rfind_iter(&region) {
        let at = from + i as u64;
        let b = data.bytes_at(at, records::Z64_EOCD_LEN);
        if let Ok((_, z)) = records::zip64_end_record(&b) {
            if at
                .checked_add(12)
                .and_then(|x| x.checked_add(z.record_size))
                == Some(loc_pos)
            {
                return Some((at, z));
            }
        }
    }
    None
}

/// An archive found from its end of central directory record at `e`.
pub fn from_end(data: &dyn ByteView, e: u64, limits: &Limits) -> Option<Layout> {
    let raw = data.bytes_at(e, records::EOCD_LEN + usize::from(u16::MAX));
    let (_, rec) = records::end_record(&raw).ok()?;
    let comment_start = e + records::EOCD_LEN as u64;
    let declared_end = comment_start + u64::from(rec.comment_len);
    let end = declared_end.min(data.len());

    let z64 = zip64_values(data, e);
    let v = match z64 {
        Some((at, z)) => EndValues {
            entries: z.entries,
            cd_size: z.cd_size,
            cd_offset: z.cd_offset,
            cd_end: at,
            zip64_record: Some(at),
        },
        None => EndValues {
            entries: u64::from(rec.entries),
            cd_size: u64::from(rec.cd_size),
            cd_offset: u64::from(rec.cd_offset),
            cd_end: e,
            zip64_record: None,
        },
    };
    let end_info = End {
        offset: e,
        end,
        comment_start,
        declared_entries: v.entries,
        zip64_record: v.zip64_record,
        disk: rec.disk,
    };
    let mut notes = Vec::new();
    // With a ZIP64 record the classic fields may all be saturated; its own disk numbers count.
    let (disk, cd_disk) = match z64 {
        Some((_, z)) => (z.disk, z.cd_disk),
        None => (u32::from(rec.disk), u32::from(rec.cd_disk)),
    };
    if disk != 0 || cd_disk != 0 {
        notes.push(format!("end record claims disk {disk} of a multi-disk set"));
    }

    // An empty archive: nothing but the end record.
    if v.entries == 0 && v.cd_size == 0 {
        if rec.disk != 0 || rec.cd_disk != 0 || v.cd_offset > e {
            return None;
        }
        let mut layout = Layout {
            start: e,
            end,
            entries: Vec::new(),
            directory: None,
            end_record: Some(end_info),
            defects: Vec::new(),
            notes,
            truncated: declared_end > data.len(),
        };
        if layout.truncated {
            layout.defect(Defect::new(
                DefectKind::Truncated,
                data.len(),
                "archive comment",
                "end of source",
            ));
        }
        return Some(layout);
    }

    let mut defects = Vec::new();
    let (cd_start, recs) = match locate_directory(data, &v, limits) {
        Some((start, recs)) => {
            if Some(start) != v.cd_end.checked_sub(v.cd_size) {
                defects.push(Defect::new(
                    DefectKind::OffsetMismatch,
                    e + 12,
                    format!("central directory size {}", v.cd_size),
                    format!("{} bytes of records", v.cd_end - start),
                ));
            }
            (start, recs)
        }
        None => return unreadable_directory(data, &v, end_info, notes, limits),
    };
    let mut layout = Layout {
        start: cd_start,
        end,
        entries: Vec::new(),
        directory: Some(Directory {
            start: cd_start,
            end: v.cd_end,
            records: recs.len(),
        }),
        end_record: Some(end_info),
        defects,
        notes,
        truncated: false,
    };
    place_members(data, &mut layout, &v, cd_start, &recs, limits);
    if v.entries > recs.len() as u64 {
        add_orphans(data, &mut layout, cd_start, limits);
    }
    if declared_end > data.len() {
        layout.truncated = true;
        layout.defect(Defect::new(
            DefectKind::Truncated,
            data.len(),
            "archive comment",
            "end of source",
        ));
    }
    Some(layout)
}

/// The directory lost records: members whose local headers follow each other from the archive
/// start but which no record names are members all the same.
fn add_orphans(data: &dyn ByteView, layout: &mut Layout, cd_start: u64, limits: &Limits) {
    if !matches!(read_local(data, layout.start), LocalRead::Found(_)) {
        return;
    }
    let (walked, _, _) = walk_locals(data, layout.start, limits);
    for w in walked {
        if w.end() > cd_start || w.header_offset.is_none() {
            break;
        }
        if layout
            .entries
            .iter()
            .any(|e| e.header_offset == w.header_offset)
        {
            continue;
        }
        layout.notes.push(format!(
            "member {:?} has a local header at {:#x} but no directory record",
            w.display_name(),
            w.header_offset.unwrap_or_default()
        ));
        if layout.entries.len() < limits.max_members {
            layout.entries.push(w);
        }
    }
}

/// Find the central directory chain that ends exactly where the end record says it should.
fn locate_directory(
    data: &dyn ByteView,
    v: &EndValues,
    limits: &Limits,
) -> Option<(u64, Vec<Central>)> {
    let ends_right = |start: u64| -> Option<Vec<Central>> {
        let (recs, stop) = read_directory(data, start, limits);
        let stop_ok = stop == v.cd_end
            || find_end_after(data, stop).is_some_and(|x| x >= v.cd_end && stop <= v.cd_end);
        (!recs.is_empty() && stop_ok).then_some(recs)
    };
    if let Some(start) = v.cd_end.checked_sub(v.cd_size) {
        if let Some(recs) = ends_right(start) {
            return Some((start, recs));
        }
    }
    // The recorded size is wrong: search back for the first record of a chain ending at cd_end.
    let window = v
        .cd_end
        .min(v.cd_size.saturating_mul(2).max(64 * 1024))
        .min(CD_SEARCH_MAX);
    let from = v.cd_end - window;
    let region = data.bytes_at(from, window as usize);
    for i in memmem::find_iter(&region, records::CDH_SIG) {
        if let Some(recs) = ends_right(from + i as u64) {
            return Some((from + i as u64, recs));
        }
    }
    None
}

/// The end record is there but its directory is not: rebuild what the local headers give.
fn unreadable_directory(
    data: &dyn ByteView,
    v: &EndValues,
    end_info: End,
    notes: Vec<String>,
    limits: &Limits,
) -> Option<Layout> {
    let cd_start = v.cd_end.checked_sub(v.cd_size)?;
    let base = cd_start.checked_sub(v.cd_offset)?;
    let LocalRead::Found(_) = read_local(data, base) else {
        return None;
    };
    let (entries, walk_end, _) = walk_locals(data, base, limits);
    let end = end_info.end;
    let mut layout = Layout {
        start: base,
        end,
        entries,
        directory: None,
        end_record: Some(end_info),
        defects: Vec::new(),
        notes,
        truncated: false,
    };
    let found = short_hex(&data.bytes_at(cd_start, 4));
    layout.defect(Defect::new(
        DefectKind::CentralDirectoryUnreadable,
        cd_start,
        format!("central directory of {} records", v.entries),
        found,
    ));
    if walk_end < cd_start {
        layout.notes.push(format!(
            "local headers end at {walk_end:#x}, before the directory at {cd_start:#x}"
        ));
    }
    Some(layout)
}

/// How many of the sampled records have their local header at `base + offset`.
fn base_score(data: &dyn ByteView, base: u64, sample: &[&Central]) -> usize {
    sample
        .iter()
        .filter(|r| {
            // Wrapping: a base "before" the source start is how offsets shifted up show.
            Some(base.wrapping_add(r.local_offset)).is_some_and(
                |p| matches!(read_local(data, p), LocalRead::Found(l) if l.name == r.name),
            )
        })
        .count()
}

/// Work out the archive start from the directory and place every member.
fn place_members(
    data: &dyn ByteView,
    layout: &mut Layout,
    v: &EndValues,
    cd_start: u64,
    recs: &[Central],
    limits: &Limits,
) {
    let mut sorted: Vec<&Central> = recs.iter().collect();
    sorted.sort_by_key(|r| r.local_offset);
    let sample: Vec<&Central> = sorted.iter().take(16).copied().collect();

    let recorded = cd_start.checked_sub(v.cd_offset);
    let mut best: Option<(usize, u64)> = recorded.map(|b| (base_score(data, b, &sample), b));
    let mut scored: Vec<(usize, u64)> = best.into_iter().filter(|&(s, _)| s > 0).collect();
    // The recorded base wins whenever any member agrees with it: images often hold several copies
    // of the same archive, and a missing header must not pull the base into another copy.
    // A header whose signature alone is damaged still carries the member's name where the
    // recorded offset says: that also confirms the recorded base.
    let names_at = |b: u64| {
        sample.iter().any(|r| {
            let at = b
                .checked_add(r.local_offset)
                .and_then(|p| p.checked_add(records::LFH_LEN as u64));
            at.is_some_and(|p| {
                !r.name.is_empty() && data.bytes_at(p, r.name.len()).as_ref() == r.name.as_slice()
            })
        })
    };
    let recorded_holds = best.is_some_and(|(s, b)| s > 0 || names_at(b));
    let mut wrapped_base = false;
    // 32-bit offsets that wrapped past 4 GiB in an archive written without ZIP64: the true base
    // is a multiple of 4 GiB before the recorded one, and each member a multiple further on.
    if cd_start >> 32 > 0 {
        let wrap_score = |b: u64| {
            sample
                .iter()
                .filter(|r| {
                    (0..=cd_start >> 32).any(|k| {
                        let p = b.wrapping_add(r.local_offset).wrapping_add(k << 32);
                        p < cd_start && matches!(read_local(data, p), LocalRead::Found(l) if l.name == r.name)
                    })
                })
                .count()
        };
        let here = best.map_or(0, |(_, b)| wrap_score(b));
        let mut k = 1u64;
        while let Some(b) = cd_start.checked_sub(v.cd_offset.wrapping_add(k << 32)) {
            let s = wrap_score(b);
            if s > here && best.is_none_or(|(bs, _)| s > bs) {
                best = Some((s, b));
                wrapped_base = true;
            }
            k += 1;
            if k > 64 {
                break;
            }
        }
    }
    if !wrapped_base && best.is_none_or(|(s, _)| s < sample.len()) {
        let mut candidates = Vec::new();
        // 32-bit offsets that wrapped past 4 GiB in an archive written without ZIP64.
        let mut k = 1u64;
        while let Some(b) = cd_start.checked_sub(v.cd_offset.wrapping_add(k << 32)) {
            candidates.push(b);
            k += 1;
            if k > 64 {
                break;
            }
        }
        // The first member's own header, found by its name before the directory.
        if let Some(first) = sample.first() {
            let span: u64 = recs
                .iter()
                .map(|r| {
                    r.compressed_size
                        .saturating_add(records::LFH_LEN as u64 + r.name.len() as u64 + 64)
                })
                .fold(0u64, u64::saturating_add);
            let window = cd_start
                .min(span.saturating_add(BASE_SEARCH_SLACK))
                .min(limits.max_size);
            let from = cd_start - window;
            let mut pos = from;
            while pos < cd_start {
                let len = ((cd_start - pos) as usize).min(1 << 22);
                let region = data.bytes_at(pos, len + 3);
                for i in memmem::find_iter(&region, records::LFH_SIG) {
                    let p = pos + i as u64;
                    if let LocalRead::Found(l) = read_local(data, p) {
                        if l.name == first.name {
                            if let Some(b) = Some(p.wrapping_sub(first.local_offset)) {
                                candidates.push(b);
                            }
                        }
                    }
                }
                if region.len() <= 3 {
                    break;
                }
                pos += len as u64;
            }
        }
        for b in candidates {
            let s = base_score(data, b, &sample);
            if s > 0 && !scored.iter().any(|&(_, x)| x == b) {
                scored.push((s, b));
            }
            // Among equally good bases, the one closest to the directory.
            let better = best.is_none_or(|(bs, bb)| s > bs || (s == bs && b > bb));
            if !recorded_holds && better {
                best = Some((s, b));
            }
        }
    }
    let (score, base) = best.unwrap_or((0, cd_start));
    // Writers that forget a data descriptor or a prefix in some offsets leave an archive whose
    // members agree with different bases; each member may fall back to another base that fits.
    let others: Vec<u64> = scored
        .iter()
        .map(|&(_, b)| b)
        // A base as far away as the archive is long would place the header in another copy of
        // the archive; only nearer bases (a forgotten descriptor, a prefix) are this archive's.
        .filter(|&b| b != base && b.abs_diff(base) < v.cd_end.saturating_sub(base))
        .collect();
    if Some(base) != recorded && score > 0 {
        layout.defect(Defect::new(
            DefectKind::OffsetMismatch,
            layout
                .end_record
                .as_ref()
                .map_or(cd_start, |e| e.offset + 16),
            format!("central directory at relative offset {:#x}", v.cd_offset),
            format!("at relative offset {:#x}", cd_start.wrapping_sub(base)),
        ));
    }
    layout.start = if score > 0 && base <= cd_start {
        base
    } else {
        cd_start
    };

    for r in recs {
        let entry = place_one(data, layout, base, &others, cd_start, r);
        layout.entries.push(entry);
    }
    if let Some(first) = layout.entries.iter().filter_map(|e| e.header_offset).min() {
        layout.start = layout.start.min(first);
    }
    let declared = v.entries;
    if declared != recs.len() as u64 && declared != u64::from(u16::MAX) {
        layout.defect(Defect::new(
            DefectKind::EntryCountMismatch,
            layout
                .end_record
                .as_ref()
                .map_or(cd_start, |e| e.offset + 10),
            format!("{declared} entries"),
            format!("{} directory records", recs.len()),
        ));
    }
    let mut names: Vec<&[u8]> = layout.entries.iter().map(|e| e.name.as_slice()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        layout
            .notes
            .push("the directory names some member more than once".to_owned());
    }
}

/// A local header whose signature is damaged but whose name is the one the directory expects.
fn read_local_damaged(data: &dyn ByteView, pos: u64, name: &[u8]) -> Option<Local> {
    let fixed = data.bytes_at(pos, records::LFH_LEN);
    if fixed.len() < records::LFH_LEN {
        return None;
    }
    let n = usize::from(u16::from_le_bytes([fixed[26], fixed[27]]));
    let e = usize::from(u16::from_le_bytes([fixed[28], fixed[29]]));
    if n != name.len() || name.is_empty() {
        return None;
    }
    let mut whole = data.bytes_at(pos, records::LFH_LEN + n + e).into_owned();
    whole[..4].copy_from_slice(records::LFH_SIG);
    let (_, h) = records::local_header(&whole).ok()?;
    (h.name == name).then(|| Local::from_header(pos, &h))
}

fn place_one(
    data: &dyn ByteView,
    layout: &mut Layout,
    base: u64,
    other_bases: &[u64],
    cd_start: u64,
    r: &Central,
) -> Entry {
    let shown = String::from_utf8_lossy(&r.name).into_owned();
    let mut lfh_pos = base.wrapping_add(r.local_offset);
    let mut local = read_local(data, lfh_pos);
    // An offset that wrapped at 4 GiB: the header is a multiple of 4 GiB further on.
    let mut k = lfh_pos.saturating_add(1 << 32);
    while !matches!(local, LocalRead::Found(_)) && k < cd_start {
        if let LocalRead::Found(l) = read_local(data, k) {
            if l.name == r.name {
                layout.defect(
                    Defect::new(
                        DefectKind::OffsetMismatch,
                        r.pos + 42,
                        format!("local header at relative {:#x}", r.local_offset),
                        format!(
                            "at relative {:#x} (32-bit offset wrapped)",
                            k.wrapping_sub(base)
                        ),
                    )
                    .on(&shown),
                );
                lfh_pos = k;
                local = LocalRead::Found(l);
                break;
            }
        }
        k = k.saturating_add(1 << 32);
    }
    // Another base that the rest of the archive agrees with.
    if !matches!(local, LocalRead::Found(_)) {
        for &b in other_bases {
            let Some(p) = b.checked_add(r.local_offset) else {
                continue;
            };
            if let LocalRead::Found(l) = read_local(data, p) {
                if l.name == r.name {
                    layout.defect(
                        Defect::new(
                            DefectKind::OffsetMismatch,
                            r.pos + 42,
                            format!("local header at relative {:#x}", r.local_offset),
                            format!("at {p:#x}, measured from {b:#x} instead of {base:#x}"),
                        )
                        .on(&shown),
                    );
                    lfh_pos = p;
                    local = LocalRead::Found(l);
                    break;
                }
            }
        }
    }
    // A header whose signature alone is damaged still tells where the data starts.
    let mut damaged_sig = None;
    if !matches!(local, LocalRead::Found(_)) {
        if let Some(l) = read_local_damaged(data, lfh_pos, &r.name) {
            damaged_sig = Some(short_hex(&data.bytes_at(lfh_pos, 4)));
            local = LocalRead::Found(l);
        }
    }

    let mut e = Entry {
        name: r.name.clone(),
        header_offset: None,
        header_len: records::LFH_LEN as u64 + r.name.len() as u64 + r.extra_len,
        central_offset: Some(r.pos),
        version_needed: r.version_needed,
        flags: r.flags,
        method: r.method,
        mod_time: r.mod_time,
        mod_date: r.mod_date,
        crc32: r.crc32,
        compressed_size: r.compressed_size,
        uncompressed_size: r.uncompressed_size,
        data_start: 0,
        data_end: 0,
        descriptor: None,
        check: None,
        cut: false,
    };
    let mut local_sizes = None;
    match local {
        LocalRead::Found(l) if l.name == r.name || l.method == r.method => {
            e.header_offset = Some(lfh_pos);
            e.header_len = l.header_len;
            let sizes_known = !l.sizes_deferred;
            if sizes_known {
                local_sizes = Some((l.compressed_size, l.uncompressed_size));
            }
            if let Some(found) = damaged_sig.take() {
                layout.defect(
                    Defect::new(
                        DefectKind::LocalHeaderMismatch,
                        lfh_pos,
                        "local header signature 504b0304",
                        found,
                    )
                    .on(&shown),
                );
            }
            let disagrees = l.name != r.name
                || l.method != r.method
                || (sizes_known && (l.crc32 != r.crc32 || l.compressed_size != r.compressed_size));
            if disagrees {
                layout.defect(
                    Defect::new(
                        DefectKind::LocalHeaderMismatch,
                        lfh_pos,
                        format!(
                            "name {:?}, crc {:08x}, size {}, method {}",
                            String::from_utf8_lossy(&r.name),
                            r.crc32,
                            r.compressed_size,
                            r.method
                        ),
                        format!(
                            "name {:?}, crc {:08x}, size {}, method {}{}",
                            String::from_utf8_lossy(&l.name),
                            l.crc32,
                            l.compressed_size,
                            l.method,
                            if sizes_known {
                                ""
                            } else {
                                " (sizes deferred to a data descriptor)"
                            }
                        ),
                    )
                    .on(&shown),
                );
            }
        }
        _ => {
            let found = short_hex(&data.bytes_at(lfh_pos, 4));
            layout.defect(
                Defect::new(
                    DefectKind::LocalHeaderMissing,
                    lfh_pos,
                    "local file header",
                    found,
                )
                .on(&shown),
            );
        }
    }
    e.data_start = lfh_pos.saturating_add(e.header_len);
    if e.header_offset.is_none() {
        // Nothing is known to be there: keep the guess inside the archive.
        e.data_start = e.data_start.min(cd_start);
    }
    e.data_end = e.data_start.saturating_add(r.compressed_size);
    if e.header_offset.is_none() {
        e.data_end = e.data_end.min(cd_start);
    } else if e.data_end > cd_start {
        layout.defect(
            Defect::new(
                DefectKind::SizeMismatch,
                e.data_start,
                format!("data ending before the central directory at {cd_start:#x}"),
                format!("{} bytes, ending at {:#x}", r.compressed_size, e.data_end),
            )
            .on(&shown),
        );
        // The local header's own size, when it fits, is the better witness.
        match local_sizes {
            Some((c, u)) if e.data_start.saturating_add(c) <= cd_start => {
                e.compressed_size = c;
                e.uncompressed_size = u;
                e.data_end = e.data_start + c;
            }
            _ => e.data_end = cd_start.max(e.data_start),
        }
    }
    if e.flags & records::FLAG_DATA_DESCRIPTOR != 0 && !e.cut {
        let b = data.bytes_at(e.data_end, 24);
        e.descriptor = records::matching_descriptor(&b, e.compressed_size, Some(e.crc32))
            .map(|d| (e.data_end, d));
    }
    e
}
