//! The repair job: rebuild a damaged package into a new file, with a JSON and a text report.

use crate::source::{ReadMode, Source};
use anyhow::Context;
use salvor_carvers::zip::repair::{self, MemberStatus, RepairOptions, RepairReport};
use salvor_carvers::ByteView;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Everything written by one repair, with its account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepairRecord {
    pub tool: &'static str,
    pub input: PathBuf,
    pub output: PathBuf,
    /// Absolute offset of the repaired range in the input.
    pub input_offset: u64,
    pub input_length: u64,
    pub output_sha256: String,
    #[serde(flatten)]
    pub report: RepairReport,
}

impl RepairRecord {
    /// Count members by status.
    pub fn count(&self, status: MemberStatus) -> usize {
        self.report
            .members
            .iter()
            .filter(|m| m.status == status)
            .count()
    }
}

/// Rebuild `[offset, offset + len)` of `view` into `output` (which must not exist yet).
pub fn repair_view(
    view: &dyn ByteView,
    input: &Path,
    offset: u64,
    len: u64,
    output: &Path,
    opts: &RepairOptions,
) -> anyhow::Result<RepairRecord> {
    let window = salvor_carvers::view::Window::new(view, offset, len);
    let tmp = output.with_extension("partial-write");
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let result = repair::repair(&window, opts, &mut w);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            drop(w);
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot repair the bytes at offset {offset:#x}",
                    input.display()
                )
            });
        }
    };
    let file = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    if output.exists() {
        let _ = fs::remove_file(&tmp);
        anyhow::bail!(
            "{} appeared while repairing; not overwritten",
            output.display()
        );
    }
    fs::rename(&tmp, output)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), output.display()))?;
    let output_sha256 = sha256_file(output)?;
    Ok(RepairRecord {
        tool: crate::TOOL,
        input: input.to_owned(),
        output: output.to_owned(),
        input_offset: offset,
        input_length: window.len(),
        output_sha256,
        report,
    })
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::util::hex(&h.finalize()))
}

/// `salvor repair IN --out OUT`: the whole input file.
pub fn repair_file(
    input: &Path,
    output: &Path,
    opts: &RepairOptions,
) -> anyhow::Result<RepairRecord> {
    let source = Source::open(input, ReadMode::Auto)?;
    let same = fs::canonicalize(output)
        .ok()
        .is_some_and(|o| o == source.identity().canonical);
    if same {
        anyhow::bail!(
            "the output {} is the input itself; the input is never modified",
            output.display()
        );
    }
    if output.exists() {
        anyhow::bail!(
            "{} already exists; choose a new name (repair never overwrites)",
            output.display()
        );
    }
    repair_view(&source, input, 0, source.len(), output, opts)
}

/// The readable form of a repair report.
pub fn render_text(rec: &RepairRecord) -> String {
    let r = &rec.report;
    let mut t = String::new();
    let _ = writeln!(t, "Salvor repair report ({})", rec.tool);
    let _ = writeln!(
        t,
        "input:  {} (bytes {:#x}..{:#x})",
        rec.input.display(),
        rec.input_offset,
        rec.input_offset + rec.input_length
    );
    let _ = writeln!(
        t,
        "output: {} (SHA-256 {})",
        rec.output.display(),
        rec.output_sha256
    );
    let _ = writeln!(
        t,
        "type:   {}; {} members written, {} bytes salvaged",
        r.kind, r.members_written, r.bytes_salvaged
    );
    if !r.corrections.is_empty() {
        let _ = writeln!(t, "\nCorrections:");
        for c in &r.corrections {
            let _ = writeln!(t, "  - {}", crate::util::printable(c));
        }
    }
    let _ = writeln!(t, "\nMembers:");
    for m in &r.members {
        let status = serde_json::to_value(m.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            t,
            "  {:<24} {}  ({} of {} bytes, CRC expected {} actual {})",
            status,
            crate::util::printable(m.output_name.as_deref().unwrap_or(&m.name)),
            m.salvaged_size,
            m.expected_size,
            m.crc_expected,
            m.crc_actual.as_deref().unwrap_or("-")
        );
        if let Some((a, b)) = m.source_range {
            let _ = writeln!(
                t,
                "  {:<24} source bytes {:#x}..{:#x}",
                "",
                rec.input_offset + a,
                rec.input_offset + b
            );
        }
        let _ = writeln!(t, "  {:<24} {}", "", crate::util::printable(&m.action));
        for f in &m.name_flags {
            let _ = writeln!(t, "  {:<24} WARNING: dangerous name ({f})", "");
        }
    }
    if let Some(p) = &r.package {
        let _ = writeln!(
            t,
            "\nPackage ({}): {}",
            p.kind,
            if p.openable {
                "required parts present and whole; an office program can be expected to open it"
            } else {
                "NOT expected to open"
            }
        );
        if !p.missing.is_empty() {
            let _ = writeln!(t, "  missing: {}", p.missing.join(", "));
        }
        if !p.damaged.is_empty() {
            let _ = writeln!(t, "  damaged: {}", p.damaged.join(", "));
        }
    }
    t
}
