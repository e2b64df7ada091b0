//! Acquisition: image a disk, optical disc or image file through bad sectors into a raw image of
//! exactly the source's size, with a GNU ddrescue mapfile (resumable, also from ddrescue's own),
//! digests, an acquisition record and an audit-log entry. Also surface scans and re-verification.

pub mod device;
pub mod hash;
pub mod io;
mod ioctl;
pub mod record;
pub mod rescue;
pub mod surface;

use crate::audit::AuditLog;
use crate::job::Progress;
use anyhow::{bail, Context};
use hash::Algo;
use io::{Direct, Reader};
use record::{CaseInfo, Record};
use rescue::{Rescue, Settings, Stop};
use salvor_carvers::mapfile::{BlockStatus, Map};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to image and how.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    pub source: PathBuf,
    pub dest: PathBuf,
    /// Defaults to `DEST.map`.
    pub map: Option<PathBuf>,
    pub hashes: Vec<Algo>,
    pub verify: bool,
    pub retries: u32,
    pub reverse: bool,
    /// Bytes per read in the copy phase.
    pub block: u64,
    /// Read granularity of trim/scrape/retry; defaults to the logical sector size.
    pub sector: Option<u64>,
    pub direct: Direct,
    pub map_interval: Duration,
    pub max_rate: Option<u64>,
    pub piecewise: Option<u64>,
    /// Cut a mapfile that covers more than the source (another drive reporting fewer sectors).
    pub truncate_map: bool,
    pub case: CaseInfo,
    pub command: String,
}

/// How an imaging run ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every byte read.
    Complete,
    /// Finished, but some sectors could not be read.
    CompleteWithBadSectors,
    /// Ctrl-C: the mapfile is consistent, the run can be resumed.
    Interrupted,
}

/// Paths of the side files of an image.
pub fn side_path(dest: &Path, ext: &str) -> PathBuf {
    let mut n = dest.file_name().unwrap_or_default().to_owned();
    n.push(".");
    n.push(ext);
    dest.with_file_name(n)
}

/// Image `opts.source` into `opts.dest`.
pub fn image(opts: &ImageOptions, progress: &Progress) -> anyhow::Result<(Record, Ending)> {
    let t0 = Instant::now();
    let started = crate::util::now_rfc3339();
    let facts = device::probe(&opts.source)?;
    let volumes = device::volumes(&opts.source);
    let size = facts.size;
    let map_path = opts
        .map
        .clone()
        .unwrap_or_else(|| side_path(&opts.dest, "map"));
    refuse_same_object(&opts.source, &opts.dest, &map_path)?;
    let sector = opts.sector.unwrap_or(facts.logical_sector).max(1);
    let block = opts.block.max(sector).next_multiple_of(sector);

    // The map: resume from an existing one (Salvor's or ddrescue's), else start afresh.
    let (mut map, resumed) = match std::fs::read_to_string(&map_path) {
        Ok(text) => {
            let m = Map::parse(&text).with_context(|| {
                format!("{} is not a readable ddrescue mapfile", map_path.display())
            })?;
            (m, true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::metadata(&opts.dest).is_ok_and(|m| m.len() > 0) {
                bail!(
                    "{} exists but its mapfile {} does not: give the mapfile to resume, or remove the image",
                    opts.dest.display(),
                    map_path.display()
                );
            }
            (Map::new(size), false)
        }
        Err(e) => bail!("cannot read the mapfile {}: {e}", map_path.display()),
    };
    if map.size() > size {
        if !opts.truncate_map {
            bail!(
                "the mapfile {} covers {} bytes but {} has only {} bytes (another drive, or one \
                 that now reports fewer sectors?); check the source, or add --truncate-map to \
                 drop the part of the map past the source's end",
                map_path.display(),
                map.size(),
                opts.source.display(),
                size
            );
        }
        tracing::warn!(
            map = map.size(),
            size,
            "cutting the mapfile to the source's size"
        );
        map.resize(size);
    } else if map.size() < size {
        map.resize(size);
    }

    let want_direct = match opts.direct {
        Direct::On => true,
        Direct::Off => false,
        Direct::Auto => facts.kind == "block-device",
    };
    let reader = Reader::open(&opts.source, want_direct)?;
    let dest = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&opts.dest)
        .with_context(|| format!("cannot open the image {}", opts.dest.display()))?;
    // The image always has the source's size; areas not read stay zero.
    dest.set_len(size).with_context(|| {
        format!(
            "cannot size the image {} to {size} bytes",
            opts.dest.display()
        )
    })?;
    warn_if_small(&opts.dest, size, &map);

    let settings = Settings {
        block,
        sector,
        retries: opts.retries,
        reverse: opts.reverse,
        map_interval: opts.map_interval,
        max_rate: opts.max_rate,
    };
    let header = vec![
        format!("Mapfile. Created by {}", crate::TOOL),
        format!("Command line: {}", opts.command),
        format!("Start time:   {started}"),
    ];
    let fresh = !resumed || map.total(BlockStatus::NonTried) == size;
    let inline = (fresh && !opts.hashes.is_empty()).then(|| hash::Hashers::start(&opts.hashes));
    let mut audit = AuditLog::open(audit_dir(&opts.dest))?;
    audit.record(
        "image-start",
        serde_json::json!({"command": opts.command, "source": facts, "image": opts.dest,
                           "mapfile": map_path, "resumed": resumed}),
    )?;

    let mut rescue = Rescue::new(
        map, &reader, &dest, &map_path, header, &settings, progress, inline,
    );
    let result = rescue.run();
    let timings = rescue.timings.clone();
    let save_error = rescue.map_save_error.clone();
    let map = rescue.map.clone();
    drop(rescue);
    let (inline_hashes, mut ending) = match result {
        Ok(_) if save_error.is_some() => bail!(
            "every phase ran, but saving the mapfile {} failed: {}; run again to finish",
            map_path.display(),
            save_error.unwrap_or_default()
        ),
        Ok(h) => {
            let e = if map.total(BlockStatus::Finished) == size {
                Ending::Complete
            } else {
                Ending::CompleteWithBadSectors
            };
            (h, e)
        }
        Err(Stop::Cancelled) => (None, Ending::Interrupted),
        Err(Stop::Write { offset, error }) => {
            let full = error.raw_os_error() == Some(28);
            let saved = match &save_error {
                None => format!("the mapfile {} is up to date", map_path.display()),
                Some(e) => format!(
                    "the mapfile {} holds the last checkpoint (saving it now failed: {e}); it is consistent",
                    map_path.display()
                ),
            };
            let _ = audit.record(
                "image-error",
                serde_json::json!({"offset": offset, "error": error.to_string(),
                                   "rescued_bytes": map.total(BlockStatus::Finished)}),
            );
            if full {
                bail!(
                    "the destination is full: writing the image {} at offset {offset:#x} failed ({error}); \
                     {saved}. Free space there and run the same command again to resume",
                    opts.dest.display()
                );
            }
            bail!(
                "writing the image {} at offset {offset:#x} failed: {error}; {saved}; run again to resume",
                opts.dest.display()
            );
        }
    };

    // Bad areas read as zero: make sure the image says so even where an older run left bytes.
    // An interrupted run leaves the rest alone: zero-filling the unread remainder of a large
    // disk would take long and allocate it all.
    if ending != Ending::Interrupted {
        for (o, l) in map
            .blocks()
            .iter()
            .filter(|b| b.status != BlockStatus::Finished)
            .map(|b| (b.pos, b.size))
        {
            zero_range(&dest, o, l)?;
        }
    }
    dest.sync_all()?;

    let mut hashes = BTreeMap::new();
    let mut hash_method = String::new();
    let mut pieces_path = None;
    let finished_run = ending != Ending::Interrupted;
    if finished_run && !opts.hashes.is_empty() {
        progress
            .phase
            .store(4, std::sync::atomic::Ordering::Relaxed);
        let need_pieces = opts.piecewise.is_some();
        match inline_hashes {
            Some(h) if !need_pieces => {
                hashes = h;
                hash_method = "while reading, in one sequential pass".into();
            }
            other => {
                progress.done.store(0, std::sync::atomic::Ordering::Relaxed);
                let img = Reader::open(&opts.dest, false)?;
                let r = hash::hash_file(&img, size, &opts.hashes, opts.piecewise, progress);
                match r {
                    // Ctrl-C while hashing: the image and mapfile are complete; the same command
                    // hashes the image again.
                    Err(_) if progress.cancelled() => ending = Ending::Interrupted,
                    r => {
                        let (h, pieces) = r.with_context(|| {
                            format!("cannot re-read the image {}", opts.dest.display())
                        })?;
                        hash_method = match other {
                            Some(_) => "while reading, in one sequential pass (piecewise hashes from the finished image)".into(),
                            None if resumed => "from the finished image, because the run resumed an earlier one".into(),
                            None => "from the finished image, because it was not written in one sequential pass (read errors were worked around)".into(),
                        };
                        if let Some(inline) = other {
                            if inline != h {
                                bail!("the image's digests differ from those computed while reading: {inline:?} vs {h:?}");
                            }
                        }
                        hashes = h;
                        if let Some(p) = opts.piecewise {
                            let path = side_path(&opts.dest, "pieces.csv");
                            write_pieces(&path, p, &opts.hashes, &pieces)?;
                            pieces_path = Some(path.display().to_string());
                        }
                    }
                }
            }
        }
    }
    let mut verified = None;
    if ending != Ending::Interrupted && opts.verify && !hashes.is_empty() {
        progress
            .phase
            .store(5, std::sync::atomic::Ordering::Relaxed);
        progress.done.store(0, std::sync::atomic::Ordering::Relaxed);
        // Re-read through direct I/O where the filesystem allows it, so the page cache cannot
        // answer for the disk.
        let img = Reader::open(&opts.dest, true)?;
        match hash::hash_file(&img, size, &opts.hashes, None, progress) {
            Ok((again, _)) => verified = Some(again == hashes),
            Err(_) if progress.cancelled() => ending = Ending::Interrupted,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot re-read the image {} to verify it",
                        opts.dest.display()
                    )
                })
            }
        }
    }

    let seconds = t0.elapsed().as_secs_f64();
    let read: u64 = timings.iter().map(|t| t.bytes_read).sum();
    let read_secs: f64 = timings.iter().map(|t| t.seconds).sum();
    let (source, volumes) = Record::facts(&facts, &volumes);
    let rec = Record {
        tool: crate::TOOL.into(),
        command: opts.command.clone(),
        host: record::host(),
        case: opts.case.clone(),
        source,
        volumes,
        image: opts.dest.display().to_string(),
        mapfile: map_path.display().to_string(),
        started,
        finished: crate::util::now_rfc3339(),
        outcome: match ending {
            Ending::Interrupted => "interrupted".into(),
            _ => "complete".into(),
        },
        resumed,
        direct_io: reader.direct,
        sector_size: sector,
        size,
        rescued_bytes: map.total(BlockStatus::Finished),
        bad_bytes: size - map.total(BlockStatus::Finished),
        bad_sectors: (size - map.total(BlockStatus::Finished)).div_ceil(sector),
        bad_ranges: map
            .blocks()
            .iter()
            .filter(|b| b.status != BlockStatus::Finished)
            .map(|b| (b.pos, b.size))
            .collect(),
        hashes,
        hash_method,
        piecewise_hashes: pieces_path,
        verified,
        seconds,
        read_rate_mib_s: if read_secs > 0.0 {
            read as f64 / read_secs / 1048576.0
        } else {
            0.0
        },
        phases: timings,
    };
    if ending != Ending::Interrupted {
        rescue::write_atomic(
            &side_path(&opts.dest, "json"),
            serde_json::to_string_pretty(&rec)?.as_bytes(),
        )?;
        rescue::write_atomic(&side_path(&opts.dest, "info"), rec.to_info().as_bytes())?;
    }
    audit.record("image-end", serde_json::to_value(&rec)?)?;
    audit.sync()?;
    Ok((rec, ending))
}

/// The audit log lives in the image's folder.
fn audit_dir(dest: &Path) -> &Path {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn refuse_same_object(source: &Path, dest: &Path, map: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let s = std::fs::metadata(source)?;
    for p in [dest, map] {
        // Writing into a filesystem that lives on the source device would change the evidence.
        let parent = audit_dir(p);
        if s.rdev() != 0 && std::fs::metadata(parent).is_ok_and(|m| m.dev() == s.rdev()) {
            bail!(
                "refusing to write {}: its folder is on the source device {}",
                p.display(),
                source.display()
            );
        }
        if let Ok(m) = std::fs::metadata(p) {
            if (m.dev(), m.ino()) == (s.dev(), s.ino()) || (s.rdev() != 0 && m.rdev() == s.rdev()) {
                bail!("refusing to write {}: it is the source itself", p.display());
            }
        }
    }
    Ok(())
}

fn warn_if_small(dest: &Path, size: u64, map: &Map) {
    let dir = audit_dir(dest);
    if let Ok(st) = rustix::fs::statvfs(dir) {
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        let need = size - map.total(BlockStatus::Finished);
        if free < need {
            tracing::warn!(
                "the destination has {free} bytes free but up to {need} more may be written; \
                 the run will stop cleanly if it fills up"
            );
        }
    }
}

fn zero_range(dest: &std::fs::File, pos: u64, len: u64) -> anyhow::Result<()> {
    use std::os::unix::fs::FileExt;
    let zeros = vec![0u8; (1 << 20).min(len) as usize];
    let mut o = pos;
    while o < pos + len {
        let n = (pos + len - o).min(zeros.len() as u64) as usize;
        dest.write_all_at(&zeros[..n], o)?;
        o += n as u64;
    }
    Ok(())
}

fn write_pieces(
    path: &Path,
    piece: u64,
    algos: &[Algo],
    pieces: &[(u64, u64, BTreeMap<String, String>)],
) -> anyhow::Result<()> {
    use std::fmt::Write;
    let mut s = format!("# piecewise hashes, {piece} bytes per piece\noffset,length");
    for a in algos {
        let _ = write!(s, ",{}", a.name());
    }
    s.push('\n');
    for (o, l, h) in pieces {
        let _ = write!(s, "{o},{l}");
        for a in algos {
            let _ = write!(s, ",{}", h.get(a.name()).map(String::as_str).unwrap_or(""));
        }
        s.push('\n');
    }
    rescue::write_atomic(path, s.as_bytes())?;
    Ok(())
}

/// The outcome of re-verifying an image against its record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub image: String,
    pub size_expected: u64,
    pub size_found: u64,
    /// Algorithm → (recorded, found).
    pub image_hashes: BTreeMap<String, (String, String)>,
    /// Algorithm → (recorded, found) when the source was re-read (bad areas as zeros).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_hashes: Option<BTreeMap<String, (String, String)>>,
    pub matches: bool,
}

/// Re-hash an image (and optionally re-read its source) and compare with the record.
pub fn verify_image(
    image: &Path,
    record: &Path,
    source: Option<&Path>,
    progress: &Progress,
) -> anyhow::Result<Verification> {
    let rec: Record = serde_json::from_slice(
        &std::fs::read(record).with_context(|| format!("cannot read {}", record.display()))?,
    )
    .with_context(|| format!("{} is not an acquisition record", record.display()))?;
    let algos: Vec<Algo> = rec
        .hashes
        .keys()
        .filter_map(|k| Algo::from_name(k))
        .collect();
    if algos.is_empty() {
        bail!("{} records no hashes to verify against", record.display());
    }
    let size_found = std::fs::metadata(image)?.len();
    let img = Reader::open(image, true)?;
    let (found, _) = hash::hash_file(&img, size_found, &algos, None, progress)?;
    let compare = |found: &BTreeMap<String, String>| -> BTreeMap<String, (String, String)> {
        rec.hashes
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (v.clone(), found.get(k).cloned().unwrap_or_default()),
                )
            })
            .collect()
    };
    let image_hashes = compare(&found);
    let mut matches = size_found == rec.size && image_hashes.values().all(|(a, b)| a == b);
    let source_hashes = match source {
        None => None,
        Some(src) => {
            // Re-read the source with its bad areas zeroed, as the image has them.
            let bad = rec.bad_ranges.clone();
            let tmp = tempfile_in_same_dir(image)?;
            let map_path = tmp.join("reread.map");
            let mut map = Map::new(rec.size);
            for (o, l) in &bad {
                map.set(*o, *l, BlockStatus::BadSector);
            }
            let reader = Reader::open(src, device::probe(src)?.kind == "block-device")?;
            let out = std::fs::File::create(tmp.join("reread.img"))?;
            out.set_len(rec.size)?;
            let settings = Settings {
                block: 1 << 20,
                sector: rec.sector_size,
                retries: 0,
                reverse: false,
                map_interval: Duration::from_secs(3600),
                max_rate: None,
            };
            let h = hash::Hashers::start(&algos);
            let mut r = Rescue::new(
                map,
                &reader,
                &out,
                &map_path,
                vec![],
                &settings,
                progress,
                Some(h),
            );
            let inline = r
                .run()
                .map_err(|e| anyhow::anyhow!("re-reading the source failed: {e:?}"))?;
            drop(r);
            let found = match inline {
                Some(h) => h,
                None => {
                    let rr = Reader::open(&tmp.join("reread.img"), false)?;
                    hash::hash_file(&rr, rec.size, &algos, None, progress)?.0
                }
            };
            let _ = std::fs::remove_dir_all(&tmp);
            let c = compare(&found);
            matches &= c.values().all(|(a, b)| a == b);
            Some(c)
        }
    };
    Ok(Verification {
        image: image.display().to_string(),
        size_expected: rec.size,
        size_found,
        image_hashes,
        source_hashes,
        matches,
    })
}

fn tempfile_in_same_dir(image: &Path) -> anyhow::Result<PathBuf> {
    let dir = audit_dir(image).join(format!(".salvor-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
