//! A long engine job on its own thread, watched through the engine's `Progress`.

use crate::job::Progress;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running (or finished, not yet collected) job producing `T`.
pub struct Job<T> {
    pub progress: Arc<Progress>,
    handle: Option<JoinHandle<anyhow::Result<T>>>,
    started: Instant,
}

impl<T: Send + 'static> Job<T> {
    /// Start `work` on a thread; the window is repainted when it ends.
    pub fn spawn(
        ctx: &egui::Context,
        work: impl FnOnce(&Progress) -> anyhow::Result<T> + Send + 'static,
    ) -> Job<T> {
        let progress = Arc::new(Progress::default());
        let p = progress.clone();
        let ctx = ctx.clone();
        let handle = std::thread::spawn(move || {
            let r = work(&p);
            ctx.request_repaint();
            r
        });
        Job {
            progress,
            handle: Some(handle),
            started: Instant::now(),
        }
    }

    /// The result once the thread has ended (taken once).
    pub fn poll(&mut self) -> Option<anyhow::Result<T>> {
        if !self.handle.as_ref()?.is_finished() {
            return None;
        }
        let h = self.handle.take()?;
        Some(
            h.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the job's thread stopped unexpectedly"))),
        )
    }

    /// Ask the job to stop at its next safe point.
    pub fn cancel(&self) {
        self.progress.request_cancel();
    }

    /// Counters as shown to the user.
    pub fn stats(&self) -> Stats {
        let p = &self.progress;
        Stats {
            done: p.done.load(Ordering::Relaxed),
            total: p.total.load(Ordering::Relaxed),
            found: p.found.load(Ordering::Relaxed),
            phase: p.phase.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
            cancelled: p.cancelled(),
        }
    }
}

/// A snapshot of a job's counters.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub done: u64,
    pub total: u64,
    pub found: u64,
    pub phase: u64,
    pub elapsed: Duration,
    pub cancelled: bool,
}

impl Stats {
    /// Fraction done, 0 to 1.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32
        }
    }

    /// Bytes per second since the start.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.done as f64 / s
        } else {
            0.0
        }
    }

    /// Time left at the average rate, when it can be estimated.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        (rate > 0.0 && self.total >= self.done)
            .then(|| Duration::from_secs_f64((self.total - self.done) as f64 / rate))
    }
}
