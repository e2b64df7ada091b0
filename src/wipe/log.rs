//! The wipe log: one JSON object per line, each made durable before the next step. It is the
//! checkpoint an interrupted wipe resumes from, and its SHA-256 goes into the certificate.

use super::pattern::Pattern;
use super::safety::TargetFacts;
use super::verify::VerifyRecord;
use super::VerifyMode;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One line of the wipe log.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    /// Everything needed to redo the run: written first.
    Plan {
        time: String,
        tool: String,
        command: String,
        target: Box<TargetFacts>,
        method: String,
        method_details: String,
        passes: Vec<Pattern>,
        /// ChaCha20 key of the random passes, hexadecimal.
        seed: String,
        verify: VerifyMode,
        sample_percent: u32,
        block_size: usize,
        fail_fast: bool,
        direct_io: bool,
    },
    PassStart {
        time: String,
        pass: usize,
    },
    /// Bytes before `offset` of pass `pass` are written and synced to the medium.
    Progress {
        time: String,
        pass: usize,
        offset: u64,
    },
    PassDone {
        time: String,
        pass: usize,
        bytes: u64,
        seconds: f64,
    },
    Verified {
        time: String,
        pass: usize,
        record: VerifyRecord,
    },
    /// The run was picked up again at `pass`, `offset`.
    Resumed {
        time: String,
        pass: usize,
        offset: u64,
    },
    Finished {
        time: String,
        result: String,
    },
}

/// An open wipe log.
pub struct WipeLog {
    pub path: PathBuf,
    file: File,
}

impl WipeLog {
    /// Create a new log; fails if one exists (an unfinished wipe of the same target).
    pub fn create(path: &Path) -> anyhow::Result<WipeLog> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot create the wipe log {}: {e}", path.display()))?;
        Ok(WipeLog {
            path: path.to_owned(),
            file,
        })
    }

    /// Reopen an existing log to append to it, returning what it holds.
    pub fn reopen(path: &Path) -> anyhow::Result<(WipeLog, Vec<Entry>)> {
        let entries = read(path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((
            WipeLog {
                path: path.to_owned(),
                file,
            },
            entries,
        ))
    }

    /// Append one entry and make it durable.
    pub fn append(&mut self, e: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(e)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// Read a log. A torn last line (power cut while writing it) is ignored.
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let f = File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read the wipe log {}: {e}", path.display()))?;
    let mut v = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line?;
        match serde_json::from_str(&line) {
            Ok(e) => v.push(e),
            Err(e) => {
                tracing::warn!(line = i + 1, error = %e, "ignoring an unreadable wipe-log line")
            }
        }
    }
    Ok(v)
}
