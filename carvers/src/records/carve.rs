//! Finding electronic records in raw bytes: Taiwanese signing records (SI), archival
//! encapsulations, DI documents, SW exchange lists and VEO v2 objects.
//!
//! A record is found by its root element's start tag (or by a DOCTYPE naming that root), in
//! UTF-8 or in Big5. Its extent starts at the byte-order mark, XML declaration or DOCTYPE that
//! belongs to it (found by looking back at most [`PROLOG_MAX`] bytes and proven by reading
//! forward from there to the root without meeting anything but a prolog) and ends with the `>`
//! of the root's own end tag, found by counting element depth with the
//! [`tokenizer`](super::tokenizer). Whatever follows the end tag is slack and not part of it.
//! A record that stops being XML (end of source, NUL or other binary bytes, the size limit)
//! before its end tag is `truncated` and ends at its last plausible byte.

use super::tokenizer::{Doctype, Encoding, Step, Tokenizer};
use crate::model::{Candidate, Defect, DefectKind, Limits, Region, Status};
use crate::view::ByteView;
use crate::{Carver, Hit, Signature};
use std::sync::OnceLock;

/// How far back from a root tag the carver looks for its DOCTYPE and XML declaration. DI
/// documents declare each attachment as an entity in the internal subset; even hundreds of them
/// fit in this.
pub const PROLOG_MAX: u64 = 64 << 10;

/// Largest record delimited, whatever `--max-size` says. VEO v2 objects carry their documents
/// as base64 and are the largest records; one gibibyte is far above the ones archives publish,
/// and bounds the walk a hostile run of plausible bytes can cause.
pub const MAX_RECORD: u64 = 1 << 30;

/// Shortest cut record kept when no DOCTYPE names its root.
const MIN_CUT: u64 = 64;

/// Bytes read at a time while walking forward.
const PIECE: usize = 256 << 10;

/// A root element the carver knows, and the kind of record it starts.
#[derive(Debug, Clone, Copy)]
pub struct Root {
    /// The element name as written (in UTF-8 here).
    pub name: &'static str,
    /// The record kind reported.
    pub kind: &'static str,
    /// Whether the name may also be written in Big5.
    pub big5: bool,
}

/// Every root element recognised, in tag order.
pub const ROOTS: &[Root] = &[
    Root {
        name: "線上簽核",
        kind: "si",
        big5: true,
    },
    Root {
        name: "電子封裝檔",
        kind: "erencaps",
        big5: true,
    },
    Root {
        name: "媒體封裝檔",
        kind: "media-encaps",
        big5: true,
    },
    Root {
        name: "移轉封裝檔",
        kind: "transfer-encaps",
        big5: true,
    },
    Root {
        name: "函",
        kind: "di",
        big5: true,
    },
    Root {
        name: "簽",
        kind: "di",
        big5: true,
    },
    Root {
        name: "文書結構",
        kind: "di",
        big5: true,
    },
    Root {
        name: "交換表單",
        kind: "sw",
        big5: true,
    },
    Root {
        name: "vers:VERSEncapsulatedObject",
        kind: "veo",
        big5: false,
    },
];

/// Kinds reported by this carver.
pub const KINDS: &[&str] = &[
    "si",
    "erencaps",
    "media-encaps",
    "transfer-encaps",
    "di",
    "sw",
    "veo",
];

/// Bytes that may follow an element name in a start tag.
const TAG_END: &[u8] = b" \t\r\n>/";
/// Bytes that may follow the name in a DOCTYPE.
const DOCTYPE_END: &[u8] = b" \t\r\n[>";

/// The signature table and the encoded root names, built once.
struct Table {
    signatures: Vec<Signature>,
    /// For each root: its name in UTF-8 and, when it has one, in Big5.
    names: Vec<[Option<&'static [u8]>; 2]>,
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// Tag layout: root index × 4 + encoding × 2 + (1 for a DOCTYPE hit).
fn tag(root: usize, enc: Encoding, doctype: bool) -> u16 {
    let e = match enc {
        Encoding::Utf8 => 0,
        Encoding::Big5 => 1,
    };
    (root * 4 + e * 2 + usize::from(doctype)) as u16
}

fn untag(tag: u16) -> Option<(usize, Encoding, bool)> {
    let t = usize::from(tag);
    let root = t / 4;
    let enc = if t & 2 == 0 {
        Encoding::Utf8
    } else {
        Encoding::Big5
    };
    (root < ROOTS.len()).then_some((root, enc, t & 1 == 1))
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut signatures = Vec::new();
        let mut names = Vec::new();
        for (i, r) in ROOTS.iter().enumerate() {
            let utf8 = leak(r.name.as_bytes().to_vec());
            let big5 = r.big5.then(|| {
                let (b, _, bad) = encoding_rs::BIG5.encode(r.name);
                debug_assert!(!bad);
                leak(b.into_owned())
            });
            for (enc, name) in [(Encoding::Utf8, Some(utf8)), (Encoding::Big5, big5)] {
                let Some(name) = name else { continue };
                let open = [b"<".as_slice(), name].concat();
                // A pattern shorter than four bytes would fire too often: spell out what may
                // follow the name instead.
                if open.len() < 4 {
                    for &t in TAG_END {
                        signatures.push(Signature {
                            bytes: leak([open.as_slice(), &[t]].concat()),
                            tag: tag(i, enc, false),
                        });
                    }
                } else {
                    signatures.push(Signature {
                        bytes: leak(open),
                        tag: tag(i, enc, false),
                    });
                }
                signatures.push(Signature {
                    bytes: leak([b"<!DOCTYPE ".as_slice(), name].concat()),
                    tag: tag(i, enc, true),
                });
            }
            names.push([Some(utf8), big5]);
        }
        Table { signatures, names }
    })
}

fn encoded_name(root: usize, enc: Encoding) -> Option<&'static [u8]> {
    let pair = table().names.get(root)?;
    match enc {
        Encoding::Utf8 => pair[0],
        Encoding::Big5 => pair[1],
    }
}

/// The record carver.
pub struct RecordCarver;

impl Carver for RecordCarver {
    fn name(&self) -> &'static str {
        "records"
    }

    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    fn signatures(&self) -> &'static [Signature] {
        &table().signatures
    }

    fn extension(&self, kind: &'static str) -> &'static str {
        match kind {
            "erencaps" | "media-encaps" | "transfer-encaps" => "xml",
            k => k,
        }
    }

    fn locate(&self, data: &dyn ByteView, hit: Hit, limits: &Limits) -> Option<Candidate> {
        let (root, enc, doctype) = untag(hit.tag)?;
        if doctype {
            locate_doctype(data, hit.offset, root, enc, limits)
        } else {
            locate_root(data, hit.offset, root, enc, limits)
        }
    }

    fn validate(&self, _data: &dyn ByteView, _candidate: &mut Candidate, _limits: &Limits) {
        // Delimiting is the whole of carving a record; verifying its signatures and digests is
        // the records verifier's work, on the carved bytes.
    }
}

/// The prolog that belongs to a root at `at`: where the record starts, and its DOCTYPE.
#[derive(Debug, Default)]
struct Prolog {
    start: u64,
    bom: bool,
    declaration: bool,
    doctype: Option<(u64, Doctype)>,
}

/// True when `bytes` hold nothing but a prolog (blanks, comments, PIs, at most one DOCTYPE).
fn only_prolog(bytes: &[u8], enc: Encoding) -> Option<Tokenizer> {
    let mut t = Tokenizer::new(enc);
    let (n, step) = t.feed(bytes);
    (n == bytes.len() && step == Step::More && t.elements() == 0 && t.clean_prolog()).then_some(t)
}

/// Look back from `at` (a root tag, or a DOCTYPE when `doctype_at` says so) for the prolog.
fn prolog(data: &dyn ByteView, at: u64, name: &[u8], enc: Encoding, has_doctype: bool) -> Prolog {
    let lo = at.saturating_sub(PROLOG_MAX);
    let window = data.bytes_at(lo, (at - lo) as usize);
    let win: &[u8] = window.as_ref();
    let mut p = Prolog {
        start: at,
        ..Prolog::default()
    };
    let mut limit = win.len();
    if !has_doctype {
        if let Some(d) = memchr::memmem::rfind(win, b"<!DOCTYPE") {
            if let Some(t) = only_prolog(&win[d..], enc) {
                if let Some(dt) = t.doctype().filter(|dt| dt.complete && dt.name == name) {
                    p.doctype = Some((lo + d as u64, dt));
                    p.start = lo + d as u64;
                    limit = d;
                }
            }
        }
    }
    if let Some(x) = memchr::memmem::rfind(&win[..limit], b"<?xml") {
        let seg = &win[x..limit];
        let spaced = seg
            .get(5)
            .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if spaced && only_prolog(seg, enc).is_some_and(|t| t.doctype().is_none()) {
            p.start = lo + x as u64;
            p.declaration = true;
        }
    }
    if enc == Encoding::Utf8 && p.start >= 3 && *data.bytes_at(p.start - 3, 3) == [0xEF, 0xBB, 0xBF]
    {
        p.start -= 3;
        p.bom = true;
    }
    p
}

/// Why a forward walk stopped.
enum Stop {
    Closed,
    NotXml(u8),
    SourceEnd,
    Limit(u64),
}

/// Walk forward from `from` with `t` until the first element closes, the bytes stop being XML,
/// the source ends or `cap` bytes were read; also stops when `until` says so.
fn walk(
    data: &dyn ByteView,
    t: &mut Tokenizer,
    from: u64,
    cap: u64,
    until: impl Fn(&Tokenizer) -> bool,
) -> Stop {
    loop {
        let pos = from + t.position();
        let left = cap.saturating_sub(t.position());
        if left == 0 {
            return Stop::Limit(cap);
        }
        let want = left.min(PIECE as u64) as usize;
        let piece = data.bytes_at(pos, want);
        if piece.is_empty() {
            return Stop::SourceEnd;
        }
        // Byte by byte only when the caller watches for something between bytes.
        let mut i = 0;
        while i < piece.len() {
            let (n, step) = if t.elements() == 0 {
                let (n, s) = t.feed(&piece[i..=i]);
                if until(t) {
                    return Stop::Closed;
                }
                (n, s)
            } else {
                t.feed(&piece[i..])
            };
            i += n;
            match step {
                Step::Closed => return Stop::Closed,
                Step::NotXml => return Stop::NotXml(piece[i]),
                Step::More => {}
            }
        }
    }
}

fn display_name(root: usize) -> &'static str {
    ROOTS.get(root).map_or("?", |r| r.name)
}

fn locate_root(
    data: &dyn ByteView,
    at: u64,
    root: usize,
    enc: Encoding,
    limits: &Limits,
) -> Option<Candidate> {
    let name = encoded_name(root, enc)?;
    let after = data.bytes_at(at + 1 + name.len() as u64, 1);
    if !after.first().is_some_and(|b| TAG_END.contains(b)) {
        return None;
    }
    let p = prolog(data, at, name, enc, false);
    let cap = limits.max_size.min(MAX_RECORD).saturating_sub(at - p.start);
    let mut t = Tokenizer::new(enc);
    // Only VEOs nest in themselves; without a DOCTYPE naming it, a root opened again inside
    // itself is a word in text, not a record (and stopping there keeps the walk short).
    let self_nesting = ROOTS.get(root).is_some_and(|r| r.kind == "veo");
    if p.doctype.is_none() && !self_nesting {
        t.stop_on_reopen();
    }
    let stop = walk(data, &mut t, at, cap, |_| false);
    if t.root_empty() || t.elements() == 0 || t.root_name() != name {
        return None;
    }
    if t.reopened() && p.doctype.is_none() && !self_nesting {
        return None;
    }
    let end = match stop {
        Stop::Closed => at + t.position(),
        _ => at + t.clean_end(),
    };
    // Without a DOCTYPE naming it, a root needs children to count as a record: a whole one at
    // least one, a cut one at least two and some length (a tag-like word in text followed by
    // one more looks like that).
    let closed = matches!(stop, Stop::Closed);
    if p.doctype.is_none()
        && (t.elements() < 2 || (!closed && (t.elements() < 3 || end - at < MIN_CUT)))
    {
        return None;
    }
    let mut c = candidate(root, enc, p.start, end);
    c.anchors.push(at);
    describe_prolog(&mut c, &p);
    if let Some(cs) = t.content_start() {
        c.regions.push(Region {
            start: at + cs,
            end,
            label: format!("content of <{}>", display_name(root)),
        });
    }
    if t.mismatched() > 0 {
        c.notes.push(format!(
            "{} end tag(s) at depth one whose name is not {} were read as text",
            t.mismatched(),
            display_name(root)
        ));
    }
    truncate_if(&mut c, stop, end, enc, root);
    c.anchors.sort_unstable();
    c.anchors.dedup();
    Some(c)
}

fn locate_doctype(
    data: &dyn ByteView,
    at: u64,
    root: usize,
    enc: Encoding,
    limits: &Limits,
) -> Option<Candidate> {
    let name = encoded_name(root, enc)?;
    let after = data.bytes_at(at + 10 + name.len() as u64, 1);
    if !after.first().is_some_and(|b| DOCTYPE_END.contains(b)) {
        return None;
    }
    let mut t = Tokenizer::new(enc);
    let stop = walk(data, &mut t, at, PROLOG_MAX, |t| t.elements() > 0);
    if t.elements() > 0 {
        // The root follows: the record is found from there, with this DOCTYPE as its prolog.
        let r = at + t.root_at()?;
        return (t.root_name() == name && t.clean_prolog())
            .then(|| locate_root(data, r, root, enc, limits))
            .flatten();
    }
    // The record stops before its root: only the prolog survives.
    if matches!(stop, Stop::Limit(_) | Stop::Closed) || t.doctype().is_none_or(|d| d.name != name) {
        return None;
    }
    let mut p = prolog(data, at, name, enc, true);
    p.doctype = t.doctype().map(|d| (at, d));
    let end = at + t.clean_end();
    let mut c = candidate(root, enc, p.start, end);
    c.anchors.push(at);
    describe_prolog(&mut c, &p);
    truncate_if(&mut c, stop, end, enc, root);
    c.anchors.sort_unstable();
    c.anchors.dedup();
    Some(c)
}

fn candidate(root: usize, enc: Encoding, start: u64, end: u64) -> Candidate {
    let kind = ROOTS.get(root).map_or("di", |r| r.kind);
    Candidate {
        carver: "records",
        kind,
        start,
        end,
        status: Status::Intact,
        defects: Vec::new(),
        notes: vec![format!("root {}, {}", display_name(root), enc.as_str())],
        members: Vec::new(),
        anchors: vec![start],
        regions: Vec::new(),
        runs: Vec::new(),
        state: None,
    }
}

fn describe_prolog(c: &mut Candidate, p: &Prolog) {
    let mut parts = Vec::new();
    if p.bom {
        parts.push("byte-order mark".to_owned());
    }
    if p.declaration {
        parts.push("XML declaration".to_owned());
    }
    if let Some((at, d)) = &p.doctype {
        c.anchors.push(*at);
        let sys = String::from_utf8_lossy(&d.system_id).into_owned();
        parts.push(if sys.is_empty() {
            "DOCTYPE".to_owned()
        } else {
            format!("DOCTYPE (system id {sys:?})")
        });
    }
    if !parts.is_empty() {
        c.notes.push(format!("prolog: {}", parts.join(", ")));
    }
}

fn truncate_if(c: &mut Candidate, stop: Stop, end: u64, enc: Encoding, root: usize) {
    let found = match stop {
        Stop::Closed => return,
        Stop::NotXml(b) => format!("byte {b:#04x}, which cannot be {} XML", enc.as_str()),
        Stop::SourceEnd => "the end of the source".to_owned(),
        Stop::Limit(n) => format!("the size limit ({n} bytes)"),
    };
    c.add_defect(Defect::new(
        DefectKind::Truncated,
        end,
        format!("</{}> end tag", display_name(root)),
        found,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carve_all(data: &[u8]) -> Vec<Candidate> {
        let carver = RecordCarver;
        let sigs = carver.signatures();
        let mut out: Vec<Candidate> = Vec::new();
        let view: &[u8] = data;
        for i in 0..data.len() {
            for s in sigs {
                if data[i..].starts_with(s.bytes) {
                    let hit = Hit {
                        offset: i as u64,
                        tag: s.tag,
                    };
                    if let Some(c) = carver.locate(&view, hit, &Limits::default()) {
                        if !out.iter().any(|o| o.start == c.start && o.end == c.end) {
                            out.push(c);
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn big5_names_are_right() {
        let t = table();
        assert_eq!(t.names[4][1], Some(&[0xA8, 0xE7][..]));
        assert_eq!(
            t.names[0][1],
            Some(&[0xBD, 0x75, 0xA4, 0x57, 0xC3, 0xB1, 0xAE, 0xD6][..])
        );
        assert!(t.signatures.iter().all(|s| s.bytes.len() >= 4));
        assert!(t.signatures.len() <= 60, "{}", t.signatures.len());
    }

    #[test]
    fn si_with_prolog_and_slack() {
        let rec = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><!DOCTYPE 線上簽核 SYSTEM \"99_sign_utf8.dtd\"[]><線上簽核 Id=\"s\"><線上簽核流程/></線上簽核>";
        let mut data = b"\x00\x01junk".to_vec();
        data.extend_from_slice(rec.as_bytes());
        data.extend_from_slice(b"\r\nslack\x00\x00");
        let found = carve_all(&data);
        assert_eq!(found.len(), 1, "{found:?}");
        let c = &found[0];
        assert_eq!((c.start, c.end), (6, 6 + rec.len() as u64));
        assert_eq!((c.kind, c.status), ("si", Status::Intact));
        assert!(
            c.notes.iter().any(|n| n.contains("99_sign_utf8.dtd")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn big5_di_truncated_by_nul() {
        let (body, _, _) = encoding_rs::BIG5.encode(
            "<?xml version=\"1.0\" encoding=\"big5\"?>\n<!DOCTYPE 函 SYSTEM \"97_2.dtd\"[\n<!ENTITY 名單 SYSTEM \"a.sw\" NDATA DI>\n]>\n<函>\n<發文機關><全銜>銓敘部</全銜>",
        );
        let mut data = vec![b'x'; 3];
        data.extend_from_slice(&body);
        data.extend_from_slice(&[0; 16]);
        let found = carve_all(&data);
        assert_eq!(found.len(), 1, "{found:?}");
        let c = &found[0];
        assert_eq!((c.start, c.end), (3, 3 + body.len() as u64));
        assert_eq!((c.kind, c.status), ("di", Status::Truncated));
        assert_eq!(c.defects[0].offset, 3 + body.len() as u64);
    }

    #[test]
    fn nested_si_is_its_own_candidate_inside_a_region() {
        let inner = "<線上簽核 Id=\"s\"><a/></線上簽核>";
        let outer = format!("<?xml version=\"1.0\"?><電子封裝檔><b>{inner}</b></電子封裝檔>");
        let found = carve_all(outer.as_bytes());
        assert_eq!(found.len(), 2, "{found:?}");
        let o = found.iter().find(|c| c.kind == "erencaps").unwrap();
        let i = found.iter().find(|c| c.kind == "si").unwrap();
        assert_eq!((o.start, o.end), (0, outer.len() as u64));
        let at = outer.find(inner).unwrap() as u64;
        assert_eq!((i.start, i.end), (at, at + inner.len() as u64));
        assert!(o.regions[0].start <= i.start && i.end <= o.regions[0].end);
    }

    #[test]
    fn a_root_in_text_is_not_a_record() {
        let text = "請見<函>說明</函>，<簽 與會>等。<線上簽核流程>".as_bytes();
        assert!(carve_all(text).is_empty());
    }

    #[test]
    fn doctype_without_its_root_is_a_truncated_record() {
        let rec = b"<?xml version=\"1.0\"?>\n<!DOCTYPE vers:VERSEncapsulatedObject SYSTEM \"vers.dtd\">\n";
        let mut data = rec.to_vec();
        data.extend_from_slice(&[0xff; 8]);
        let found = carve_all(&data);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].start, found[0].end), (0, rec.len() as u64));
        assert_eq!((found[0].kind, found[0].status), ("veo", Status::Truncated));
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    const SEED: &str = "\u{feff}<?xml version=\"1.0\"?><!DOCTYPE 電子封裝檔 SYSTEM \"99_erencaps_utf8.dtd\"[<!ENTITY a SYSTEM \"x]\">]><電子封裝檔><c a='>'><!-- </電子封裝檔> --><![CDATA[<函>]]><線上簽核 Id=\"s\"><x/></線上簽核></c></電子封裝檔>";

    /// Every hit of every signature, located; each candidate must lie inside the data and
    /// around its hit.
    fn check(data: &[u8]) {
        let carver = RecordCarver;
        let view: &[u8] = data;
        let limits = Limits {
            max_size: 1 << 16,
            ..Limits::default()
        };
        for i in 0..data.len() {
            for s in carver.signatures() {
                if data[i..].starts_with(s.bytes) {
                    let hit = Hit {
                        offset: i as u64,
                        tag: s.tag,
                    };
                    if let Some(c) = carver.locate(&view, hit, &limits) {
                        assert!(c.start <= hit.offset && c.end <= data.len() as u64);
                        assert!(c.start < c.end);
                    }
                }
            }
        }
        for enc in [Encoding::Utf8, Encoding::Big5] {
            let mut t = Tokenizer::new(enc);
            let (n, _) = t.feed(data);
            assert!(n <= data.len() && t.clean_end() <= t.position());
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            check(&bytes);
        }

        #[test]
        fn mutated_records_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12),
            cut in any::<usize>(),
            big5 in any::<bool>(),
        ) {
            let mut data = if big5 {
                encoding_rs::BIG5.encode(SEED).0.into_owned()
            } else {
                SEED.as_bytes().to_vec()
            };
            for (at, b) in edits {
                let i = at % data.len();
                data[i] = b;
            }
            data.truncate(cut % (data.len() + 1));
            check(&data);
        }
    }
}
