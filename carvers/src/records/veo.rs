//! VERS Encapsulated Objects (PROS 99/007): version 2 (one XML file, `.veo`) and version 3 (a
//! ZIP of XML files and content files, `.veo.zip`, see [`verify_v3`]).
//!
//! A VEO v2 holds one or more `vers:SignatureBlock`s, optionally `vers:LockSignatureBlock`s, and
//! one `vers:SignedObject`. Each signature is an RSA signature over the bytes from the `<` of
//! `<vers:SignedObject` through the `>` of `</vers:SignedObject>` with every space, tab, CR and
//! LF byte removed, so re-indentation or a change of line endings does not break it. A lock
//! signature signs the base64 text of the `vers:Signature` of the signature block it names
//! (`vers:signsSignatureBlock`), again with whitespace removed (checked on both corpus samples).
//! Documents are MIME base64 in `vers:DocumentData`. A modified VEO carries its predecessor,
//! with its own signatures, in `vers:ModifiedVEO/vers:OriginalVEO`: those are reported as
//! children.

use super::crypto::{self, SigDigest};
pub(crate) use super::hex;
use super::veo_scan::{self, Scan};
use super::{ComponentReport, Problem, RecordReport, SignatureReport, Verdict};
use crate::zip::repair::{self, RepairOptions};
use base64::Engine as _;
use sha2::Digest as _;
use std::ops::Range;

pub use super::veo_v3::{content_manifest, verify_v3};

/// Deepest chain of `vers:OriginalVEO`s followed; deeper ones are reported, not verified.
const MAX_NESTING: usize = 32;

/// Verify a VEO v2 (`.veo`): well-formedness, every signature and lock signature over the
/// signed object, the signer certificates, and every `vers:DocumentData` decoded and listed as a
/// component. Nested (original) VEOs are verified the same way and reported as `children`.
pub fn verify_v2(bytes: &[u8]) -> RecordReport {
    verify_v2_at(bytes, 0)
}

fn verify_v2_at(bytes: &[u8], depth: usize) -> RecordReport {
    let scan = veo_scan::scan(bytes);
    let root_name = scan
        .roots
        .first()
        .map(|&r| scan.elements[r].name.clone())
        .unwrap_or_default();
    let mut report = RecordReport::new("veo-v2", &root_name, &scan.encoding);
    report.well_formed = scan.well_formed;
    report.problems.extend(scan.problems.iter().cloned());
    report
        .notes
        .push("certificates are checked offline: no chain building, no revocation check".into());
    match scan.roots.first() {
        Some(&root) => {
            if root_name != "vers:VERSEncapsulatedObject" {
                report.problems.push(problem(
                    scan.elements[root].start,
                    format!("root element is <{root_name}>, not <vers:VERSEncapsulatedObject>"),
                ));
                report.well_formed = false;
            }
            verify_level(bytes, &scan, root, &mut report, depth);
        }
        None => report.well_formed = false,
    }
    report.settle();
    report
}

fn problem(offset: usize, message: String) -> Problem {
    Problem {
        offset: Some(offset as u64),
        file: None,
        message,
    }
}

/// Remove every space, tab, CR and LF byte: the form VERS v2 signatures are computed over.
pub fn strip_whitespace(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect()
}

/// The digest inside a VERS signature algorithm identifier (an OID such as
/// `1.2.840.113549.1.1.13`, or a JCA name such as `SHA1withRSA`) and the name to report.
pub fn signature_algorithm(id: &str) -> (Option<SigDigest>, String) {
    let id = id.trim();
    let by_oid = match id {
        "1.2.840.113549.1.1.5" => Some((SigDigest::Sha1, "SHA1withRSA")),
        "1.2.840.113549.1.1.11" => Some((SigDigest::Sha256, "SHA256withRSA")),
        "1.2.840.113549.1.1.13" => Some((SigDigest::Sha512, "SHA512withRSA")),
        _ => None,
    };
    match by_oid {
        Some((d, n)) => (Some(d), format!("{n} ({id})")),
        None => (SigDigest::from_name(id), id.to_owned()),
    }
}

/// One parsed signature block (plain or lock).
struct Block {
    el: usize,
    id: String,
    algorithm: String,
    digest: Option<SigDigest>,
    signature_b64: Vec<u8>,
    certificate: Option<Vec<u8>>,
    date: Option<String>,
}

fn read_block(bytes: &[u8], scan: &Scan, el: usize, id: String) -> Block {
    let alg_text = scan
        .descendant(el, "vers:SignatureAlgorithmIdentifier")
        .map(|a| scan.text(bytes, a))
        .unwrap_or_default();
    let (digest, algorithm) = signature_algorithm(&alg_text);
    let signature_b64 = scan
        .child(el, "vers:Signature")
        .map(|s| strip_whitespace(scan.content(bytes, s)))
        .unwrap_or_default();
    let certificate = scan
        .child(el, "vers:CertificateBlock")
        .and_then(|cb| scan.child(cb, "vers:Certificate"))
        .and_then(|c| crypto::decode_base64_lenient(scan.content(bytes, c)).ok());
    let date = scan
        .child(el, "vers:SignatureDate")
        .map(|d| scan.text(bytes, d));
    Block {
        el,
        id,
        algorithm,
        digest,
        signature_b64,
        certificate,
        date,
    }
}

/// Check one block's signature over `message` (`what` names the signed bytes in the detail).
fn check_block(scan: &Scan, b: &Block, message: &[u8], what: &str) -> SignatureReport {
    let signer = b
        .certificate
        .as_deref()
        .and_then(|c| crypto::cert_info(c).ok());
    let within_validity = match (&b.certificate, b.date.as_deref().and_then(parse_vers_date)) {
        (Some(c), Some(t)) => crypto::parse_certificate(c).ok().map(|cert| {
            let v = cert.tbs_certificate().validity();
            let nb = v.not_before.to_unix_duration().as_secs() as i64;
            let na = v.not_after.to_unix_duration().as_secs() as i64;
            nb <= t && t <= na
        }),
        _ => None,
    };
    let (verdict, detail) = match (b.digest, &b.certificate) {
        (None, _) => (
            Verdict::Broken,
            format!("signature algorithm '{}' is not supported", b.algorithm),
        ),
        (_, None) => (
            Verdict::Broken,
            "no readable certificate in the first vers:CertificateBlock".to_owned(),
        ),
        (Some(d), Some(cert)) => match crypto::decode_base64_lenient(&b.signature_b64) {
            Err(e) => (
                Verdict::Broken,
                format!("signature value is not base64: {e}"),
            ),
            Ok(sig) => match crypto::verify_rsa(cert, d, message, &sig) {
                Ok(()) => (
                    Verdict::Authentic,
                    format!(
                        "{} holds over {what} ({} bytes)",
                        b.algorithm,
                        message.len()
                    ),
                ),
                Err(e) => (Verdict::Broken, format!("{} over {what}: {e}", b.algorithm)),
            },
        },
    };
    SignatureReport {
        id: b.id.clone(),
        algorithm: b.algorithm.clone(),
        verdict,
        variant: Some("whitespace removed".into()),
        signer,
        within_validity,
        detail,
        offset: scan.elements.get(b.el).map(|e| e.start as u64),
    }
}

/// Verify the signatures, documents and nested VEOs held directly by `container` (the root, or
/// a `vers:OriginalVEO`).
fn verify_level(
    bytes: &[u8],
    scan: &Scan,
    container: usize,
    report: &mut RecordReport,
    depth: usize,
) {
    let Some(signed) = scan.child(container, "vers:SignedObject") else {
        let at = scan.elements[container].start;
        report
            .problems
            .push(problem(at, "no vers:SignedObject".into()));
        report.well_formed = false;
        return;
    };
    let so = &scan.elements[signed];
    let message = strip_whitespace(bytes.get(so.start..so.end).unwrap_or(&[]));
    report.id = veo_identifier(bytes, scan, signed);

    // Signature blocks, then lock signatures over the signature value they name.
    let mut blocks = Vec::new();
    for (n, el) in scan.children(container, "vers:SignatureBlock").enumerate() {
        let id = scan
            .attr(bytes, el, "vers:id")
            .unwrap_or_else(|| format!("vers:SignatureBlock #{}", n + 1));
        blocks.push(read_block(bytes, scan, el, id));
    }
    if blocks.is_empty() {
        let at = scan.elements[container].start;
        report.problems.push(problem(
            at,
            "no vers:SignatureBlock: nothing proves this VEO".into(),
        ));
        report.signatures.push(SignatureReport {
            id: "vers:SignatureBlock".into(),
            algorithm: String::new(),
            verdict: Verdict::Broken,
            variant: None,
            signer: None,
            within_validity: None,
            detail: "the VEO holds no signature block".into(),
            offset: None,
        });
    }
    let what = format!(
        "vers:SignedObject at offset {} with whitespace removed",
        so.start
    );
    for b in &blocks {
        report
            .signatures
            .push(check_block(scan, b, &message, &what));
    }
    for (n, el) in scan
        .children(container, "vers:LockSignatureBlock")
        .enumerate()
    {
        let target = scan.attr(bytes, el, "vers:signsSignatureBlock");
        let lock = read_block(
            bytes,
            scan,
            el,
            format!(
                "vers:LockSignatureBlock #{} (signs {})",
                n + 1,
                target.as_deref().unwrap_or("?")
            ),
        );
        let signed_block = match &target {
            Some(t) => blocks.iter().find(|b| &b.id == t),
            None if blocks.len() == 1 => blocks.first(),
            None => None,
        };
        let rep = match signed_block {
            Some(sb) => {
                let what = format!(
                    "the vers:Signature text of {} with whitespace removed",
                    sb.id
                );
                check_block(scan, &lock, &sb.signature_b64, &what)
            }
            None => {
                let mut r = check_block(scan, &lock, &[], "nothing");
                r.verdict = Verdict::Broken;
                r.detail = format!(
                    "names signature block {:?}, which this VEO does not hold",
                    target.unwrap_or_default()
                );
                r
            }
        };
        report.signatures.push(rep);
    }
    let signed_ok = !report.signatures.is_empty()
        && report
            .signatures
            .iter()
            .all(|s| s.verdict == Verdict::Authentic);

    // Documents of this level, and the VEOs nested in it.
    let mut todo: Vec<usize> = scan.elements[signed]
        .children
        .iter()
        .rev()
        .copied()
        .collect();
    let mut n_doc = 0usize;
    while let Some(i) = todo.pop() {
        let name = scan.elements[i].name.as_str();
        if name == "vers:OriginalVEO" || name == "vers:VERSEncapsulatedObject" {
            let mut child = RecordReport::new("veo-v2", name, &report.encoding);
            if depth >= MAX_NESTING {
                child.problems.push(problem(
                    scan.elements[i].start,
                    "nested too deep: not verified".into(),
                ));
                child.well_formed = false;
            } else {
                verify_level(bytes, scan, i, &mut child, depth + 1);
            }
            child.settle();
            report.children.push(child);
            continue;
        }
        if name == "vers:DocumentData" {
            n_doc += 1;
            let (component, decoded) = document_component(bytes, scan, i, n_doc, signed_ok);
            if looks_like_veo_v2(&decoded) {
                let mut child = if depth >= MAX_NESTING {
                    let mut c = RecordReport::new("veo-v2", "", "utf-8");
                    c.well_formed = false;
                    c.problems
                        .push(problem(0, "nested too deep: not verified".into()));
                    c
                } else {
                    verify_v2_at(&decoded, depth + 1)
                };
                child.notes.push(format!(
                    "held as document {} (base64 at offset {}); offsets are in the decoded document",
                    component.name, scan.elements[i].content_start
                ));
                child.settle();
                report.children.push(child);
            }
            report.components.push(component);
            continue;
        }
        todo.extend(scan.elements[i].children.iter().rev().copied());
    }
}

/// The VEO's identifier: agency, series, file and record identifiers joined with `/`.
fn veo_identifier(bytes: &[u8], scan: &Scan, signed: usize) -> Option<String> {
    let vid = scan.descendant(signed, "vers:VEOIdentifier")?;
    let parts: Vec<String> = scan.elements[vid]
        .children
        .iter()
        .map(|&c| scan.text(bytes, c))
        .filter(|t| !t.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The name a document is listed under: the source file's name, else the document title with
/// the extension from the rendering keywords, else the element's `vers:id`.
fn document_name(bytes: &[u8], scan: &Scan, data: usize, n: usize) -> String {
    let encoding = scan.ancestor(data, "vers:Encoding");
    if let Some(src) = encoding.and_then(|e| scan.descendant(e, "vers:SourceFileIdentifier")) {
        let path = scan.text(bytes, src);
        if let Some(base) = path.rsplit(['/', '\\']).next().filter(|b| !b.is_empty()) {
            return base.to_owned();
        }
    }
    let ext = encoding
        .and_then(|e| scan.descendant(e, "vers:RenderingKeywords"))
        .map(|k| scan.text(bytes, k))
        .and_then(|k| {
            k.split([';', ' ', ','])
                .map(|w| w.trim_matches(|c| c == '\'' || c == '"'))
                .rfind(|w| w.starts_with('.') && *w != ".b64" && w.len() > 1)
                .map(str::to_owned)
        });
    let title = scan
        .ancestor(data, "vers:Document")
        .and_then(|d| scan.descendant(d, "vers:DocumentTitle"))
        .map(|t| scan.text(bytes, t))
        .filter(|t| !t.is_empty());
    match (title, ext) {
        (Some(t), Some(e)) => format!("{t}{e}"),
        (Some(t), None) => t,
        _ => scan
            .attr(bytes, data, "vers:id")
            .unwrap_or_else(|| format!("vers:DocumentData #{n}")),
    }
}

fn document_component(
    bytes: &[u8],
    scan: &Scan,
    data: usize,
    n: usize,
    signed_ok: bool,
) -> (ComponentReport, Vec<u8>) {
    let name = document_name(bytes, scan, data, n);
    let el = &scan.elements[data];
    let doc = decode_document(bytes, el.content_start..el.content_end);
    let found_digest = hex(&sha2::Sha256::digest(&doc.bytes));
    let mut detail = format!(
        "base64 at offset {} decoded to {} bytes",
        el.content_start,
        doc.bytes.len()
    );
    let (verdict, transform, restored) = if doc.bad_lines == 0 {
        if signed_ok {
            detail.push_str("; the signatures over the signed object hold");
            (Verdict::Authentic, None, None)
        } else {
            detail.push_str("; no signature over the signed object holds");
            (Verdict::Broken, None, None)
        }
    } else {
        detail.push_str(&format!(
            "; {} bad base64 line(s) zero-filled",
            doc.bad_lines
        ));
        match doc.zip_repair {
            Some(z) if z.members_written > 0 => {
                detail.push_str(&format!("; {}", z.summary));
                (
                    Verdict::RepairedNotAuthentic,
                    Some("bad base64 lines zero-filled, ZIP rebuilt".to_owned()),
                    Some(z.bytes),
                )
            }
            Some(z) => {
                detail.push_str(&format!("; {}", z.summary));
                (
                    Verdict::Broken,
                    Some("bad base64 lines zero-filled".to_owned()),
                    Some(doc.bytes.clone()),
                )
            }
            None => (
                Verdict::Broken,
                Some("bad base64 lines zero-filled".to_owned()),
                Some(doc.bytes.clone()),
            ),
        }
    };
    let component = ComponentReport {
        name,
        recorded_size: None,
        found_size: Some(doc.bytes.len() as u64),
        alg: None,
        recorded_digest: None,
        found_digest: Some(found_digest),
        verdict,
        transform,
        detail: if doc.problems.is_empty() {
            detail
        } else {
            format!(
                "{detail}; {}",
                doc.problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
        restored,
    };
    (component, doc.bytes)
}

/// Whether decoded document bytes are themselves a VEO v2 (a VEO filed as a document).
fn looks_like_veo_v2(b: &[u8]) -> bool {
    let head = &b[..b.len().min(4096)];
    memchr::memmem::find(head, b"<vers:VERSEncapsulatedObject").is_some()
}

/// A document decoded out of a VEO v2, for writing out.
#[derive(Debug, Clone)]
pub struct ExtractedDocument {
    /// The name it is listed under (see [`verify_v2`]'s components).
    pub name: String,
    /// How many `vers:OriginalVEO`s it lies inside (0 for the outer VEO's own documents).
    pub depth: usize,
    /// Offset of its base64 text in the VEO.
    pub offset: u64,
    /// The decoded bytes (bad lines zero-filled).
    pub bytes: Vec<u8>,
    /// Number of base64 lines that did not decode.
    pub bad_lines: usize,
}

/// Every `vers:DocumentData` of a VEO v2, decoded, including those of nested original VEOs.
pub fn extract_documents(bytes: &[u8]) -> Vec<ExtractedDocument> {
    let scan = veo_scan::scan(bytes);
    let mut out = Vec::new();
    let mut n = 0usize;
    for (i, el) in scan.elements.iter().enumerate() {
        if el.name != "vers:DocumentData" {
            continue;
        }
        n += 1;
        let mut depth = 0;
        let mut cur = el.parent;
        while let Some(p) = cur {
            depth += usize::from(scan.elements[p].name == "vers:OriginalVEO");
            cur = scan.elements[p].parent;
        }
        let doc = decode_document(bytes, el.content_start..el.content_end);
        out.push(ExtractedDocument {
            name: document_name(bytes, &scan, i, n),
            depth,
            offset: el.content_start as u64,
            bytes: doc.bytes,
            bad_lines: doc.bad_lines,
        });
    }
    out
}

/// A ZIP payload that was put through [`crate::zip::repair::repair`].
#[derive(Debug, Clone)]
pub struct ZipRepairOutcome {
    /// The rebuilt archive.
    pub bytes: Vec<u8>,
    /// Members written to the rebuilt archive.
    pub members_written: usize,
    /// Members whose data the member CRC proves.
    pub members_whole: usize,
    /// Members only partly recovered or lost.
    pub members_damaged: usize,
    /// Whether an office package (docx...) can be expected to open.
    pub openable: Option<bool>,
    /// One line for reports.
    pub summary: String,
}

/// A `vers:DocumentData` decoded as far as it decodes.
#[derive(Debug, Clone)]
pub struct DecodedDocument {
    /// The decoded bytes; each bad line contributes zero bytes of the length a good line has, so
    /// later bytes stay at their offsets.
    pub bytes: Vec<u8>,
    /// Number of lines that did not decode.
    pub bad_lines: usize,
    /// The first bad line: its 1-based line number in the file and its byte offset.
    pub first_bad: Option<(u64, u64)>,
    /// What was wrong, with offsets in the file.
    pub problems: Vec<Problem>,
    /// When lines were bad and the payload is a ZIP (a docx, say): the result of the ZIP repair.
    pub zip_repair: Option<ZipRepairOutcome>,
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Decode the MIME base64 held in `file[range]` line by line. A line that does not decode is
/// reported (the first one with its line number and byte offset in `file`) and replaced by zero
/// bytes of a good line's decoded length, with whatever whole groups of four in it still decode
/// kept in place (a line less than half a good line's length keeps only its own length, so the
/// output never exceeds 1.5 times the input). When any line was bad and the result is a ZIP, it is handed to the ZIP repair.
pub fn decode_document(file: &[u8], range: Range<usize>) -> DecodedDocument {
    let start = range.start.min(file.len());
    let end = range.end.clamp(start, file.len());
    let text = &file[start..end];
    let first_line = 1 + memchr::memchr_iter(b'\n', &file[..start]).count() as u64;

    // Split into lines with their offsets; blank lines carry nothing.
    let mut lines: Vec<(usize, u64, &[u8])> = Vec::new();
    let mut off = 0usize;
    for (no, raw) in (first_line..).zip(text.split(|&b| b == b'\n')) {
        let trimmed = raw.trim_ascii();
        if !trimmed.is_empty() {
            lines.push((start + off, no, trimmed));
        }
        off += raw.len() + 1;
    }
    let good_len = {
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for (_, _, l) in &lines {
            match counts.iter_mut().find(|(len, _)| *len == l.len()) {
                Some(c) => c.1 += 1,
                None => counts.push((l.len(), 1)),
            }
        }
        counts
            .into_iter()
            .max_by_key(|c| c.1)
            .map(|c| c.0)
            .unwrap_or(76)
    };

    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out: Vec<u8> = Vec::with_capacity(text.len() / 4 * 3);
    let mut doc = DecodedDocument {
        bytes: Vec::new(),
        bad_lines: 0,
        first_bad: None,
        problems: Vec::new(),
        zip_repair: None,
    };
    let last = lines.len().saturating_sub(1);
    for (k, (offset, no, line)) in lines.iter().enumerate() {
        let clean = line.len() % 4 == 0
            && line.iter().all(|&b| is_b64(b) || b == b'=')
            && (k == last || !line.contains(&b'='));
        if clean && engine.decode_vec(line, &mut out).is_ok() {
            continue;
        }
        doc.bad_lines += 1;
        if doc.first_bad.is_none() {
            let why = match line.iter().position(|&b| !(is_b64(b) || b == b'=')) {
                Some(col) => format!("a byte that is not base64 at column {}", col + 1),
                None if line.len() % 4 != 0 => {
                    format!("{} characters, not a multiple of 4", line.len())
                }
                None => "padding in the middle of the data".to_owned(),
            };
            doc.first_bad = Some((*no, *offset as u64));
            doc.problems.push(Problem {
                offset: Some(*offset as u64),
                file: None,
                message: format!(
                    "base64 line {no} at offset {offset} does not decode ({why}): zero-filled"
                ),
            });
        }
        // A line that lost a few characters is padded to a good line's length so that later
        // bytes keep their offsets; a much shorter one (or the last) yields what it holds.
        let own = line.len().div_ceil(4) * 3;
        let want = if k == last || line.len() * 2 < good_len {
            own
        } else {
            good_len / 4 * 3
        };
        let before = out.len();
        for quad in line.chunks(4) {
            if out.len() - before >= want {
                break;
            }
            let ok = quad.len() == 4 && quad.iter().all(|&b| is_b64(b));
            if !ok || engine.decode_vec(quad, &mut out).is_err() {
                out.extend_from_slice(&[0, 0, 0]);
            }
        }
        out.resize(before + want, 0);
    }
    if doc.bad_lines > 1 {
        doc.problems.push(Problem {
            offset: doc.first_bad.map(|f| f.1),
            file: None,
            message: format!("{} base64 lines in all do not decode", doc.bad_lines),
        });
    }
    if doc.bad_lines > 0 && out.starts_with(b"PK\x03\x04") {
        doc.zip_repair = Some(repair_zip(&out));
    }
    doc.bytes = out;
    doc
}

fn repair_zip(payload: &[u8]) -> ZipRepairOutcome {
    let mut rebuilt = Vec::new();
    match repair::repair(&payload, &RepairOptions::default(), &mut rebuilt) {
        Ok(r) => {
            use repair::MemberStatus as S;
            let whole = r
                .members
                .iter()
                .filter(|m| {
                    matches!(
                        m.status,
                        S::Intact | S::Corrected | S::RecoveredFromDirectory
                    )
                })
                .count();
            let damaged = r.members.len() - whole;
            let openable = r.package.as_ref().map(|p| p.openable);
            let summary = format!(
                "ZIP repair ({}): {} members, {} whole, {} damaged{}",
                r.kind,
                r.members.len(),
                whole,
                damaged,
                match &r.package {
                    Some(p) if p.openable => "; package openable".to_owned(),
                    Some(p) =>
                        format!("; package not openable (damaged: {})", p.damaged.join(", ")),
                    None => String::new(),
                }
            );
            ZipRepairOutcome {
                bytes: rebuilt,
                members_written: r.members_written,
                members_whole: whole,
                members_damaged: damaged,
                openable,
                summary,
            }
        }
        Err(e) => ZipRepairOutcome {
            bytes: Vec::new(),
            members_written: 0,
            members_whole: 0,
            members_damaged: 0,
            openable: None,
            summary: format!("ZIP repair failed: {e}"),
        },
    }
}

/// Seconds since 1970 of a VERS date-time (`2022-04-06T13:26:01+10:00`, `...Z`, or a bare date).
pub fn parse_vers_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> { s.get(a..b)?.parse().ok() };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = if s.len() >= 19 {
        (num(11, 13)?, num(14, 16)?, num(17, 19)?)
    } else {
        (0, 0, 0)
    };
    let tz = s.get(19..).unwrap_or("");
    let tz = tz.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match tz.as_bytes().first() {
        Some(b'+') | Some(b'-') => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let h: i64 = tz.get(1..3)?.parse().ok()?;
            let mi: i64 = tz
                .get(4..6)
                .or_else(|| tz.get(3..5))
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            sign * (h * 3600 + mi * 60)
        }
        _ => 0,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (proleptic Gregorian).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_identifiers() {
        assert_eq!(
            signature_algorithm(" 1.2.840.113549.1.1.13\n").0,
            Some(SigDigest::Sha512)
        );
        assert_eq!(
            signature_algorithm("1.2.840.113549.1.1.5").0,
            Some(SigDigest::Sha1)
        );
        assert_eq!(
            signature_algorithm("SHA256withRSA").0,
            Some(SigDigest::Sha256)
        );
        assert_eq!(signature_algorithm("1.2.840.113549.1.1.12").0, None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_vers_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_vers_date("2022-04-06T13:26:01+10:00"),
            Some(1_649_215_561)
        );
        assert_eq!(parse_vers_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_vers_date("junk"), None);
    }

    #[test]
    fn base64_lines() {
        let file = b"<d>\nQUJD\nREVG\nR0hJ\n</d>";
        let d = decode_document(file, 3..file.len() - 4);
        assert_eq!(d.bytes, b"ABCDEFGHI");
        assert_eq!(d.bad_lines, 0);
        let file = b"<d>\nQUJD\nR!VG\nR0hJ\n</d>";
        let d = decode_document(file, 3..file.len() - 4);
        assert_eq!(d.bytes, b"ABC\0\0\0GHI");
        assert_eq!(d.first_bad, Some((3, 9)));
        assert_eq!(d.problems[0].offset, Some(9));
    }
}
