//! What the app remembers between runs, kept apart from runtime handles (jobs, channels).

use super::i18n::Lang;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The case fields carried into every record the app writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Case {
    pub case_number: String,
    pub examiner: String,
    pub evidence_number: String,
}

impl Case {
    fn opt(s: &str) -> Option<String> {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    }

    /// As the acquisition record's case block.
    pub fn to_case_info(&self) -> crate::acquire::record::CaseInfo {
        crate::acquire::record::CaseInfo {
            case_number: Case::opt(&self.case_number),
            evidence_number: Case::opt(&self.evidence_number),
            examiner: Case::opt(&self.examiner),
            ..Default::default()
        }
    }

    /// As the certificate's operator facts.
    pub fn to_cert_info(&self) -> crate::wipe::certificate::CertInfo {
        let mut info = crate::wipe::certificate::CertInfo::default();
        info.person.name = Case::opt(&self.examiner);
        info.property_number = Case::opt(&self.evidence_number);
        info.media_source = Case::opt(&self.case_number).map(|c| format!("case {c}"));
        info
    }

    /// A suffix for the command recorded in carve reports and audit logs.
    pub fn command_suffix(&self) -> String {
        let mut s = String::new();
        for (k, v) in [
            ("--case", &self.case_number),
            ("--examiner", &self.examiner),
            ("--evidence", &self.evidence_number),
        ] {
            if let Some(v) = Case::opt(v) {
                s.push_str(&format!(" {k} {v:?}"));
            }
        }
        s
    }
}

/// Persisted settings of the whole app.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub lang: Option<Lang>,
    pub case: Case,
    /// Folder under which new output folders are proposed.
    pub output_root: Option<PathBuf>,
    pub show_log: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lang: None,
            case: Case::default(),
            output_root: None,
            show_log: true,
        }
    }
}

impl Settings {
    /// `$XDG_CONFIG_HOME/salvor/gui.json` (or `~/.config/...`).
    pub fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("salvor").join("gui.json"))
    }

    /// The saved settings, or the defaults when there are none or they do not parse.
    pub fn load() -> Settings {
        Settings::path()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Save; a failure is returned for the log panel.
    pub fn save(&self) -> anyhow::Result<()> {
        let p = Settings::path().ok_or_else(|| anyhow::anyhow!("no HOME to save settings in"))?;
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }
}
