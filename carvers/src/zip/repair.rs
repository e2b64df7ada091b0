//! Rebuilding damaged ZIP packages.
//!
//! Members are gathered from every source of truth the bytes still hold (the central directory,
//! every local header, data descriptors), each is checked by decoding, and a new archive is
//! written: whole members keep their original compressed bytes and fields, members whose header
//! is gone are rebuilt from their directory record, single flipped bits are corrected when the
//! CRC proves the correction, and what can only be partly decoded is written under a marked name
//! with its own CRC. Every member gets a line in the report.

use super::layout::{self, Entry};
use super::records::{self, FLAG_DATA_DESCRIPTOR};
use super::stream::{self, Outcome, StreamResult};
use crate::model::Limits;
use crate::view::ByteView;
use memchr::memmem;
use serde::Serialize;
use std::io::{self, Write};

/// What happened to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberStatus {
    /// Decoded with the right CRC; copied byte for byte.
    Intact,
    /// A flipped bit was found and corrected; the recorded CRC proves the result.
    Corrected,
    /// Its local header was gone; rebuilt from the directory record, data proven by CRC.
    RecoveredFromDirectory,
    /// Only a prefix could be decoded; written under a `.partial` name.
    Partial,
    /// Nothing of it could be recovered.
    Lost,
    /// Encrypted: copied byte for byte, not checked.
    Encrypted,
    /// A compression method Salvor cannot decode: copied byte for byte, not checked.
    Unverified,
}

/// One member's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct MemberReport {
    pub name: String,
    /// Name in the repaired archive (differs for partial members), when it was written.
    pub output_name: Option<String>,
    pub status: MemberStatus,
    pub method: u16,
    pub expected_size: u64,
    pub salvaged_size: u64,
    pub crc_expected: String,
    pub crc_actual: Option<String>,
    /// Absolute range of the source bytes used.
    pub source_range: Option<(u64, u64)>,
    /// What was done, in words.
    pub action: String,
    /// Why the name is dangerous to extract as it is (`../`, absolute, NUL, control characters).
    pub name_flags: Vec<String>,
}

/// Whether an office package can be expected to open.
#[derive(Debug, Clone, Serialize)]
pub struct PackageCheck {
    pub kind: &'static str,
    pub required: Vec<String>,
    pub missing: Vec<String>,
    pub damaged: Vec<String>,
    pub openable: bool,
}

/// The whole account of a repair.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    pub kind: &'static str,
    /// Absolute offset where the archive was found to start in the input.
    pub archive_start: u64,
    pub members: Vec<MemberReport>,
    /// Structural corrections (offsets, prefixes, missing records).
    pub corrections: Vec<String>,
    pub package: Option<PackageCheck>,
    pub members_written: usize,
    pub bytes_salvaged: u64,
}

/// Why a repair could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("no ZIP structure found (no local header, central directory or end record)")]
    NotZip,
    #[error("writing the repaired archive failed: {0}")]
    Write(#[from] io::Error),
}

/// Bounds on repair work, all user-settable.
#[derive(Debug, Clone)]
pub struct RepairOptions {
    pub limits: Limits,
    /// Most compressed bytes decoded while searching for a flipped bit in one member.
    pub bitflip_budget: u64,
    /// Largest stored member searched for a flipped bit (the search itself is linear).
    pub bitflip_stored_max: u64,
}

impl Default for RepairOptions {
    fn default() -> Self {
        RepairOptions {
            limits: Limits::default(),
            bitflip_budget: 256 << 20,
            bitflip_stored_max: 1 << 30,
        }
    }
}

/// A run of zero bytes this long inside compressed data is taken as wiped, not as data: deflate
/// output of real content essentially never holds one.
const ZERO_RUN: usize = 256;

/// How one member will be written.
#[derive(Debug, Clone)]
enum Plan {
    /// Copy stored bytes `[start, end)` as the member's data, with the given fields.
    Copy { start: u64, end: u64 },
    /// Copy with one bit flipped at `at` (absolute), mask `mask`.
    CopyFlipped {
        start: u64,
        end: u64,
        at: u64,
        mask: u8,
    },
    /// Decode `[start, bound)` and store the output.
    Salvage {
        start: u64,
        bound: u64,
        deflated: bool,
        size: u64,
        crc: u32,
    },
    /// Keep the raw stored bytes `[start, end)` of an undecodable member as a stored member.
    Raw { start: u64, end: u64 },
    /// Nothing to write.
    Skip,
}

struct Item {
    entry: Entry,
    plan: Plan,
    report: MemberReport,
}

fn flags_of_name(name: &[u8]) -> Vec<String> {
    let mut f = Vec::new();
    let s = String::from_utf8_lossy(name);
    if s.split(['/', '\\']).any(|c| c == "..") {
        f.push("parent-directory component".to_owned());
    }
    let b = name.first().copied();
    if b == Some(b'/') || b == Some(b'\\') || (name.len() > 1 && name[1] == b':') {
        f.push("absolute path".to_owned());
    }
    if name.contains(&0) {
        f.push("NUL byte".to_owned());
    }
    if name.iter().any(|&c| c < 0x20 && c != 0 || c == 0x7f) {
        f.push("control character".to_owned());
    }
    f
}

/// The first run of at least [`ZERO_RUN`] zero bytes in `[start, end)`.
fn zero_run(data: &dyn ByteView, start: u64, end: u64) -> Option<u64> {
    const PIECE: usize = 1 << 20;
    let needle = [0u8; ZERO_RUN];
    let finder = memmem::Finder::new(&needle);
    let mut pos = start;
    while pos < end {
        let len = ((end - pos) as usize).min(PIECE + ZERO_RUN);
        let b = data.bytes_at(pos, len);
        if let Some(i) = finder.find(&b) {
            return Some(pos + i as u64);
        }
        if b.len() < len || len <= ZERO_RUN {
            return None;
        }
        pos += (len - ZERO_RUN + 1) as u64;
    }
    None
}

/// CRC-32 table for the reflected polynomial, built once at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Find the single bit whose flip turns `actual` into `expected` for a message of `len` bytes.
///
/// CRC-32 is linear: flipping bit `b` of byte `p` changes the CRC by a value that depends only on
/// the distance from `p` to the end. Returns `(byte index, mask)` when exactly one position fits.
pub fn single_bit_fix(len: u64, actual: u32, expected: u32) -> Option<(u64, u8)> {
    let syndrome = actual ^ expected;
    if syndrome == 0 || len == 0 {
        return None;
    }
    let mut deltas: [u32; 8] = std::array::from_fn(|b| CRC_TABLE[1usize << b]);
    let mut found = None;
    let mut p = len;
    while p > 0 {
        p -= 1;
        for (b, d) in deltas.iter().enumerate() {
            if *d == syndrome {
                if found.is_some() {
                    return None;
                }
                found = Some((p, 1u8 << b));
            }
        }
        for d in deltas.iter_mut() {
            *d = (*d >> 8) ^ CRC_TABLE[(*d & 0xff) as usize];
        }
    }
    found
}

/// A view with one bit flipped, for trying corrections without copying the source.
struct Flipped<'a> {
    inner: &'a dyn ByteView,
    at: u64,
    mask: u8,
}

impl ByteView for Flipped<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn bytes_at(&self, offset: u64, len: usize) -> std::borrow::Cow<'_, [u8]> {
        let b = self.inner.bytes_at(offset, len);
        if self.at >= offset && self.at < offset + b.len() as u64 {
            let mut v = b.into_owned();
            v[(self.at - offset) as usize] ^= self.mask;
            return std::borrow::Cow::Owned(v);
        }
        b
    }
}

/// Search a deflated member for one flipped bit, within a decoding budget.
fn deflate_bit_fix(
    data: &dyn ByteView,
    e: &Entry,
    first_error: Option<u64>,
    opts: &RepairOptions,
) -> Option<(u64, u8)> {
    let csize = e.data_end - e.data_start;
    if csize == 0 {
        return None;
    }
    // The damage lies before the point where the decoder failed; search back from there.
    let top = first_error.map_or(e.data_end, |x| (x + 1).min(e.data_end));
    let mut spent = 0u64;
    let mut pos = top;
    while pos > e.data_start {
        pos -= 1;
        for bit in 0..8 {
            if spent >= opts.bitflip_budget {
                return None;
            }
            let view = Flipped {
                inner: data,
                at: pos,
                mask: 1 << bit,
            };
            let r = stream::inflate(&view, e.data_start, e.data_end, &opts.limits, None);
            spent += r.consumed.max(1);
            if r.outcome == Outcome::Complete
                && r.crc32 == e.crc32
                && r.produced == e.uncompressed_size
            {
                return Some((pos, 1 << bit));
            }
        }
    }
    None
}

fn check(data: &dyn ByteView, e: &Entry, start: u64, end: u64, limits: &Limits) -> StreamResult {
    if e.method == 0 {
        stream::stored(data, start, end, None)
    } else {
        stream::inflate(data, start, end, limits, None)
    }
}

fn proven(e: &Entry, r: &StreamResult) -> bool {
    r.outcome == Outcome::Complete && r.crc32 == e.crc32 && r.produced == e.uncompressed_size
}

/// Gather every member the bytes still describe.
fn gather(data: &dyn ByteView, limits: &Limits) -> (Vec<Entry>, Option<layout::Layout>) {
    // The most complete directory-based view of the archive.
    let len = data.len();
    let mut best: Option<layout::Layout> = None;
    let mut pos = 0u64;
    const PIECE: usize = 4 << 20;
    let mut ends = Vec::new();
    let mut locals = Vec::new();
    while pos < len {
        let b = data.bytes_at(pos, PIECE + 3);
        for i in memmem::find_iter(&b, records::EOCD_SIG) {
            ends.push(pos + i as u64);
        }
        for i in memmem::find_iter(&b, records::LFH_SIG) {
            locals.push(pos + i as u64);
        }
        if b.len() <= PIECE {
            break;
        }
        pos += PIECE as u64;
    }
    ends.dedup();
    locals.dedup();
    for &e in &ends {
        if let Some(l) = layout::from_end(data, e, limits) {
            let better = best
                .as_ref()
                .is_none_or(|b| (l.entries.len(), l.end) > (b.entries.len(), b.end));
            if better {
                best = Some(l);
            }
        }
    }
    let mut entries: Vec<Entry> = best.as_ref().map(|b| b.entries.clone()).unwrap_or_default();

    // Local headers the directory does not account for (its records may be gone), skipping
    // anything inside a member already taken (a stored nested archive is data, not members).
    let mut covered: Vec<(u64, u64)> = entries
        .iter()
        .map(|e| {
            (
                e.header_offset.unwrap_or(e.data_start),
                e.end().max(e.data_start + 1),
            )
        })
        .collect();
    covered.sort_unstable();
    for p in locals {
        let inside = covered.iter().any(|&(a, b)| p >= a && p < b);
        if inside || entries.iter().any(|e| e.header_offset == Some(p)) {
            continue;
        }
        if entries.len() >= limits.max_members {
            break;
        }
        if let Some(e) = layout::member_at(data, p, limits) {
            covered.push((p, e.end().max(p + 1)));
            entries.push(e);
        }
    }
    entries.sort_by_key(|e| e.header_offset.unwrap_or(e.data_start));
    (entries, best)
}

/// For a member whose local header is gone, find where its data starts: the position from which
/// the recorded size ends right before the next known structure, or after a header of the usual
/// shape. The CRC decides.
fn place_headless(
    data: &dyn ByteView,
    e: &Entry,
    next: u64,
    limits: &Limits,
) -> Option<(u64, u64)> {
    let csize = e.compressed_size;
    let dd = if e.flags & FLAG_DATA_DESCRIPTOR != 0 {
        [16u64, 12, 24, 20, 0]
    } else {
        [0, 0, 0, 0, 0]
    };
    let mut starts: Vec<u64> = dd
        .iter()
        .filter_map(|d| next.checked_sub(csize + d))
        .collect();
    if let Some(h) = e.data_start.checked_sub(e.header_len) {
        let fixed = h + records::LFH_LEN as u64 + e.name.len() as u64;
        starts.push(e.data_start);
        starts.push(fixed);
        for extra in [4u64, 9, 13, 20, 24, 28, 32, 36] {
            starts.push(fixed + extra);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts.into_iter().find_map(|s| {
        let end = s.checked_add(csize)?;
        if end > data.len() {
            return None;
        }
        proven(e, &check(data, e, s, end, limits)).then_some((s, end))
    })
}

fn hex32(v: u32) -> String {
    format!("{v:08x}")
}

/// Decide what to do with one member.
fn plan_member(
    data: &dyn ByteView,
    e: &Entry,
    next: u64,
    opts: &RepairOptions,
) -> (Plan, MemberReport) {
    let name = e.display_name();
    let mut rep = MemberReport {
        name: name.clone(),
        output_name: Some(name.clone()),
        status: MemberStatus::Intact,
        method: e.method,
        expected_size: e.uncompressed_size,
        salvaged_size: 0,
        crc_expected: hex32(e.crc32),
        crc_actual: None,
        source_range: Some((e.data_start, e.data_end.min(data.len()))),
        action: String::new(),
        name_flags: flags_of_name(&e.name),
    };
    let available_end = e.data_end.min(data.len());

    if e.encrypted() || !(e.method == 0 || e.method == 8) {
        let whole = e.header_offset.is_some() && e.data_end <= data.len();
        rep.status = if e.encrypted() {
            MemberStatus::Encrypted
        } else {
            MemberStatus::Unverified
        };
        if !whole {
            rep.status = MemberStatus::Lost;
            rep.output_name = None;
            rep.action =
                "encrypted or undecodable member whose bytes are incomplete: not written".into();
            return (Plan::Skip, rep);
        }
        rep.salvaged_size = e.uncompressed_size;
        rep.action = if e.encrypted() {
            "encrypted: copied byte for byte, not checked".into()
        } else {
            format!(
                "method {} cannot be decoded here: copied byte for byte, not checked",
                e.method
            )
        };
        return (
            Plan::Copy {
                start: e.data_start,
                end: e.data_end,
            },
            rep,
        );
    }

    // Where the data really is, for members whose local header is gone.
    let (mut start, mut end) = (e.data_start, available_end);
    let headless = e.header_offset.is_none();
    if headless {
        match place_headless(data, e, next, &opts.limits) {
            Some((s, t)) => (start, end) = (s, t),
            None => {
                rep.status = MemberStatus::Lost;
                rep.output_name = None;
                rep.source_range = None;
                rep.action =
                    "local header missing and no position of the recorded data matches its CRC"
                        .into();
                return (Plan::Skip, rep);
            }
        }
        rep.source_range = Some((start, end));
    }

    let r = check(data, e, start, end, &opts.limits);
    rep.crc_actual = Some(hex32(r.crc32));
    if proven(e, &r) {
        rep.salvaged_size = r.produced;
        if e.method == 8 && r.consumed < end - start {
            // Bytes after the end of the stream are not part of it; readers reject them.
            let dropped = end - start - r.consumed;
            end = start + r.consumed;
            rep.source_range = Some((start, end));
            rep.action = format!("{dropped} bytes after the end of the deflate stream left out; ");
        }
        if headless {
            rep.status = MemberStatus::RecoveredFromDirectory;
            rep.action.push_str(
                "local header rebuilt from the central directory record; data proven by CRC",
            );
        } else {
            rep.action.push_str("copied byte for byte");
        }
        return (Plan::Copy { start, end }, rep);
    }
    if r.outcome == Outcome::LimitExceeded {
        rep.status = MemberStatus::Unverified;
        rep.salvaged_size = e.uncompressed_size;
        rep.action = format!(
            "decompression passed the limits ({} bytes, ratio {}:1): copied byte for byte, not checked",
            opts.limits.max_inflated, opts.limits.max_ratio
        );
        return (Plan::Copy { start, end }, rep);
    }

    // One flipped bit, when the CRC can prove the fix.
    let complete_range = end == e.data_end && !e.cut;
    if complete_range {
        let fix = if e.method == 0 {
            if r.produced == e.uncompressed_size && r.produced <= opts.bitflip_stored_max {
                single_bit_fix(r.produced, r.crc32, e.crc32).map(|(p, m)| (start + p, m))
            } else {
                None
            }
        } else {
            let first_error = match &r.outcome {
                Outcome::Corrupt { at, .. } => Some(*at),
                _ => None,
            };
            deflate_bit_fix(
                data,
                &Entry {
                    data_start: start,
                    data_end: end,
                    ..e.clone()
                },
                first_error,
                opts,
            )
        };
        if let Some((at, mask)) = fix {
            let flipped = Flipped {
                inner: data,
                at,
                mask,
            };
            let again = check(&flipped, e, start, end, &opts.limits);
            if proven(e, &again) {
                rep.status = MemberStatus::Corrected;
                rep.salvaged_size = again.produced;
                rep.crc_actual = Some(hex32(again.crc32));
                rep.action = format!("one flipped bit corrected at offset {at:#x} (mask {mask:#04x}); the recorded CRC proves the result");
                return (
                    Plan::CopyFlipped {
                        start,
                        end,
                        at,
                        mask,
                    },
                    rep,
                );
            }
        }
    }

    // Salvage the prefix that decodes from undamaged bytes.
    let wiped = zero_run(data, start, end);
    let bound = wiped.unwrap_or(end);
    let probe = match e.method {
        0 => stream::stored(data, start, bound, None),
        _ => stream::inflate(data, start, bound, &opts.limits, None),
    };
    let mut why = match (&r.outcome, wiped) {
        (_, Some(z)) => format!("bytes from {z:#x} are wiped (a run of zeros); the prefix decoded before them is kept"),
        (Outcome::ShortInput, None) if e.cut || e.data_end > data.len() => "the data is cut short; the prefix is kept".to_owned(),
        (Outcome::Corrupt { at, message }, None) => {
            format!("the data stops decoding at {at:#x} ({message}); the output before that point is kept but its last part may be wrong")
        }
        _ => "the CRC does not match and no single-bit correction proves itself; the decoded bytes are kept unproven".to_owned(),
    };
    if headless {
        why.push_str("; local header was missing");
    }
    if probe.produced == 0 {
        rep.status = MemberStatus::Lost;
        rep.action = format!("nothing decodes: {why}");
        if end > start {
            // Keep the undecodable bytes themselves as evidence, under a marked name.
            rep.output_name = Some(format!("{name}.undecodable"));
            rep.action
                .push_str("; its stored bytes are kept as they are under the .undecodable name");
            return (Plan::Raw { start, end }, rep);
        }
        rep.output_name = None;
        return (Plan::Skip, rep);
    }
    rep.status = MemberStatus::Partial;
    rep.salvaged_size = probe.produced;
    rep.crc_actual = Some(hex32(probe.crc32));
    rep.output_name = Some(format!("{name}.partial"));
    rep.action = why;
    let plan = Plan::Salvage {
        start,
        bound,
        deflated: e.method == 8,
        size: probe.produced,
        crc: probe.crc32,
    };
    (plan, rep)
}

/// Counts bytes written, for offsets.
struct Counter<'a> {
    inner: &'a mut dyn Write,
    pos: u64,
}

impl Write for Counter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The fields of one written member, for its directory record.
struct Written {
    name: Vec<u8>,
    version_made_by: u16,
    version_needed: u16,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    csize: u64,
    usize_: u64,
    offset: u64,
    extra: Vec<u8>,
    comment: Vec<u8>,
    internal: u16,
    external: u32,
}

/// Extra fields without the ZIP64 one (its values belonged to the old layout).
fn strip_zip64(mut extra: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let Some(body) = extra.get(..4 + len) else {
            break;
        };
        if id != 1 {
            out.extend_from_slice(body);
        }
        extra = &extra[4 + len..];
    }
    out
}

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

const MAX32: u64 = u32::MAX as u64;

fn write_local(out: &mut Counter<'_>, w: &Written, local_extra: &[u8]) -> io::Result<()> {
    let big = w.csize >= MAX32 || w.usize_ >= MAX32;
    let mut extra = local_extra.to_vec();
    if big {
        extra.extend_from_slice(&u16le(1));
        extra.extend_from_slice(&u16le(16));
        extra.extend_from_slice(&w.usize_.to_le_bytes());
        extra.extend_from_slice(&w.csize.to_le_bytes());
    }
    let mut h = Vec::with_capacity(30 + w.name.len() + extra.len());
    h.extend_from_slice(records::LFH_SIG);
    h.extend_from_slice(&u16le(if big {
        w.version_needed.max(45)
    } else {
        w.version_needed
    }));
    h.extend_from_slice(&u16le(w.flags));
    h.extend_from_slice(&u16le(w.method));
    h.extend_from_slice(&u16le(w.time));
    h.extend_from_slice(&u16le(w.date));
    let deferred = w.flags & FLAG_DATA_DESCRIPTOR != 0;
    // With a descriptor the sizes may stay in the header too; every reader accepts both.
    h.extend_from_slice(&u32le(if deferred { 0 } else { w.crc }));
    let (c, u) = if big {
        (u32::MAX, u32::MAX)
    } else {
        (w.csize as u32, w.usize_ as u32)
    };
    h.extend_from_slice(&u32le(if deferred && !big { 0 } else { c }));
    h.extend_from_slice(&u32le(if deferred && !big { 0 } else { u }));
    h.extend_from_slice(&u16le(w.name.len().min(u16::MAX as usize) as u16));
    h.extend_from_slice(&u16le(extra.len().min(u16::MAX as usize) as u16));
    h.extend_from_slice(&w.name);
    h.extend_from_slice(&extra);
    out.write_all(&h)
}

fn write_descriptor(out: &mut Counter<'_>, w: &Written) -> io::Result<()> {
    let mut d = records::DD_SIG.to_vec();
    d.extend_from_slice(&u32le(w.crc));
    if w.csize >= MAX32 || w.usize_ >= MAX32 {
        d.extend_from_slice(&w.csize.to_le_bytes());
        d.extend_from_slice(&w.usize_.to_le_bytes());
    } else {
        d.extend_from_slice(&u32le(w.csize as u32));
        d.extend_from_slice(&u32le(w.usize_ as u32));
    }
    out.write_all(&d)
}

fn write_central(out: &mut Counter<'_>, w: &Written) -> io::Result<()> {
    let (big_u, big_c, big_o) = (w.usize_ >= MAX32, w.csize >= MAX32, w.offset >= MAX32);
    let mut extra = strip_zip64(&w.extra);
    if big_u || big_c || big_o {
        let mut z = Vec::new();
        if big_u {
            z.extend_from_slice(&w.usize_.to_le_bytes());
        }
        if big_c {
            z.extend_from_slice(&w.csize.to_le_bytes());
        }
        if big_o {
            z.extend_from_slice(&w.offset.to_le_bytes());
        }
        let mut field = u16le(1).to_vec();
        field.extend_from_slice(&u16le(z.len() as u16));
        field.extend_from_slice(&z);
        field.extend_from_slice(&extra);
        extra = field;
    }
    let sat = |big: bool, v: u64| if big { u32::MAX } else { v as u32 };
    let mut h = Vec::with_capacity(46 + w.name.len() + extra.len() + w.comment.len());
    h.extend_from_slice(records::CDH_SIG);
    h.extend_from_slice(&u16le(w.version_made_by));
    h.extend_from_slice(&u16le(if big_u || big_c || big_o {
        w.version_needed.max(45)
    } else {
        w.version_needed
    }));
    h.extend_from_slice(&u16le(w.flags));
    h.extend_from_slice(&u16le(w.method));
    h.extend_from_slice(&u16le(w.time));
    h.extend_from_slice(&u16le(w.date));
    h.extend_from_slice(&u32le(w.crc));
    h.extend_from_slice(&u32le(sat(big_c, w.csize)));
    h.extend_from_slice(&u32le(sat(big_u, w.usize_)));
    h.extend_from_slice(&u16le(w.name.len().min(u16::MAX as usize) as u16));
    h.extend_from_slice(&u16le(extra.len().min(u16::MAX as usize) as u16));
    h.extend_from_slice(&u16le(w.comment.len().min(u16::MAX as usize) as u16));
    h.extend_from_slice(&u16le(0));
    h.extend_from_slice(&u16le(w.internal));
    h.extend_from_slice(&u32le(w.external));
    h.extend_from_slice(&u32le(sat(big_o, w.offset)));
    h.extend_from_slice(&w.name);
    h.extend_from_slice(&extra);
    h.extend_from_slice(&w.comment);
    out.write_all(&h)
}

fn write_end(
    out: &mut Counter<'_>,
    count: u64,
    cd_start: u64,
    cd_size: u64,
    comment: &[u8],
) -> io::Result<()> {
    let big = count >= 0xffff || cd_start >= MAX32 || cd_size >= MAX32;
    if big {
        let z64_at = out.pos;
        let mut r = records::Z64_EOCD_SIG.to_vec();
        r.extend_from_slice(&44u64.to_le_bytes());
        r.extend_from_slice(&u16le(45));
        r.extend_from_slice(&u16le(45));
        r.extend_from_slice(&u32le(0));
        r.extend_from_slice(&u32le(0));
        r.extend_from_slice(&count.to_le_bytes());
        r.extend_from_slice(&count.to_le_bytes());
        r.extend_from_slice(&cd_size.to_le_bytes());
        r.extend_from_slice(&cd_start.to_le_bytes());
        r.extend_from_slice(records::Z64_LOCATOR_SIG);
        r.extend_from_slice(&u32le(0));
        r.extend_from_slice(&z64_at.to_le_bytes());
        r.extend_from_slice(&u32le(1));
        out.write_all(&r)?;
    }
    let mut e = records::EOCD_SIG.to_vec();
    let n16 = if big { 0xffff } else { count as u16 };
    e.extend_from_slice(&[0, 0, 0, 0]);
    e.extend_from_slice(&u16le(n16));
    e.extend_from_slice(&u16le(n16));
    e.extend_from_slice(&u32le(if big { u32::MAX } else { cd_size as u32 }));
    e.extend_from_slice(&u32le(if big { u32::MAX } else { cd_start as u32 }));
    let comment = &comment[..comment.len().min(u16::MAX as usize)];
    e.extend_from_slice(&u16le(comment.len() as u16));
    e.extend_from_slice(comment);
    out.write_all(&e)
}

/// Copy `[start, end)` of the source to the output, optionally with one bit flipped.
fn copy_range(
    data: &dyn ByteView,
    out: &mut Counter<'_>,
    start: u64,
    end: u64,
    flip: Option<(u64, u8)>,
) -> io::Result<()> {
    let mut pos = start;
    while pos < end {
        let want = ((end - pos) as usize).min(1 << 20);
        let b = data.bytes_at(pos, want);
        if b.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("source ends at {pos:#x}"),
            ));
        }
        match flip {
            Some((at, mask)) if at >= pos && at < pos + b.len() as u64 => {
                let mut v = b.into_owned();
                v[(at - pos) as usize] ^= mask;
                out.write_all(&v)?;
                pos += v.len() as u64;
            }
            _ => {
                out.write_all(&b)?;
                pos += b.len() as u64;
            }
        }
    }
    Ok(())
}

/// Version made by, extra field, comment, internal and external attributes of a directory record.
type CentralFields = (u16, Vec<u8>, Vec<u8>, u16, u32);

/// The directory record and local extra of an entry, as found in the source.
fn source_fields(data: &dyn ByteView, e: &Entry) -> (Vec<u8>, Option<CentralFields>) {
    let local_extra = e
        .header_offset
        .map(|h| {
            let b = data.bytes_at(h, (e.header_len.min(1 << 17)) as usize);
            match records::local_header(&b) {
                Ok((_, l)) => strip_zip64(l.extra),
                Err(_) => Vec::new(),
            }
        })
        .unwrap_or_default();
    let central = e.central_offset.and_then(|c| {
        layout::with_central(data, c, |h| {
            (
                h.version_made_by,
                h.extra.to_vec(),
                h.comment.to_vec(),
                h.internal_attrs,
                h.external_attrs,
            )
        })
    });
    (local_extra, central)
}

/// Required parts of the office and e-book packages.
fn package_check(kind: &'static str, items: &[Item]) -> Option<PackageCheck> {
    let required: &[&str] = match kind {
        "docx" => &["[Content_Types].xml", "_rels/.rels", "word/document.xml"],
        "xlsx" => &["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"],
        "pptx" => &["[Content_Types].xml", "_rels/.rels", "ppt/presentation.xml"],
        "odt" | "ods" | "odp" | "odg" => &["mimetype", "content.xml", "META-INF/manifest.xml"],
        "epub" => &["mimetype", "META-INF/container.xml"],
        _ => return None,
    };
    let whole = |s: MemberStatus| {
        matches!(
            s,
            MemberStatus::Intact | MemberStatus::Corrected | MemberStatus::RecoveredFromDirectory
        )
    };
    let mut missing = Vec::new();
    let mut damaged = Vec::new();
    for r in required {
        match items.iter().find(|i| i.report.name == *r) {
            None => missing.push((*r).to_owned()),
            Some(i) if !whole(i.report.status) => damaged.push((*r).to_owned()),
            Some(_) => {}
        }
    }
    let openable = missing.is_empty() && damaged.is_empty();
    Some(PackageCheck {
        kind,
        required: required.iter().map(|s| (*s).to_owned()).collect(),
        missing,
        damaged,
        openable,
    })
}

/// Rebuild the archive held in `data` into `out`.
pub fn repair(
    data: &dyn ByteView,
    opts: &RepairOptions,
    out: &mut dyn Write,
) -> Result<RepairReport, RepairError> {
    let (entries, layout) = gather(data, &opts.limits);
    if entries.is_empty() && layout.is_none() {
        return Err(RepairError::NotZip);
    }
    let kind = super::subtype(data, &entries);
    let mut corrections: Vec<String> = Vec::new();
    if let Some(l) = &layout {
        for d in &l.defects {
            corrections.push(d.to_string());
        }
    } else {
        corrections
            .push("no usable central directory: members rebuilt from their local headers".into());
    }
    let archive_start = entries
        .iter()
        .filter_map(|e| e.header_offset)
        .min()
        .unwrap_or(0);
    if archive_start > 0 {
        corrections.push(format!(
            "{archive_start} bytes before the first member were left out; offsets are recomputed"
        ));
    }

    // Plan every member; the next known structure bounds a member whose header is gone.
    let mut starts: Vec<u64> = entries.iter().filter_map(|e| e.header_offset).collect();
    if let Some(d) = layout.as_ref().and_then(|l| l.directory.as_ref()) {
        starts.push(d.start);
    }
    starts.push(data.len());
    starts.sort_unstable();
    let mut items: Vec<Item> = entries
        .into_iter()
        .map(|e| {
            let from = e.header_offset.unwrap_or(e.data_start);
            let next = starts
                .iter()
                .copied()
                .find(|&s| s > from)
                .unwrap_or(data.len());
            let (plan, report) = plan_member(data, &e, next, opts);
            Item {
                entry: e,
                plan,
                report,
            }
        })
        .collect();

    // ODF and EPUB: `mimetype` first, and stored.
    if matches!(kind, "odt" | "ods" | "odp" | "odg" | "epub") {
        if let Some(i) = items.iter().position(|i| i.report.name == "mimetype") {
            let m = items.remove(i);
            items.insert(0, m);
        }
    }

    let mut out = Counter { inner: out, pos: 0 };
    let mut written: Vec<Written> = Vec::new();
    let mut salvaged = 0u64;
    for item in &mut items {
        let e = &item.entry;
        let (local_extra, central) = source_fields(data, e);
        let (made_by, cextra, ccomment, internal, external) =
            central.unwrap_or((e.version_needed, local_extra.clone(), Vec::new(), 0, 0));
        let mut w = Written {
            name: e.name.clone(),
            version_made_by: made_by,
            version_needed: e.version_needed.max(20),
            flags: e.flags,
            method: e.method,
            time: e.mod_time,
            date: e.mod_date,
            crc: e.crc32,
            csize: 0,
            usize_: e.uncompressed_size,
            offset: out.pos,
            extra: cextra,
            comment: ccomment,
            internal,
            external,
        };
        match item.plan.clone() {
            Plan::Skip => continue,
            Plan::Copy { start, end } | Plan::CopyFlipped { start, end, .. } => {
                let flip = match item.plan {
                    Plan::CopyFlipped { at, mask, .. } => Some((at, mask)),
                    _ => None,
                };
                w.csize = end - start;
                let mimetype_deflated = e.name == b"mimetype"
                    && e.method == 8
                    && matches!(kind, "odt" | "ods" | "odp" | "odg" | "epub");
                if mimetype_deflated {
                    // The package format requires it stored: decode and store it.
                    let mut bytes = Vec::new();
                    let small = Limits {
                        max_inflated: 1024,
                        ..opts.limits.clone()
                    };
                    let mut sink = |b: &[u8]| bytes.extend_from_slice(b);
                    stream::inflate(data, start, end, &small, Some(&mut sink));
                    w.method = 0;
                    w.flags &= !FLAG_DATA_DESCRIPTOR;
                    w.csize = bytes.len() as u64;
                    w.usize_ = bytes.len() as u64;
                    w.crc = crc32fast::hash(&bytes);
                    w.extra = Vec::new();
                    write_local(&mut out, &w, &[])?;
                    out.write_all(&bytes)?;
                    item.report
                        .action
                        .push_str("; re-stored (the package requires mimetype stored)");
                } else {
                    write_local(&mut out, &w, &local_extra)?;
                    copy_range(data, &mut out, start, end, flip)?;
                    if w.flags & FLAG_DATA_DESCRIPTOR != 0 {
                        write_descriptor(&mut out, &w)?;
                    }
                }
                salvaged += item.report.salvaged_size;
            }
            Plan::Raw { start, end } => {
                let r = stream::stored(data, start, end, None);
                let mut name = e.name.clone();
                name.extend_from_slice(b".undecodable");
                w.name = name;
                w.method = 0;
                w.flags &= 1 << 11;
                w.crc = r.crc32;
                w.csize = r.produced;
                w.usize_ = r.produced;
                w.extra = Vec::new();
                write_local(&mut out, &w, &[])?;
                copy_range(data, &mut out, start, start + r.produced, None)?;
            }
            Plan::Salvage {
                start,
                bound,
                deflated,
                size,
                crc,
            } => {
                let mut name = e.name.clone();
                name.extend_from_slice(b".partial");
                w.name = name;
                w.method = 0;
                w.flags &= 1 << 11; // keep only the UTF-8 name flag
                w.crc = crc;
                w.csize = size;
                w.usize_ = size;
                w.extra = Vec::new();
                write_local(&mut out, &w, &[])?;
                let mut err: Option<io::Error> = None;
                let mut sink = |b: &[u8]| {
                    if err.is_none() {
                        if let Err(x) = out.write_all(b) {
                            err = Some(x);
                        }
                    }
                };
                let r = if deflated {
                    stream::inflate(data, start, bound, &opts.limits, Some(&mut sink))
                } else {
                    stream::stored(data, start, bound, Some(&mut sink))
                };
                if let Some(x) = err {
                    return Err(x.into());
                }
                if r.produced != size || r.crc32 != crc {
                    return Err(
                        io::Error::other("salvaged bytes changed between two decodings").into(),
                    );
                }
                salvaged += size;
            }
        }
        written.push(w);
    }

    let cd_start = out.pos;
    for w in &written {
        write_central(&mut out, w)?;
    }
    let cd_size = out.pos - cd_start;
    let mut comment = layout
        .as_ref()
        .and_then(|l| l.end_record.as_ref())
        .map(|e| {
            data.bytes_at(e.comment_start, (e.end - e.comment_start) as usize)
                .into_owned()
        })
        .unwrap_or_default();
    if memmem::find(&comment, records::EOCD_SIG).is_some() {
        // Readers that look for the end record from the back would take the one in the comment.
        corrections.push(format!(
            "the archive comment ({} bytes) holds an end-of-central-directory signature (a hidden archive); it is left out of the repaired archive",
            comment.len()
        ));
        comment.clear();
    }
    write_end(&mut out, written.len() as u64, cd_start, cd_size, &comment)?;
    out.flush()?;

    let package = package_check(kind, &items);
    Ok(RepairReport {
        kind,
        archive_start,
        members_written: written.len(),
        bytes_salvaged: salvaged,
        members: items.into_iter().map(|i| i.report).collect(),
        corrections,
        package,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_bit_fix_finds_the_only_candidate() {
        let msg: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let good = crc32fast::hash(&msg);
        for (p, b) in [(0usize, 0u8), (1234, 5), (4999, 7)] {
            let mut bad = msg.clone();
            bad[p] ^= 1 << b;
            let fix = single_bit_fix(bad.len() as u64, crc32fast::hash(&bad), good);
            assert_eq!(fix, Some((p as u64, 1 << b)));
        }
        assert_eq!(single_bit_fix(10, 5, 5), None);
    }

    #[test]
    fn dangerous_names_are_flagged() {
        assert_eq!(
            flags_of_name(b"../etc/passwd"),
            ["parent-directory component"]
        );
        assert_eq!(flags_of_name(b"/abs"), ["absolute path"]);
        assert_eq!(flags_of_name(b"C:\\x"), ["absolute path"]);
        assert!(flags_of_name(b"a\x00b").contains(&"NUL byte".to_owned()));
        assert!(flags_of_name(b"a\x1bb").contains(&"control character".to_owned()));
        assert!(flags_of_name(b"word/document.xml").is_empty());
    }

    #[test]
    fn a_tiny_archive_round_trips() {
        let z = super::super::tests::tiny_zip();
        let mut out = Vec::new();
        let rep = repair(&z.as_slice(), &RepairOptions::default(), &mut out).unwrap();
        assert_eq!(out, z, "an intact archive is rewritten byte for byte");
        assert_eq!(rep.members[0].status, MemberStatus::Intact);
    }
}
