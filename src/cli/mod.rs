//! Command-line parsing, logging set-up, progress display and exit codes.

mod carve;
mod image;
mod repair;
mod verify;
mod wipe;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// How a run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Something was found (or the command succeeded).
    Found = 0,
    /// The run completed and found nothing.
    NothingFound = 1,
    /// The run could not be done.
    Error = 2,
    /// The user interrupted the run; what was found so far is reported.
    Interrupted = 130,
    /// A wipe's verification found blocks that do not hold what was written.
    VerifyFailed = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "salvor",
    version,
    about = "Salvor: acquire, carve and repair damaged media and records",
    long_about = "Salvor finds ZIP-family packages (zip, docx/xlsx/pptx, odt, epub, jar) in raw disk \
images and devices, intact or damaged, and accounts for every byte in DFXML and JSON reports.\n\n\
Exit status: 0 found, 1 nothing found, 2 error, 130 interrupted."
)]
struct Cli {
    /// More log output (-v debug, -vv trace); SALVOR_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find archives in a raw image or block device and write them out with reports.
    Carve(carve::CarveArgs),
    /// Image a disk, optical disc or image file through bad sectors, with a ddrescue mapfile,
    /// digests and an acquisition record (exit 1: finished with unreadable sectors).
    Image(image::ImageArgs),
    /// Print a source's device facts and its ISO 9660 / UDF volume facts.
    Info(image::InfoArgs),
    /// Re-hash an image (optionally re-read its source) and compare with its record.
    VerifyImage(image::VerifyArgs),
    /// Read a whole medium and record read time and errors per block as CSV.
    SurfaceScan(image::SurfaceArgs),
    /// Rebuild a damaged ZIP-family package into a new file, accounting for every member.
    Repair(repair::RepairArgs),
    /// Verify electronic records (SI, 電子封裝檔, DI, SW, .dsicdp, VEO v2/v3) against their
    /// digests and signatures; restore components a benign transform proves (exit 1: broken).
    Verify(verify::VerifyArgs),
    /// Overwrite a device or file, verify it, and write a sanitization certificate.
    Wipe(wipe::WipeArgs),
    /// Record media destroyed outside the tool in a destruction certificate.
    CertifyDestruction(wipe::CertifyArgs),
    /// Open the desktop app (also what `salvor` with no arguments does).
    Gui(GuiArgs),
}

#[derive(clap::Args, Debug, Default)]
struct GuiArgs {
    /// Screen to open first: sources, carve, repair, acquire, surface, destroy, hex.
    #[arg(long)]
    screen: Option<String>,
    /// Preload the bundled demo image (testimages/demo.img) and run each screen's job on it.
    #[arg(long)]
    demo: bool,
    /// Language: en or zh-TW (default: the saved choice, else the system locale).
    #[arg(long)]
    lang: Option<String>,
    /// A source (image file or device) to preselect; with --demo, the acquisition reads it.
    #[arg(long)]
    source: Option<std::path::PathBuf>,
}

fn run_gui(args: GuiArgs) -> anyhow::Result<Exit> {
    salvor::gui::run(salvor::gui::StartOptions {
        screen: args.screen,
        demo: args.demo,
        lang: args.lang,
        source: args.source,
    })?;
    Ok(Exit::Found)
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("SALVOR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Found.into()
            };
        }
    };
    init_logging(cli.verbose, cli.quiet);
    let result = match cli.command {
        None => run_gui(GuiArgs::default()),
        Some(Command::Gui(args)) => run_gui(args),
        Some(Command::Carve(args)) => carve::run(args, cli.quiet),
        Some(Command::Image(args)) => image::run_image(args, cli.quiet),
        Some(Command::Info(args)) => image::run_info(args),
        Some(Command::VerifyImage(args)) => image::run_verify(args, cli.quiet),
        Some(Command::SurfaceScan(args)) => image::run_surface(args, cli.quiet),
        Some(Command::Repair(args)) => repair::run(args),
        Some(Command::Verify(args)) => verify::run(args),
        Some(Command::Wipe(args)) => wipe::run(args, cli.quiet),
        Some(Command::CertifyDestruction(args)) => wipe::certify(args),
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!(
                "salvor: error: {}",
                salvor::util::printable(&format!("{e:#}"))
            );
            Exit::Error.into()
        }
    }
}

/// Install a Ctrl-C handler: the first press asks the job to stop cleanly, the second exits.
pub fn on_interrupt(progress: std::sync::Arc<salvor::job::Progress>) {
    let presses = std::sync::atomic::AtomicU32::new(0);
    let _ = ctrlc::set_handler(move || {
        if presses.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            eprintln!("\nsalvor: interrupted; finishing the report of what was found so far (Ctrl-C again to quit now)");
            progress.request_cancel();
        } else {
            std::process::exit(Exit::Interrupted as i32);
        }
    });
}

/// Run `job` on a worker thread while a progress bar on stderr shows bytes, rate and ETA, with
/// `message` describing where the job is. Returns as soon as the job ends; Ctrl-C asks it to stop.
pub fn with_progress<T: Send + 'static>(
    quiet: bool,
    progress: std::sync::Arc<salvor::job::Progress>,
    bytes_label: &str,
    message: impl Fn(&salvor::job::Progress) -> String,
    job: impl FnOnce(&salvor::job::Progress) -> T + Send + 'static,
) -> anyhow::Result<T> {
    use std::sync::atomic::Ordering;
    on_interrupt(progress.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let progress = progress.clone();
        std::thread::spawn(move || {
            let r = job(&progress);
            let _ = tx.send(());
            r
        })
    };
    let bar = (!quiet).then(|| progress_bar(bytes_label));
    while rx
        .recv_timeout(std::time::Duration::from_millis(100))
        .is_err()
        && !worker.is_finished()
    {
        if let Some(b) = &bar {
            b.set_length(progress.total.load(Ordering::Relaxed).max(1));
            b.set_position(progress.done.load(Ordering::Relaxed));
            b.set_message(message(&progress));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("the worker stopped unexpectedly"))
}

fn progress_bar(bytes_label: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(1), indicatif::ProgressDrawTarget::stderr());
    let template = format!(
        "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{bytes}}/{{total_bytes}}{bytes_label} {{binary_bytes_per_sec}} ETA {{eta}} {{msg}}"
    );
    let style = indicatif::ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
