//! Taiwanese electronic records: SI signing records (線上簽核), archival encapsulations
//! (電子封裝檔, 媒體封裝檔, 移轉封裝檔), DI documents (函, 簽, 文書結構) and SW exchange lists
//! (交換表單). What a record is comes from its root element, never from its file name.
//!
//! [`verify`] checks well-formedness, that every `#Id` reference resolves exactly once, every
//! signature and reference, and every file the record lists (existence, recorded size, digest,
//! with digest-guided repair). An SI inside an encapsulation (inline, or base64-encoded in an
//! element) becomes a child report.

use super::xml::{self, local_name, Document};
use super::xmldsig::{self, FileReference};
use super::{crypto, ComponentSource, ManifestEntry, Problem, RecordReport};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Nested records deeper than this are not opened (a record inside a record inside...).
const MAX_NESTING: usize = 4;
/// Element text shorter than this is not tried as an embedded base64 record.
const MIN_EMBEDDED: usize = 64;

/// The kind of record a root element names, or `None` for a root this module does not know.
pub fn classify(root: &str) -> Option<&'static str> {
    match local_name(root) {
        "線上簽核" => Some("si"),
        "電子封裝檔" => Some("erencaps"),
        "媒體封裝檔" => Some("media-encaps"),
        "移轉封裝檔" => Some("transfer-encaps"),
        "函" | "簽" | "文書結構" => Some("di"),
        "交換表單" => Some("sw"),
        _ => None,
    }
}

/// Verify a record's bytes, fetching the files it lists from `src`.
pub fn verify(bytes: &[u8], src: &dyn ComponentSource) -> RecordReport {
    let mut r = verify_at(bytes, src, 0);
    r.settle();
    r
}

fn verify_at(bytes: &[u8], src: &dyn ComponentSource, depth: usize) -> RecordReport {
    // Zero bytes after the record are slack (a carved or preallocated file), not part of it.
    let kept = bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    let slack = bytes.len() - kept;
    let mut bytes = &bytes[..kept];
    // Other bytes after the root's end tag (the tail of an older file in the same sector) are
    // slack too: the record ends at its end tag.
    let mut tail = None;
    if let Err(e) = xml::parse(bytes) {
        let at = usize::try_from(e.offset).unwrap_or(usize::MAX);
        if e.message.contains("after the root element") && at < bytes.len() {
            tail = Some((at, bytes.len() - at));
            bytes = &bytes[..at];
        }
    }
    let mut r = verify_parsed(bytes, src, depth);
    if let Some((at, n)) = tail {
        r.notes.push(format!(
            "{n} bytes after the root's end tag (slack, not part of the record) were left out, from byte {at:#x}"
        ));
    }
    if slack > 0 {
        r.notes.push(format!(
            "{slack} zero bytes after the record (slack) were left out, from byte {kept:#x}"
        ));
    }
    r
}

fn verify_parsed(bytes: &[u8], src: &dyn ComponentSource, depth: usize) -> RecordReport {
    let doc = match xml::parse(bytes) {
        Ok(d) => d,
        Err(e) => {
            let (root, encoding) = sniff_root(bytes);
            let kind = classify(&root).unwrap_or("unknown");
            let mut r = RecordReport::new(kind, &root, encoding);
            r.well_formed = false;
            r.problems.push(Problem {
                offset: Some(e.offset),
                file: None,
                message: format!("not well-formed: {}", e.message),
            });
            return r;
        }
    };
    let root_name = doc.root().name.clone();
    let kind = classify(&root_name).unwrap_or("unknown");
    let mut r = RecordReport::new(kind, &root_name, &doc.encoding);
    if kind == "unknown" {
        r.problems.push(Problem {
            offset: Some(doc.root().offset),
            file: None,
            message: format!("root element <{root_name}> is not a Taiwanese record type"),
        });
    }
    r.id = id_of(&doc, xml::Document::ROOT);
    r.notes.extend(doc.notes.iter().cloned());
    id_problems(&doc, &mut r);

    // An SI written inline inside an encapsulation is reported as a child of it.
    let nested: Vec<usize> = if kind == "si" {
        Vec::new()
    } else {
        doc.find_all("線上簽核")
            .into_iter()
            .filter(|i| *i != xml::Document::ROOT)
            .collect()
    };
    fill_scope(&doc, xml::Document::ROOT, &nested, src, &mut r);
    for n in &nested {
        let mut child = RecordReport::new("si", &doc.elements[*n].name, &doc.encoding);
        child.id = id_of(&doc, *n);
        child.notes.push(format!(
            "inline inside <{root_name}> at byte {:#x}",
            doc.elements[*n].offset
        ));
        fill_scope(&doc, *n, &[], src, &mut child);
        r.children.push(child);
    }
    if kind == "di" {
        di_attachments(&doc, src, &mut r);
    }
    if depth < MAX_NESTING {
        embedded_records(&doc, src, depth, &mut r);
    }
    r
}

fn id_of(doc: &Document, i: usize) -> Option<String> {
    let e = doc.el(i)?;
    e.attrs
        .iter()
        .find(|(n, _)| xml::is_id_attr(n))
        .map(|(_, v)| v.clone())
}

/// Duplicate ids, and `URI="#x"` attributes that resolve to no element or to more than one.
fn id_problems(doc: &Document, r: &mut RecordReport) {
    for (id, el) in &doc.duplicate_ids {
        r.problems.push(Problem {
            offset: doc.el(*el).map(|e| e.offset),
            file: None,
            message: format!(
                "Id {id:?} is used again (first at byte {:#x})",
                doc.ids
                    .get(id)
                    .and_then(|f| doc.el(*f))
                    .map_or(0, |e| e.offset)
            ),
        });
    }
    let mut extra: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, _) in &doc.duplicate_ids {
        *extra.entry(id.as_str()).or_default() += 1;
    }
    for e in &doc.elements {
        for (n, v) in &e.attrs {
            if n != "URI" {
                continue;
            }
            let Some(id) = v.strip_prefix('#') else {
                continue;
            };
            let count = usize::from(doc.ids.contains_key(id)) + extra.get(id).copied().unwrap_or(0);
            let message = match count {
                1 => continue,
                0 => format!("reference {v:?} resolves to no element"),
                n => format!("reference {v:?} resolves to {n} elements"),
            };
            r.problems.push(Problem {
                offset: Some(e.offset),
                file: None,
                message,
            });
        }
    }
}

/// Signatures, references and components of the part of `doc` under `scope`, leaving out the
/// subtrees in `exclude` (nested records reported on their own).
fn fill_scope(
    doc: &Document,
    scope: usize,
    exclude: &[usize],
    src: &dyn ComponentSource,
    r: &mut RecordReport,
) {
    let inside =
        |i: usize| doc.is_within(i, scope) && !exclude.iter().any(|x| doc.is_within(i, *x));

    let mut files: Vec<(FileReference, Option<u64>)> = Vec::new();
    let mut cache = xmldsig::DigestCache::default();
    let mut holder_sizes: HashMap<usize, BTreeMap<String, (u64, u64)>> = HashMap::new();
    let sizes = listed_sizes(
        doc,
        doc.descendants(scope).into_iter().filter(|i| inside(*i)),
    );
    for sig in doc.find_all("Signature").into_iter().filter(|i| inside(*i)) {
        let mut c = xmldsig::check_cached(doc, sig, &mut cache);
        // Sizes come from the file list of the signing step that holds the signature (for an
        // SI: its 簽核點定義), then from anywhere in the record.
        let holder = doc.el(sig).and_then(|e| e.parent).filter(|h| *h != scope);
        let local = holder.map(|h| {
            holder_sizes
                .entry(h)
                .or_insert_with(|| listed_sizes(doc, doc.descendants(h).into_iter()))
                .clone()
        });
        for f in c.files.drain(..) {
            let size = local
                .as_ref()
                .and_then(|l| l.get(&f.uri))
                .or_else(|| sizes.get(&f.uri))
                .map(|(s, _)| *s);
            files.push((f, size));
        }
        if let (Some(info), Some(at)) = (&c.signature.signer, signing_time(doc, sig)) {
            c.signature.within_validity = Some(info.not_before <= at && at <= info.not_after);
            c.signature
                .detail
                .push_str(&format!("; signed at {at} (recorded time, Taiwan)"));
        }
        r.signatures.push(c.signature);
        r.references.extend(c.references);
    }
    if !r.signatures.is_empty() && !r.notes.iter().any(|n| n == xmldsig::OFFLINE_NOTE) {
        r.notes.push(xmldsig::OFFLINE_NOTE.into());
    }

    // One component per file a signature signs: each signing step signs its own file list, so
    // the same file signed at three steps is three components. The bytes are checked once.
    type Key<'a> = (&'a str, Option<&'a [u8]>, Option<u64>);
    let mut checked: HashMap<Key<'_>, super::ComponentReport> = HashMap::new();
    for (f, size) in &files {
        let mut c = checked
            .entry((f.uri.as_str(), f.digest.as_deref(), *size))
            .or_insert_with(|| {
                xmldsig::check_component(&f.uri, *size, f.alg, f.digest.as_deref(), src)
            })
            .clone();
        c.detail = format!("signed by {}: {}", f.signature, c.detail);
        note_component_problem(&c, Some(f.offset), r);
        r.components.push(c);
    }
    let signed: HashSet<&str> = files.iter().map(|(f, _)| f.uri.as_str()).collect();
    for (name, (size, at)) in &sizes {
        if signed.contains(name.as_str()) {
            continue;
        }
        let c = xmldsig::check_component(name, Some(*size), None, None, src);
        note_component_problem(&c, Some(*at), r);
        r.components.push(c);
    }
}

fn note_component_problem(c: &super::ComponentReport, offset: Option<u64>, r: &mut RecordReport) {
    if c.found_size.is_none() {
        r.problems.push(Problem {
            offset,
            file: Some(c.name.clone()),
            message: format!("listed file {}", c.detail),
        });
    }
}

/// `檔案名稱` / `檔案大小` pairs written side by side (電子檔案資訊, 電子影音檔案資訊...): name →
/// (size, offset of the listing element). The first listing of a name wins.
fn listed_sizes(
    doc: &Document,
    among: impl Iterator<Item = usize>,
) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for n in among.filter(|i| doc.el(*i).is_some_and(|e| e.name == "檔案名稱")) {
        let Some(parent) = doc.el(n).and_then(|e| e.parent) else {
            continue;
        };
        let Some(size_el) = doc.child(parent, "檔案大小") else {
            continue;
        };
        let Ok(size) = doc.text(size_el).trim().parse::<u64>() else {
            continue;
        };
        let name = doc.text(n).trim().to_string();
        if name.is_empty() {
            continue;
        }
        out.entry(name)
            .or_insert((size, doc.el(parent).map_or(0, |e| e.offset)));
    }
    out
}

/// The signing time recorded next to a signature (`簽章時間` or `加簽時間` in the element that
/// holds it), in RFC 3339 form, read from the ROC calendar as written (Taiwan time).
fn signing_time(doc: &Document, sig: usize) -> Option<String> {
    let holder = doc.el(sig)?.parent?;
    doc.descendants(holder)
        .into_iter()
        .filter(|i| matches!(doc.elements[*i].name.as_str(), "簽章時間" | "加簽時間"))
        .find_map(|i| roc_time(doc.text(i).trim()))
}

/// `yyyMMddHHmm[ss]` or `yyyMMdd` in the ROC calendar (year 1 = 1912), Taiwan time (UTC+8),
/// as an RFC 3339 UTC time.
pub fn roc_time(s: &str) -> Option<String> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (year, month, day) = (n(0, 3)? + 1911, n(3, 5)?, n(5, 7)?);
    let (hour, minute, second) = match s.len() {
        7 => (0, 0, 0),
        11 => (n(7, 9)?, n(9, 11)?, 0),
        13 => (n(7, 9)?, n(9, 11)?, n(11, 13)?),
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil (proleptic Gregorian), then back through the shared formatter in UTC.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - 8 * 3600;
    Some(crypto::format_time(u64::try_from(secs).ok()?))
}

/// A DI's attachments: the unparsed entities (`<!ENTITY name SYSTEM "file" NDATA type>`).
fn di_attachments(doc: &Document, src: &dyn ComponentSource, r: &mut RecordReport) {
    let Some(dt) = &doc.doctype else { return };
    for e in dt.entities.iter().filter(|e| e.notation.is_some()) {
        let Some(file) = &e.system else { continue };
        let mut c = xmldsig::check_component(file, None, None, None, src);
        c.detail = format!(
            "attachment entity {} ({}): {}",
            e.name,
            e.notation.as_deref().unwrap_or(""),
            c.detail
        );
        note_component_problem(&c, Some(e.offset), r);
        r.components.push(c);
    }
}

/// Records carried base64-encoded in an element's text become children.
fn embedded_records(doc: &Document, src: &dyn ComponentSource, depth: usize, r: &mut RecordReport) {
    for (i, e) in doc.elements.iter().enumerate() {
        if matches!(
            local_name(&e.name),
            "SignatureValue" | "X509Certificate" | "DigestValue"
        ) {
            continue;
        }
        if !e.children.iter().all(|c| matches!(c, xml::Node::Text(_))) {
            continue;
        }
        let text = doc.text(i);
        if text.len() < MIN_EMBEDDED
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=\r\n\t ".contains(&b))
        {
            continue;
        }
        let Ok(bytes) = crypto::decode_base64_lenient(text.as_bytes()) else {
            continue;
        };
        let body = bytes
            .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
            .unwrap_or(&bytes);
        let body = &body[body.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        if !body.starts_with(b"<") {
            continue;
        }
        let mut child = verify_at(&bytes, src, depth + 1);
        child.notes.push(format!(
            "base64-encoded in <{}> at byte {:#x}",
            e.name, e.offset
        ));
        r.children.push(child);
    }
}

/// The root element's name and the likely encoding of bytes that do not parse.
fn sniff_root(bytes: &[u8]) -> (String, &'static str) {
    let big5 = std::str::from_utf8(bytes).is_err();
    let enc = if big5 { "big5" } else { "utf-8" };
    let mut i = 0;
    while let Some(p) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|c| *c == b'<'))
    {
        let at = i + p + 1;
        match bytes.get(at) {
            Some(b'?' | b'!' | b'/') | None => i = at,
            Some(_) => {
                let n = bytes[at..]
                    .iter()
                    .take_while(|c| !(c.is_ascii_whitespace() || matches!(c, b'>' | b'/' | b'<')))
                    .take(256)
                    .count();
                let raw = &bytes[at..at + n];
                let name = if big5 {
                    encoding_rs::BIG5
                        .decode_without_bom_handling(raw)
                        .0
                        .into_owned()
                } else {
                    String::from_utf8_lossy(raw).into_owned()
                };
                return (name, enc);
            }
        }
    }
    (String::new(), enc)
}

/// The files an SI or an encapsulation lists with a digest: name, recorded size (from
/// `檔案名稱` / `檔案大小`) and the digest of the signature reference that names it. Files listed
/// with a size only are left out (a manifest entry needs a digest).
pub fn manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let doc = xml::parse(bytes).map_err(|e| format!("record not well-formed {e}"))?;
    let sizes = listed_sizes(&doc, 0..doc.elements.len());
    let mut out: Vec<ManifestEntry> = Vec::new();
    let mut seen: HashSet<(String, Vec<u8>)> = HashSet::new();
    for sig in doc.find_all("Signature") {
        for f in xmldsig::check_files_only(&doc, sig) {
            let (Some(alg), Some(digest)) = (f.alg, f.digest) else {
                continue;
            };
            if digest.len() != alg.output_len() || !seen.insert((f.uri.clone(), digest.clone())) {
                continue;
            }
            out.push(ManifestEntry {
                size: sizes.get(&f.uri).map(|(s, _)| *s),
                name: f.uri,
                alg,
                digest,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{NoComponents, Verdict};

    #[test]
    fn kinds_by_root() {
        assert_eq!(classify("線上簽核"), Some("si"));
        assert_eq!(classify("電子封裝檔"), Some("erencaps"));
        assert_eq!(classify("媒體封裝檔"), Some("media-encaps"));
        assert_eq!(classify("移轉封裝檔"), Some("transfer-encaps"));
        assert_eq!(classify("簽"), Some("di"));
        assert_eq!(classify("交換表單"), Some("sw"));
        assert_eq!(classify("html"), None);
    }

    #[test]
    fn roc_calendar() {
        assert_eq!(
            roc_time("10003281801").as_deref(),
            Some("2011-03-28T10:01:00Z")
        );
        assert_eq!(roc_time("0980301").as_deref(), Some("2009-02-28T16:00:00Z"));
        assert_eq!(
            roc_time("0890301123456").as_deref(),
            Some("2000-03-01T04:34:56Z")
        );
        assert_eq!(roc_time("10013281801"), None);
        assert_eq!(roc_time("1000328180"), None);
    }

    #[test]
    fn ids_resolve_exactly_once() {
        let x = "<線上簽核 Id=\"a\"><x Id=\"d\"/><y Id=\"d\"/><p URI=\"#d\"/><q URI=\"#none\"/><r URI=\"#a\"/></線上簽核>";
        let r = verify(x.as_bytes(), &NoComponents);
        let msgs: Vec<(Option<u64>, &str)> = r
            .problems
            .iter()
            .map(|p| (p.offset, p.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            [
                (Some(32), "Id \"d\" is used again (first at byte 0x15)"),
                (Some(43), "reference \"#d\" resolves to 2 elements"),
                (Some(56), "reference \"#none\" resolves to no element"),
                (
                    None,
                    "nothing to verify: no signature, digest or record was found in it"
                ),
            ]
        );
        assert_eq!(r.verdict, Verdict::Broken);
    }

    #[test]
    fn not_well_formed_is_broken_with_the_offset() {
        let r = verify("<函><主旨></函>".as_bytes(), &NoComponents);
        assert_eq!(
            (r.kind.as_str(), r.root.as_str(), r.well_formed, r.verdict),
            ("di", "函", false, Verdict::Broken)
        );
        assert_eq!(r.problems[0].offset, Some(13));
    }

    #[test]
    fn zero_slack_is_left_out() {
        let mut b = "<函><主旨>x</主旨></函>".as_bytes().to_vec();
        b.extend_from_slice(&[0; 100]);
        let r = verify(&b, &NoComponents);
        assert!(r.well_formed);
        assert_eq!(r.verdict, Verdict::Authentic);
        assert_eq!(
            r.notes,
            ["100 zero bytes after the record (slack) were left out, from byte 0x1d"]
        );
    }

    #[test]
    fn missing_reference_target_is_named() {
        let x = "<線上簽核><Signature Id=\"s\"><SignedInfo><SignatureMethod Algorithm=\"rsa-sha1\"/><Reference URI=\"#gone\"><DigestMethod Algorithm=\"sha1\"/><DigestValue>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</DigestValue></Reference></SignedInfo></Signature></線上簽核>";
        let r = verify(x.as_bytes(), &NoComponents);
        assert_eq!(r.references.len(), 1);
        assert_eq!(r.references[0].verdict, Verdict::Broken);
        assert!(r.references[0]
            .detail
            .starts_with("no element has Id \"gone\""));
        assert_eq!(r.signatures[0].verdict, Verdict::Broken);
        assert_eq!(r.verdict, Verdict::Broken);
    }
}
