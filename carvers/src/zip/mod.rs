//! The ZIP family: zip, OOXML (docx/xlsx/pptx), ODF, EPUB, JAR, APK and VEO v3 packages.
//!
//! Two signatures start the work: a local file header walks forward member by member, and an end
//! of central directory record works back through the directory to the archive start. Both end in
//! the same [`layout::Layout`], so a hit at either end of an intact archive yields one candidate.

pub mod fragments;
pub mod layout;
pub mod records;
pub mod repair;
pub mod stream;

use crate::model::{Candidate, Defect, DefectKind, Limits, MemberInfo, Region, Status};
use crate::view::ByteView;
use crate::{Carver, Hit, Signature};
use layout::{Entry, Layout};
use std::sync::Arc;
use stream::Outcome;

/// Tag of the local file header signature.
pub const TAG_LOCAL: u16 = 0;
/// Tag of the end of central directory signature.
pub const TAG_END: u16 = 1;

static SIGNATURES: [Signature; 2] = [
    Signature {
        bytes: records::LFH_SIG,
        tag: TAG_LOCAL,
    },
    Signature {
        bytes: records::EOCD_SIG,
        tag: TAG_END,
    },
];

/// Subtypes reported by this carver, also the carved file's extension.
pub const KINDS: &[&str] = &[
    "zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "odg", "epub", "jar", "apk", "veo.zip",
];

/// The ZIP-family carver.
pub struct ZipCarver;

impl Carver for ZipCarver {
    fn name(&self) -> &'static str {
        "zip"
    }

    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    fn signatures(&self) -> &'static [Signature] {
        &SIGNATURES
    }

    fn locate(&self, data: &dyn ByteView, hit: Hit, limits: &Limits) -> Option<Candidate> {
        let layout = locate(data, hit, limits)?;
        // A bare end record with no members and no comment is 22 bytes of nothing: a byte
        // pattern this common in some data would flood the report with empty "archives".
        let bare = layout.entries.is_empty()
            && layout
                .end_record
                .as_ref()
                .is_some_and(|e| e.end == e.comment_start);
        if bare {
            return None;
        }
        let mut c = to_candidate(data, &layout);
        c.state = Some(Arc::new(layout));
        Some(c)
    }

    fn validate(&self, data: &dyn ByteView, candidate: &mut Candidate, limits: &Limits) {
        let Some(layout) = candidate
            .state
            .as_ref()
            .and_then(|s| s.downcast_ref::<Layout>())
        else {
            return;
        };
        let mut layout = layout.clone();
        check_entries(data, &mut layout, limits);
        *candidate = to_candidate(data, &layout);
        candidate.state = Some(Arc::new(layout));
    }
}

/// The layout of the archive a hit belongs to.
pub fn locate(data: &dyn ByteView, hit: Hit, limits: &Limits) -> Option<Layout> {
    match hit.tag {
        TAG_LOCAL => layout::from_local(data, hit.offset, limits),
        TAG_END => layout::from_end(data, hit.offset, limits),
        _ => None,
    }
}

/// Decode every member not yet decoded and record what is wrong.
pub fn check_entries(data: &dyn ByteView, layout: &mut Layout, limits: &Limits) {
    let mut found = Vec::new();
    // Local headers with no directory after them: the archive was cut, and its last member is
    // where. When that member stops decoding, the bytes from there on are not the archive's.
    let walked = layout.directory.is_none() && layout.end_record.is_none();
    let last = layout.entries.len().checked_sub(1);
    let mut cut_at = None;
    for (i, e) in layout.entries.iter_mut().enumerate() {
        // Without its local header a member's data position is a guess: decoding it would only
        // add noise to the defect already recorded.
        if e.encrypted() || !(e.method == 0 || e.method == 8) || e.header_offset.is_none() {
            continue;
        }
        if e.check.is_none() {
            let r = if e.method == 0 {
                stream::stored(data, e.data_start, e.data_end, None)
            } else {
                stream::inflate(data, e.data_start, e.data_end, limits, None)
            };
            e.check = Some(r);
        }
        if walked && Some(i) == last {
            if let Some(Outcome::Corrupt { at, .. }) = e.check.as_ref().map(|r| &r.outcome) {
                let at = (*at).clamp(e.data_start, e.data_end);
                e.data_end = at;
                e.cut = true;
                cut_at = Some((at, e.display_name()));
                continue;
            }
        }
        found.extend(member_defects(e, data.len()));
    }
    if let Some((at, name)) = cut_at {
        layout.end = at;
        layout.truncated = true;
        layout.defects.retain(|d| {
            !matches!(
                d.kind,
                DefectKind::CentralDirectoryMissing | DefectKind::Truncated
            )
        });
        found.push(
            Defect::new(
                DefectKind::Truncated,
                at,
                "rest of member data, then a central directory",
                "bytes that do not decode",
            )
            .on(&name),
        );
    }
    for d in found {
        if d.kind == DefectKind::Truncated {
            layout.truncated = true;
        }
        if !layout.defects.contains(&d) {
            layout.defects.push(d);
        }
    }
}

/// The defects one decoded member shows.
fn member_defects(e: &Entry, source_len: u64) -> Vec<Defect> {
    let Some(r) = &e.check else { return Vec::new() };
    let name = e.display_name();
    let mut out = Vec::new();
    match &r.outcome {
        Outcome::Complete => {
            if r.crc32 != e.crc32 {
                out.push(
                    Defect::new(
                        DefectKind::CrcMismatch,
                        e.data_start,
                        format!("{:08x}", e.crc32),
                        format!("{:08x}", r.crc32),
                    )
                    .on(&name),
                );
            }
            if r.produced != e.uncompressed_size {
                out.push(
                    Defect::new(
                        DefectKind::SizeMismatch,
                        e.data_start,
                        format!("{} bytes", e.uncompressed_size),
                        format!("{} bytes", r.produced),
                    )
                    .on(&name),
                );
            }
        }
        Outcome::Corrupt { at, message } => {
            out.push(
                Defect::new(
                    DefectKind::DeflateError,
                    *at,
                    "valid deflate data",
                    message.clone(),
                )
                .on(&name),
            );
        }
        Outcome::ShortInput if e.cut || e.data_end >= source_len => {
            out.push(
                Defect::new(
                    DefectKind::Truncated,
                    source_len,
                    "rest of member data",
                    "end of source",
                )
                .on(&name),
            );
        }
        Outcome::ShortInput => {
            out.push(
                Defect::new(
                    DefectKind::DeflateError,
                    e.data_end,
                    format!("deflate stream ending within {} bytes", e.compressed_size),
                    "stream continues past the recorded size",
                )
                .on(&name),
            );
        }
        Outcome::LimitExceeded => {
            out.push(
                Defect::new(
                    DefectKind::LimitExceeded,
                    e.data_start,
                    "output within the decompression limits",
                    format!("more than {} bytes", r.produced),
                )
                .on(&name),
            );
        }
    }
    out
}

/// The word describing a member's check, for reports.
fn check_word(e: &Entry, defects: &[Defect]) -> String {
    if e.encrypted() {
        return "encrypted".into();
    }
    if e.method != 0 && e.method != 8 {
        return format!("unsupported method {}", e.method);
    }
    let name = e.display_name();
    let mine = defects.iter().find(|d| {
        d.member.as_deref() == Some(name.as_str())
            && d.offset >= e.data_start.saturating_sub(e.header_len)
    });
    match (&e.check, mine) {
        (_, Some(d)) => d.kind.as_str().into(),
        (None, None) => "unchecked".into(),
        (Some(_), None) => "ok".into(),
    }
}

/// Build the engine-facing candidate from a layout.
pub fn to_candidate(data: &dyn ByteView, layout: &Layout) -> Candidate {
    let status = if layout.truncated {
        Status::Truncated
    } else if layout.defects.is_empty() {
        Status::Intact
    } else {
        Status::Damaged
    };
    let len = data.len();
    let mut notes = layout.notes.clone();
    let mut members = Vec::with_capacity(layout.entries.len());
    let mut regions = Vec::new();
    let mut anchors: Vec<u64> = vec![layout.start];
    for e in &layout.entries {
        if e.encrypted() {
            notes.push(format!("member {:?} is encrypted", e.display_name()));
        } else if e.method != 0 && e.method != 8 {
            notes.push(format!(
                "member {:?}: unsupported method {}",
                e.display_name(),
                e.method
            ));
        }
        if let Some(r) = &e.check {
            if r.outcome == Outcome::Complete
                && e.method == 8
                && r.consumed < e.data_end - e.data_start
            {
                notes.push(format!(
                    "member {:?}: {} bytes follow the end of its deflate stream",
                    e.display_name(),
                    e.data_end - e.data_start - r.consumed
                ));
            }
        }
        anchors.extend(e.header_offset);
        // A cut member keeps its declared range in the layout; reports show what exists.
        let (data_start, data_end) = (e.data_start.min(len), e.data_end.min(len));
        // Only stored bytes can hold a nested object as it is; a signature inside compressed
        // bytes is chance, or a sign that the member's declared range is wrong.
        if e.method == 0 && !e.encrypted() {
            regions.push(Region {
                start: data_start,
                end: data_end,
                label: format!("member {:?} (stored)", e.display_name()),
            });
        }
        members.push(MemberInfo {
            name: e.display_name(),
            header_offset: e.header_offset,
            data_start,
            data_end,
            method: e.method,
            crc32: e.crc32,
            size: e.uncompressed_size,
            encrypted: e.encrypted(),
            check: check_word(e, &layout.defects),
        });
    }
    if let Some(end) = &layout.end_record {
        anchors.push(end.offset);
        if end.end > end.comment_start {
            regions.push(Region {
                start: end.comment_start,
                end: end.end,
                label: "archive comment".into(),
            });
        }
    }
    anchors.sort_unstable();
    anchors.dedup();
    Candidate {
        carver: "zip",
        kind: subtype(data, &layout.entries),
        start: layout.start,
        end: layout.end.max(layout.start).min(len.max(layout.start)),
        status,
        defects: layout.defects.clone(),
        notes,
        members,
        anchors,
        regions,
        runs: Vec::new(),
        state: None,
    }
}

/// The package type, from the members wherever they sit in the archive.
pub fn subtype(data: &dyn ByteView, entries: &[Entry]) -> &'static str {
    let has = |n: &str| entries.iter().any(|e| e.name == n.as_bytes());
    let has_prefix = |p: &str| entries.iter().any(|e| e.name.starts_with(p.as_bytes()));
    if has("[Content_Types].xml") {
        if has_prefix("word/") {
            return "docx";
        }
        if has_prefix("xl/") {
            return "xlsx";
        }
        if has_prefix("ppt/") {
            return "pptx";
        }
    }
    if let Some(m) = entries.iter().find(|e| e.name == b"mimetype") {
        let kind = match mimetype_of(data, m).as_deref() {
            Some("application/vnd.oasis.opendocument.text") => Some("odt"),
            Some("application/vnd.oasis.opendocument.spreadsheet") => Some("ods"),
            Some("application/vnd.oasis.opendocument.presentation") => Some("odp"),
            Some("application/vnd.oasis.opendocument.graphics") => Some("odg"),
            Some("application/epub+zip") => Some("epub"),
            _ => None,
        };
        if let Some(k) = kind {
            return k;
        }
    }
    if has("AndroidManifest.xml") && has("classes.dex") {
        return "apk";
    }
    if has("META-INF/MANIFEST.MF") {
        return "jar";
    }
    let veo = |e: &Entry| {
        let n = &e.name;
        n.windows(5)
            .position(|w| w.eq_ignore_ascii_case(b".veo/"))
            .is_some_and(|i| !n[..i].contains(&b'/'))
    };
    if !entries.is_empty() && entries.iter().all(veo) {
        return "veo.zip";
    }
    "zip"
}

/// Largest `mimetype` member read to classify a package.
const MIMETYPE_MAX: u64 = 256;

fn mimetype_of(data: &dyn ByteView, e: &Entry) -> Option<String> {
    if e.uncompressed_size > MIMETYPE_MAX || e.data_end - e.data_start > MIMETYPE_MAX * 2 {
        return None;
    }
    let bytes = match e.method {
        0 => data
            .bytes_at(e.data_start, (e.data_end - e.data_start) as usize)
            .into_owned(),
        8 => {
            let mut out = Vec::new();
            let limits = Limits {
                max_inflated: MIMETYPE_MAX,
                ..Limits::default()
            };
            let mut sink = |b: &[u8]| out.extend_from_slice(b);
            stream::inflate(data, e.data_start, e.data_end, &limits, Some(&mut sink));
            out
        }
        _ => return None,
    };
    Some(String::from_utf8_lossy(&bytes).trim().to_owned())
}

#[cfg(test)]
mod tests;
