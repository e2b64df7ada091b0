//! Progress counters and cancellation shared between a long job and whoever watches it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live state of one long job. Workers update it; a progress bar or the GUI reads it.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes processed so far.
    pub done: AtomicU64,
    /// Bytes to process in all.
    pub total: AtomicU64,
    /// Findings so far.
    pub found: AtomicU64,
    /// Set to ask the job to stop at the next safe point.
    pub cancel: AtomicBool,
    /// Current phase, as an index into the job's own list of phase names.
    pub phase: AtomicU64,
}

impl Progress {
    /// True once cancellation was requested.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Ask the job to stop.
    pub fn request_cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Add processed bytes.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}
