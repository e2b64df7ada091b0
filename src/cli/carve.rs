//! `salvor carve`.

use super::Exit;
use clap::Args;
use salvor::carve::{self, CarveOptions};
use salvor::job::Progress;
use salvor::scan::{ScanOptions, PHASES};
use salvor::source::ReadMode;
use salvor_carvers::Limits;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct CarveArgs {
    /// Raw image file or block device (opened read-only).
    pub source: PathBuf,
    /// Output folder (created if missing); must not be on the source device.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Only these types or carvers, comma-separated (e.g. docx,odt or zip).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// Largest object to carve (e.g. 512M, 5G); no limit by default.
    #[arg(long, value_parser = salvor::util::parse_positive_size)]
    pub max_size: Option<u64>,
    /// Write the reports but no carved files.
    #[arg(long)]
    pub report_only: bool,
    /// Print the whole report as JSON on stdout instead of the one-line summary.
    #[arg(long)]
    pub json: bool,
    /// Worker threads, 1 to 256 (default: one per core).
    #[arg(long, value_parser = salvor::util::parse_threads)]
    pub threads: Option<usize>,
    /// Bytes per scan chunk (e.g. 16M).
    #[arg(long, value_parser = salvor::util::parse_chunk_size, default_value = "16M")]
    pub chunk_size: u64,
    /// How to read the source: auto (memory map, else positional reads) or buffered.
    #[arg(long, value_enum, default_value = "auto")]
    pub read: ReadMode,
    /// Largest uncompressed size checked per member (e.g. 64G).
    #[arg(long, value_parser = salvor::util::parse_positive_size)]
    pub max_inflated: Option<u64>,
    /// Most member decodings tried while reassembling one fragmented archive.
    #[arg(long, default_value_t = 4096)]
    pub reassembly_budget: u64,
    /// Largest inflated:compressed ratio accepted before a member counts as a bomb.
    #[arg(long, value_parser = salvor::util::parse_ratio)]
    pub max_ratio: Option<u64>,
}

pub fn run(args: CarveArgs, quiet: bool) -> anyhow::Result<Exit> {
    let mut limits = Limits::default();
    if let Some(m) = args.max_size {
        limits.max_size = m;
    }
    if let Some(m) = args.max_inflated {
        limits.max_inflated = m;
    }
    if let Some(r) = args.max_ratio {
        limits.max_ratio = r;
    }
    let opts = CarveOptions {
        source: args.source.clone(),
        out: args.out.clone(),
        read_mode: args.read,
        scan: ScanOptions {
            chunk_size: args.chunk_size.max(4096),
            threads: args.threads,
            limits,
            types: args.types.clone(),
            reassembly_budget: args.reassembly_budget,
        },
        report_only: args.report_only,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let progress = Arc::new(Progress::default());
    super::on_interrupt(progress.clone());

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = {
        let progress = progress.clone();
        let opts = opts.clone();
        std::thread::spawn(move || {
            let r = carve::run(&opts, &progress);
            let _ = done_tx.send(());
            r
        })
    };
    let bar = (!quiet).then(progress_bar);
    // Redraw every 100 ms, but return as soon as the worker is done.
    while done_rx.recv_timeout(Duration::from_millis(100)).is_err() && !worker.is_finished() {
        if let Some(b) = &bar {
            let p = &progress;
            b.set_length(p.total.load(Ordering::Relaxed).max(1));
            b.set_position(p.done.load(Ordering::Relaxed));
            let phase = PHASES
                .get(p.phase.load(Ordering::Relaxed) as usize)
                .copied()
                .unwrap_or("");
            b.set_message(format!(
                "{phase}, {} found",
                p.found.load(Ordering::Relaxed)
            ));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the carve worker stopped unexpectedly"))??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.one_line(&args.out));
    }
    Ok(if report.interrupted {
        Exit::Interrupted
    } else if report.findings.is_empty() {
        Exit::NothingFound
    } else {
        Exit::Found
    })
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(1), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
