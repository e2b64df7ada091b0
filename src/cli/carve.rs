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
    /// Most member decodings tried while reassembling one fragmented archive (0: no reassembly).
    #[arg(long, default_value_t = 4096)]
    pub reassembly_budget: u64,
    /// Also search for the files a manifest lists, by size and digest: a sha1sum/sha256sum or
    /// BagIt manifest, `DIGEST<TAB>SIZE<TAB>NAME` lines, or `auto` for the manifests of carved
    /// records. Found files go to DIR/manifest/.
    #[arg(long, value_name = "FILE|auto")]
    pub manifest: Option<PathBuf>,
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
        manifest: args.manifest.clone().map(|p| {
            if p.as_os_str() == "auto" && !p.exists() {
                salvor::manifest::ManifestSource::Auto
            } else {
                salvor::manifest::ManifestSource::File(p)
            }
        }),
    };
    let progress = Arc::new(Progress::default());
    let report = super::with_progress(
        quiet,
        progress,
        "",
        |p| {
            let phase = PHASES
                .get(p.phase.load(Ordering::Relaxed) as usize)
                .copied()
                .unwrap_or("");
            format!("{phase}, {} found", p.found.load(Ordering::Relaxed))
        },
        move |p| carve::run(&opts, p),
    )??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.one_line(&args.out));
    }
    Ok(if report.interrupted {
        Exit::Interrupted
    } else if report.findings.is_empty() && report.manifest.as_ref().is_none_or(|m| m.found == 0) {
        Exit::NothingFound
    } else {
        Exit::Found
    })
}
