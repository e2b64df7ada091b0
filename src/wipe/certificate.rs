//! The certificate of sanitization: the fields of NIST SP 800-88 Rev. 1 Appendix G, plus each
//! pass's record, written as JSON and as a bilingual (Traditional Chinese and English) PDF.

use super::log::Entry;
use super::verify::VerifyRecord;
use super::{State, WipeResult};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a field holds when nobody supplied it. Never an invented value.
pub const NOT_RECORDED: &str = "not recorded";

/// Facts only the operator knows, from the command line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CertInfo {
    pub person: Person,
    pub property_number: Option<String>,
    /// Where the media came from (a department, a case).
    pub media_source: Option<String>,
    /// Security classification before sanitization.
    pub classification: Option<String>,
    /// Whether the data was backed up: yes, no or unknown.
    pub backed_up: Option<String>,
    pub backup_location: Option<String>,
    pub post_classification: Option<String>,
    /// What happens to the media next (reuse, recycling, return to vendor...).
    pub destination: Option<String>,
    pub validator: Option<String>,
    /// Make/model/serial/type for media the tool cannot see (certify-destruction).
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub media_type: Option<String>,
}

/// Who performed the sanitization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Person {
    pub name: Option<String>,
    pub title: Option<String>,
    pub organization: Option<String>,
    pub location: Option<String>,
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Media {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub property_number: String,
    pub media_type: String,
    pub source: String,
    pub classification: String,
    pub backed_up: String,
    pub backup_location: String,
    pub device_path: String,
    pub size_bytes: Option<u64>,
    pub hidden_areas: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sanitization {
    /// Clear, Purge or Destroy (NIST SP 800-88 categories).
    pub category: String,
    pub method: String,
    pub details: String,
    pub tool: String,
    pub verification: String,
    pub started: String,
    pub finished: String,
    /// PASSED or FAILED.
    pub result: String,
    pub resumed: Vec<Resumption>,
    pub seed: Option<String>,
    pub direct_io: Option<bool>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resumption {
    pub time: String,
    pub pass: usize,
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassRecord {
    pub pass: usize,
    pub pattern: String,
    pub started: String,
    pub finished: String,
    pub bytes: u64,
    pub seconds: f64,
    pub verification: Option<VerifyRecord>,
    /// PASSED, FAILED or "written, not verified".
    pub result: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Destruction {
    pub method: String,
    pub particle_size_standard: String,
    pub witness: String,
    pub date: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogRef {
    pub path: PathBuf,
    pub sha256: String,
}

/// The whole certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Certificate {
    pub schema: String,
    pub certificate_id: String,
    pub issued: String,
    pub performed_by: Person,
    pub media: Media,
    pub sanitization: Sanitization,
    pub passes: Vec<PassRecord>,
    pub destruction: Option<Destruction>,
    pub post_classification: String,
    pub destination: String,
    pub operator_signature: Signature,
    pub validator_signature: Signature,
    pub wipe_log: Option<LogRef>,
}

/// A signature line: the name is printed, signature and date are left to be written by hand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signature {
    pub role: String,
    pub name: String,
    pub signature: String,
    pub date: String,
}

fn or_nr(v: &Option<String>) -> String {
    v.clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| NOT_RECORDED.into())
}

fn signatures(info: &CertInfo) -> (Signature, Signature) {
    let line = "_______________________".to_owned();
    (
        Signature {
            role: "operator".into(),
            name: or_nr(&info.person.name),
            signature: line.clone(),
            date: line.clone(),
        },
        Signature {
            role: "validator".into(),
            name: or_nr(&info.validator),
            signature: line.clone(),
            date: line,
        },
    )
}

fn cert_id(parts: &[&str]) -> String {
    let h = crate::hashing::sha256_hex(parts.join("\u{1f}").as_bytes());
    format!("SLV-{}", h[..16].to_ascii_uppercase())
}

/// Build the certificate of a finished wipe from its log.
pub fn from_wipe(
    info: &CertInfo,
    entries: &[Entry],
    state: &State,
    result: WipeResult,
    log_path: &Path,
    log_sha256: &str,
) -> Certificate {
    let Some(Entry::Plan {
        time,
        tool,
        target,
        method,
        method_details,
        passes,
        seed,
        verify,
        sample_percent,
        direct_io,
        ..
    }) = entries.first()
    else {
        unreachable!("a wipe log starts with its plan")
    };
    let finished = entries
        .iter()
        .rev()
        .find_map(|e| match e {
            Entry::Finished { time, .. } => Some(time.clone()),
            _ => None,
        })
        .unwrap_or_else(crate::util::now_rfc3339);
    let pass_records: Vec<PassRecord> = passes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let done = state.pass_done[i].clone();
            let ver = state.verified[i].as_ref().map(|(_, r)| r.clone());
            let result = match (&done, &ver) {
                (None, _) => "not written".into(),
                (Some(_), Some(v)) if v.passed => "PASSED".into(),
                (Some(_), Some(_)) => "FAILED".into(),
                (Some(_), None) => "written, not verified".into(),
            };
            PassRecord {
                pass: i + 1,
                pattern: p.to_string(),
                started: state.pass_started[i].clone().unwrap_or_default(),
                finished: done.as_ref().map(|d| d.0.clone()).unwrap_or_default(),
                bytes: done.as_ref().map_or(0, |d| d.1),
                seconds: done.as_ref().map_or(0.0, |d| d.2),
                verification: ver,
                result,
            }
        })
        .collect();
    let verification = match verify {
        super::VerifyMode::All => "every byte of every pass read back and compared".to_owned(),
        super::VerifyMode::Last => "every byte of the last pass read back and compared".to_owned(),
        super::VerifyMode::Sample => format!(
            "NIST SP 800-88 sample of the last pass: at least {sample_percent}% over up to 100 \
             sub-sections, first and last blocks included"
        ),
        super::VerifyMode::Off => "none: the passes were not read back".to_owned(),
    } + if *direct_io {
        " (direct I/O, around the page cache; random bytes regenerated from the seed)"
    } else {
        " (buffered I/O with the cache dropped; random bytes regenerated from the seed)"
    };
    let mut notes = vec![
        "Overwriting is NIST SP 800-88 Clear. Firmware sanitize commands (ATA Secure Erase, \
         NVMe Sanitize/Format, crypto erase), which Purge needs, are outside this tool."
            .to_owned(),
    ];
    if matches!(target.media_type.as_str(), "ssd" | "nvme" | "mmc") {
        notes.push(format!(
            "{} is flash: overwriting reaches only the logical blocks, not remapped or \
             over-provisioned cells. This is Clear, not Purge.",
            target.media_type
        ));
    }
    if *verify == super::VerifyMode::Off {
        notes.push("Not verified: the result says only that every write was accepted.".into());
    }
    let (op, val) = signatures(info);
    Certificate {
        schema: "salvor-sanitization-certificate/1".into(),
        certificate_id: cert_id(&[time, &target.canonical.display().to_string(), seed]),
        issued: finished.clone(),
        performed_by: info.person.clone(),
        media: Media {
            manufacturer: or_nr(&info.manufacturer.clone().or(target.vendor.clone())),
            model: or_nr(&info.model.clone().or(target.model.clone())),
            serial: or_nr(&info.serial.clone().or(target.serial.clone())),
            property_number: or_nr(&info.property_number),
            media_type: target.media_type.clone(),
            source: or_nr(&info.media_source),
            classification: or_nr(&info.classification),
            backed_up: or_nr(&info.backed_up),
            backup_location: or_nr(&info.backup_location),
            device_path: target.path.display().to_string(),
            size_bytes: Some(target.size),
            hidden_areas: target.hidden_areas.clone(),
        },
        sanitization: Sanitization {
            category: "Clear".into(),
            method: method.clone(),
            details: method_details.clone(),
            tool: tool.clone(),
            verification,
            started: time.clone(),
            finished,
            result: match result {
                WipeResult::Passed => "PASSED".into(),
                _ => "FAILED".into(),
            },
            resumed: state
                .resumes
                .iter()
                .map(|(t, p, o)| Resumption {
                    time: t.clone(),
                    pass: p + 1,
                    offset: *o,
                })
                .collect(),
            seed: Some(seed.clone()),
            direct_io: Some(*direct_io),
            notes,
        },
        passes: pass_records,
        destruction: None,
        post_classification: or_nr(&info.post_classification),
        destination: or_nr(&info.destination),
        operator_signature: op,
        validator_signature: val,
        wipe_log: Some(LogRef {
            path: log_path.to_owned(),
            sha256: log_sha256.into(),
        }),
    }
}

/// Build the certificate of media destroyed outside the tool.
pub fn from_destruction(info: &CertInfo, d: Destruction) -> Certificate {
    let now = crate::util::now_rfc3339();
    let (op, val) = signatures(info);
    Certificate {
        schema: "salvor-sanitization-certificate/1".into(),
        certificate_id: cert_id(&[&now, &or_nr(&info.serial), &d.method]),
        issued: now.clone(),
        performed_by: info.person.clone(),
        media: Media {
            manufacturer: or_nr(&info.manufacturer),
            model: or_nr(&info.model),
            serial: or_nr(&info.serial),
            property_number: or_nr(&info.property_number),
            media_type: or_nr(&info.media_type),
            source: or_nr(&info.media_source),
            classification: or_nr(&info.classification),
            backed_up: or_nr(&info.backed_up),
            backup_location: or_nr(&info.backup_location),
            device_path: NOT_RECORDED.into(),
            size_bytes: None,
            hidden_areas: "not applicable (physically destroyed)".into(),
        },
        sanitization: Sanitization {
            category: "Destroy".into(),
            method: d.method.clone(),
            details: format!("particle size standard: {}", d.particle_size_standard),
            tool: format!(
                "{} (record only; destruction done outside the tool)",
                crate::TOOL
            ),
            verification: format!("witnessed by {}", d.witness),
            started: d.date.clone(),
            finished: d.date.clone(),
            result: "DESTROYED".into(),
            resumed: Vec::new(),
            seed: None,
            direct_io: None,
            notes: vec![
                "Recorded as stated by the operator and witness; Salvor did not see the media."
                    .into(),
            ],
        },
        passes: Vec::new(),
        destruction: Some(d),
        post_classification: or_nr(&info.post_classification),
        destination: or_nr(&info.destination),
        operator_signature: op,
        validator_signature: val,
        wipe_log: None,
    }
}

/// Write `base.json` and `base.pdf`; returns both paths.
pub fn write(cert: &Certificate, base: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let json = base.with_extension("json");
    let pdf = base.with_extension("pdf");
    std::fs::write(&json, serde_json::to_vec_pretty(cert)?)?;
    std::fs::write(&pdf, super::pdf::render(cert)?)?;
    for p in [&json, &pdf] {
        std::fs::File::open(p)?.sync_all()?;
    }
    Ok((json, pdf))
}
