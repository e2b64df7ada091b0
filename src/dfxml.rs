//! DFXML output: one `fileobject` per finding with its byte runs in the image, digests, status
//! and defects (the last two in Salvor's own namespace, as DFXML allows).

use crate::carve::{CarveReport, FindingRecord};
use std::fmt::Write;

/// Escape text for XML content and attribute values; drops characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' | '\r' => s.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(s, "\\u{{{:x}}}", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

/// Render a whole report as DFXML.
pub fn render(report: &CarveReport) -> String {
    let mut x = String::new();
    let e = escape;
    x.push_str("<?xml version='1.0' encoding='UTF-8'?>\n");
    x.push_str("<dfxml xmloutputversion='1.0' xmlns='http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:salvor='urn:x-salvor:dfxml:1'>\n");
    x.push_str("  <metadata>\n    <dc:type>Carve Report</dc:type>\n  </metadata>\n");
    let _ = write!(
        x,
        "  <creator version='1.0'>\n    <program>salvor</program>\n    <version>{}</version>\n    <execution_environment>\n      <command_line>{}</command_line>\n      <start_time>{}</start_time>\n    </execution_environment>\n  </creator>\n",
        e(env!("CARGO_PKG_VERSION")),
        e(&report.command),
        e(&report.started)
    );
    let _ = write!(
        x,
        "  <source>\n    <image_filename>{}</image_filename>\n    <imagesize>{}</imagesize>\n  </source>\n",
        e(&report.source.path.display().to_string()),
        report.source.size
    );
    for f in &report.findings {
        fileobject(&mut x, f);
    }
    if let Some(m) = &report.manifest {
        manifest(&mut x, m);
    }
    let _ = write!(
        x,
        "  <rusage>\n    <clocktime>{:.3}</clocktime>\n  </rusage>\n</dfxml>\n",
        report.seconds
    );
    x
}

fn fileobject(x: &mut String, f: &FindingRecord) {
    let e = escape;
    x.push_str("  <fileobject>\n");
    if let Some(file) = &f.file {
        let _ = writeln!(x, "    <filename>{}</filename>", e(file));
    }
    let _ = writeln!(x, "    <filesize>{}</filesize>", f.length);
    x.push_str("    <byte_runs>\n");
    if f.runs.is_empty() {
        let _ = writeln!(
            x,
            "      <byte_run file_offset='0' img_offset='{}' len='{}'/>",
            f.offset, f.length
        );
    } else {
        let mut at = 0u64;
        for (img, len) in &f.runs {
            let _ = writeln!(
                x,
                "      <byte_run file_offset='{at}' img_offset='{img}' len='{len}'/>"
            );
            at += len;
        }
    }
    x.push_str("    </byte_runs>\n");
    if let Some(d) = &f.digests {
        let _ = writeln!(x, "    <hashdigest type='md5'>{}</hashdigest>", d.md5);
        let _ = writeln!(x, "    <hashdigest type='sha256'>{}</hashdigest>", d.sha256);
    }
    let _ = writeln!(x, "    <salvor:id>{}</salvor:id>", f.id);
    let _ = writeln!(x, "    <salvor:kind>{}</salvor:kind>", e(f.kind));
    let _ = writeln!(x, "    <salvor:status>{}</salvor:status>", f.status);
    if let Some(p) = f.parent {
        let prov = f.provenance.as_deref().unwrap_or("");
        let _ = writeln!(x, "    <salvor:parent id='{p}'>{}</salvor:parent>", e(prov));
    }
    let _ = writeln!(x, "    <salvor:members count='{}'/>", f.members);
    for d in &f.defects {
        let member = d
            .member
            .as_deref()
            .map(|m| format!(" member='{}'", e(m)))
            .unwrap_or_default();
        let _ = writeln!(
            x,
            "    <salvor:defect kind='{}' offset='{}' expected='{}' found='{}'{member}/>",
            d.kind,
            d.offset,
            e(&d.expected),
            e(&d.found)
        );
    }
    for n in &f.notes {
        let _ = writeln!(x, "    <salvor:note>{}</salvor:note>", e(n));
    }
    x.push_str("  </fileobject>\n");
}

/// The manifest-guided search: one entry per listed file, with where it was found.
fn manifest(x: &mut String, m: &crate::manifest::ManifestReport) {
    let e = escape;
    let _ = writeln!(
        x,
        "  <salvor:manifest source='{}' found='{}' not_found='{}' bytes_hashed='{}'>",
        e(&m.source),
        m.found,
        m.not_found,
        m.bytes_hashed
    );
    for r in &m.entries {
        let size = r.size.map(|s| format!(" size='{s}'")).unwrap_or_default();
        let _ = writeln!(
            x,
            "    <salvor:entry name='{}'{size} alg='{}' digest='{}' status='{}'>",
            e(&r.name),
            serde_json::to_value(r.alg)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            r.digest,
            r.status
        );
        if let Some(f) = &r.file {
            let _ = writeln!(x, "      <filename>{}</filename>", e(f));
        }
        for o in &r.offsets {
            let len = r.size.map(|s| format!(" len='{s}'")).unwrap_or_default();
            let _ = writeln!(x, "      <byte_run img_offset='{o}'{len}/>");
        }
        for s in &r.skipped {
            let _ = writeln!(x, "      <salvor:skipped>{}</salvor:skipped>", e(s));
        }
        x.push_str("    </salvor:entry>\n");
    }
    x.push_str("  </salvor:manifest>\n");
}
