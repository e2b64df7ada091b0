//! The parallel scan: signature hits in overlapping chunks, carvers at each hit, then one pass
//! that folds duplicates and nests children, then deep checks of what was kept.

use crate::job::Progress;
use aho_corasick::AhoCorasick;
use rayon::prelude::*;
use salvor_carvers::{ByteView, Candidate, Carver, Hit, Limits, CARVERS};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Default chunk size: big enough that per-chunk overhead vanishes, small enough to spread work.
pub const DEFAULT_CHUNK: u64 = 16 << 20;

/// Phases reported through [`Progress::phase`].
pub const PHASES: [&str; 3] = ["scanning", "checking", "done"];

/// What to scan for and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Bytes per chunk (a chunk also reads a margin so signatures across its end are seen).
    pub chunk_size: u64,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Per-object limits handed to the carvers.
    pub limits: Limits,
    /// Keep only these kinds or carver names; empty keeps all.
    pub types: Vec<String>,
    /// Most member decodings tried while reassembling one fragmented archive; 0 turns
    /// reassembly off (the FAT walk included).
    pub reassembly_budget: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            chunk_size: DEFAULT_CHUNK,
            threads: None,
            limits: Limits::default(),
            types: Vec::new(),
            reassembly_budget: 4096,
        }
    }
}

/// A kept candidate with its place among the others.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index in [`ScanOutcome::findings`].
    pub id: usize,
    pub candidate: Candidate,
    /// The finding this one sits inside, when it is nested.
    pub parent: Option<usize>,
    /// Where inside the parent it was found (e.g. `member "small.zip" (stored)`).
    pub provenance: Option<String>,
    pub children: Vec<usize>,
}

/// What a scan produced.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings ordered by offset; children follow their parents' order too.
    pub findings: Vec<Finding>,
    /// True when the scan was cancelled before it covered the whole source.
    pub interrupted: bool,
    /// Bytes of the source covered by finished chunks.
    pub scanned: u64,
    /// Number of signature hits examined.
    pub hits: u64,
}

/// The signature index over every selected carver.
struct Index {
    automaton: AhoCorasick,
    /// For each pattern: which carver and which tag.
    owners: Vec<(&'static dyn Carver, u16)>,
    longest: usize,
}

fn build_index(carvers: &[&'static dyn Carver]) -> anyhow::Result<Index> {
    let mut patterns = Vec::new();
    let mut owners = Vec::new();
    for c in carvers {
        for s in c.signatures() {
            patterns.push(s.bytes);
            owners.push((*c, s.tag));
        }
    }
    let longest = patterns.iter().map(|p| <[u8]>::len(p)).max().unwrap_or(1);
    let automaton = AhoCorasick::new(&patterns)?;
    Ok(Index {
        automaton,
        owners,
        longest,
    })
}

/// The carvers that can produce one of the requested types.
pub fn selected_carvers(types: &[String]) -> Vec<&'static dyn Carver> {
    CARVERS
        .iter()
        .copied()
        .filter(|c| {
            types.is_empty()
                || types
                    .iter()
                    .any(|t| t == c.name() || c.kinds().contains(&t.as_str()))
        })
        .collect()
}

/// Scan a whole source.
pub fn scan(
    view: &dyn ByteView,
    opts: &ScanOptions,
    progress: &Progress,
) -> anyhow::Result<ScanOutcome> {
    let carvers = selected_carvers(&opts.types);
    if carvers.is_empty() {
        anyhow::bail!("no carver produces any of the types {:?}", opts.types);
    }
    let index = build_index(&carvers)?;
    let threads = opts
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let len = view.len();
    let chunk = opts.chunk_size.max(index.longest as u64);
    let chunks = len.div_ceil(chunk);
    progress.total.store(len, Ordering::Relaxed);
    progress.phase.store(0, Ordering::Relaxed);
    tracing::debug!(threads, chunk, chunks, "scan plan");

    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<Candidate>> = Mutex::new(Vec::new());
    let claimed: Mutex<HashSet<u64>> = Mutex::new(HashSet::new());
    let hits_seen = AtomicUsize::new(0);
    let scanned = std::sync::atomic::AtomicU64::new(0);
    let locals: Mutex<Vec<u64>> = Mutex::new(Vec::new());

    // Workers take chunks in order, so a device is read front to back rather than in halves.
    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| loop {
                if progress.cancelled() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                if i >= chunks {
                    break;
                }
                let start = i * chunk;
                let own = chunk.min(len - start);
                let local = scan_chunk(view, &index, start, own, opts, &claimed, &locals, progress);
                hits_seen.fetch_add(local.1, Ordering::Relaxed);
                progress
                    .found
                    .fetch_add(local.0.len() as u64, Ordering::Relaxed);
                found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(local.0);
                progress.advance(own);
                scanned.fetch_add(own, Ordering::Relaxed);
            });
        }
    });
    let interrupted = progress.cancelled() && scanned.load(Ordering::Relaxed) < len;
    let mut candidates = found.into_inner().unwrap_or_else(|p| p.into_inner());

    // Deep checks before folding: they can shorten an extent (a cut member ends where its data
    // stops decoding), and folding must see the final extents.
    progress.phase.store(1, Ordering::Relaxed);
    pool.install(|| {
        candidates.par_iter_mut().for_each(|c| {
            if let Some(carver) = carvers.iter().find(|k| k.name() == c.carver) {
                carver.validate(view, c, &opts.limits);
            }
        });
    });
    let mut locals = locals.into_inner().unwrap_or_else(|p| p.into_inner());
    locals.sort_unstable();
    if opts.reassembly_budget > 0 {
        reassemble_fragmented(view, &mut candidates, &locals, opts, progress);
    }
    let findings = fold(candidates);
    let findings = filter_types(findings, &opts.types);
    progress
        .found
        .store(findings.len() as u64, Ordering::Relaxed);
    progress.phase.store(2, Ordering::Relaxed);
    Ok(ScanOutcome {
        findings,
        interrupted,
        scanned: scanned.into_inner(),
        hits: hits_seen.into_inner() as u64,
    })
}

/// Scan one chunk: hits that start inside `[start, start + own)`, carved in order.
fn scan_chunk(
    view: &dyn ByteView,
    index: &Index,
    start: u64,
    own: u64,
    opts: &ScanOptions,
    claimed: &Mutex<HashSet<u64>>,
    locals: &Mutex<Vec<u64>>,
    progress: &Progress,
) -> (Vec<Candidate>, usize) {
    let margin = index.longest - 1;
    let window = view.bytes_at(start, own as usize + margin);
    let mut hits: Vec<(u64, usize)> = index
        .automaton
        .find_overlapping_iter(window.as_ref())
        .filter(|m| (m.start() as u64) < own)
        .map(|m| (start + m.start() as u64, m.pattern().as_usize()))
        .collect();
    drop(window);
    hits.sort_unstable();
    {
        // Every local header is remembered: fragmented archives are reassembled from them.
        let mut l = locals.lock().unwrap_or_else(|p| p.into_inner());
        let room = MAX_REMEMBERED_LOCALS.saturating_sub(l.len());
        l.extend(
            hits.iter()
                .filter(|&&(_, p)| {
                    let (c, tag) = index.owners[p];
                    c.name() == "zip" && tag == salvor_carvers::zip::TAG_LOCAL
                })
                .map(|&(o, _)| o)
                .take(room),
        );
    }

    let mut out: Vec<Candidate> = Vec::new();
    let mut local_claims: HashSet<u64> = HashSet::new();
    for &(offset, pattern) in &hits {
        if progress.cancelled() {
            break;
        }
        if local_claims.contains(&offset)
            || claimed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&offset)
        {
            continue;
        }
        let (carver, tag) = index.owners[pattern];
        let Some(c) = carver.locate(view, Hit { offset, tag }, &opts.limits) else {
            continue;
        };
        if c.len() > opts.limits.max_size {
            tracing::debug!(
                offset,
                len = c.len(),
                "candidate larger than --max-size, skipped"
            );
            continue;
        }
        tracing::trace!(
            offset,
            kind = c.kind,
            start = c.start,
            end = c.end,
            "candidate"
        );
        local_claims.extend(c.anchors.iter().copied());
        claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(c.anchors.iter().copied());
        out.push(c);
    }
    (out, hits.len())
}

/// Local header positions kept for reassembly; beyond this many (a hostile flood of signatures),
/// reassembly works with the first ones only. 8 M offsets are 64 MiB.
const MAX_REMEMBERED_LOCALS: usize = 8 << 20;

/// Compressed bytes all three-piece searches of one scan may decode together (each archive
/// also stops at its own share, 16 KiB per unit of `--reassembly-budget`).
const BRIDGE_POOL: u64 = 256 << 20;

/// Take up to `want` from `pool`; returns what was taken.
fn take_from(pool: &std::sync::atomic::AtomicU64, want: u64) -> u64 {
    let mut got = 0;
    let _ = pool.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        got = left.min(want);
        Some(left - got)
    });
    got
}

/// Rounds in which reassemblies that share bytes are settled.
const MAX_EXCLUSIVE_ROUNDS: usize = 3;

/// Places the first member's header is tried from, per archive.
const MAX_FIRST_HEADERS: usize = 8;

/// Assemblies ruled out as splices of two copies before a start is given up.
const MAX_SPLICE_RETRIES: usize = 4;

/// Longest stretch followed through a FAT when looking for an archive's end.
const FAT_WALK_MAX: u64 = 256 << 20;

/// Try to put back together every damaged ZIP archive whose directory survives.
fn reassemble_fragmented(
    view: &dyn ByteView,
    candidates: &mut Vec<Candidate>,
    locals: &[u64],
    opts: &ScanOptions,
    progress: &Progress,
) {
    use salvor_carvers::zip::fragments::{self, Geometry, Reassembly};
    use salvor_carvers::zip::layout::Layout;
    use salvor_carvers::{DefectKind, Status};
    // Volumes of the image (one at offset 0, or one per MBR/GPT partition): each gives the
    // cluster geometry of the archives inside it, and a FAT its allocation data.
    let volumes = salvor_carvers::bootsector::volumes(view);
    for v in &volumes {
        tracing::debug!(
            kind = v.volume.kind,
            start = v.start,
            cluster = v.volume.geometry.cluster,
            origin = v.volume.geometry.origin,
            "filesystem found"
        );
    }
    let volume_of = |at: u64| {
        volumes
            .iter()
            .find(|v| v.start <= at && at < v.end)
            .map(|v| v.volume)
    };
    let fat_volume = |at: u64| volume_of(at).filter(|v| v.fat.is_some());
    // A damaged archive may be fragmented; on a FAT volume, so may one that seems cut short (its
    // first fragment, read on into whatever follows it).
    let wanted = |c: &Candidate| {
        c.carver == "zip"
            && ((fat_volume(c.start).is_some() && c.status == Status::Truncated)
                || c.status == Status::Damaged)
            && (c.status == Status::Truncated
                || c.defects.iter().any(|d| {
                    matches!(
                        d.kind,
                        DefectKind::LocalHeaderMissing
                            | DefectKind::CrcMismatch
                            | DefectKind::DeflateError
                            | DefectKind::LocalHeaderMismatch
                            | DefectKind::OffsetMismatch
                    )
                }))
    };
    // Archives that stand whole on their own lend no bytes to a reassembly.
    let whole: Vec<(u64, u64)> = candidates
        .iter()
        .filter(|c| c.status == Status::Intact)
        .map(|c| (c.start, c.end))
        .collect();
    // What every other ZIP finding proves it holds: a reassembly may take bytes from such a
    // finding only when it takes it all, as a piece of itself.
    let pieces: Vec<Piece> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.carver == "zip")
        .filter_map(|(k, c)| {
            let proven: Vec<(u64, u64)> = c
                .members
                .iter()
                .filter(|m| m.check == "ok")
                .filter_map(|m| Some((m.header_offset?, m.data_end)))
                .collect();
            (!proven.is_empty()).then_some(Piece {
                index: k,
                start: c.start,
                end: c.end,
                proven,
            })
        })
        .collect();
    // What all three-piece searches of this scan may decode together.
    let bridge_pool = std::sync::atomic::AtomicU64::new(BRIDGE_POOL);
    // One archive's reassembly; `taken` are byte runs other reassembled archives hold.
    // `bridging`: the pass that may look for headerless middle pieces (after every archive had
    // its pass without them).
    let one = |index: usize, c: &mut Candidate, taken: &[(u64, u64)], bridging: bool| {
        if progress.cancelled() {
            return;
        }
        let started = std::time::Instant::now();
        // On a FAT volume the allocation data knows where a file's clusters went.
        let forbidden: Vec<(u64, u64)> = whole
            .iter()
            .copied()
            .filter(|&(a, b)| !(a <= c.start && c.end <= b))
            .chain(taken.iter().copied())
            .collect();
        let geometry = volume_of(c.start).map_or(Geometry::SECTOR, |v| v.geometry);
        if let Some(vol) = fat_volume(c.start).filter(|_| !bridging).as_ref() {
            let cap = opts.limits.max_size.min(FAT_WALK_MAX);
            if let Some((runs, layout)) =
                fragments::fat_walk(view, vol, c.start, &forbidden, &opts.limits, cap)
            {
                // Free clusters in order are a guess: a walk that takes part of another copy's
                // proven members is that copy's remains, not this file's.
                let walked = fragments::reassembled_candidate(view, &runs, &layout);
                let foreign = borrowed_from(&walked, index, &pieces);
                let rival = fragments::rival_header(view, &runs, &layout, locals, &forbidden);
                if !foreign.is_empty() || rival.is_some() {
                    tracing::debug!(
                        start = c.start,
                        ?foreign,
                        ?rival,
                        "FAT walk would take other remains; not used"
                    );
                } else if runs.len() > 1 {
                    tracing::info!(
                        start = c.start,
                        fragments = runs.len(),
                        "archive reassembled from the FAT"
                    );
                    *c = fragments::reassembled_candidate(view, &runs, &layout);
                    c.notes.push(format!(
                        "{} allocation followed from cluster of offset {:#x}",
                        vol.kind, c.start
                    ));
                    return;
                }
            }
        }
        let Some(layout) = c
            .state
            .as_ref()
            .and_then(|s| s.downcast_ref::<Layout>())
            .cloned()
        else {
            return;
        };
        let mut outcome: Option<Reassembly> = None;
        let mut spliced = 0;
        // Each place the first member's header may be read from is tried in turn (nearest
        // first). Within one, an assembly that takes part of another finding's proven members
        // is a splice of two copies, not this archive: that finding is ruled out for the rest
        // of this start, and the search runs again. Every start is tried without three-piece
        // members first; only then with them, from a pool shared by the whole scan.
        let claimed = fragments::merge_ranges(
            pieces
                .iter()
                .filter(|p| p.index != index)
                .flat_map(|p| p.proven.iter().copied())
                .collect(),
        );
        let firsts = fragments::first_headers(view, &layout, locals, &forbidden, &opts.limits);
        tracing::debug!(start = c.start, ?firsts, "reassembling");
        let full = fragments::Budget::new(opts.reassembly_budget);
        let mut budget = fragments::Budget {
            bridge_bytes: 0,
            ..full
        };
        let phases: &[bool] = if bridging { &[true] } else { &[false] };
        'phases: for &bridging in phases {
            if bridging {
                let grant = take_from(&bridge_pool, full.bridge_bytes);
                if grant == 0 {
                    break;
                }
                budget.bridge_bytes = grant;
            }
            for first in firsts.iter().copied().take(MAX_FIRST_HEADERS) {
                let mut ruled_out = forbidden.clone();
                for _ in 0..MAX_SPLICE_RETRIES {
                    let got = fragments::reassemble(
                        view,
                        &layout,
                        locals,
                        geometry,
                        &ruled_out,
                        &claimed,
                        &opts.limits,
                        &mut budget,
                        Some(first),
                    );
                    let got = match got {
                        // One run is no fragmentation: the archive only sits elsewhere than its
                        // directory says (bytes prepended), which repair deals with.
                        Some(Reassembly::Whole { runs, .. }) if runs.len() < 2 => None,
                        other => other,
                    };
                    if matches!(got, Some(Reassembly::Ambiguous { .. })) {
                        outcome = got;
                        break 'phases;
                    }
                    let Some(Reassembly::Whole { runs, layout }) = got else {
                        // Keep the partial result that proved the most members.
                        let proven = |r: &Option<Reassembly>| match r {
                            Some(Reassembly::Partial { proven, .. }) => proven.len() as i64,
                            _ => -1,
                        };
                        if proven(&got) > proven(&outcome) {
                            outcome = got;
                        }
                        break;
                    };
                    let cand = fragments::reassembled_candidate(view, &runs, &layout);
                    let mut foreign = borrowed_from(&cand, index, &pieces);
                    if foreign.is_empty() {
                        outcome = Some(Reassembly::Whole { runs, layout });
                        break 'phases;
                    }
                    tracing::debug!(start = c.start, first, ?foreign, runs = ?cand.runs, "assembly would splice in other remains; ruled out");
                    spliced += 1;
                    // The remains this start is read from are not ruled out: the assembly left
                    // them too early, and without them this start has nothing left to try.
                    foreign.retain(|&(a, b)| !(a <= first && first < b));
                    if foreign.is_empty() {
                        break;
                    }
                    ruled_out.extend(foreign);
                }
                if budget.decodes == 0 {
                    break 'phases;
                }
            }
            if bridging {
                bridge_pool.fetch_add(budget.bridge_bytes, Ordering::Relaxed);
            }
        }
        if spliced > 0 && !matches!(outcome, Some(Reassembly::Whole { .. })) {
            c.notes.push(format!(
                "could not reassemble: {spliced} assembly(ies) found would take bytes from the remains of other copies"
            ));
        }
        match outcome {
            Some(Reassembly::Whole { runs, layout }) => {
                tracing::info!(
                    start = c.start,
                    fragments = runs.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "archive reassembled"
                );
                *c = fragments::reassembled_candidate(view, &runs, &layout);
            }
            Some(Reassembly::Ambiguous {
                member,
                chosen,
                other,
            }) => {
                c.notes.push(format!(
                    "could not reassemble: the header of {member:?} at offset {chosen} has a rival at offset {other} \
                     with the same directory entry but other bytes (another copy of the same files); \
                     which one belongs to this archive cannot be told"
                ));
            }
            Some(Reassembly::Partial { proven, unplaced }) if !unplaced.is_empty() => {
                c.notes.push(format!(
                    "could not reassemble: {} member(s) proven in place, {} not placed within the budget ({})",
                    proven.len(),
                    unplaced.len(),
                    unplaced.iter().take(5).map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                ));
            }
            other => {
                tracing::debug!(start = c.start, outcome = ?other.as_ref().map(|o| match o {
                    Reassembly::Whole { .. } => "whole".to_owned(),
                    Reassembly::Ambiguous { .. } => "ambiguous".to_owned(),
                    Reassembly::Partial { proven, unplaced } => format!("partial {} proven {} unplaced", proven.len(), unplaced.len()),
                }), "reassembly not used");
            }
        }
    };
    let originals: Vec<(usize, Candidate)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| wanted(c))
        .map(|(k, c)| (k, c.clone()))
        .collect();
    candidates
        .par_iter_mut()
        .enumerate()
        .filter(|(_, c)| wanted(c))
        .for_each(|(index, c)| one(index, c, &[], false));
    // Headerless middle pieces: one archive at a time in offset order, so that what the shared
    // pool allows each does not depend on thread timing.
    // A candidate read from the same start as one already reassembled is that archive found
    // twice (its directory reached from two end records, or a walk and a directory reading).
    let same_members = |a: &Candidate, b: &Candidate| {
        a.members.len() == b.members.len()
            && a.members
                .iter()
                .zip(&b.members)
                .all(|(x, y)| x.name == y.name && x.crc32 == y.crc32 && x.size == y.size)
    };
    let twice = |candidates: &Vec<Candidate>, k: usize| {
        let Some((_, me)) = originals.iter().find(|(i, _)| *i == k) else {
            return false;
        };
        originals.iter().any(|(j, o)| {
            *j != k
                && o.start == me.start
                && candidates[*j].status == Status::Reassembled
                && same_members(o, me)
        })
    };
    let bridge_pass = |candidates: &mut Vec<Candidate>, which: &[usize], taken: &[(u64, u64)]| {
        for &k in which {
            let Some((_, orig)) = originals.iter().find(|(i, _)| *i == k) else {
                continue;
            };
            if candidates[k].status == Status::Reassembled || twice(candidates, k) {
                continue;
            }
            let mut c = orig.clone();
            one(k, &mut c, taken, true);
            if c.status == Status::Reassembled {
                candidates[k] = c;
            }
        }
    };
    let mut order: Vec<usize> = originals.iter().map(|(k, _)| *k).collect();
    order.sort_by_key(|&k| (candidates[k].start, k));
    bridge_pass(candidates, &order, &[]);

    // A fragment belongs to one file. When two reassemblies share bytes (two copies of the same
    // file, each fragmented, can be put together across each other), the one whose runs lie
    // closer together keeps them; the other is tried again without those bytes.
    for _ in 0..MAX_EXCLUSIVE_ROUNDS {
        let losers = overlapping_losers(candidates, &originals);
        if losers.is_empty() {
            break;
        }
        tracing::debug!(
            ?losers,
            "reassemblies sharing bytes with a tighter one: tried again"
        );
        let mut taken: Vec<(u64, u64)> = Vec::new();
        for (k, c) in candidates.iter().enumerate() {
            if c.status == Status::Reassembled && !losers.contains(&k) {
                taken.extend(c.runs.iter().map(|&(p, l)| (p, p + l)));
            }
        }
        for &k in &losers {
            if let Some((_, orig)) = originals.iter().find(|(i, _)| *i == k) {
                candidates[k] = orig.clone();
            }
        }
        for &k in &losers {
            if twice(candidates, k) {
                continue;
            }
            let mut c = candidates[k].clone();
            one(k, &mut c, &taken, false);
            candidates[k] = c;
        }
        bridge_pass(candidates, &losers, &taken);
    }

    // The pieces a reassembled archive was made from (a walk over its first fragment, a damaged
    // reading of its directory) are parts of it, not findings of their own.
    let mut parts: Vec<u64> = candidates
        .iter()
        .filter(|c| c.status == Status::Reassembled)
        .flat_map(|c| c.anchors.iter().copied())
        .collect();
    parts.sort_unstable();
    if !parts.is_empty() {
        let before = candidates.len();
        candidates.retain(|c| {
            matches!(c.status, Status::Reassembled | Status::Intact)
                || parts.binary_search(&c.start).is_err()
        });
        tracing::debug!(
            absorbed = before - candidates.len(),
            "fragments folded into reassembled archives"
        );
    }
}

/// Reassembled candidates (among those reassembly started from) whose runs share bytes with
/// another reassembled candidate's different runs, and lose: the wider spread (first byte to
/// last) loses; at equal spread, the later candidate. FAT-allocation results never lose.
fn overlapping_losers(candidates: &[Candidate], originals: &[(usize, Candidate)]) -> Vec<usize> {
    let re: Vec<(usize, &Candidate)> = originals
        .iter()
        .map(|(k, _)| (*k, &candidates[*k]))
        .filter(|(_, c)| c.status == salvor_carvers::Status::Reassembled && !c.runs.is_empty())
        .collect();
    let spread = |c: &Candidate| {
        let lo = c.runs.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = c.runs.iter().map(|r| r.0 + r.1).max().unwrap_or(0);
        let fat = c.notes.iter().any(|n| n.contains("allocation followed"));
        (!fat, hi - lo)
    };
    let share = |a: &Candidate, b: &Candidate| {
        a.runs
            .iter()
            .any(|&(p, l)| b.runs.iter().any(|&(q, m)| p < q + m && q < p + l))
    };
    let mut losers = Vec::new();
    for (x, &(i, a)) in re.iter().enumerate() {
        for &(j, b) in &re[x + 1..] {
            if a.runs == b.runs || !share(a, b) {
                continue;
            }
            let loser = if (spread(a), i) <= (spread(b), j) {
                j
            } else {
                i
            };
            if !losers.contains(&loser) {
                losers.push(loser);
            }
        }
    }
    losers.sort_unstable();
    losers
}

/// Members a ZIP finding proves (CRC holds): `(local header, end of data)`, physical.
struct Piece {
    index: usize,
    start: u64,
    end: u64,
    proven: Vec<(u64, u64)>,
}

/// Extents of other findings a reassembled candidate takes proven bytes from without taking all
/// their proven members as its own members, with the same local headers. Archives nested inside one of its members are content,
/// not pieces.
fn borrowed_from(cand: &Candidate, own: usize, pieces: &[Piece]) -> Vec<(u64, u64)> {
    let in_runs = |a: u64| cand.runs.iter().any(|&(p, l)| p <= a && a < p + l);
    // Physical headers of the candidate's members; they lie inside its runs by construction.
    let heads: std::collections::HashSet<u64> = cand
        .members
        .iter()
        .filter_map(|m| m.header_offset)
        .collect();
    let nested = |p: &Piece| {
        cand.members
            .iter()
            .any(|m| p.start >= m.data_start && p.end <= m.data_end)
    };
    pieces
        .iter()
        .filter(|p| p.index != own)
        .filter(|p| p.proven.iter().any(|&(a, _)| in_runs(a)))
        .filter(|p| !nested(p))
        .filter(|p| !p.proven.iter().all(|&(a, _)| heads.contains(&a)))
        .map(|p| (p.start, p.end))
        .collect()
}

/// Fold duplicates (the same object found from another of its headers) and nest children.
pub fn fold(mut candidates: Vec<Candidate>) -> Vec<Finding> {
    // Bigger first at the same start; among equals, the better-understood one first.
    candidates.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.status.cmp(&b.status))
            .then(b.members.len().cmp(&a.members.len()))
    });
    let mut findings: Vec<Finding> = Vec::new();
    // Kept findings that may still contain later ones, outermost first.
    let mut open: Vec<usize> = Vec::new();
    for c in candidates {
        while let Some(&top) = open.last() {
            if findings[top].candidate.end <= c.start {
                open.pop();
            } else {
                break;
            }
        }
        let mut parent = None;
        let mut duplicate = false;
        for &k in open.iter().rev() {
            let kc = &findings[k].candidate;
            if c.start >= kc.start && c.end <= kc.end {
                let shares = c
                    .anchors
                    .iter()
                    .any(|a| kc.anchors.binary_search(a).is_ok());
                let same_object = kc.status == salvor_carvers::Status::Reassembled && shares;
                // An intact archive is never folded into a damaged one that merely starts where
                // it starts: the damaged one's base may have been found in the wrong copy.
                let protected = c.status == salvor_carvers::Status::Intact
                    && matches!(
                        kc.status,
                        salvor_carvers::Status::Damaged | salvor_carvers::Status::Truncated
                    );
                if protected {
                    break;
                }
                if kc.anchors.binary_search(&c.start).is_ok()
                    || (c.start == kc.start && c.end == kc.end)
                    || same_object
                {
                    duplicate = true;
                } else if let Some(r) = kc
                    .regions
                    .iter()
                    .find(|r| r.start <= c.start && c.end <= r.end)
                {
                    // Inside stored bytes or the comment: a nested object.
                    parent = Some((k, r.label.clone()));
                }
                // Anywhere else it overlaps the other's declared structure but is its own object.
                break;
            }
        }
        if duplicate {
            continue;
        }
        let id = findings.len();
        let (parent_id, provenance) = match parent {
            Some((k, label)) => {
                findings[k].children.push(id);
                (Some(k), Some(label))
            }
            None => (None, None),
        };
        findings.push(Finding {
            id,
            candidate: c,
            parent: parent_id,
            provenance,
            children: Vec::new(),
        });
        open.push(id);
    }
    findings
}

/// Keep findings of the requested types (and the parents of kept children), renumbered.
fn filter_types(findings: Vec<Finding>, types: &[String]) -> Vec<Finding> {
    if types.is_empty() {
        return findings;
    }
    let wanted = |f: &Finding| {
        types
            .iter()
            .any(|t| t == f.candidate.kind || t == f.candidate.carver)
    };
    let mut keep = vec![false; findings.len()];
    for f in &findings {
        if wanted(f) {
            let mut at = Some(f.id);
            while let Some(i) = at {
                keep[i] = true;
                at = findings[i].parent;
            }
        }
    }
    let mut new_id = vec![usize::MAX; findings.len()];
    let mut out = Vec::new();
    for f in findings {
        if keep[f.id] {
            new_id[f.id] = out.len();
            out.push(f);
        }
    }
    for f in &mut out {
        f.id = new_id[f.id];
        f.parent = f.parent.map(|p| new_id[p]);
        f.children = f
            .children
            .iter()
            .map(|&c| new_id[c])
            .filter(|&c| c != usize::MAX)
            .collect();
    }
    out
}
