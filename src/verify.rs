//! The verify job: find every record in a package (a record file, a folder, a ZIP, a `.dsicdp`),
//! verify each against the files it lists, and account for it in one report.
//!
//! The format knowledge is in `salvor_carvers::records`; this module supplies the files (through
//! [`ComponentSource`] over a folder, a ZIP or a `.dsicdp`), decides what each file is by its
//! content, and writes restored copies of components that a benign transform proved.

use anyhow::Context;
use salvor_carvers::records::{self, ComponentSource, RecordReport, Verdict};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest single file read while verifying (a component or a record).
pub const MAX_FILE: u64 = 4 << 30;
/// Most bytes of a ZIP's members held in memory at once while verifying it.
pub const MAX_ZIP_MEMORY: u64 = 1 << 30;
/// Most files looked at when walking a folder.
pub const MAX_FOLDER_FILES: usize = 100_000;

/// What `verify_path` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Write the restored bytes of every `equivalent` component here (created; must be empty).
    pub restore_dir: Option<PathBuf>,
}

/// One record found in the package and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedRecord {
    /// Where the record was found, relative to the package (`.` for the package itself).
    pub path: String,
    /// The verification report.
    #[serde(flatten)]
    pub report: RecordReport,
}

/// A restored component written out.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The record that listed it.
    pub record: String,
    /// The component's name.
    pub component: String,
    /// The transform that proved it.
    pub transform: String,
    /// Where the restored bytes were written (a name that is not UTF-8 is shown lossily).
    #[serde(serialize_with = "lossy_path")]
    pub written: PathBuf,
    /// SHA-256 of the restored bytes.
    pub sha256: String,
}

/// Everything one verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Tool name and version.
    pub tool: &'static str,
    /// The path given (a name that is not UTF-8 is shown lossily).
    #[serde(serialize_with = "lossy_path")]
    pub input: PathBuf,
    /// What the input is: `record`, `folder`, `zip`, `veo-v3`, `dsicdp`.
    pub package: String,
    /// When verification started and ended (RFC 3339).
    pub started: String,
    pub finished: String,
    /// The worst verdict over every record.
    pub verdict: Verdict,
    /// Every record found, in path order.
    pub records: Vec<VerifiedRecord>,
    /// Files that were looked at and are not records, or could not be read.
    pub skipped: Vec<String>,
    /// Restored components written with `--restore`.
    pub restored: Vec<Restored>,
    /// Standing remarks.
    pub notes: Vec<String>,
}

impl VerifyReport {
    /// Count records, signatures, references and components with verdict `v`, at every depth.
    pub fn count(&self, v: Verdict) -> usize {
        fn walk(r: &RecordReport, v: Verdict) -> usize {
            usize::from(r.verdict == v)
                + r.signatures.iter().filter(|s| s.verdict == v).count()
                + r.references.iter().filter(|s| s.verdict == v).count()
                + r.components.iter().filter(|s| s.verdict == v).count()
                + r.children.iter().map(|c| walk(c, v)).sum::<usize>()
        }
        self.records.iter().map(|r| walk(&r.report, v)).sum()
    }
}

/// Serialize a path as text, replacing bytes that are not UTF-8 (serde refuses such paths, and
/// the report must still be written).
fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Files of a folder, addressed by the relative paths a record writes.
pub struct FolderSource {
    root: PathBuf,
}

impl FolderSource {
    /// Files under `root`.
    pub fn new(root: &Path) -> Self {
        FolderSource {
            root: root.to_path_buf(),
        }
    }
}

/// Turn a URI as a record writes it into a safe relative path: `\` as `/`, a leading `/` or
/// `./` dropped, percent-escapes kept as written; `None` for anything that climbs out (`..`).
pub fn relative_path(uri: &str) -> Option<PathBuf> {
    let uri = uri.trim().replace('\\', "/");
    let uri = uri.strip_prefix("file:").unwrap_or(&uri);
    let mut out = PathBuf::new();
    for c in Path::new(uri.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_FILE {
        return Err(format!(
            "{}: {len} bytes is more than the {MAX_FILE}-byte limit for one file",
            path.display()
        ));
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(MAX_FILE)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(buf)
}

impl ComponentSource for FolderSource {
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        let Some(rel) = relative_path(uri) else {
            return Err(format!("{uri:?} points outside the package; not followed"));
        };
        // A symbolic link on the way (a folder inside the package linking elsewhere) would lead
        // out of the package: refuse it, like `..`.
        let mut on_the_way = self.root.clone();
        let parts: Vec<_> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            on_the_way.push(part);
            match fs::symlink_metadata(&on_the_way) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(format!(
                        "{uri:?} passes through the symbolic link {}; not followed",
                        on_the_way.display()
                    ))
                }
                Ok(_) => {}
                Err(_) => return Ok(None),
            }
        }
        let path = self.root.join(rel);
        match fs::symlink_metadata(&path) {
            Err(_) => Ok(None),
            Ok(m) if m.is_file() => read_bounded(&path).map(|b| Some(Cow::Owned(b))),
            Ok(m) if m.file_type().is_symlink() => Err(format!(
                "{} is a symbolic link; not followed",
                path.display()
            )),
            Ok(_) => Err(format!("{} is not a regular file", path.display())),
        }
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }
}

/// The members of a ZIP (read whole into memory, each at most [`MAX_FILE`]), under an optional
/// folder prefix inside the archive.
pub struct ZipSource {
    name: String,
    members: BTreeMap<String, Vec<u8>>,
    prefix: String,
}

impl ZipSource {
    /// Read every file member of a ZIP already in memory (`path` names it in messages).
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<Self> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).with_context(|| {
            format!(
                "{} is not a readable ZIP (its central directory does not parse); \
                 `salvor repair` rebuilds damaged ZIPs",
                path.display()
            )
        })?;
        let mut members = BTreeMap::new();
        let mut total = 0u64;
        for i in 0..zip.len() {
            let mut m = zip
                .by_index(i)
                .with_context(|| format!("{}: member #{i} unreadable", path.display()))?;
            if m.is_dir() {
                continue;
            }
            let name = m
                .name()
                .with_context(|| format!("{}: member #{i} has an unreadable name", path.display()))?
                .into_owned();
            let room = MAX_ZIP_MEMORY.saturating_sub(total);
            if m.size() > room {
                anyhow::bail!(
                    "{}: member {name:?} declares {} bytes; with the members before it that is \
                     more than the {MAX_ZIP_MEMORY}-byte limit for verifying a ZIP in memory",
                    path.display(),
                    m.size()
                );
            }
            let mut buf = Vec::with_capacity(m.size() as usize);
            (&mut m)
                .take(room.saturating_add(1))
                .read_to_end(&mut buf)
                .with_context(|| format!("{}: member {name:?} does not decode", path.display()))?;
            if buf.len() as u64 > room {
                anyhow::bail!(
                    "{}: member {name:?} inflates past the {MAX_ZIP_MEMORY}-byte limit for \
                     verifying a ZIP in memory",
                    path.display()
                );
            }
            total += buf.len() as u64;
            members.insert(name, buf);
        }
        Ok(ZipSource {
            name: path.display().to_string(),
            members,
            prefix: String::new(),
        })
    }

    /// The member names, in archive order of their names.
    pub fn names(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    /// The same members seen from folder `prefix` (ending in `/`, or empty for the root).
    pub fn scoped(&self, prefix: &str) -> ZipView<'_> {
        ZipView {
            zip: self,
            prefix: prefix.to_owned(),
        }
    }
}

impl ComponentSource for ZipSource {
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        member(self, &self.prefix, uri)
    }
    fn describe(&self) -> String {
        format!("zip {}", self.name)
    }
}

/// A [`ZipSource`] seen from one of its folders.
pub struct ZipView<'a> {
    zip: &'a ZipSource,
    prefix: String,
}

fn member<'a>(
    zip: &'a ZipSource,
    prefix: &str,
    uri: &str,
) -> Result<Option<Cow<'a, [u8]>>, String> {
    let Some(rel) = relative_path(uri) else {
        return Err(format!("{uri:?} points outside the package; not followed"));
    };
    let key = format!("{prefix}{}", rel.to_string_lossy());
    Ok(zip.members.get(&key).map(|b| Cow::Borrowed(b.as_slice())))
}

impl ComponentSource for ZipView<'_> {
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        member(self.zip, &self.prefix, uri)
    }
    fn describe(&self) -> String {
        format!("zip {} folder {:?}", self.zip.name, self.prefix)
    }
}

/// What a file is, judged by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// An XML record of a kind the verifiers know.
    Record,
    /// A VEO v2.
    VeoV2,
    /// A ZIP.
    Zip,
    /// A gzip stream (a `.dsicdp`).
    Gzip,
    /// Something else.
    Other,
}

/// Decide what `bytes` are from their first bytes and the root element's name.
pub fn sniff(bytes: &[u8]) -> Sniff {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Sniff::Zip;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Sniff::Gzip;
    }
    match records::root_kind(bytes) {
        Some("veo-v2") => Sniff::VeoV2,
        Some(_) => Sniff::Record,
        None => Sniff::Other,
    }
}

/// Verify one record's bytes with `src` supplying the files it lists.
pub fn verify_bytes(bytes: &[u8], src: &dyn ComponentSource) -> Option<RecordReport> {
    match sniff(bytes) {
        Sniff::Record => Some(records::tw::verify(bytes, src)),
        Sniff::VeoV2 => Some(records::veo::verify_v2(bytes)),
        Sniff::Gzip => Some(records::dsicdp::verify_with(
            bytes,
            Some(records::tw::verify),
        )),
        _ => None,
    }
}

/// Verify everything at `path`: a record file, a folder of them, a ZIP or a `.dsicdp`.
pub fn verify_path(path: &Path, opts: &VerifyOptions) -> anyhow::Result<VerifyReport> {
    verify_path_with(path, opts, &crate::job::Progress::default())
}

/// [`verify_path`] reporting files done out of files found in `progress` (bytes for a single
/// file), and stopping between files when `progress` is cancelled (the report says so).
pub fn verify_path_with(
    path: &Path,
    opts: &VerifyOptions,
    progress: &crate::job::Progress,
) -> anyhow::Result<VerifyReport> {
    use std::sync::atomic::Ordering;
    let mut cancelled = false;
    let started = crate::util::now_rfc3339();
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut records_found = Vec::new();
    let mut skipped = Vec::new();
    let package;
    if meta.is_dir() {
        package = "folder".to_owned();
        let mut files = Vec::new();
        walk(path, path, &mut files, &mut skipped)?;
        progress.total.store(files.len() as u64, Ordering::Relaxed);
        for rel in files {
            if progress.cancelled() {
                cancelled = true;
                break;
            }
            progress.advance(1);
            let full = path.join(&rel);
            let bytes = match read_bounded(&full) {
                Ok(b) => b,
                Err(e) => {
                    skipped.push(e);
                    continue;
                }
            };
            let dir = full.parent().unwrap_or(path);
            let shown = rel.to_string_lossy().into_owned();
            match sniff(&bytes) {
                Sniff::Zip => match verify_zip(&full, &bytes) {
                    Ok(inner) if inner.is_empty() => {
                        skipped.push(format!("{shown}: a ZIP holding no record"))
                    }
                    Ok(mut inner) => {
                        for r in &mut inner {
                            r.path = format!("{shown}!{}", r.path);
                        }
                        records_found.extend(inner);
                    }
                    Err(e) => skipped.push(format!("{shown}: {e:#}")),
                },
                _ => match verify_bytes(&bytes, &FolderSource::new(dir)) {
                    Some(report) => records_found.push(VerifiedRecord {
                        path: shown,
                        report,
                    }),
                    None => skipped.push(format!("{shown}: not a record")),
                },
            }
        }
    } else {
        progress.total.store(meta.len(), Ordering::Relaxed);
        let bytes = read_bounded(path).map_err(anyhow::Error::msg)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match sniff(&bytes) {
            Sniff::Zip => {
                records_found = verify_zip(path, &bytes)?;
                package = if records_found.iter().any(|r| r.report.kind == "veo-v3") {
                    "veo-v3".to_owned()
                } else {
                    "zip".to_owned()
                };
            }
            Sniff::Gzip => {
                package = "dsicdp".to_owned();
                records_found.push(VerifiedRecord {
                    path: file_label(path),
                    report: records::dsicdp::verify_with(&bytes, Some(records::tw::verify)),
                });
            }
            Sniff::Record | Sniff::VeoV2 => {
                package = "record".to_owned();
                let report = verify_bytes(&bytes, &FolderSource::new(dir))
                    .context("record vanished between two reads")?;
                records_found.push(VerifiedRecord { path: file_label(path), report });
            }
            Sniff::Other => anyhow::bail!(
                "{}: not a record package (no record root element, ZIP or gzip signature at offset 0)",
                path.display()
            ),
        }
    }
    for r in &mut records_found {
        r.report.settle();
    }
    progress
        .found
        .store(records_found.len() as u64, Ordering::Relaxed);
    if !meta.is_dir() {
        progress.done.store(meta.len(), Ordering::Relaxed);
    }
    let restored = match &opts.restore_dir {
        Some(dir) => write_restored(dir, &records_found)?,
        None => Vec::new(),
    };
    let verdict = Verdict::worst(records_found.iter().map(|r| r.report.verdict));
    let verdict = if records_found.is_empty() {
        Verdict::Broken
    } else {
        verdict
    };
    let mut notes = vec![
        "certificates are checked offline: validity dates only, no revocation (CRL/OCSP) check"
            .to_owned(),
    ];
    if records_found.is_empty() {
        notes.push("no record was found".to_owned());
    }
    if cancelled {
        notes.push("cancelled: the files after the last one listed were not verified".to_owned());
    }
    Ok(VerifyReport {
        tool: crate::TOOL,
        input: path.to_path_buf(),
        package,
        started,
        finished: crate::util::now_rfc3339(),
        verdict,
        records: records_found,
        skipped,
        restored,
        notes,
    })
}

/// The name a single input file is shown under.
fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut Vec<PathBuf>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(root, &p, out, skipped)?;
        } else if t.is_file() {
            if out.len() >= MAX_FOLDER_FILES {
                skipped.push(format!(
                    "more than {MAX_FOLDER_FILES} files: the rest not looked at"
                ));
                return Ok(());
            }
            out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
        }
    }
    Ok(())
}

/// The records inside a ZIP: a VEO v3 (members under `NAME.veo/`), or record files among the
/// members, each verified with the members of its own folder.
fn verify_zip(path: &Path, bytes: &[u8]) -> anyhow::Result<Vec<VerifiedRecord>> {
    let zip = ZipSource::from_bytes(path, bytes)?;
    let names = zip.names();
    let mut out = Vec::new();
    let mut veo_dirs: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let (dir, file) = n.rsplit_once('/')?;
            (dir.ends_with(".veo") && file == "VEOContent.xml").then(|| format!("{dir}/"))
        })
        .collect();
    veo_dirs.dedup();
    for dir in &veo_dirs {
        let members: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix(dir.as_str()).map(str::to_owned))
            .collect();
        out.push(VerifiedRecord {
            path: dir.trim_end_matches('/').to_owned(),
            report: records::veo::verify_v3(&zip.scoped(dir), &members),
        });
    }
    for name in &names {
        if veo_dirs.iter().any(|d| name.starts_with(d.as_str())) {
            continue;
        }
        let Some(bytes) = zip.members.get(name) else {
            continue;
        };
        let prefix = name
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        if let Some(report) = verify_bytes(bytes, &zip.scoped(&prefix)) {
            out.push(VerifiedRecord {
                path: name.clone(),
                report,
            });
        }
    }
    Ok(out)
}

fn write_restored(dir: &Path, found: &[VerifiedRecord]) -> anyhow::Result<Vec<Restored>> {
    use sha2::Digest as _;
    if dir.exists() && fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty; restored files go into a new or empty folder",
            dir.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = Vec::new();
    fn each<'a>(
        r: &'a RecordReport,
        path: &str,
        acc: &mut Vec<(String, &'a records::ComponentReport)>,
    ) {
        for c in &r.components {
            if c.restored.is_some() {
                acc.push((path.to_owned(), c));
            }
        }
        for ch in &r.children {
            each(ch, path, acc);
        }
    }
    let mut todo = Vec::new();
    for r in found {
        each(&r.report, &r.path, &mut todo);
    }
    for (record, c) in todo {
        let (Some(bytes), Some(transform)) = (&c.restored, &c.transform) else {
            continue;
        };
        let Some(rel) = relative_path(&c.name) else {
            tracing::warn!(
                "component {:?} of {record} has an unsafe name; not written",
                c.name
            );
            continue;
        };
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        if target.exists() {
            // The same file listed again (by another signature of the same record) is no news;
            // a different restoration under the same name is.
            if fs::read(&target).is_ok_and(|old| old == bytes.as_slice()) {
                tracing::debug!("{} already written with the same bytes", target.display());
            } else {
                tracing::warn!(
                    "{} already written with other bytes; the copy listed by {record} is skipped",
                    target.display()
                );
            }
            continue;
        }
        crate::carve::write_atomic(&target, bytes)?;
        out.push(Restored {
            record,
            component: c.name.clone(),
            transform: transform.clone(),
            written: target,
            sha256: crate::util::hex(&sha2::Sha256::digest(bytes)),
        });
    }
    Ok(out)
}

/// The report as text for a terminal: one line per record, then its signatures and every
/// component that is not `authentic`.
pub fn render_text(rep: &VerifyReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}: {}",
        rep.package,
        rep.input.display(),
        rep.verdict
    );
    fn one(s: &mut String, r: &RecordReport, path: &str, depth: usize) {
        let pad = "  ".repeat(depth + 1);
        let _ = writeln!(
            s,
            "{pad}{path} [{} root {} {}]: {}",
            r.kind, r.root, r.encoding, r.verdict
        );
        for sig in &r.signatures {
            let who = sig
                .signer
                .as_ref()
                .map(|c| c.subject.as_str())
                .unwrap_or("no certificate");
            let _ = writeln!(
                s,
                "{pad}  signature {}: {} ({}; signer {who}){}",
                sig.id,
                sig.verdict,
                sig.algorithm,
                sig.variant
                    .as_ref()
                    .map(|v| format!("; {v}"))
                    .unwrap_or_default()
            );
        }
        for rf in r
            .references
            .iter()
            .filter(|x| x.verdict != Verdict::Authentic)
        {
            let _ = writeln!(
                s,
                "{pad}  reference {}: {} ({})",
                rf.uri, rf.verdict, rf.detail
            );
        }
        let authentic = r
            .components
            .iter()
            .filter(|c| c.verdict == Verdict::Authentic)
            .count();
        let _ = writeln!(
            s,
            "{pad}  components: {} listed, {authentic} authentic",
            r.components.len()
        );
        for c in r
            .components
            .iter()
            .filter(|c| c.verdict != Verdict::Authentic)
        {
            let _ = writeln!(
                s,
                "{pad}  {}: {}{} ({})",
                c.name,
                c.verdict,
                c.transform
                    .as_ref()
                    .map(|t| format!(" by {t}"))
                    .unwrap_or_default(),
                c.detail
            );
        }
        for p in &r.problems {
            let at = p.offset.map(|o| format!(" at {o:#x}")).unwrap_or_default();
            let file = p
                .file
                .as_ref()
                .map(|f| format!(" in {f}"))
                .unwrap_or_default();
            let _ = writeln!(s, "{pad}  problem{file}{at}: {}", p.message);
        }
        for ch in &r.children {
            one(s, ch, "(nested)", depth + 1);
        }
    }
    for r in &rep.records {
        one(&mut s, &r.report, &r.path, 0);
    }
    for r in &rep.restored {
        let _ = writeln!(
            s,
            "  restored {} ({}) -> {}",
            r.component,
            r.transform,
            r.written.display()
        );
    }
    for n in &rep.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_stay_inside_the_package() {
        assert_eq!(relative_path("a/b.txt"), Some(PathBuf::from("a/b.txt")));
        assert_eq!(relative_path("\\a\\b.txt"), Some(PathBuf::from("a/b.txt")));
        assert_eq!(
            relative_path("./公司OPV1.txt"),
            Some(PathBuf::from("公司OPV1.txt"))
        );
        assert_eq!(relative_path("../etc/passwd"), None);
        assert_eq!(relative_path("a/../../b"), None);
        assert_eq!(relative_path(""), None);
    }
}
