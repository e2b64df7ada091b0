//! Reading a pass back: what to read (everything, or a NIST SP 800-88 sample) and how
//! mismatches are counted and located.

use super::device::ALIGN;
use super::pattern::Pattern;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Mismatches are counted in blocks of this many bytes.
pub const BLOCK: u64 = ALIGN as u64;

/// Mismatching ranges kept in the record; the count covers all of them.
const MAX_RANGES: usize = 32;

/// Sub-sections a sample is spread over (fewer on tiny media).
const SAMPLE_SECTIONS: u64 = 100;

/// One run of bad blocks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BadRange {
    pub start: u64,
    pub end: u64,
    /// `differs` or `read-error`.
    pub kind: String,
}

/// The result of verifying one pass.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerifyRecord {
    /// `all` or `sample N%`.
    pub mode: String,
    pub bytes_checked: u64,
    pub ranges_checked: usize,
    pub mismatched_blocks: u64,
    pub read_error_blocks: u64,
    pub block_size: u64,
    /// The first mismatching ranges, in offset order.
    pub first_mismatches: Vec<BadRange>,
    /// `--fail-fast` stopped at the first mismatch.
    pub stopped_early: bool,
    pub passed: bool,
    pub seconds: f64,
}

impl VerifyRecord {
    /// Count one bad block at `offset`.
    pub fn bad(&mut self, offset: u64, len: u64, kind: &str) {
        if kind == "read-error" {
            self.read_error_blocks += 1;
        } else {
            self.mismatched_blocks += 1;
        }
        if let Some(last) = self.first_mismatches.last_mut() {
            if last.end == offset && last.kind == kind {
                last.end = offset + len;
                return;
            }
        }
        if self.first_mismatches.len() < MAX_RANGES {
            self.first_mismatches.push(BadRange {
                start: offset,
                end: offset + len,
                kind: kind.into(),
            });
        }
    }

    pub fn failed(&self) -> bool {
        self.mismatched_blocks + self.read_error_blocks > 0
    }
}

/// Byte ranges to read for a sample of at least `percent` % of `size`: the medium is cut into
/// up to 100 equal sub-sections and a contiguous run at a seeded random place is read in each;
/// the first and last blocks are always included. Ranges are sorted and disjoint.
pub fn sample_ranges(size: u64, percent: u32, seed: &[u8; 32]) -> Vec<(u64, u64)> {
    let blocks = size.div_ceil(BLOCK);
    if blocks == 0 {
        return Vec::new();
    }
    let sections = SAMPLE_SECTIONS.min(blocks);
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(u64::MAX);
    let mut v = vec![(0, 1), (blocks - 1, blocks)];
    for s in 0..sections {
        let lo = blocks * s / sections;
        let hi = blocks * (s + 1) / sections;
        let len = hi - lo;
        let take = (len * u64::from(percent)).div_ceil(100).clamp(1, len);
        let start = lo + rng.next_u64() % (len - take + 1);
        v.push((start, start + take));
    }
    v.sort();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (a, b) in v {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b)| (a * BLOCK, (b * BLOCK).min(size)))
        .collect()
}

/// Compare `got`, read at `offset`, with what `pattern` put there; count bad blocks in `rec`.
/// `scratch` is reused for regenerated random bytes. Returns true when all matched.
pub fn compare(
    pattern: &Pattern,
    seed: &[u8; 32],
    offset: u64,
    got: &[u8],
    scratch: &mut Vec<u8>,
    rec: &mut VerifyRecord,
) -> bool {
    let whole_ok = match pattern.matches_fixed(offset, got) {
        Some(ok) => ok,
        None => {
            scratch.resize(got.len(), 0);
            pattern.fill(seed, offset, scratch);
            scratch[..] == *got
        }
    };
    if whole_ok {
        return true;
    }
    for (i, block) in got.chunks(BLOCK as usize).enumerate() {
        let at = offset + i as u64 * BLOCK;
        let ok = match pattern.matches_fixed(at, block) {
            Some(ok) => ok,
            None => {
                let s = i * BLOCK as usize;
                scratch[s..s + block.len()] == *block
            }
        };
        if !ok {
            rec.bad(at, block.len() as u64, "differs");
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_covers_ten_percent_first_and_last() {
        for size in [4096u64, 5 * 4096, 1 << 20, (64 << 20) + 512] {
            let r = sample_ranges(size, 10, &[1; 32]);
            let covered: u64 = r.iter().map(|(a, b)| b - a).sum();
            assert!(covered * 10 >= size, "size {size}: {covered}");
            assert_eq!(r[0].0, 0);
            assert_eq!(r.last().unwrap().1, size);
            assert!(r.windows(2).all(|w| w[0].1 < w[1].0));
        }
    }

    #[test]
    fn bad_blocks_merge_into_ranges() {
        let mut rec = VerifyRecord::default();
        rec.bad(0, 4096, "differs");
        rec.bad(4096, 4096, "differs");
        rec.bad(12288, 4096, "read-error");
        assert_eq!(rec.first_mismatches.len(), 2);
        assert_eq!(rec.first_mismatches[0].end, 8192);
        assert_eq!(rec.mismatched_blocks, 2);
        assert!(rec.failed());
    }
}
