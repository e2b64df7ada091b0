//! The carve job: scan a source, write what was found into per-status folders, and account for
//! it in `report.json`, `report.dfxml` and the audit log.

use crate::audit::AuditLog;
use crate::hashing::{DigestHex, FileDigests};
use crate::job::Progress;
use crate::scan::{self, Finding, ScanOptions};
use crate::source::{Identity, ReadMode, Source, SourceKind};
use anyhow::Context;
use salvor_carvers::{ByteView, Defect, MemberInfo, Status};
use serde::Serialize;
use serde_json::json;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Name of the JSON report inside the output folder.
pub const REPORT_JSON: &str = "report.json";
/// Name of the DFXML report inside the output folder.
pub const REPORT_DFXML: &str = "report.dfxml";

/// Everything `salvor carve` needs.
#[derive(Debug, Clone)]
pub struct CarveOptions {
    pub source: PathBuf,
    pub out: PathBuf,
    pub read_mode: ReadMode,
    pub scan: ScanOptions,
    /// Report without writing carved files.
    pub report_only: bool,
    /// The command line, for the records.
    pub command: String,
    /// Search the source for the files of a manifest as well (`--manifest`).
    pub manifest: Option<crate::manifest::ManifestSource>,
}

/// One finding as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRecord {
    pub id: usize,
    pub offset: u64,
    pub length: u64,
    pub end: u64,
    pub carver: &'static str,
    pub kind: &'static str,
    pub status: Status,
    /// Path of the carved file relative to the output folder, when one was written.
    pub file: Option<String>,
    pub digests: Option<DigestHex>,
    pub defects: Vec<Defect>,
    pub notes: Vec<String>,
    pub members: usize,
    pub member_list: Vec<MemberInfo>,
    /// Physical runs `(offset, length)` in file order for a reassembled archive; empty when the
    /// finding is the one contiguous run `[offset, end)`.
    pub runs: Vec<(u64, u64)>,
    pub parent: Option<usize>,
    pub provenance: Option<String>,
    pub children: Vec<usize>,
    /// The repaired copy written beside a damaged or truncated archive.
    pub repair: Option<RepairSummary>,
}

/// Where the repaired copy of a finding went and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct RepairSummary {
    /// Repaired archive, relative to the output folder.
    pub file: String,
    /// Its JSON report, relative to the output folder.
    pub report: String,
    pub sha256: String,
    pub members_written: usize,
    pub whole: usize,
    pub partial: usize,
    pub lost: usize,
}

/// Counts by status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub intact: usize,
    pub damaged: usize,
    pub truncated: usize,
    pub reassembled: usize,
    /// Findings nested inside another finding (counted in the statuses too).
    pub nested: usize,
    pub files_written: usize,
}

/// The whole record of one carve run.
#[derive(Debug, Clone, Serialize)]
pub struct CarveReport {
    pub tool: &'static str,
    pub command: String,
    pub started: String,
    pub finished: String,
    pub seconds: f64,
    pub source: Identity,
    pub read_mode: &'static str,
    pub interrupted: bool,
    pub bytes_scanned: u64,
    pub signature_hits: u64,
    pub summary: Summary,
    pub findings: Vec<FindingRecord>,
    /// The manifest-guided search, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<crate::manifest::ManifestReport>,
}

impl CarveReport {
    /// The one-line summary printed on stdout.
    pub fn one_line(&self, out: &Path) -> String {
        let s = &self.summary;
        let total = self.findings.len();
        let mut line = format!(
            "salvor: {total} finding{} in {} ({} intact, {}{} damaged, {} truncated, {} nested); {} file{} written to {}; {:.1} s",
            if total == 1 { "" } else { "s" },
            self.source.path.display(),
            s.intact,
            if s.reassembled > 0 { format!("{} reassembled, ", s.reassembled) } else { String::new() },
            s.damaged,
            s.truncated,
            s.nested,
            s.files_written,
            if s.files_written == 1 { "" } else { "s" },
            out.display(),
            self.seconds
        );
        if let Some(m) = &self.manifest {
            line.push_str(&format!(
                "; manifest: {} of {} found",
                m.found,
                m.entries.len()
            ));
        }
        if self.interrupted {
            line.push_str(&format!(
                "; INTERRUPTED after {} of {} bytes",
                self.bytes_scanned, self.source.size
            ));
        }
        line
    }
}

/// Refuse outputs that would land on the evidence.
fn check_output(identity: &Identity, out: &Path) -> anyhow::Result<()> {
    let out_abs = std::path::absolute(out).unwrap_or_else(|_| out.to_owned());
    if let Ok(c) = fs::canonicalize(out) {
        if c == identity.canonical {
            anyhow::bail!(
                "the output {} is the source itself; choose another folder",
                out.display()
            );
        }
    }
    if out_abs == identity.canonical || out_abs == identity.path {
        anyhow::bail!(
            "the output {} is the source itself; choose another folder",
            out.display()
        );
    }
    if identity.kind == SourceKind::File {
        // An image attached as a loop device and mounted: writing there changes the image.
        if let Some(dev) = output_device(&out_abs)? {
            for loop_dev in loops_backed_by(&identity.canonical) {
                if loop_dev == dev || on_same_disk(dev, loop_dev) {
                    anyhow::bail!(
                        "the output folder {} is on a loop device backed by the source image {}; writing there would change the evidence",
                        out.display(),
                        identity.path.display()
                    );
                }
            }
        }
    }
    if identity.kind == SourceKind::BlockDevice {
        // The filesystem that would receive the output: the nearest folder that exists.
        let mut probe = out_abs.as_path();
        let meta = loop {
            match fs::metadata(probe) {
                Ok(m) => break m,
                Err(_) => match probe.parent() {
                    Some(p) => probe = p,
                    None => anyhow::bail!("cannot find where {} would be written", out.display()),
                },
            }
        };
        let out_dev = meta.dev();
        if out_dev == identity.dev || on_same_disk(out_dev, identity.dev) {
            anyhow::bail!(
                "the output folder {} is on the source device {}; write to another disk so the evidence is not overwritten",
                out.display(),
                identity.path.display()
            );
        }
    }
    Ok(())
}

/// The device of the filesystem that would receive `out` (its nearest existing folder).
fn output_device(out_abs: &Path) -> anyhow::Result<Option<u64>> {
    let mut probe = out_abs;
    loop {
        if let Ok(m) = fs::metadata(probe) {
            return Ok(Some(m.dev()));
        }
        match probe.parent() {
            Some(p) => probe = p,
            None => return Ok(None),
        }
    }
}

/// Device numbers of the loop devices whose backing file is `file`.
fn loops_backed_by(file: &Path) -> Vec<u64> {
    let Ok(dir) = fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
        .filter_map(|e| {
            let backing = fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            if Path::new(backing.trim()) != file {
                return None;
            }
            let dev = fs::read_to_string(e.path().join("dev")).ok()?;
            let (maj, min) = dev.trim().split_once(':')?;
            Some(rustix::fs::makedev(maj.parse().ok()?, min.parse().ok()?))
        })
        .collect()
}

/// True when device `part` is a partition of device `disk`.
fn on_same_disk(part: u64, disk: u64) -> bool {
    let name = |dev: u64| {
        let p = format!(
            "/sys/dev/block/{}:{}",
            rustix::fs::major(dev),
            rustix::fs::minor(dev)
        );
        fs::canonicalize(p).ok()
    };
    match (name(part), name(disk)) {
        (Some(p), Some(d)) => p.parent() == Some(d.as_path()),
        _ => false,
    }
}

/// Run a whole carve.
pub fn run(opts: &CarveOptions, progress: &Progress) -> anyhow::Result<CarveReport> {
    let started = crate::util::now_rfc3339();
    let clock = Instant::now();
    let source = Source::open(&opts.source, opts.read_mode)?;
    let manifest_entries = match &opts.manifest {
        Some(crate::manifest::ManifestSource::File(p)) => Some(crate::manifest::load_manifest(p)?),
        Some(crate::manifest::ManifestSource::Auto) => Some(Vec::new()),
        None => None,
    };
    let identity = source.identity().clone();
    check_output(&identity, &opts.out)?;
    if fs::read_dir(&opts.out).is_ok_and(|mut d| d.next().is_some()) {
        anyhow::bail!(
            "the output folder {} is not empty; carve into a new folder so that each run keeps its own reports and audit log",
            opts.out.display()
        );
    }
    fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create the output folder {}", opts.out.display()))?;
    let mut audit = AuditLog::open(&opts.out)?;
    audit.record(
        "carve-start",
        json!({"command": opts.command, "source": identity, "report_only": opts.report_only}),
    )?;
    audit.sync()?;
    tracing::info!(source = %opts.source.display(), size = identity.size, "carving");

    let outcome = scan::scan(&source, &opts.scan, progress)?;
    let mut findings = Vec::with_capacity(outcome.findings.len());
    let mut summary = Summary::default();
    for f in &outcome.findings {
        let mut rec = record_of(f);
        match rec.status {
            Status::Intact => summary.intact += 1,
            Status::Damaged => summary.damaged += 1,
            Status::Truncated => summary.truncated += 1,
            Status::Reassembled => summary.reassembled += 1,
        }
        if f.parent.is_some() {
            summary.nested += 1;
        }
        let write = !opts.report_only && f.parent.is_none();
        match emit(&source, f, &opts.out, write) {
            Ok((file, digests)) => {
                if let Some(name) = &file {
                    summary.files_written += 1;
                    audit.record("output", json!({"file": name, "sha256": digests.sha256, "offset": rec.offset, "length": rec.length}))?;
                }
                let needs_repair = matches!(rec.status, Status::Damaged | Status::Truncated)
                    && rec.carver == "zip";
                if let (Some(name), true) = (&file, needs_repair) {
                    match repair_beside(&source, &opts.source, f, &opts.out, name, &opts.scan) {
                        Ok(r) => {
                            audit.record(
                                "output",
                                json!({"file": r.file, "sha256": r.sha256, "repair_of": name}),
                            )?;
                            rec.repair = Some(r);
                        }
                        Err(e) => rec.notes.push(format!("repair failed: {e:#}")),
                    }
                }
                rec.file = file;
                rec.digests = Some(digests);
            }
            Err(e) => {
                // Keep what was already written and reported; say exactly what failed.
                let msg = format!("{e:#}");
                tracing::error!(offset = rec.offset, "{msg}");
                rec.notes.push(format!("not written: {msg}"));
                write_reports(
                    &opts.out,
                    &report(
                        opts,
                        &started,
                        &clock,
                        &identity,
                        &source,
                        &outcome,
                        summary.clone(),
                        findings.clone(),
                    ),
                )?;
                return Err(e);
            }
        }
        findings.push(rec);
    }
    let manifest = match manifest_entries {
        Some(entries) if !outcome.interrupted => {
            let m = manifest_search(opts, &source, &outcome, entries, &mut summary)?;
            for e in &m.entries {
                if let Some(file) = &e.file {
                    audit.record("output", json!({"file": file, "manifest_entry": e.name, "offset": e.offsets.first()}))?;
                }
            }
            Some(m)
        }
        _ => None,
    };
    // One flush of the whole output filesystem instead of one per carved file.
    if summary.files_written > 0 {
        let dir =
            File::open(&opts.out).with_context(|| format!("cannot open {}", opts.out.display()))?;
        rustix::fs::syncfs(&dir).with_context(|| format!("cannot flush {}", opts.out.display()))?;
    }
    let mut rep = report(
        opts, &started, &clock, &identity, &source, &outcome, summary, findings,
    );
    rep.manifest = manifest;
    write_reports(&opts.out, &rep)?;
    for name in [REPORT_JSON, REPORT_DFXML] {
        let digest = crate::hashing::sha256_hex(&fs::read(opts.out.join(name))?);
        audit.record("output", json!({"file": name, "sha256": digest}))?;
    }
    audit.record(
        "carve-end",
        json!({"interrupted": rep.interrupted, "bytes_scanned": rep.bytes_scanned, "summary": rep.summary, "seconds": rep.seconds}),
    )?;
    audit.sync()?;
    Ok(rep)
}

#[allow(clippy::too_many_arguments)]
fn report(
    opts: &CarveOptions,
    started: &str,
    clock: &Instant,
    identity: &Identity,
    source: &Source,
    outcome: &scan::ScanOutcome,
    summary: Summary,
    findings: Vec<FindingRecord>,
) -> CarveReport {
    CarveReport {
        tool: crate::TOOL,
        command: opts.command.clone(),
        started: started.to_owned(),
        finished: crate::util::now_rfc3339(),
        seconds: clock.elapsed().as_secs_f64(),
        source: identity.clone(),
        read_mode: if source.is_mapped() {
            "mmap"
        } else {
            "buffered"
        },
        interrupted: outcome.interrupted,
        bytes_scanned: outcome.scanned,
        signature_hits: outcome.hits,
        summary,
        findings,
        manifest: None,
    }
}

/// Folder inside the output where files found through a manifest are written.
pub const MANIFEST_DIR: &str = "manifest";

/// Search for the files of a manifest (or of the manifests carried by carved records) and write
/// each one found under `manifest/`, named by the manifest.
fn manifest_search(
    opts: &CarveOptions,
    source: &Source,
    outcome: &scan::ScanOutcome,
    mut entries: Vec<salvor_carvers::records::ManifestEntry>,
    summary: &mut Summary,
) -> anyhow::Result<crate::manifest::ManifestReport> {
    use crate::manifest::{self, ManifestSource};
    let carved: Vec<(u64, u64)> = outcome
        .findings
        .iter()
        .filter(|f| f.candidate.runs.is_empty())
        .map(|f| (f.candidate.start, f.candidate.len()))
        .collect();
    let name = match &opts.manifest {
        Some(ManifestSource::File(p)) => p.display().to_string(),
        _ => {
            entries.extend(manifest::entries_from_records(source, &outcome.findings));
            "auto".to_owned()
        }
    };
    let mut rep = manifest::search(
        source,
        &entries,
        &carved,
        &manifest::SearchOptions::default(),
        &name,
    )?;
    if opts.report_only {
        return Ok(rep);
    }
    let dir = opts.out.join(MANIFEST_DIR);
    for (e, r) in entries.iter().zip(rep.entries.iter_mut()) {
        let Some(&at) = r.offsets.first() else {
            continue;
        };
        let len = e
            .size
            .or_else(|| carved.iter().find(|c| c.0 == at).map(|c| c.1));
        let Some(len) = len else { continue };
        let rel = manifest::sanitize_name(&e.name);
        let target = dir.join(&rel);
        let parent = target.parent().unwrap_or(&dir).to_owned();
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unnamed".into());
        let (file, path, written) = create_unique(&parent, &base)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut pos = 0u64;
        while pos < len {
            let want = (len - pos).min(1 << 20) as usize;
            let piece = source.bytes_at(at + pos, want);
            if piece.len() != want {
                anyhow::bail!(
                    "{}: read failed at offset {:#x}",
                    source.identity().path.display(),
                    at + pos
                );
            }
            w.write_all(&piece)
                .with_context(|| format!("cannot write {}", path.display()))?;
            pos += want as u64;
        }
        w.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        let rel_dir = rel
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        r.file = Some(if rel_dir.is_empty() {
            format!("{MANIFEST_DIR}/{written}")
        } else {
            format!("{MANIFEST_DIR}/{rel_dir}/{written}")
        });
        summary.files_written += 1;
    }
    Ok(rep)
}

fn record_of(f: &Finding) -> FindingRecord {
    let c = &f.candidate;
    FindingRecord {
        id: f.id,
        offset: c.start,
        length: if c.runs.is_empty() {
            c.len()
        } else {
            c.runs.iter().map(|r| r.1).sum()
        },
        end: c.end,
        carver: c.carver,
        kind: c.kind,
        status: c.status,
        file: None,
        digests: None,
        defects: c.defects.clone(),
        notes: c.notes.clone(),
        members: c.members.len(),
        member_list: c.members.clone(),
        runs: c.runs.clone(),
        parent: f.parent,
        provenance: f.provenance.clone(),
        children: f.children.clone(),
        repair: None,
    }
}

/// Repair a damaged or truncated finding into `<name>.repaired.<ext>` beside its carved file.
fn repair_beside(
    source: &Source,
    path: &Path,
    f: &Finding,
    out: &Path,
    carved: &str,
    scan: &ScanOptions,
) -> anyhow::Result<RepairSummary> {
    use salvor_carvers::zip::repair::{MemberStatus, RepairOptions};
    let (stem, ext) = carved.rsplit_once('.').unwrap_or((carved, "zip"));
    let file = format!("{stem}.repaired.{ext}");
    let report = format!("{stem}.repair.json");
    let opts = RepairOptions {
        limits: scan.limits.clone(),
        ..RepairOptions::default()
    };
    let c = &f.candidate;
    let rec = crate::repair::repair_view(source, path, c.start, c.len(), &out.join(&file), &opts)?;
    write_atomic(&out.join(&report), &serde_json::to_vec_pretty(&rec)?)?;
    let whole = rec.count(MemberStatus::Intact)
        + rec.count(MemberStatus::Corrected)
        + rec.count(MemberStatus::RecoveredFromDirectory);
    Ok(RepairSummary {
        file,
        report,
        sha256: rec.output_sha256.clone(),
        members_written: rec.report.members_written,
        whole,
        partial: rec.count(MemberStatus::Partial),
        lost: rec.count(MemberStatus::Lost),
    })
}

/// File name of a finding: its offset in hexadecimal and its type's extension.
pub fn file_name(offset: u64, ext: &str) -> String {
    format!("{offset:012x}.{ext}")
}

/// Hash a finding's bytes and, when asked, write them to its status folder.
fn emit(
    source: &Source,
    f: &Finding,
    out: &Path,
    write: bool,
) -> anyhow::Result<(Option<String>, DigestHex)> {
    let c = &f.candidate;
    let mut digests = FileDigests::default();
    let mut sink: Option<(BufWriter<File>, PathBuf)> = None;
    let mut rel = None;
    if write {
        let dir = out.join(c.status.as_str());
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let ext = salvor_carvers::carver_by_name(c.carver).map_or(c.kind, |k| k.extension(c.kind));
        let base = file_name(c.start, ext);
        let (file, path, name) = create_unique(&dir, &base)?;
        rel = Some(format!("{}/{}", c.status.as_str(), name));
        sink = Some((BufWriter::with_capacity(1 << 20, file), path));
    }
    let runs = if c.runs.is_empty() {
        vec![(c.start, c.len())]
    } else {
        c.runs.clone()
    };
    let mapped = salvor_carvers::zip::fragments::Mapped::from_runs(source, &runs);
    let total = mapped.len();
    let mut pos = 0u64;
    while pos < total {
        let want = (total - pos).min(1 << 20) as usize;
        let piece = mapped.bytes_at(pos, want);
        if piece.is_empty() {
            anyhow::bail!(
                "{}: read failed at offset {pos:#x}",
                source.identity().path.display()
            );
        }
        digests.update(&piece);
        if let Some((w, path)) = sink.as_mut() {
            w.write_all(&piece)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        pos += piece.len() as u64;
    }
    if let Some((mut w, path)) = sink {
        w.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok((rel, digests.finish()))
}

fn create_unique(dir: &Path, base: &str) -> anyhow::Result<(File, PathBuf, String)> {
    for n in 1..1000 {
        let name = if n == 1 {
            base.to_owned()
        } else {
            let (stem, ext) = base.split_once('.').unwrap_or((base, ""));
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(&name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path, name)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    anyhow::bail!("too many files named like {base} in {}", dir.display())
}

/// Write both reports atomically (temporary file, sync, rename).
pub fn write_reports(out: &Path, rep: &CarveReport) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(rep)?;
    write_atomic(&out.join(REPORT_JSON), &json)?;
    write_atomic(
        &out.join(REPORT_DFXML),
        crate::dfxml::render(rep).as_bytes(),
    )?;
    Ok(())
}

/// Replace `path` with `bytes` so that readers see the old or the new file, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
