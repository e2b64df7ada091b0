//! `salvor image`, `salvor info`, `salvor verify-image` and `salvor surface-scan`.

use super::Exit;
use clap::Args;
use salvor::acquire::hash::Algo;
use salvor::acquire::io::Direct;
use salvor::acquire::record::CaseInfo;
use salvor::acquire::rescue::PHASES;
use salvor::acquire::{self, device, Ending, ImageOptions};
use salvor::job::Progress;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// Block device or image file to read (opened read-only).
    pub source: PathBuf,
    /// The raw image to write (exactly the source's size).
    pub dest: PathBuf,
    /// GNU ddrescue mapfile; an existing one (Salvor's or ddrescue's) is resumed.
    #[arg(long, default_value = None, help = "Mapfile (default DEST.map); resumed when it exists")]
    pub map: Option<PathBuf>,
    /// Digests to compute, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "md5,sha1,sha256,blake3"
    )]
    pub hash: Vec<Algo>,
    /// Re-hash the finished image (direct I/O where possible) and compare.
    #[arg(long)]
    pub verify: bool,
    /// Passes over bad sectors after scraping.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
    /// Retry passes alternate direction, starting backwards.
    #[arg(long)]
    pub reverse: bool,
    /// Bytes per read in the copy phase.
    #[arg(long, value_parser = salvor::util::parse_size, default_value = "1M")]
    pub block_size: u64,
    /// Bytes per read when trimming, scraping and retrying (default: the logical sector size;
    /// 512 for files, 2048 for optical media).
    #[arg(long, value_parser = salvor::util::parse_size)]
    pub sector_size: Option<u64>,
    /// Direct I/O: auto (block devices only), on, off.
    #[arg(long, value_enum, default_value = "auto")]
    pub direct: Direct,
    /// Seconds between mapfile saves.
    #[arg(long, default_value_t = 5.0)]
    pub map_interval: f64,
    /// Largest read rate in bytes per second (e.g. 20M), to spare a failing drive.
    #[arg(long, value_parser = salvor::util::parse_size)]
    pub max_rate: Option<u64>,
    /// Also write one digest per piece of this size to DEST.pieces.csv (e.g. 64M).
    #[arg(long, value_parser = salvor::util::parse_size)]
    pub piecewise: Option<u64>,
    /// Accept a mapfile that covers more than the source and cut it to the source's size.
    #[arg(long)]
    pub truncate_map: bool,
    #[command(flatten)]
    pub case: CaseInfo,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Block device or image file.
    pub source: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The image to re-hash.
    pub image: PathBuf,
    /// Its acquisition record (DEST.json).
    pub record: PathBuf,
    /// Also re-read this source (bad areas from the record count as zeros) and compare.
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SurfaceArgs {
    /// Block device or image file to read (read-only).
    pub source: PathBuf,
    /// CSV output (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Bytes per timed read.
    #[arg(long, value_parser = salvor::util::parse_size, default_value = "1M")]
    pub block_size: u64,
    /// Sector size for counting bad sectors (default: the logical sector size).
    #[arg(long, value_parser = salvor::util::parse_size)]
    pub sector_size: Option<u64>,
    /// Direct I/O: auto (block devices only), on, off.
    #[arg(long, value_enum, default_value = "auto")]
    pub direct: Direct,
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Run `job` on a worker thread while a progress bar shows rate, ETA, rescued and bad bytes.
fn with_progress<T: Send + 'static>(
    quiet: bool,
    progress: Arc<Progress>,
    job: impl FnOnce(&Progress) -> T + Send + 'static,
) -> anyhow::Result<T> {
    let message = |p: &Progress| {
        let phase = PHASES
            .get(p.phase.load(Ordering::Relaxed) as usize)
            .copied()
            .unwrap_or("");
        format!(
            "{phase}, bad {}",
            indicatif::BinaryBytes(p.found.load(Ordering::Relaxed))
        )
    };
    super::with_progress(quiet, progress, " good", message, job)
}

pub fn run_image(args: ImageArgs, quiet: bool) -> anyhow::Result<Exit> {
    let opts = ImageOptions {
        source: args.source,
        dest: args.dest,
        map: args.map,
        hashes: args.hash,
        verify: args.verify,
        retries: args.retries,
        reverse: args.reverse,
        block: args.block_size.max(512),
        sector: args.sector_size,
        direct: args.direct,
        map_interval: Duration::from_secs_f64(args.map_interval.max(0.0)),
        max_rate: args.max_rate,
        piecewise: args.piecewise,
        truncate_map: args.truncate_map,
        case: args.case,
        command: command_line(),
    };
    let progress = Arc::new(Progress::default());
    let (rec, ending) = with_progress(quiet, progress, move |p| acquire::image(&opts, p))??;
    let hashes: Vec<String> = rec.hashes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "{}: {} of {} bytes rescued, {} bad sectors{}{}",
        rec.image,
        rec.rescued_bytes,
        rec.size,
        rec.bad_sectors,
        if hashes.is_empty() {
            String::new()
        } else {
            format!("; {}", hashes.join("; "))
        },
        match rec.verified {
            Some(true) => "; verified",
            Some(false) => "; VERIFICATION FAILED",
            None => "",
        }
    );
    if ending == Ending::Interrupted {
        eprintln!(
            "salvor: interrupted; the mapfile {} is saved: run the same command to resume",
            rec.mapfile
        );
    }
    Ok(match (ending, rec.verified) {
        (_, Some(false)) => Exit::Error,
        (Ending::Complete, _) => Exit::Found,
        (Ending::CompleteWithBadSectors, _) => Exit::NothingFound,
        (Ending::Interrupted, _) => Exit::Interrupted,
    })
}

pub fn run_info(args: InfoArgs) -> anyhow::Result<Exit> {
    let facts = device::probe(&args.source)?;
    let volumes = device::volumes(&args.source);
    if args.json {
        let v = serde_json::json!({"source": facts, "volumes": volumes});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Exit::Found);
    }
    let (s, v) = salvor::acquire::record::Record::facts(&facts, &volumes);
    let mut rec_text = String::new();
    print_obj(&mut rec_text, "", &s);
    if v.as_object().is_some_and(|o| !o.is_empty()) {
        print_obj(&mut rec_text, "", &v);
    } else {
        rec_text.push_str("no ISO 9660 or UDF volume found\n");
    }
    print!("{rec_text}");
    Ok(Exit::Found)
}

fn print_obj(out: &mut String, indent: &str, v: &serde_json::Value) {
    use std::fmt::Write;
    let Some(o) = v.as_object() else { return };
    for (k, v) in o {
        match v {
            serde_json::Value::Object(_) => {
                let _ = writeln!(out, "{indent}{k}:");
                print_obj(out, &format!("{indent}  "), v);
            }
            serde_json::Value::String(t) => {
                let _ = writeln!(out, "{indent}{k}: {}", salvor::util::printable(t));
            }
            other => {
                let _ = writeln!(out, "{indent}{k}: {other}");
            }
        }
    }
}

pub fn run_verify(args: VerifyArgs, quiet: bool) -> anyhow::Result<Exit> {
    let progress = Arc::new(Progress::default());
    let (image, record, source) = (args.image, args.record, args.source);
    let v = with_progress(quiet, progress, move |p| {
        acquire::verify_image(&image, &record, source.as_deref(), p)
    })??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (k, (want, got)) in &v.image_hashes {
            let ok = if want == got { "ok" } else { "MISMATCH" };
            println!("image  {k:<7} {ok:<8} recorded {want} found {got}");
        }
        for (k, (want, got)) in v.source_hashes.iter().flatten() {
            let ok = if want == got { "ok" } else { "MISMATCH" };
            println!("source {k:<7} {ok:<8} recorded {want} found {got}");
        }
        if v.size_expected != v.size_found {
            println!(
                "size: recorded {} bytes, image has {}",
                v.size_expected, v.size_found
            );
        }
        println!(
            "{}",
            if v.matches {
                "verified"
            } else {
                "NOT verified"
            }
        );
    }
    Ok(if v.matches {
        Exit::Found
    } else {
        Exit::NothingFound
    })
}

pub fn run_surface(args: SurfaceArgs, quiet: bool) -> anyhow::Result<Exit> {
    let progress = Arc::new(Progress::default());
    let (source, block, sector, direct, out_path) = (
        args.source,
        args.block_size,
        args.sector_size,
        args.direct,
        args.out,
    );
    let sum = with_progress(quiet, progress, move |p| -> anyhow::Result<_> {
        let mut out: Box<dyn std::io::Write> = match &out_path {
            Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        acquire::surface::scan(&source, block, sector, direct, &mut out, p)
    })??;
    eprintln!(
        "salvor: surface scan: {} blocks, {} with errors, {} bad sectors, slowest block {} µs, {:.1} s",
        sum.blocks, sum.bad_blocks, sum.bad_sectors, sum.slowest_block_us, sum.seconds
    );
    Ok(if sum.interrupted {
        Exit::Interrupted
    } else if sum.bad_sectors > 0 {
        Exit::NothingFound
    } else {
        Exit::Found
    })
}
