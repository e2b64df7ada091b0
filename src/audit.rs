//! The append-only audit log: one JSON object per line, each holding the SHA-256 of the line
//! before it, so that a removed or edited line breaks the chain.

use crate::hashing::sha256_hex;
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// File name of the audit log inside an output folder.
pub const AUDIT_FILE: &str = "audit.log";

/// Digest standing for "no previous line".
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    file: File,
    prev: String,
    seq: u64,
}

/// Why a log failed verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("{path}: line {line} is not a JSON object")]
    NotJson { path: String, line: u64 },
    #[error(
        "{path}: line {line} says the previous line's SHA-256 is {found}, but it is {expected}"
    )]
    Broken {
        path: String,
        line: u64,
        expected: String,
        found: String,
    },
}

impl AuditLog {
    /// Open (or create) the log in `dir`, continuing the chain of what is already there.
    pub fn open(dir: &Path) -> anyhow::Result<AuditLog> {
        let path = dir.join(AUDIT_FILE);
        let (prev, seq) = match verify(&path) {
            Ok(state) => state,
            Err(e) => anyhow::bail!("{e}; refusing to append to a log whose chain is broken"),
        };
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(AuditLog {
            path,
            file,
            prev,
            seq,
        })
    }

    /// Append one event. `fields` must be a JSON object; chain fields are added to it.
    pub fn record(&mut self, event: &str, fields: Value) -> anyhow::Result<()> {
        let mut obj = json!({
            "seq": self.seq,
            "time": crate::util::now_rfc3339(),
            "tool": crate::TOOL,
            "event": event,
            "prev_sha256": self.prev,
        });
        if let (Some(o), Value::Object(extra)) = (obj.as_object_mut(), fields) {
            o.extend(extra);
        }
        let line = serde_json::to_string(&obj)?;
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.prev = sha256_hex(line.as_bytes());
        self.seq += 1;
        Ok(())
    }

    /// Make everything recorded so far durable.
    pub fn sync(&self) -> anyhow::Result<()> {
        self.file.sync_data()?;
        Ok(())
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Check a log's chain; returns the digest of its last line and the next sequence number.
pub fn verify(path: &Path) -> Result<(String, u64), ChainError> {
    let shown = path.display().to_string();
    let Ok(file) = File::open(path) else {
        return Ok((GENESIS.to_owned(), 0));
    };
    let mut prev = GENESIS.to_owned();
    let mut n = 0u64;
    for line in BufReader::new(file).split(b'\n') {
        let Ok(line) = line else { break };
        n += 1;
        let v: Value = serde_json::from_slice(&line).map_err(|_| ChainError::NotJson {
            path: shown.clone(),
            line: n,
        })?;
        let found = v
            .get("prev_sha256")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if found != prev {
            return Err(ChainError::Broken {
                path: shown,
                line: n,
                expected: prev,
                found,
            });
        }
        prev = sha256_hex(&line);
    }
    Ok((prev, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_holds_and_breaks_on_edit() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = AuditLog::open(dir.path()).unwrap();
            log.record("start", json!({"command": "carve"})).unwrap();
            log.record("end", json!({"exit": 0})).unwrap();
        }
        let mut log = AuditLog::open(dir.path()).unwrap();
        log.record("again", json!({})).unwrap();
        let (_, n) = verify(&dir.path().join(AUDIT_FILE)).unwrap();
        assert_eq!(n, 3);

        let p = dir.path().join(AUDIT_FILE);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"exit\":0", "\"exit\":1");
        std::fs::write(&p, text).unwrap();
        match verify(&p) {
            Err(ChainError::Broken { line, .. }) => assert_eq!(line, 3),
            other => panic!("edit not detected: {other:?}"),
        }
        assert!(AuditLog::open(dir.path()).is_err());
    }
}
