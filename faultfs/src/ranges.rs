//! Sorted, merged byte ranges and their parser.

/// Half-open byte ranges `[start, end)`, sorted and merged.
#[derive(Debug, Clone, Default)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Build from `(start, len)` pairs.
    pub fn new(pairs: Vec<(u64, u64)>) -> Ranges {
        let mut v: Vec<(u64, u64)> = pairs
            .into_iter()
            .filter(|&(_, len)| len > 0)
            .map(|(s, len)| (s, s.saturating_add(len)))
            .collect();
        v.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Ranges(merged)
    }

    /// True when `[start, end)` shares a byte with any range.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.0.iter().any(|&(s, e)| s < end && start < e)
    }

    /// The parts of `[start, end)` outside every range.
    pub fn complement(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut pos = start;
        for &(s, e) in &self.0 {
            if e <= pos || s >= end {
                continue;
            }
            if s > pos {
                out.push((pos, s));
            }
            pos = pos.max(e);
        }
        if pos < end {
            out.push((pos, end));
        }
        out
    }
}

/// Parse `START:LEN`, each a number with an optional K, M or G suffix (binary multiples).
pub fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (s, l) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected START:LEN"))?;
    Ok((parse_num(s)?, parse_num(l)?))
}

fn parse_num(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = match digits.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => digits.parse(),
    }
    .map_err(|_| format!("{text:?} is not a number"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_overlap_complement() {
        let r = Ranges::new(vec![(8192, 4096), (4096, 4096), (20000, 0)]);
        assert_eq!(r.0, vec![(4096, 12288)]);
        assert!(r.overlaps(0, 4097));
        assert!(!r.overlaps(0, 4096));
        assert!(!r.overlaps(12288, 20000));
        assert_eq!(r.complement(0, 20000), vec![(0, 4096), (12288, 20000)]);
        assert_eq!(r.complement(5000, 6000), vec![]);
    }

    #[test]
    fn parses() {
        assert_eq!(parse_range("4K:8K"), Ok((4096, 8192)));
        assert_eq!(parse_range("0x1000:512"), Ok((4096, 512)));
        assert!(parse_range("12").is_err());
    }
}
