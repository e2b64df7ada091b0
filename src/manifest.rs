//! Manifest-guided carving: find the files a manifest lists (by size and digest) anywhere in a
//! source, proving each place by its digest.
//!
//! Candidate starts are chosen cheaply and only then hashed: every hit of a file-format magic
//! (JPEG, OLE2, ZIP, PDF, PNG, GIF, RTF, XML, byte-order marks), sector starts for files whose
//! format has no magic, and every byte offset for small text files inside runs of text bytes.
//! Files of the same size and digest algorithm are hashed once per place. A budget bounds the
//! bytes hashed; what the budget cut off is reported, never silently dropped.

use aho_corasick::AhoCorasick;
use anyhow::Context;
use rayon::prelude::*;
use salvor_carvers::records::{DigestAlg, ManifestEntry};
use salvor_carvers::ByteView;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// Largest manifest file read (a manifest of a million files is well under this).
const MANIFEST_MAX: u64 = 256 << 20;

/// Candidate starts handed to one worker at a time.
const PIECE_STARTS: u64 = 1 << 14;

/// Where the entries of a manifest-guided search come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSource {
    /// A manifest file (see [`load_manifest`]).
    File(PathBuf),
    /// The manifests of records carved from the source itself (see [`RECORD_MANIFEST_READERS`]).
    Auto,
}

/// Reads the list of files a carved record carries: `Some` for a record kind it understands.
pub type RecordManifestReader =
    fn(kind: &str, bytes: &[u8]) -> Option<Result<Vec<ManifestEntry>, String>>;

/// Readers used by `--manifest auto`, tried in order on every carved record (nested ones too).
/// Record parsers (the SI, 電子封裝檔 and VEO verifiers) register here.
pub static RECORD_MANIFEST_READERS: &[RecordManifestReader] = &[tw_record_manifest];

/// The files an SI or an archival encapsulation lists with size and digest.
fn tw_record_manifest(kind: &str, bytes: &[u8]) -> Option<Result<Vec<ManifestEntry>, String>> {
    matches!(kind, "si" | "erencaps" | "media-encaps" | "transfer-encaps")
        .then(|| salvor_carvers::records::tw::manifest(bytes))
}

/// The entries listed by carved records, read with [`RECORD_MANIFEST_READERS`]; a record that
/// cannot be read is logged and skipped.
pub fn entries_from_records(
    view: &dyn ByteView,
    findings: &[crate::scan::Finding],
) -> Vec<ManifestEntry> {
    let mut out = Vec::new();
    if RECORD_MANIFEST_READERS.is_empty() {
        tracing::warn!(
            "--manifest auto: no record manifest reader is built in; nothing to search for"
        );
        return out;
    }
    for f in findings {
        let c = &f.candidate;
        if c.carver != "records" || !c.runs.is_empty() {
            continue;
        }
        let Ok(n) = usize::try_from(c.len()) else {
            continue;
        };
        let bytes = view.bytes_at(c.start, n);
        for read in RECORD_MANIFEST_READERS {
            match read(c.kind, &bytes) {
                Some(Ok(entries)) => {
                    tracing::info!(
                        offset = c.start,
                        kind = c.kind,
                        files = entries.len(),
                        "manifest read from a carved record"
                    );
                    out.extend(entries);
                    break;
                }
                Some(Err(e)) => {
                    tracing::warn!(
                        offset = c.start,
                        kind = c.kind,
                        "cannot read the record's manifest: {e}"
                    );
                    break;
                }
                None => {}
            }
        }
    }
    out
}

/// Bounds and geometry of the search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Sector size: files without a format magic are tried at every multiple of it.
    pub sector: u64,
    /// Files up to this size (without a format magic) are tried at every byte offset.
    pub small_max: u64,
    /// Most bytes hashed in the whole search.
    pub budget: u64,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            sector: 512,
            small_max: 64 << 10,
            // Some seconds to a few minutes of hashing, depending on the machine.
            budget: 16 << 30,
        }
    }
}

/// What became of one manifest entry.
#[derive(Debug, Clone, Serialize)]
pub struct EntryResult {
    /// The name as the manifest writes it.
    pub name: String,
    pub size: Option<u64>,
    pub alg: DigestAlg,
    /// Recorded digest, lowercase hexadecimal.
    pub digest: String,
    /// `found` or `not-found`.
    pub status: &'static str,
    /// Every offset where bytes with this digest start.
    pub offsets: Vec<u64>,
    /// The recovered copy, relative to the output folder, when one was written.
    pub file: Option<String>,
    /// Which kinds of places were tried.
    pub searched: Vec<String>,
    /// Work the budget or the missing size ruled out, in words.
    pub skipped: Vec<String>,
}

/// The whole manifest search.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestReport {
    /// The manifest file, or `auto`.
    pub source: String,
    pub entries: Vec<EntryResult>,
    pub found: usize,
    pub not_found: usize,
    /// Bytes hashed while searching.
    pub bytes_hashed: u64,
    /// Format-magic hits in the source.
    pub magic_hits: u64,
}

/// A file-format magic; `strong` ones are tried for every file whatever its name says.
struct Magic {
    bytes: &'static [u8],
    exts: &'static [&'static str],
    strong: bool,
}

const MAGICS: &[Magic] = &[
    Magic {
        bytes: b"\xFF\xD8\xFF",
        exts: &["jpg", "jpeg", "jfif"],
        strong: true,
    },
    Magic {
        bytes: b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        exts: &["doc", "xls", "ppt", "msg", "vsd", "dot"],
        strong: true,
    },
    Magic {
        bytes: b"PK\x03\x04",
        exts: &[
            "zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk",
        ],
        strong: true,
    },
    Magic {
        bytes: b"%PDF",
        exts: &["pdf"],
        strong: true,
    },
    Magic {
        bytes: b"\x89PNG",
        exts: &["png"],
        strong: true,
    },
    Magic {
        bytes: b"GIF8",
        exts: &["gif"],
        strong: true,
    },
    Magic {
        bytes: b"{\\rtf",
        exts: &["rtf"],
        strong: true,
    },
    Magic {
        bytes: b"<?xml",
        exts: &[],
        strong: true,
    },
    Magic {
        bytes: b"\xEF\xBB\xBF",
        exts: &[],
        strong: true,
    },
    Magic {
        bytes: b"\xFF\xFE",
        exts: &[],
        strong: false,
    },
    Magic {
        bytes: b"\xFE\xFF",
        exts: &[],
        strong: false,
    },
];

/// Extensions of formats that are text and have no magic of their own.
const TEXT_EXTS: &[&str] = &[
    "txt", "htm", "html", "xml", "si", "di", "sw", "csv", "json", "veo", "md", "css", "js",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    /// The extension names a format with this magic index.
    Magic(usize),
    /// A text format without a magic.
    Text,
    /// Nothing known.
    Unknown,
}

fn class_of(name: &str) -> Class {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(i) = MAGICS.iter().position(|m| m.exts.contains(&ext.as_str())) {
        Class::Magic(i)
    } else if TEXT_EXTS.contains(&ext.as_str()) {
        Class::Text
    } else {
        Class::Unknown
    }
}

fn is_text_byte(b: u8) -> bool {
    b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Load a manifest file.
///
/// Accepted, one entry per line (blank lines and lines starting with `#` are skipped):
/// - `sha1sum` / `sha256sum` / `sha512sum` / `md5sum` output (`DIGEST  NAME` or
///   `DIGEST *NAME`, with their `\` escapes), which is also the form of BagIt
///   `manifest-<alg>.txt` files (`DIGEST NAME`);
/// - BSD tagged lines: `SHA256 (NAME) = DIGEST`;
/// - Salvor's sized form, tab-separated: `DIGEST<TAB>SIZE<TAB>NAME`.
///
/// The algorithm follows from the digest length (32 MD5, 40 SHA-1, 64 SHA-256, 128 SHA-512) or
/// from the BSD tag. Only the sized form gives sizes; files without a size can only be matched
/// against carved findings.
pub fn load_manifest(path: &Path) -> anyhow::Result<Vec<ManifestEntry>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MANIFEST_MAX {
        anyhow::bail!(
            "{}: {} bytes is larger than any manifest ({} bytes at most)",
            path.display(),
            meta.len(),
            MANIFEST_MAX
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A record that lists its files (an SI, a 電子封裝檔, a VEO v3 VEOContent.xml) is a
    // manifest too.
    if salvor_carvers::records::root_name(&bytes).as_deref() == Some("vers:VEOContentFile") {
        return salvor_carvers::records::veo::content_manifest(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    if let Some(kind) = salvor_carvers::records::root_kind(&bytes) {
        if let Some(entries) = tw_record_manifest(kind, &bytes) {
            return entries.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
    }
    parse_manifest(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parse the text of a manifest (see [`load_manifest`]).
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let entry = parse_line(line).ok_or_else(|| {
            format!(
                "line {}: {:?} is not `DIGEST  NAME`, `ALG (NAME) = DIGEST` or `DIGEST<TAB>SIZE<TAB>NAME`",
                i + 1,
                line.chars().take(120).collect::<String>()
            )
        })?;
        out.push(entry);
    }
    Ok(out)
}

fn alg_for_len(hex_len: usize) -> Option<DigestAlg> {
    match hex_len {
        32 => Some(DigestAlg::Md5Unsupported),
        40 => Some(DigestAlg::Sha1),
        64 => Some(DigestAlg::Sha256),
        128 => Some(DigestAlg::Sha512),
        _ => None,
    }
}

fn parse_line(line: &str) -> Option<ManifestEntry> {
    // Sized form.
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() >= 3 && fields[1].bytes().all(|b| b.is_ascii_digit()) && !fields[1].is_empty() {
        let digest = hex::decode(fields[0].trim()).ok()?;
        let alg = alg_for_len(fields[0].trim().len())?;
        return Some(ManifestEntry {
            name: fields[2..].join("\t"),
            size: Some(fields[1].parse().ok()?),
            alg,
            digest,
        });
    }
    // BSD tagged form.
    if let Some((head, digest_hex)) = line.rsplit_once(") = ") {
        if let Some((alg, name)) = head.split_once(" (") {
            let alg = DigestAlg::from_name(alg)?;
            let digest = hex::decode(digest_hex.trim()).ok()?;
            if digest.len() != alg.output_len() {
                return None;
            }
            return Some(ManifestEntry {
                name: name.to_owned(),
                size: None,
                alg,
                digest,
            });
        }
    }
    // GNU coreutils / BagIt form.
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hex_part, rest) = line.split_once([' ', '\t'])?;
    let alg = alg_for_len(hex_part.len())?;
    let digest = hex::decode(hex_part).ok()?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let name = rest.strip_prefix('*').unwrap_or(rest);
    if name.is_empty() {
        return None;
    }
    let name = if escaped {
        unescape(name)
    } else {
        name.to_owned()
    };
    Some(ManifestEntry {
        name,
        size: None,
        alg,
        digest,
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A relative path under the output folder for a manifest name: `..`, `.`, roots, empty parts
/// and control characters are dropped, so the result never leaves the folder.
pub fn sanitize_name(name: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in name.split(['/', '\\']) {
        let clean: String = part.chars().filter(|c| !c.is_control()).collect();
        let clean = clean.trim();
        if clean.is_empty() || clean == "." || clean == ".." {
            continue;
        }
        let p = Path::new(clean);
        if p.components().all(|c| matches!(c, Component::Normal(_))) {
            out.push(clean);
        }
    }
    if out.as_os_str().is_empty() {
        out.push("unnamed");
    }
    out
}

/// Bytes hashed per read: large files are hashed piece by piece, never held whole.
const HASH_PIECE: usize = 1 << 20;

/// The digest of `[start, start + len)` of the source, or `None` when fewer bytes can be read.
pub fn digest_range(view: &dyn ByteView, alg: DigestAlg, start: u64, len: u64) -> Option<Vec<u8>> {
    use sha2::Digest as _;
    enum H {
        Md5(md5::Md5),
        Sha1(sha1::Sha1),
        Sha256(sha2::Sha256),
        Sha512(sha2::Sha512),
    }
    let mut h = match alg {
        DigestAlg::Md5Unsupported => H::Md5(md5::Md5::new()),
        DigestAlg::Sha1 => H::Sha1(sha1::Sha1::new()),
        DigestAlg::Sha256 => H::Sha256(sha2::Sha256::new()),
        DigestAlg::Sha512 => H::Sha512(sha2::Sha512::new()),
    };
    let mut pos = 0u64;
    while pos < len {
        let want = (len - pos).min(HASH_PIECE as u64) as usize;
        let piece = view.bytes_at(start + pos, want);
        if piece.len() != want {
            return None;
        }
        match &mut h {
            H::Md5(x) => x.update(&piece),
            H::Sha1(x) => x.update(&piece),
            H::Sha256(x) => x.update(&piece),
            H::Sha512(x) => x.update(&piece),
        }
        pos += want as u64;
    }
    Some(match h {
        H::Md5(x) => x.finalize().to_vec(),
        H::Sha1(x) => x.finalize().to_vec(),
        H::Sha256(x) => x.finalize().to_vec(),
        H::Sha512(x) => x.finalize().to_vec(),
    })
}

/// Every magic hit in the source, sorted, with its magic index.
fn magic_hits(view: &dyn ByteView) -> anyhow::Result<Vec<(u64, usize)>> {
    let ac = AhoCorasick::new(MAGICS.iter().map(|m| m.bytes))?;
    let longest = MAGICS.iter().map(|m| m.bytes.len()).max().unwrap_or(1);
    let chunk: u64 = 16 << 20;
    let len = view.len();
    let mut hits: Vec<(u64, usize)> = (0..len.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|i| {
            let start = i * chunk;
            let own = chunk.min(len - start);
            let window = view.bytes_at(start, own as usize + longest - 1);
            ac.find_overlapping_iter(window.as_ref())
                .filter(|m| (m.start() as u64) < own)
                .map(|m| (start + m.start() as u64, m.pattern().as_usize()))
                .collect::<Vec<_>>()
        })
        .collect();
    hits.sort_unstable();
    Ok(hits)
}

/// Maximal runs `[a, b)` of text bytes at least `min` long.
fn text_runs(view: &dyn ByteView, min: u64) -> Vec<(u64, u64)> {
    let chunk: u64 = 16 << 20;
    let len = view.len();
    let pieces: Vec<Vec<(u64, u64)>> = (0..len.div_ceil(chunk))
        .into_par_iter()
        .map(|i| {
            let start = i * chunk;
            let bytes = view.bytes_at(start, chunk.min(len - start) as usize);
            let mut runs = Vec::new();
            let mut run_start: Option<u64> = None;
            for (j, &b) in bytes.iter().enumerate() {
                let at = start + j as u64;
                match (is_text_byte(b), run_start) {
                    (true, None) => run_start = Some(at),
                    (false, Some(a)) => {
                        runs.push((a, at));
                        run_start = None;
                    }
                    _ => {}
                }
            }
            if let Some(a) = run_start {
                runs.push((a, start + bytes.len() as u64));
            }
            runs
        })
        .collect();
    // Join runs that touch across chunk boundaries, then keep the long ones.
    let mut joined: Vec<(u64, u64)> = Vec::new();
    for (a, b) in pieces.into_iter().flatten() {
        match joined.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => joined.push((a, b)),
        }
    }
    joined.retain(|&(a, b)| b - a >= min);
    joined
}

/// A group of entries hashed together: same size, same algorithm.
struct Group {
    size: u64,
    alg: DigestAlg,
    /// Entry indexes by digest.
    wanted: HashMap<Vec<u8>, Vec<usize>>,
}

/// Search a source for every entry; `carved` are the extents `(start, len)` of what the carve
/// found, tried for entries whose size is not known.
pub fn search(
    view: &dyn ByteView,
    entries: &[ManifestEntry],
    carved: &[(u64, u64)],
    opts: &SearchOptions,
    source_name: &str,
) -> anyhow::Result<ManifestReport> {
    let len = view.len();
    let hits = magic_hits(view)?;
    let mut results: Vec<EntryResult> = entries
        .iter()
        .map(|e| EntryResult {
            name: e.name.clone(),
            size: e.size,
            alg: e.alg,
            digest: crate::util::hex(&e.digest),
            status: "not-found",
            offsets: Vec::new(),
            file: None,
            searched: Vec::new(),
            skipped: Vec::new(),
        })
        .collect();
    let mut hashed = 0u64;

    // Entries with a size: grouped by (size, algorithm).
    let mut groups: BTreeMap<(u64, u8), Group> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(size) = e.size.filter(|&s| s > 0 && s <= len) else {
            continue;
        };
        let g = groups.entry((size, e.alg as u8)).or_insert_with(|| Group {
            size,
            alg: e.alg,
            wanted: HashMap::new(),
        });
        g.wanted.entry(e.digest.clone()).or_default().push(i);
    }
    let min_text = groups.keys().map(|k| k.0).min().unwrap_or(u64::MAX);
    let runs = if groups.is_empty() {
        Vec::new()
    } else {
        text_runs(view, min_text)
    };

    for g in groups.values() {
        let members: Vec<usize> = g.wanted.values().flatten().copied().collect();
        let classes: HashSet<Class> = members
            .iter()
            .map(|&i| class_of(&entries[i].name))
            .collect();
        let last = len - g.size;
        // Candidate starts as spans `(first, last, step)`, never materialized one by one.
        let mut spans: Vec<(u64, u64, u64)> = Vec::new();
        let mut how: Vec<String> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();
        // Magic hits: the strong ones for everyone, a weak one only when no magic is expected.
        let no_magic = classes.iter().any(|c| !matches!(c, Class::Magic(_)));
        let mut hit_starts: Vec<u64> = hits
            .iter()
            .filter(|&&(o, m)| o <= last && (MAGICS[m].strong || no_magic))
            .map(|&(o, _)| o)
            .collect();
        hit_starts.dedup();
        spans.extend(hit_starts.iter().map(|&o| (o, o, 1)));
        how.push("format magic hits".into());
        let every = g.size <= opts.small_max;
        let step = if every { 1 } else { opts.sector };
        if classes.contains(&Class::Text) {
            // Text files: offsets inside text runs long enough to hold them.
            for &(a, b) in &runs {
                if b - a < g.size {
                    continue;
                }
                let first = a.div_ceil(step) * step;
                let hi = b - g.size;
                if first <= hi {
                    spans.push((first, hi, step));
                }
            }
            how.push(if every {
                "every offset in text runs".into()
            } else {
                "sector starts in text runs".into()
            });
        }
        if classes.contains(&Class::Unknown) {
            spans.push((0, last, step));
            how.push(if every {
                "every offset".into()
            } else {
                "every sector start".into()
            });
        }
        let count = |s: &(u64, u64, u64)| (s.1 - s.0) / s.2 + 1;
        let total: u64 = spans.iter().map(count).sum();
        let room = (opts.budget.saturating_sub(hashed) / g.size).min(total);
        if room < total {
            skipped.push(format!(
                "{} of {total} candidate starts not tried: the hashing budget of {} bytes is spent",
                total - room,
                opts.budget
            ));
            let mut left = room;
            spans.retain_mut(|s| {
                let n = count(s);
                if left == 0 {
                    return false;
                }
                if n > left {
                    s.1 = s.0 + (left - 1) * s.2;
                    left = 0;
                } else {
                    left -= n;
                }
                true
            });
        }
        hashed += room * g.size;
        // Long spans are cut so that every worker gets a share.
        let pieces: Vec<(u64, u64, u64)> = spans
            .iter()
            .flat_map(|&(a, b, st)| {
                let per = PIECE_STARTS * st;
                (0..=(b - a) / per).map(move |k| (a + k * per, (a + k * per + per - st).min(b), st))
            })
            .collect();
        let found: Vec<(u64, Vec<u8>)> = pieces
            .par_iter()
            .flat_map_iter(|&(a, b, st)| (a..=b).step_by(st as usize))
            .filter_map(|o| {
                let d = digest_range(view, g.alg, o, g.size)?;
                g.wanted.contains_key(&d).then_some((o, d))
            })
            .collect();
        for (o, d) in found {
            for &i in g.wanted.get(&d).into_iter().flatten() {
                results[i].offsets.push(o);
            }
        }
        for &i in &members {
            results[i].searched = how.clone();
            results[i].skipped.extend(skipped.iter().cloned());
        }
    }

    // Entries without a size: only whole carved findings can be tried.
    for (i, e) in entries.iter().enumerate() {
        if e.size.is_some() {
            if e.size == Some(0) || e.size.is_some_and(|s| s > len) {
                results[i]
                    .skipped
                    .push("recorded size is zero or larger than the source".into());
            }
            continue;
        }
        results[i].searched.push("carved findings".into());
        results[i]
            .skipped
            .push("no size recorded: only carved findings were compared".into());
        for &(start, n) in carved {
            hashed += n;
            if digest_range(view, e.alg, start, n).as_deref() == Some(e.digest.as_slice()) {
                results[i].offsets.push(start);
            }
        }
    }
    let mut found = 0;
    for r in &mut results {
        r.offsets.sort_unstable();
        r.offsets.dedup();
        if !r.offsets.is_empty() {
            r.status = "found";
            found += 1;
        }
    }
    tracing::info!(
        found,
        entries = results.len(),
        hashed,
        "manifest search done"
    );
    Ok(ManifestReport {
        source: source_name.to_owned(),
        not_found: results.len() - found,
        found,
        entries: results,
        bytes_hashed: hashed,
        magic_hits: hits.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_forms() {
        let text = "# comment\n\
            da39a3ee5e6b4b0d3255bfef95601890afd80709  empty.txt\n\
            da39a3ee5e6b4b0d3255bfef95601890afd80709 *bin name.doc\n\
            \\da39a3ee5e6b4b0d3255bfef95601890afd80709  a\\nb\n\
            SHA256 (x y.jpg) = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            da39a3ee5e6b4b0d3255bfef95601890afd80709\t26\tdata/來文附件1.txt\n";
        let m = parse_manifest(text.as_bytes()).unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].name, "empty.txt");
        assert_eq!(m[1].name, "bin name.doc");
        assert_eq!(m[2].name, "a\nb");
        assert_eq!(
            (m[3].name.as_str(), m[3].alg),
            ("x y.jpg", DigestAlg::Sha256)
        );
        assert_eq!(m[4].size, Some(26));
        assert_eq!(m[4].name, "data/來文附件1.txt");
        assert!(parse_manifest(b"nonsense line\n")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn names_stay_inside() {
        assert_eq!(
            sanitize_name("../../etc/passwd"),
            PathBuf::from("etc/passwd")
        );
        assert_eq!(sanitize_name("/abs/./x\u{0}y"), PathBuf::from("abs/xy"));
        assert_eq!(sanitize_name(".."), PathBuf::from("unnamed"));
        assert_eq!(sanitize_name("C:\\a\\b.txt"), PathBuf::from("C:/a/b.txt"));
    }

    #[test]
    fn finds_planted_bytes() {
        let mut data = vec![0u8; 10_000];
        let text = b"hello, manifest world\n";
        data[1234..1234 + text.len()].copy_from_slice(text);
        let jpg = b"\xFF\xD8\xFF\xE0 not really a jpeg";
        data[5001..5001 + jpg.len()].copy_from_slice(jpg);
        let e = |name: &str, b: &[u8]| ManifestEntry {
            name: name.into(),
            size: Some(b.len() as u64),
            alg: DigestAlg::Sha1,
            digest: DigestAlg::Sha1.digest(b).unwrap(),
        };
        let entries = vec![
            e("a.txt", text),
            e("b.jpg", jpg),
            e("c.txt", b"absent text"),
        ];
        let view: &[u8] = &data;
        let r = search(&view, &entries, &[], &SearchOptions::default(), "m").unwrap();
        assert_eq!(r.entries[0].offsets, vec![1234]);
        assert_eq!(r.entries[1].offsets, vec![5001]);
        assert_eq!(r.entries[2].status, "not-found");
        assert_eq!((r.found, r.not_found), (2, 1));
    }
}
