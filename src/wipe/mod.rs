//! The wipe job: safety checks, passes written with direct I/O, verification that reads the
//! medium, a checkpointed wipe log, and a sanitization certificate.
//!
//! Order of a run: `safety::inspect` and `safety::check` (reads only) → the caller's
//! confirmation → `run` opens the target, writes each pass, verifies what the options ask,
//! and writes the certificate (JSON and PDF) next to the wipe log and the audit log.

pub mod certificate;
pub mod device;
pub mod log;
pub mod pattern;
pub mod pdf;
pub mod safety;
pub mod verify;

use crate::audit::AuditLog;
use crate::job::Progress;
use device::{AlignedBuf, Device, ALIGN};
use log::{Entry, WipeLog};
use pattern::{Method, Pattern};
use safety::TargetFacts;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use verify::VerifyRecord;

/// Which passes are read back.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyMode {
    /// Every byte of every pass.
    All,
    /// Every byte of the last pass.
    Last,
    /// A NIST SP 800-88 sample of the last pass (at least 10 %, first and last blocks).
    Sample,
    /// No read-back (refused for methods that include verification).
    Off,
}

/// Everything a wipe needs besides the target's facts.
#[derive(Debug, Clone)]
pub struct WipeOptions {
    pub method: Method,
    pub verify: VerifyMode,
    pub sample_percent: u32,
    pub fail_fast: bool,
    /// Folder for the wipe log, certificate and audit log.
    pub out: PathBuf,
    pub block_size: usize,
    pub resume: bool,
    pub command: String,
    /// Seconds between checkpoints (each one syncs the medium).
    pub checkpoint_interval: Duration,
    /// Pause after each block (tests use it to interrupt a run midway).
    pub throttle: Option<Duration>,
    pub info: certificate::CertInfo,
}

/// Why a combination of options is refused before anything is opened.
pub fn check_options(o: &WipeOptions) -> Result<(), String> {
    if let Some(req) = o.method.required_verify() {
        let ok = match req {
            "all" => o.verify == VerifyMode::All,
            _ => matches!(o.verify, VerifyMode::All | VerifyMode::Last),
        };
        if !ok {
            return Err(format!(
                "--method {} includes verification of every byte ({}); --verify {} would not do it",
                o.method.name(),
                if req == "all" {
                    "--verify all"
                } else {
                    "--verify last or all"
                },
                verify_name(o.verify)
            ));
        }
    }
    if o.verify == VerifyMode::Sample && !(10..=100).contains(&o.sample_percent) {
        return Err(format!(
            "--sample-percent {} would not verify a NIST SP 800-88 sample: use 10 to 100",
            o.sample_percent
        ));
    }
    if o.block_size < ALIGN || !o.block_size.is_multiple_of(ALIGN) || o.block_size > 256 << 20 {
        return Err("--block-size must be a multiple of 4K between 4K and 256M".into());
    }
    Ok(())
}

fn verify_name(v: VerifyMode) -> &'static str {
    match v {
        VerifyMode::All => "all",
        VerifyMode::Last => "last",
        VerifyMode::Sample => "sample",
        VerifyMode::Off => "off",
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum WipeResult {
    /// Every pass written; every verification asked for matched.
    Passed,
    /// A verification found mismatches or unreadable blocks, or a write failed.
    Failed,
    /// Stopped by the user; resumable.
    Interrupted,
}

/// What a finished (or interrupted) run produced.
#[derive(Debug)]
pub struct WipeOutcome {
    pub result: WipeResult,
    pub certificate: Option<certificate::Certificate>,
    pub json_path: Option<PathBuf>,
    pub pdf_path: Option<PathBuf>,
    pub log_path: PathBuf,
}

/// Phase shown to a progress display: `2 * pass` while writing, `2 * pass + 1` while verifying.
pub fn phase_label(passes: &[Pattern], phase: u64) -> String {
    let i = (phase / 2) as usize;
    let p = passes.get(i).map(|p| p.to_string()).unwrap_or_default();
    if phase.is_multiple_of(2) {
        format!("pass {}/{} {p}", i + 1, passes.len())
    } else {
        format!("verifying pass {}/{}", i + 1, passes.len())
    }
}

/// Name of the in-progress wipe log of a target inside `out`.
pub fn log_path(out: &Path, facts: &TargetFacts) -> PathBuf {
    let name: String = facts
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "target".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.join(format!("wipe-{name}.log"))
}

/// Where a run stands, rebuilt from the wipe log.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub pass_started: Vec<Option<String>>,
    pub pass_done: Vec<Option<(String, u64, f64)>>,
    pub verified: Vec<Option<(String, VerifyRecord)>>,
    /// Pass in progress and how far it is synced.
    pub current: Option<(usize, u64)>,
    pub resumes: Vec<(String, usize, u64)>,
}

impl State {
    fn new(passes: usize) -> State {
        State {
            pass_started: vec![None; passes],
            pass_done: vec![None; passes],
            verified: vec![None; passes],
            ..State::default()
        }
    }

    fn apply(&mut self, e: &Entry) {
        match e {
            Entry::PassStart { time, pass } => {
                if self.pass_started[*pass].is_none() {
                    self.pass_started[*pass] = Some(time.clone());
                }
                self.current = Some((*pass, 0));
            }
            Entry::Progress { pass, offset, .. } => self.current = Some((*pass, *offset)),
            Entry::PassDone {
                time,
                pass,
                bytes,
                seconds,
            } => {
                self.pass_done[*pass] = Some((time.clone(), *bytes, *seconds));
                self.current = None;
            }
            Entry::Verified { time, pass, record } => {
                self.verified[*pass] = Some((time.clone(), record.clone()))
            }
            Entry::Resumed { time, pass, offset } => {
                self.resumes.push((time.clone(), *pass, *offset))
            }
            Entry::Plan { .. } | Entry::Finished { .. } => {}
        }
    }
}

/// Which passes get verified, and how.
fn verify_plan(mode: VerifyMode, passes: usize, pass: usize) -> Option<bool> {
    let last = pass + 1 == passes;
    match mode {
        VerifyMode::All => Some(false),
        VerifyMode::Last if last => Some(false),
        VerifyMode::Sample if last => Some(true),
        _ => None,
    }
}

/// Run (or resume) a wipe of a target that passed every safety check and was confirmed.
pub fn run(
    opts: &WipeOptions,
    facts: &TargetFacts,
    progress: &Progress,
) -> anyhow::Result<WipeOutcome> {
    std::fs::create_dir_all(&opts.out)?;
    let lpath = log_path(&opts.out, facts);
    let mut audit = AuditLog::open(&opts.out)?;

    // A new run writes its plan; a resumed one reads it back and must be about the same target.
    let (mut wlog, plan, mut state) = if opts.resume {
        let (wlog, entries) = WipeLog::reopen(&lpath).map_err(|e| {
            anyhow::anyhow!(
                "nothing to resume: {e} (no interrupted wipe of this target in {})",
                opts.out.display()
            )
        })?;
        let Some(plan @ Entry::Plan { .. }) = entries.first().cloned() else {
            anyhow::bail!(
                "{} does not start with a plan; cannot resume from it",
                lpath.display()
            );
        };
        if let Entry::Plan { target, .. } = &plan {
            if target.canonical != facts.canonical
                || target.size != facts.size
                || target.serial != facts.serial
            {
                anyhow::bail!(
                    "{} was started on {} ({} bytes, serial {:?}), not on this target; refusing to resume",
                    lpath.display(),
                    target.canonical.display(),
                    target.size,
                    target.serial
                );
            }
        }
        let Entry::Plan { passes, .. } = &plan else {
            unreachable!()
        };
        let mut st = State::new(passes.len());
        for e in &entries {
            st.apply(e);
        }
        if entries.iter().any(|e| matches!(e, Entry::Finished { .. })) {
            anyhow::bail!(
                "{} records a finished wipe; nothing to resume",
                lpath.display()
            );
        }
        (wlog, plan, st)
    } else {
        if lpath.exists() {
            anyhow::bail!(
                "an interrupted wipe of {} is recorded in {}: add --resume to finish it, or remove that log",
                facts.path.display(),
                lpath.display()
            );
        }
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
            .map_err(|e| anyhow::anyhow!("cannot read a seed from /dev/urandom: {e}"))?;
        let passes = opts.method.passes();
        let plan = Entry::Plan {
            time: crate::util::now_rfc3339(),
            tool: crate::TOOL.into(),
            command: opts.command.clone(),
            target: Box::new(facts.clone()),
            method: opts.method.name(),
            method_details: opts.method.details().into(),
            passes: passes.clone(),
            seed: hex::encode(seed),
            verify: opts.verify,
            sample_percent: opts.sample_percent,
            block_size: opts.block_size,
            fail_fast: opts.fail_fast,
            direct_io: false,
        };
        (WipeLog::create(&lpath)?, plan, State::new(passes.len()))
    };
    let Entry::Plan {
        passes,
        seed,
        verify: vmode,
        sample_percent,
        block_size,
        fail_fast,
        ..
    } = plan.clone()
    else {
        unreachable!()
    };
    let seed: [u8; 32] = hex::decode(&seed)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("the wipe log's seed is not 32 hexadecimal bytes"))?;

    let dev = Device::open(
        &facts.path,
        facts.kind == safety::TargetKind::BlockDevice,
        facts.size,
    )?;
    if !opts.resume {
        let mut p = plan.clone();
        if let Entry::Plan { direct_io, .. } = &mut p {
            *direct_io = dev.is_direct();
        }
        wlog.append(&p)?;
        audit.record(
            "wipe-start",
            serde_json::json!({"command": opts.command, "target": facts, "method": opts.method.name(),
                "verify": vmode, "wipe_log": lpath.file_name().map(|n| n.to_string_lossy())}),
        )?;
    } else {
        let (pass, offset) = state
            .current
            .or_else(|| {
                state
                    .pass_done
                    .iter()
                    .position(Option::is_none)
                    .map(|p| (p, 0))
            })
            .unwrap_or((passes.len(), 0));
        let time = crate::util::now_rfc3339();
        wlog.append(&Entry::Resumed {
            time: time.clone(),
            pass,
            offset,
        })?;
        state.resumes.push((time, pass, offset));
        audit.record(
            "wipe-resume",
            serde_json::json!({"command": opts.command, "target": facts, "pass": pass, "offset": offset}),
        )?;
    }
    audit.sync()?;

    // Progress counts every byte to write and to read back.
    let size = facts.size;
    let sample =
        (vmode == VerifyMode::Sample).then(|| verify::sample_ranges(size, sample_percent, &seed));
    let verify_bytes = |sampled: bool| match (&sample, sampled) {
        (Some(r), true) => r.iter().map(|(a, b)| b - a).sum(),
        _ => size,
    };
    let total: u64 = (0..passes.len())
        .map(|i| size + verify_plan(vmode, passes.len(), i).map_or(0, verify_bytes))
        .sum();
    progress.total.store(total, Ordering::Relaxed);

    let mut result = WipeResult::Passed;
    'passes: for (i, pat) in passes.iter().enumerate() {
        progress.phase.store(2 * i as u64, Ordering::Relaxed);
        if state.pass_done[i].is_none() {
            let from = match state.current {
                Some((p, off)) if p == i => off,
                _ => 0,
            };
            progress.advance(from);
            if state.pass_started[i].is_none() {
                let time = crate::util::now_rfc3339();
                wlog.append(&Entry::PassStart {
                    time: time.clone(),
                    pass: i,
                })?;
                state.pass_started[i] = Some(time);
            }
            let t0 = Instant::now();
            match write_pass(
                &dev, pat, &seed, i, from, block_size, opts, progress, &mut wlog,
            )? {
                Flow::Done => {}
                Flow::Stopped => {
                    result = WipeResult::Interrupted;
                    break 'passes;
                }
            }
            let e = Entry::PassDone {
                time: crate::util::now_rfc3339(),
                pass: i,
                bytes: size,
                seconds: t0.elapsed().as_secs_f64(),
            };
            wlog.append(&e)?;
            state.apply(&e);
            audit.record(
                "wipe-pass",
                serde_json::json!({"pass": i + 1, "pattern": pat.to_string(), "bytes": size}),
            )?;
        } else {
            progress.advance(size);
        }

        let Some(sampled) = verify_plan(vmode, passes.len(), i) else {
            continue;
        };
        progress.phase.store(2 * i as u64 + 1, Ordering::Relaxed);
        if state.verified[i].is_some() {
            progress.advance(verify_bytes(sampled));
            continue;
        }
        let ranges = match (&sample, sampled) {
            (Some(r), true) => r.clone(),
            _ => vec![(0, size)],
        };
        let label = if sampled {
            format!("sample {sample_percent}%")
        } else {
            "all".into()
        };
        let Some(rec) = verify_pass(
            &dev, pat, &seed, &ranges, &label, block_size, fail_fast, progress,
        )?
        else {
            result = WipeResult::Interrupted;
            break 'passes;
        };
        let failed = rec.failed();
        let e = Entry::Verified {
            time: crate::util::now_rfc3339(),
            pass: i,
            record: rec.clone(),
        };
        wlog.append(&e)?;
        state.apply(&e);
        audit.record(
            "wipe-verify",
            serde_json::json!({"pass": i + 1, "passed": rec.passed, "mismatched_blocks": rec.mismatched_blocks,
                "read_error_blocks": rec.read_error_blocks, "first_mismatches": rec.first_mismatches}),
        )?;
        if failed {
            result = WipeResult::Failed;
            if fail_fast {
                break 'passes;
            }
        }
    }

    if result == WipeResult::Interrupted {
        audit.record(
            "wipe-interrupted",
            serde_json::json!({"wipe_log": lpath, "resume": "run the same command with --resume"}),
        )?;
        audit.sync()?;
        return Ok(WipeOutcome {
            result,
            certificate: None,
            json_path: None,
            pdf_path: None,
            log_path: lpath,
        });
    }

    // Finish: close the log under its final name, then write and record the certificate.
    let finished = crate::util::now_rfc3339();
    let res_name = if result == WipeResult::Passed {
        "PASSED"
    } else {
        "FAILED"
    };
    wlog.append(&Entry::Finished {
        time: finished.clone(),
        result: res_name.into(),
    })?;
    drop(wlog);
    let stamp: String = finished
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let stem = lpath
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let final_log = opts.out.join(format!("{stem}-{stamp}.log"));
    std::fs::rename(&lpath, &final_log)?;
    let log_bytes = std::fs::read(&final_log)?;
    let entries = log::read(&final_log)?;

    let cert = certificate::from_wipe(
        &opts.info,
        &entries,
        &state,
        result,
        &final_log,
        &crate::hashing::sha256_hex(&log_bytes),
    );
    let base = opts.out.join(format!(
        "certificate-{}-{stamp}",
        stem.trim_start_matches("wipe-")
    ));
    let (json_path, pdf_path) = certificate::write(&cert, &base)?;
    audit.record(
        "wipe-end",
        serde_json::json!({
            "result": res_name,
            "wipe_log": {"path": final_log, "sha256": cert.wipe_log.as_ref().map(|l| l.sha256.clone())},
            "certificate": [
                {"path": json_path, "sha256": crate::hashing::sha256_hex(&std::fs::read(&json_path)?)},
                {"path": pdf_path, "sha256": crate::hashing::sha256_hex(&std::fs::read(&pdf_path)?)},
            ],
        }),
    )?;
    audit.sync()?;
    Ok(WipeOutcome {
        result,
        certificate: Some(cert),
        json_path: Some(json_path),
        pdf_path: Some(pdf_path),
        log_path: final_log,
    })
}

enum Flow {
    Done,
    Stopped,
}

/// Blocks `(offset, len)` covering `ranges`, `block` bytes at most each.
fn blocks(ranges: &[(u64, u64)], block: usize) -> Vec<(u64, usize)> {
    let mut v = Vec::new();
    for &(a, b) in ranges {
        let mut o = a;
        while o < b {
            let n = (b - o).min(block as u64) as usize;
            v.push((o, n));
            o += n as u64;
        }
    }
    v
}

/// Run `produce` on a helper thread and `consume` here, over three rotating aligned buffers,
/// so that generating or reading the next block overlaps with handling this one. `consume`
/// returns false to stop.
fn pipeline<P, C>(
    work: &[(u64, usize)],
    block: usize,
    produce: P,
    mut consume: C,
) -> anyhow::Result<bool>
where
    P: Fn(u64, &mut [u8]) -> std::io::Result<()> + Sync,
    C: FnMut(u64, &[u8], std::io::Result<()>) -> anyhow::Result<bool>,
{
    let (free_tx, free_rx) = mpsc::channel::<AlignedBuf>();
    let (full_tx, full_rx) = mpsc::sync_channel::<(u64, usize, AlignedBuf, std::io::Result<()>)>(2);
    for _ in 0..3 {
        let _ = free_tx.send(AlignedBuf::new(block));
    }
    std::thread::scope(|s| {
        let produce = &produce;
        s.spawn(move || {
            for &(off, len) in work {
                let Ok(mut buf) = free_rx.recv() else { return };
                let r = produce(off, &mut buf.as_mut_slice()[..len]);
                if full_tx.send((off, len, buf, r)).is_err() {
                    return;
                }
            }
        });
        for (off, len, buf, r) in full_rx.iter() {
            if !consume(off, &buf.as_slice()[..len], r)? {
                return Ok(false);
            }
            let _ = free_tx.send(buf);
        }
        Ok(true)
    })
}

#[allow(clippy::too_many_arguments)]
fn write_pass(
    dev: &Device,
    pat: &Pattern,
    seed: &[u8; 32],
    pass: usize,
    from: u64,
    block: usize,
    opts: &WipeOptions,
    progress: &Progress,
    wlog: &mut WipeLog,
) -> anyhow::Result<Flow> {
    let work = blocks(&[(from, dev.size)], block);
    let mut last_cp = Instant::now();
    let mut stopped = false;
    pipeline(
        &work,
        block,
        |off, buf| {
            pat.fill(seed, off, buf);
            Ok(())
        },
        |off, buf, _| {
            dev.write_at(off, buf).map_err(|e| {
                anyhow::anyhow!("write failed at offset {off:#x} ({} bytes): {e}", buf.len())
            })?;
            progress.advance(buf.len() as u64);
            if let Some(t) = opts.throttle {
                std::thread::sleep(t);
            }
            let end = off + buf.len() as u64;
            let cancel = progress.cancelled();
            if cancel || last_cp.elapsed() >= opts.checkpoint_interval {
                dev.sync()?;
                wlog.append(&Entry::Progress {
                    time: crate::util::now_rfc3339(),
                    pass,
                    offset: end,
                })?;
                last_cp = Instant::now();
            }
            stopped = cancel;
            Ok(!cancel)
        },
    )?;
    if stopped {
        return Ok(Flow::Stopped);
    }
    dev.sync()?;
    Ok(Flow::Done)
}

#[allow(clippy::too_many_arguments)]
fn verify_pass(
    dev: &Device,
    pat: &Pattern,
    seed: &[u8; 32],
    ranges: &[(u64, u64)],
    label: &str,
    block: usize,
    fail_fast: bool,
    progress: &Progress,
) -> anyhow::Result<Option<VerifyRecord>> {
    dev.drop_all_cache();
    let t0 = Instant::now();
    let mut rec = VerifyRecord {
        mode: label.into(),
        ranges_checked: ranges.len(),
        block_size: verify::BLOCK,
        ..VerifyRecord::default()
    };
    let mut scratch = Vec::new();
    let mut small = AlignedBuf::new(ALIGN);
    let mut cancelled = false;
    let work = blocks(ranges, block);
    pipeline(
        &work,
        block,
        |off, buf| dev.read_at(off, buf),
        |off, buf, r| {
            match r {
                Ok(()) => {
                    verify::compare(pat, seed, off, buf, &mut scratch, &mut rec);
                }
                // A read error: go block by block to find which blocks are unreadable.
                Err(_) => {
                    for (j, chunk) in buf.chunks(ALIGN).enumerate() {
                        let at = off + (j * ALIGN) as u64;
                        let b = &mut small.as_mut_slice()[..chunk.len()];
                        match dev.read_at(at, b) {
                            Ok(()) => {
                                verify::compare(pat, seed, at, b, &mut scratch, &mut rec);
                            }
                            Err(_) => rec.bad(at, chunk.len() as u64, "read-error"),
                        }
                    }
                }
            }
            rec.bytes_checked += buf.len() as u64;
            progress.advance(buf.len() as u64);
            if fail_fast && rec.failed() {
                rec.stopped_early = true;
                return Ok(false);
            }
            cancelled = progress.cancelled();
            Ok(!cancelled)
        },
    )?;
    if cancelled {
        return Ok(None);
    }
    rec.passed = !rec.failed();
    rec.seconds = t0.elapsed().as_secs_f64();
    Ok(Some(rec))
}
