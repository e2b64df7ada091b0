//! The vendor `.dsicdp` container: one gzip member whose inflated stream is a run of records,
//! each a header line `index,/path,time,length\n`, then `length` bytes of file data, then `\n`.
//! Paths and times are Big5 in the samples (`2011/3/17 上午 03:32:14`).
//!
//! Damaged containers are read as far as they go: the deflate stream gives its decodable
//! prefix, records are walked by their lengths, and where a header does not parse or a length
//! runs off, the walk resynchronizes on the next line that parses as a record header and says
//! which bytes of the inflated stream were lost.

use super::{ComponentReport, ComponentSource, Problem, RecordReport, Verdict};
use flate2::{Decompress, FlushDecompress, Status};
use memchr::{memchr, memchr_iter};
use sha2::Digest as _;
use std::borrow::Cow;
use std::ops::Range;

/// Most bytes inflated from one container: real containers are a few MB; the bound keeps a
/// decompression bomb from exhausting memory.
pub const MAX_INFLATED: usize = 1 << 30;

/// Longest header line accepted (index, path, time and length together).
const MAX_HEADER: usize = 4096;

/// One record of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsicdpRecord {
    /// The index written in the header.
    pub index: u64,
    /// The path as written (decoded from UTF-8 when valid, else Big5), e.g. `/1000000016.si`.
    pub path: String,
    /// The time as written, decoded the same way.
    pub time: String,
    /// Offset of the header line in the inflated stream.
    pub header_offset: u64,
    /// Offset of the data in the inflated stream.
    pub data_offset: u64,
    /// The length the header states.
    pub length: u64,
    /// Where the data found lies in the inflated stream (shorter than `length` when cut off).
    pub data: Range<usize>,
    /// Whether all `length` bytes were found, followed by the `\n` separator or the end.
    pub complete: bool,
}

/// A parsed container.
#[derive(Debug, Clone, Default)]
pub struct Dsicdp {
    /// The inflated stream (as much as decoded).
    pub inflated: Vec<u8>,
    /// Records in stream order.
    pub records: Vec<DsicdpRecord>,
    /// Byte ranges of the inflated stream that belong to no record (lost to damage).
    pub lost: Vec<Range<u64>>,
    /// Whether the gzip member decoded to its end with matching CRC-32 and size.
    pub gzip_intact: bool,
    /// What was wrong; offsets are in the inflated stream unless the message says otherwise.
    pub problems: Vec<Problem>,
}

fn problem(offset: u64, message: String) -> Problem {
    Problem {
        offset: Some(offset),
        file: None,
        message,
    }
}

/// Decode header or text bytes: UTF-8 when valid, else Big5.
fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::BIG5
            .decode_without_bom_handling(b)
            .0
            .into_owned(),
    }
}

/// Inflate the gzip member in `bytes` as far as it decodes.
/// Returns the output, whether the member ended with a matching trailer, and problems (offsets in
/// the compressed file).
fn inflate(bytes: &[u8], max: usize) -> (Vec<u8>, bool, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let Some(start) = gzip_header_len(bytes, &mut problems) else {
        return (out, false, problems);
    };
    let mut d = Decompress::new(false);
    let mut input = &bytes[start..];
    let mut ended = false;
    loop {
        if out.len() >= max {
            problems.push(problem(
                start as u64,
                format!("inflated stream stopped at the {max}-byte limit"),
            ));
            break;
        }
        let room = (64 << 10).min(max - out.len());
        out.reserve(room);
        let before_in = d.total_in();
        let before_out = d.total_out();
        let res = d.decompress_vec(input, &mut out, FlushDecompress::None);
        let used = (d.total_in() - before_in) as usize;
        input = &input[used.min(input.len())..];
        match res {
            Ok(Status::StreamEnd) => {
                ended = true;
                break;
            }
            Ok(_) if d.total_in() == before_in && d.total_out() == before_out => {
                problems.push(problem(
                    (start as u64) + d.total_in(),
                    format!(
                        "deflate stream cut off after {} compressed bytes",
                        d.total_in()
                    ),
                ));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                problems.push(problem(
                    (start as u64) + d.total_in(),
                    format!("deflate stream corrupt near compressed offset {}: {e}; the decodable prefix is kept", start as u64 + d.total_in()),
                ));
                break;
            }
        }
    }
    let mut intact = false;
    if ended {
        let trailer = start + d.total_in() as usize;
        match bytes.get(trailer..trailer + 8) {
            Some(t) => {
                let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                let actual = crc32fast::hash(&out);
                if crc != actual {
                    problems.push(problem(
                        trailer as u64,
                        format!("gzip CRC-32 is {crc:08x}, the inflated bytes give {actual:08x}"),
                    ));
                } else if size != out.len() as u32 {
                    problems.push(problem(
                        trailer as u64 + 4,
                        format!("gzip size field is {size}, {} bytes inflated", out.len()),
                    ));
                } else {
                    intact = true;
                }
                if bytes.len() > trailer + 8 {
                    problems.push(problem(
                        trailer as u64 + 8,
                        format!("{} bytes after the gzip member", bytes.len() - trailer - 8),
                    ));
                }
            }
            None => problems.push(problem(
                trailer as u64,
                "gzip trailer (CRC-32, size) missing".into(),
            )),
        }
    }
    (out, intact, problems)
}

/// Length of the gzip header, read tolerantly: a wrong magic or method is reported, and the
/// optional fields are skipped when their flags say so.
fn gzip_header_len(b: &[u8], problems: &mut Vec<Problem>) -> Option<usize> {
    if b.len() < 10 {
        problems.push(problem(
            0,
            format!(
                "{} bytes: too short for a gzip header (compressed offsets)",
                b.len()
            ),
        ));
        return None;
    }
    if b[0] != 0x1f || b[1] != 0x8b {
        problems.push(problem(
            0,
            format!(
                "gzip magic is {:02x}{:02x}, not 1f8b: read as gzip anyway",
                b[0], b[1]
            ),
        ));
    }
    if b[2] != 8 {
        problems.push(problem(
            2,
            format!(
                "gzip method is {}, not 8 (deflate): read as deflate anyway",
                b[2]
            ),
        ));
    }
    let flags = b[3];
    let mut p = 10usize;
    if flags & 0x04 != 0 {
        let xlen = u16::from_le_bytes([*b.get(p)?, *b.get(p + 1)?]) as usize;
        p += 2 + xlen;
    }
    for bit in [0x08u8, 0x10] {
        if flags & bit != 0 {
            p += memchr(0, b.get(p..)?)? + 1;
        }
    }
    if flags & 0x02 != 0 {
        p += 2;
    }
    (p <= b.len()).then_some(p)
}

/// A header line's fields: index, path bytes, time bytes, length.
type Header<'a> = (u64, &'a [u8], &'a [u8], u64);

/// Parse a header line (without its `\n`).
fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let c1 = memchr(b',', line)?;
    let index = digits(&line[..c1])?;
    let rest = &line[c1 + 1..];
    let c3 = rest.iter().rposition(|&b| b == b',')?;
    let length = digits(&rest[c3 + 1..])?;
    let mid = &rest[..c3];
    let c2 = mid.iter().rposition(|&b| b == b',')?;
    let (path, time) = (&mid[..c2], &mid[c2 + 1..]);
    if !path.starts_with(b"/") && !path.starts_with(b"\\") {
        return None;
    }
    Some((index, path, time, length))
}

fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// The header line starting at `at`, if one parses there: (fields, offset just past its `\n`).
fn header_at(s: &[u8], at: usize) -> Option<(Header<'_>, usize)> {
    let window = s.get(at..)?;
    let window = &window[..window.len().min(MAX_HEADER)];
    let nl = memchr(b'\n', window)?;
    let mut line = &window[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    parse_header(line).map(|h| (h, at + nl + 1))
}

/// The next offset at or after `from` where a header line starts (at the stream start or after
/// a `\n`).
fn resync(s: &[u8], from: usize) -> Option<usize> {
    if from == 0 && header_at(s, 0).is_some() {
        return Some(0);
    }
    let from = from.max(1);
    memchr_iter(b'\n', s.get(from - 1..)?)
        .map(|i| from - 1 + i + 1)
        .find(|&at| header_at(s, at).is_some())
}

/// Parse a `.dsicdp` container, inflating at most [`MAX_INFLATED`] bytes.
pub fn parse(bytes: &[u8]) -> Dsicdp {
    parse_limited(bytes, MAX_INFLATED)
}

/// Parse a `.dsicdp` container, inflating at most `max_inflated` bytes.
pub fn parse_limited(bytes: &[u8], max_inflated: usize) -> Dsicdp {
    let (inflated, gzip_intact, problems) = inflate(bytes, max_inflated);
    let mut c = Dsicdp {
        inflated,
        gzip_intact,
        problems,
        ..Dsicdp::default()
    };
    if !c.problems.is_empty() {
        for p in &mut c.problems {
            p.message = format!("{} (offset in the .dsicdp file)", p.message);
        }
    }
    walk(&mut c);
    c
}

fn walk(c: &mut Dsicdp) {
    let s = &c.inflated;
    let mut pos = 0usize;
    while pos < s.len() {
        let Some(((index, path, time, length), data_start)) = header_at(s, pos) else {
            let next = resync(s, pos + 1);
            let to = next.unwrap_or(s.len());
            c.problems.push(problem(
                pos as u64,
                format!("no record header at {pos}: bytes {pos}..{to} lost"),
            ));
            c.lost.push(pos as u64..to as u64);
            pos = to;
            continue;
        };
        let want_end = data_start as u64 + length;
        let mut rec = DsicdpRecord {
            index,
            path: text(path),
            time: text(time),
            header_offset: pos as u64,
            data_offset: data_start as u64,
            length,
            data: data_start..data_start,
            complete: false,
        };
        let fits = want_end <= s.len() as u64;
        let end = want_end.min(s.len() as u64) as usize;
        // The data must be followed by "\n", and then by another header, by the end, or at
        // least not hide a header inside it (a damaged next header is dealt with on its own).
        let consistent = fits
            && match s.get(end) {
                None => true,
                Some(b'\n') => {
                    end + 1 >= s.len()
                        || header_at(s, end + 1).is_some()
                        || resync(s, data_start).is_none_or(|n| n > end)
                }
                Some(_) => false,
            };
        if consistent {
            rec.data = data_start..end;
            rec.complete = true;
            if end == s.len() {
                c.problems.push(problem(
                    end as u64,
                    format!("record {index} ({}) lacks its closing newline", rec.path),
                ));
            }
            pos = (end + 1).min(s.len());
        } else {
            // A wrong length or a cut-off stream: the data ends where the next header starts.
            let next = resync(s, data_start);
            let stop = match next {
                Some(n) => n.saturating_sub(1).max(data_start),
                None if fits => end,
                None => s.len(),
            };
            rec.data = data_start..stop;
            let found = rec.data.len();
            let msg = if next.is_none() && !fits {
                format!(
                    "record {index} ({}) cut off: {found} of {length} bytes present",
                    rec.path
                )
            } else {
                format!(
                    "record {index} ({}) states {length} bytes but the next header starts after {found}",
                    rec.path
                )
            };
            c.problems.push(problem(data_start as u64, msg));
            pos = next.unwrap_or(s.len()).max(pos + 1);
        }
        c.records.push(rec);
    }
}

impl Dsicdp {
    /// The data found for `rec` (possibly shorter than its stated length).
    pub fn data(&self, rec: &DsicdpRecord) -> &[u8] {
        self.inflated.get(rec.data.clone()).unwrap_or(&[])
    }

    /// The record stored under `path` (a leading `/` and backslashes are not significant).
    pub fn find(&self, path: &str) -> Option<&DsicdpRecord> {
        let norm = |p: &str| p.replace('\\', "/").trim_start_matches('/').to_owned();
        let want = norm(path);
        self.records.iter().find(|r| norm(&r.path) == want)
    }
}

impl ComponentSource for Dsicdp {
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        match self.find(uri) {
            None => Ok(None),
            Some(r) if r.complete => Ok(Some(Cow::Borrowed(self.data(r)))),
            Some(r) => Err(format!(
                "{} is damaged in the container: {} of {} bytes found",
                r.path,
                r.data.len(),
                r.length
            )),
        }
    }

    fn describe(&self) -> String {
        format!(".dsicdp container ({} records)", self.records.len())
    }
}

/// The verifier of an SI signing record (root 線上簽核), given to [`verify_with`] by the caller
/// so this module does not depend on it.
pub type SiVerifier = fn(&[u8], &dyn ComponentSource) -> RecordReport;

/// Whether `data` is an SI signing record: its root element is 線上簽核 (UTF-8 or Big5).
pub fn is_si(data: &[u8]) -> bool {
    super::root_kind(data) == Some("si")
}

/// Verify a container with no SI verifier: the records are listed, SI records are named in a
/// note but not verified (see [`verify_with`]).
pub fn verify(bytes: &[u8]) -> RecordReport {
    verify_with(bytes, None)
}

/// Verify a container: every record is a component (found size, SHA-256); every SI record in it
/// is verified by `si` against the other records, as a child.
pub fn verify_with(bytes: &[u8], si: Option<SiVerifier>) -> RecordReport {
    let c = parse(bytes);
    let mut r = RecordReport::new("dsicdp", "gzip", "big5");
    r.well_formed = c.gzip_intact && c.lost.is_empty() && c.records.iter().all(|x| x.complete);
    r.problems = c.problems.clone();
    for rec in &c.records {
        let data = c.data(rec);
        let verdict = match (rec.complete, c.gzip_intact) {
            (true, true) => Verdict::Authentic,
            (true, false) => Verdict::RepairedNotAuthentic,
            (false, _) => Verdict::Broken,
        };
        let detail = match (rec.complete, c.gzip_intact) {
            (true, true) => "complete; the gzip CRC-32 over the whole stream holds".to_owned(),
            (true, false) => {
                "recovered whole by its length; the stream's CRC-32 could not prove it".to_owned()
            }
            (false, _) => format!("{} of {} bytes found", data.len(), rec.length),
        };
        r.components.push(ComponentReport {
            name: rec.path.clone(),
            recorded_size: Some(rec.length),
            found_size: Some(data.len() as u64),
            alg: None,
            recorded_digest: None,
            found_digest: Some(super::hex(&sha2::Sha256::digest(data))),
            verdict,
            transform: None,
            detail: format!(
                "record {} at inflated offset {}: {detail}",
                rec.index, rec.data_offset
            ),
            restored: None,
        });
        if rec.complete && is_si(data) {
            match si {
                Some(f) => r.children.push(f(data, &c)),
                None => r.notes.push(format!(
                    "{} is an SI signing record; it was not verified here",
                    rec.path
                )),
            }
        }
    }
    r.settle();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(raw: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header(b"3,/a,b.txt,2011/3/17 x 03:31:09,28"),
            Some((3, &b"/a,b.txt"[..], &b"2011/3/17 x 03:31:09"[..], 28))
        );
        assert_eq!(parse_header(b"3,a.txt,t,28"), None);
        assert_eq!(parse_header(b"x,/a.txt,t,28"), None);
    }

    #[test]
    fn small_container() {
        let raw = b"0,/a.txt,t0,3\nabc\n1,/d/b.txt,t1,0\n\n2,/c,t2,2\nxy\n";
        let c = parse(&gz(raw));
        assert!(c.gzip_intact);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.records.len(), 3);
        assert_eq!(c.data(&c.records[0]), b"abc");
        assert_eq!(c.records[1].data, 34..34);
        assert_eq!(c.fetch("d\\b.txt").unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(c.fetch("/c").unwrap().as_deref(), Some(&b"xy"[..]));
        assert_eq!(c.fetch("nope").unwrap(), None);
    }

    #[test]
    fn wrong_length_resynchronizes() {
        let raw = b"0,/a.txt,t0,9\nabc\n1,/b,t1,2\nxy\n";
        let c = parse(&gz(raw));
        assert_eq!(c.records.len(), 2);
        assert!(!c.records[0].complete);
        assert_eq!(c.data(&c.records[0]), b"abc");
        assert_eq!(c.data(&c.records[1]), b"xy");
        assert!(c.records[1].complete);
    }
}
