//! `salvor wipe` and `salvor certify-destruction`.

use super::Exit;
use clap::Args;
use salvor::job::Progress;
use salvor::wipe::certificate::{self, CertInfo, Destruction, Person};
use salvor::wipe::pattern::Method;
use salvor::wipe::safety::{self, TargetKind};
use salvor::wipe::{self, VerifyMode, WipeOptions, WipeResult};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Facts for the certificate that only the operator knows (NIST SP 800-88 Appendix G).
#[derive(Args, Debug, Clone)]
pub struct CertArgs {
    /// Name of the person performing the sanitization.
    #[arg(long)]
    pub operator: Option<String>,
    /// Their title.
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub organization: Option<String>,
    /// Where the work is done.
    #[arg(long)]
    pub location: Option<String>,
    /// Phone or e-mail.
    #[arg(long)]
    pub contact: Option<String>,
    /// The organization's property (asset) number of the media.
    #[arg(long)]
    pub property_number: Option<String>,
    /// Where the media came from (department, case, system).
    #[arg(long)]
    pub media_source: Option<String>,
    /// Classification of the data before sanitization.
    #[arg(long)]
    pub classification: Option<String>,
    /// Whether the data was backed up: yes, no or unknown.
    #[arg(long)]
    pub backed_up: Option<String>,
    /// Where the backup is.
    #[arg(long)]
    pub backup_location: Option<String>,
    /// Classification after sanitization.
    #[arg(long)]
    pub post_classification: Option<String>,
    /// Where the media goes next (reuse, recycling, vendor...).
    #[arg(long)]
    pub destination: Option<String>,
    /// Name of the person validating the sanitization.
    #[arg(long)]
    pub validator: Option<String>,
    /// Folder for the certificate, wipe log and audit log (default: the working folder).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

impl CertArgs {
    fn info(&self) -> CertInfo {
        CertInfo {
            person: Person {
                name: self.operator.clone(),
                title: self.title.clone(),
                organization: self.organization.clone(),
                location: self.location.clone(),
                contact: self.contact.clone(),
            },
            property_number: self.property_number.clone(),
            media_source: self.media_source.clone(),
            classification: self.classification.clone(),
            backed_up: self.backed_up.clone(),
            backup_location: self.backup_location.clone(),
            post_classification: self.post_classification.clone(),
            destination: self.destination.clone(),
            validator: self.validator.clone(),
            ..CertInfo::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct WipeArgs {
    /// Block device or file to overwrite.
    pub target: PathBuf,
    /// zero, one, random, nist-clear, dod-3pass, gutmann, or custom:P,P,... (P = random or hex
    /// bytes such as ff or 924924).
    #[arg(long, value_parser = Method::parse)]
    pub method: Method,
    /// Which passes to read back: all, last, sample (NIST SP 800-88, last pass) or off.
    #[arg(long, value_enum)]
    pub verify: Option<VerifyMode>,
    /// Share of the medium read by --verify sample (10 to 100).
    #[arg(long, default_value_t = 10)]
    pub sample_percent: u32,
    /// Stop verifying at the first mismatching block.
    #[arg(long)]
    pub fail_fast: bool,
    /// The device's serial number or the target's exact path, as typed confirmation.
    #[arg(long)]
    pub confirm: Option<String>,
    /// Check and print the plan; open nothing for writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Finish an interrupted wipe of this target from its wipe log in --out.
    #[arg(long)]
    pub resume: bool,
    /// Bytes per write and read (multiple of 4K).
    #[arg(long, value_parser = salvor::util::parse_size, default_value = "4M")]
    pub block_size: u64,
    /// Seconds between checkpoints in the wipe log (each syncs the medium).
    #[arg(long, default_value_t = 2.0)]
    pub checkpoint_secs: f64,
    /// Pause this many milliseconds after each block (for tests of interruption).
    #[arg(long, hide = true)]
    pub throttle_ms: Option<u64>,
    #[command(flatten)]
    pub cert: CertArgs,
}

#[derive(Args, Debug)]
pub struct CertifyArgs {
    /// How the media was destroyed (shredding, disintegration, incineration, degaussing...).
    #[arg(long)]
    pub method: String,
    /// Particle size standard met, e.g. "DIN 66399 H-5" or "NSA/CSS 02-01".
    #[arg(long)]
    pub particle_size: String,
    /// Name of the witness.
    #[arg(long)]
    pub witness: String,
    /// Date of destruction (default: now).
    #[arg(long)]
    pub date: Option<String>,
    /// Where the destruction took place (default: --location).
    #[arg(long)]
    pub destroyed_at: Option<String>,
    /// Media type (optical disc, HDD, SSD, tape, USB flash...).
    #[arg(long)]
    pub media_type: String,
    #[arg(long)]
    pub manufacturer: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub serial: Option<String>,
    #[command(flatten)]
    pub cert: CertArgs,
}

fn refuse(msg: &str) -> anyhow::Result<Exit> {
    eprintln!("salvor: refused: {}", salvor::util::printable(msg));
    Ok(Exit::Error)
}

pub fn run(args: WipeArgs, quiet: bool) -> anyhow::Result<Exit> {
    let verify = args.verify.unwrap_or(match args.method {
        Method::NistClear => VerifyMode::All,
        _ => VerifyMode::Last,
    });
    let opts = WipeOptions {
        method: args.method.clone(),
        verify,
        sample_percent: args.sample_percent,
        fail_fast: args.fail_fast,
        out: args.cert.out.clone(),
        block_size: usize::try_from(args.block_size).unwrap_or(0),
        resume: args.resume,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        checkpoint_interval: Duration::from_secs_f64(args.checkpoint_secs.clamp(0.0, 3600.0)),
        throttle: args.throttle_ms.map(Duration::from_millis),
        info: args.cert.info(),
    };
    if let Err(e) = wipe::check_options(&opts) {
        return refuse(&e);
    }

    // Safety first, reading only: nothing is opened for writing before all of this passed.
    let facts = match safety::inspect(&args.target) {
        Ok(f) => f,
        Err(e) => return refuse(&format!("{e:#}")),
    };
    let refusals = safety::check(&facts);
    if !refusals.is_empty() {
        for r in &refusals {
            eprintln!(
                "salvor: refused: {}",
                salvor::util::printable(&r.to_string())
            );
        }
        return Ok(Exit::Error);
    }
    if facts.size == 0 {
        return refuse(&format!(
            "{} is empty; there is nothing to wipe",
            facts.path.display()
        ));
    }
    if let Some(c) = &args.confirm {
        if !safety::confirm_matches(&facts, c) {
            return refuse(&format!(
                "--confirm {c:?} does not match {}; it must be {}",
                facts.path.display(),
                safety::confirm_hint(&facts)
            ));
        }
    }
    let passes = opts.method.passes();
    if args.dry_run {
        println!("salvor: dry run, nothing written. Plan:");
        println!(
            "  target   {} ({:?}, {} bytes, media {})",
            facts.path.display(),
            facts.kind,
            facts.size,
            facts.media_type
        );
        for (k, v) in [("model", &facts.model), ("serial", &facts.serial)] {
            println!("  {k:<8} {}", v.as_deref().unwrap_or("unknown"));
        }
        println!("  hidden   {}", facts.hidden_areas);
        println!(
            "  method   {} — {}",
            opts.method.name(),
            opts.method.details()
        );
        for (i, p) in passes.iter().enumerate() {
            println!("  pass {:>2}  {p}", i + 1);
        }
        println!("  verify   {verify:?}");
        println!(
            "  checks   not mounted, not swap, no holders or slaves, not open elsewhere: passed"
        );
        if args.confirm.is_none() {
            println!(
                "  confirm  a real run needs --confirm {}",
                safety::confirm_hint(&facts)
            );
        }
        return Ok(Exit::Found);
    }
    if args.confirm.is_none() {
        return refuse(&format!(
            "wiping {} needs --confirm with {}",
            facts.path.display(),
            safety::confirm_hint(&facts)
        ));
    }
    if facts.kind == TargetKind::BlockDevice
        && matches!(facts.media_type.as_str(), "ssd" | "nvme" | "mmc")
    {
        eprintln!(
            "salvor: warning: {} is flash ({}): overwriting is NIST Clear, not Purge; remapped and \
             spare cells are not reached. Firmware sanitize commands are out of scope.",
            facts.path.display(),
            facts.media_type
        );
    }
    if verify == VerifyMode::Off {
        eprintln!(
            "salvor: warning: --verify off: nothing will be read back; the certificate will say so"
        );
    }

    let progress = Arc::new(Progress::default());
    let outcome = {
        let (opts, facts) = (opts.clone(), facts.clone());
        let phase = |p: &Progress| wipe::phase_label(&passes, p.phase.load(Ordering::Relaxed));
        super::with_progress(quiet, progress, "", phase, move |p| {
            wipe::run(&opts, &facts, p)
        })??
    };
    match outcome.result {
        WipeResult::Interrupted => {
            println!(
                "salvor: wipe of {} interrupted; the checkpoint is in {}; run the same command with --resume to finish it",
                facts.path.display(),
                outcome.log_path.display()
            );
            Ok(Exit::Interrupted)
        }
        r => {
            let cert = outcome.certificate.as_ref();
            if r == WipeResult::Failed {
                for p in cert.map(|c| c.passes.as_slice()).unwrap_or(&[]) {
                    if let Some(v) = p.verification.as_ref().filter(|v| !v.passed) {
                        eprintln!(
                            "salvor: pass {} FAILED verification: {} mismatching and {} unreadable blocks of {} bytes",
                            p.pass, v.mismatched_blocks, v.read_error_blocks, v.block_size
                        );
                        for m in &v.first_mismatches {
                            eprintln!(
                                "salvor:   {} {:#x}..{:#x} ({} bytes)",
                                m.kind,
                                m.start,
                                m.end,
                                m.end - m.start
                            );
                        }
                    }
                }
            }
            println!(
                "salvor: wipe of {} {} ({} passes, {}); certificate {} and {}",
                facts.path.display(),
                if r == WipeResult::Passed {
                    "PASSED"
                } else {
                    "FAILED"
                },
                passes.len(),
                opts.method.name(),
                outcome
                    .json_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                outcome
                    .pdf_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            Ok(if r == WipeResult::Passed {
                Exit::Found
            } else {
                Exit::VerifyFailed
            })
        }
    }
}

pub fn certify(args: CertifyArgs) -> anyhow::Result<Exit> {
    let mut info = args.cert.info();
    info.manufacturer = args.manufacturer.clone();
    info.model = args.model.clone();
    info.serial = args.serial.clone();
    info.media_type = Some(args.media_type.clone());
    let d = Destruction {
        method: args.method.clone(),
        particle_size_standard: args.particle_size.clone(),
        witness: args.witness.clone(),
        date: args.date.clone().unwrap_or_else(salvor::util::now_rfc3339),
        location: args
            .destroyed_at
            .clone()
            .or(args.cert.location.clone())
            .unwrap_or_else(|| certificate::NOT_RECORDED.into()),
    };
    let cert = certificate::from_destruction(&info, d);
    std::fs::create_dir_all(&args.cert.out)?;
    let stamp: String = cert
        .issued
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let base = args.cert.out.join(format!("destruction-{stamp}"));
    let (json, pdf) = certificate::write(&cert, &base)?;
    let mut audit = salvor::audit::AuditLog::open(&args.cert.out)?;
    audit.record(
        "certify-destruction",
        serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "certificate_id": cert.certificate_id,
            "certificate": [
                {"path": json, "sha256": salvor::hashing::sha256_hex(&std::fs::read(&json)?)},
                {"path": pdf, "sha256": salvor::hashing::sha256_hex(&std::fs::read(&pdf)?)},
            ],
        }),
    )?;
    audit.sync()?;
    println!(
        "salvor: destruction recorded: {} and {}",
        json.display(),
        pdf.display()
    );
    Ok(Exit::Found)
}
