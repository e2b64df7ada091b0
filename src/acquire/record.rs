//! The acquisition record written beside the image: `DEST.info` (text, like Guymager's) and
//! `DEST.json`.

use super::device::{DeviceFacts, VolumeFacts};
use super::rescue::PhaseTiming;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Optional case details given by the examiner.
#[derive(Debug, Clone, Default, Serialize, Deserialize, clap::Args)]
pub struct CaseInfo {
    /// Case number or name.
    #[arg(long = "case")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    /// Evidence number.
    #[arg(long = "evidence")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_number: Option<String>,
    /// Examiner's name.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examiner: Option<String>,
    /// Free description of the evidence.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free notes.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Everything about one acquisition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub tool: String,
    pub command: String,
    pub host: String,
    pub case: CaseInfo,
    pub source: serde_json::Value,
    pub volumes: serde_json::Value,
    pub image: String,
    pub mapfile: String,
    pub started: String,
    pub finished: String,
    /// `complete`, `interrupted`.
    pub outcome: String,
    pub resumed: bool,
    pub direct_io: bool,
    pub sector_size: u64,
    pub size: u64,
    pub rescued_bytes: u64,
    pub bad_bytes: u64,
    pub bad_sectors: u64,
    /// `(offset, length)` of every bad area, in bytes.
    pub bad_ranges: Vec<(u64, u64)>,
    /// Algorithm name → lower-case hex digest of the image.
    pub hashes: BTreeMap<String, String>,
    /// How the hashes were computed: `while reading` or `from the finished image`, and why.
    pub hash_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piecewise_hashes: Option<String>,
    /// `(algorithm, matched)` after re-hashing the image, when `--verify` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    pub seconds: f64,
    pub read_rate_mib_s: f64,
    pub phases: Vec<PhaseTiming>,
}

impl Record {
    /// Start a record with what is known before reading.
    pub fn facts(
        facts: &DeviceFacts,
        volumes: &VolumeFacts,
    ) -> (serde_json::Value, serde_json::Value) {
        (
            serde_json::to_value(facts).unwrap_or_default(),
            serde_json::to_value(volumes).unwrap_or_default(),
        )
    }

    /// The readable text form.
    pub fn to_info(&self) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: &str| {
            let _ = writeln!(s, "{k:<22}{}", crate::util::printable(v));
        };
        line("Tool", &self.tool);
        line("Command", &self.command);
        line("Host", &self.host);
        let c = &self.case;
        for (k, v) in [
            ("Case number", &c.case_number),
            ("Evidence number", &c.evidence_number),
            ("Examiner", &c.examiner),
            ("Description", &c.description),
            ("Notes", &c.notes),
        ] {
            if let Some(v) = v {
                line(k, v);
            }
        }
        let _ = writeln!(s, "\nSource");
        flatten(&mut s, "  ", &self.source);
        if self.volumes.as_object().is_some_and(|o| !o.is_empty()) {
            let _ = writeln!(s, "\nVolume");
            flatten(&mut s, "  ", &self.volumes);
        }
        let _ = writeln!(s, "\nAcquisition");
        let mut line = |k: &str, v: &str| {
            let _ = writeln!(s, "  {k:<20}{}", crate::util::printable(v));
        };
        line("Image", &self.image);
        line("Mapfile", &self.mapfile);
        line("Started", &self.started);
        line("Finished", &self.finished);
        line("Outcome", &self.outcome);
        line("Resumed", if self.resumed { "yes" } else { "no" });
        line("Direct I/O", if self.direct_io { "yes" } else { "no" });
        line("Sector size", &self.sector_size.to_string());
        line("Size", &format!("{} bytes", self.size));
        line("Rescued", &format!("{} bytes", self.rescued_bytes));
        line(
            "Bad",
            &format!("{} bytes in {} sectors", self.bad_bytes, self.bad_sectors),
        );
        for (o, l) in &self.bad_ranges {
            line("  bad range", &format!("{o:#x} + {l:#x} ({o} + {l})"));
        }
        line("Seconds", &format!("{:.2}", self.seconds));
        line("Read rate", &format!("{:.1} MiB/s", self.read_rate_mib_s));
        for p in &self.phases {
            line(
                &format!("  {}", p.phase),
                &format!(
                    "{:.2} s, {} bytes read, {} failed reads",
                    p.seconds, p.bytes_read, p.read_errors
                ),
            );
        }
        let _ = writeln!(s, "\nHashes ({})", self.hash_method);
        for (k, v) in &self.hashes {
            let _ = writeln!(s, "  {k:<20}{v}");
        }
        if let Some(p) = &self.piecewise_hashes {
            let _ = writeln!(s, "  {:<20}{p}", "piecewise");
        }
        if let Some(v) = self.verified {
            let _ = writeln!(
                s,
                "  {:<20}{}",
                "verification",
                if v {
                    "image re-hashed: match"
                } else {
                    "image re-hashed: MISMATCH"
                }
            );
        }
        s
    }
}

fn flatten(s: &mut String, indent: &str, v: &serde_json::Value) {
    let Some(o) = v.as_object() else { return };
    for (k, v) in o {
        match v {
            serde_json::Value::Object(_) => {
                let _ = writeln!(s, "{indent}{k}");
                flatten(s, &format!("{indent}  "), v);
            }
            serde_json::Value::String(t) => {
                let _ = writeln!(s, "{indent}{k:<20}{}", crate::util::printable(t));
            }
            other => {
                let _ = writeln!(s, "{indent}{k:<20}{other}");
            }
        }
    }
}

/// This machine's host name.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}
