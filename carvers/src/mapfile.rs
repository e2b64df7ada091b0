//! GNU ddrescue mapfiles: which byte ranges of a source are rescued, bad or still to try.
//!
//! ```text
//! # Mapfile. Created by ...          comment lines start with '#'
//! # current_pos  current_status  current_pass
//! 0x00120000     ?               1                   status line (pass is optional)
//! #      pos        size  status
//! 0x00000000  0x00100000  +                          block lines, contiguous from 0
//! ```
//!
//! Block statuses: `?` non-tried, `*` non-trimmed, `/` non-scraped, `-` bad sector, `+` rescued.
//! Only `+` is good data. Numbers may be hexadecimal (`0x`) or decimal, as ddrescue accepts.

use std::fmt::Write;

/// The state of one block of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BlockStatus {
    /// `?`: not read yet.
    NonTried,
    /// `*`: a read failed somewhere in it; its edges still have to be read sector by sector.
    NonTrimmed,
    /// `/`: its edges were trimmed; the inside still has to be read sector by sector.
    NonScraped,
    /// `-`: read sector by sector and failed.
    BadSector,
    /// `+`: read and stored.
    Finished,
}

impl BlockStatus {
    /// The mapfile character.
    pub fn as_char(self) -> char {
        match self {
            BlockStatus::NonTried => '?',
            BlockStatus::NonTrimmed => '*',
            BlockStatus::NonScraped => '/',
            BlockStatus::BadSector => '-',
            BlockStatus::Finished => '+',
        }
    }

    /// From a mapfile character.
    pub fn from_char(c: char) -> Option<BlockStatus> {
        Some(match c {
            '?' => BlockStatus::NonTried,
            '*' => BlockStatus::NonTrimmed,
            '/' => BlockStatus::NonScraped,
            '-' => BlockStatus::BadSector,
            '+' => BlockStatus::Finished,
            _ => return None,
        })
    }
}

/// The phase a run was in, as the status line's character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    /// `?`
    Copying,
    /// `*`
    Trimming,
    /// `/`
    Scraping,
    /// `-`
    Retrying,
    /// `F`
    Filling,
    /// `G`
    Generating,
    /// `+`
    Finished,
}

impl Phase {
    /// The status-line character.
    pub fn as_char(self) -> char {
        match self {
            Phase::Copying => '?',
            Phase::Trimming => '*',
            Phase::Scraping => '/',
            Phase::Retrying => '-',
            Phase::Filling => 'F',
            Phase::Generating => 'G',
            Phase::Finished => '+',
        }
    }

    fn from_char(c: char) -> Option<Phase> {
        Some(match c {
            '?' => Phase::Copying,
            '*' => Phase::Trimming,
            '/' => Phase::Scraping,
            '-' => Phase::Retrying,
            'F' => Phase::Filling,
            'G' => Phase::Generating,
            '+' => Phase::Finished,
            _ => return None,
        })
    }
}

/// One block line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub pos: u64,
    pub size: u64,
    pub status: BlockStatus,
}

impl Block {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.pos + self.size
    }
}

/// A whole mapfile: the status line and contiguous, merged blocks starting at 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    pub current_pos: u64,
    pub phase: Phase,
    pub pass: u32,
    blocks: Vec<Block>,
}

/// Why a mapfile could not be read. Lines are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("line {line}: expected `pos status [pass]`, found {found:?}")]
    BadStatusLine { line: usize, found: String },
    #[error("line {line}: expected `pos size status`, found {found:?}")]
    BadBlockLine { line: usize, found: String },
    #[error("line {line}: block at {pos:#x} should start at {expected:#x} (blocks must be contiguous from 0)")]
    NotContiguous {
        line: usize,
        pos: u64,
        expected: u64,
    },
    #[error("line {line}: block at {pos:#x} has size 0 or runs past 2^64")]
    BadSize { line: usize, pos: u64 },
    #[error("no status line")]
    Empty,
}

fn parse_num(t: &str) -> Option<u64> {
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

impl Map {
    /// A map of `size` bytes, all non-tried.
    pub fn new(size: u64) -> Map {
        let blocks = if size == 0 {
            Vec::new()
        } else {
            vec![Block {
                pos: 0,
                size,
                status: BlockStatus::NonTried,
            }]
        };
        Map {
            current_pos: 0,
            phase: Phase::Copying,
            pass: 1,
            blocks,
        }
    }

    /// Parse mapfile text (Salvor's or ddrescue's).
    pub fn parse(text: &str) -> Result<Map, MapError> {
        let mut status: Option<(u64, Phase, u32)> = None;
        let mut blocks: Vec<Block> = Vec::new();
        let mut expected = 0u64;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            if status.is_none() {
                let parsed = match f.as_slice() {
                    [p, s] | [p, s, _] if s.chars().count() == 1 => {
                        let pass = match f.get(2) {
                            Some(t) => parse_num(t),
                            None => Some(1),
                        };
                        parse_num(p)
                            .zip(s.chars().next().and_then(Phase::from_char))
                            .zip(pass)
                            .map(|((p, s), n)| (p, s, n as u32))
                    }
                    _ => None,
                };
                status = Some(parsed.ok_or_else(|| MapError::BadStatusLine {
                    line,
                    found: l.to_owned(),
                })?);
                continue;
            }
            let bad = || MapError::BadBlockLine {
                line,
                found: l.to_owned(),
            };
            let [p, s, st] = f.as_slice() else {
                return Err(bad());
            };
            let mut cs = st.chars();
            let (Some(pos), Some(size), Some(c), None) =
                (parse_num(p), parse_num(s), cs.next(), cs.next())
            else {
                return Err(bad());
            };
            let status = BlockStatus::from_char(c).ok_or_else(bad)?;
            if pos != expected {
                return Err(MapError::NotContiguous {
                    line,
                    pos,
                    expected,
                });
            }
            expected = match pos.checked_add(size) {
                Some(e) if size > 0 => e,
                _ => return Err(MapError::BadSize { line, pos }),
            };
            push_merged(&mut blocks, Block { pos, size, status });
        }
        let (current_pos, phase, pass) = status.ok_or(MapError::Empty)?;
        Ok(Map {
            current_pos,
            phase,
            pass,
            blocks,
        })
    }

    /// Mapfile text: `header` lines (each gets a `# ` prefix), then the status and block lines.
    pub fn to_text(&self, header: &[String]) -> String {
        let mut s = String::new();
        for h in header {
            let _ = writeln!(s, "# {h}");
        }
        let _ = writeln!(s, "# current_pos  current_status  current_pass");
        let _ = writeln!(
            s,
            "{:#010x}     {}               {}",
            self.current_pos,
            self.phase.as_char(),
            self.pass
        );
        let _ = writeln!(s, "#      pos        size  status");
        for b in &self.blocks {
            let _ = writeln!(
                s,
                "{:#010x}  {:#010x}  {}",
                b.pos,
                b.size,
                b.status.as_char()
            );
        }
        s
    }

    /// The blocks, contiguous from 0 and with no two neighbours of the same status.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Bytes the map covers.
    pub fn size(&self) -> u64 {
        self.blocks.last().map_or(0, Block::end)
    }

    /// Bytes with this status.
    pub fn total(&self, status: BlockStatus) -> u64 {
        self.blocks
            .iter()
            .filter(|b| b.status == status)
            .map(|b| b.size)
            .sum()
    }

    /// The blocks with this status, in order.
    pub fn ranges(&self, status: BlockStatus) -> Vec<(u64, u64)> {
        self.blocks
            .iter()
            .filter(|b| b.status == status)
            .map(|b| (b.pos, b.size))
            .collect()
    }

    /// Grow (with non-tried bytes) or cut the map to `size` bytes.
    pub fn resize(&mut self, size: u64) {
        let cur = self.size();
        if size > cur {
            self.set(cur, size - cur, BlockStatus::NonTried);
            return;
        }
        self.blocks.retain(|b| b.pos < size);
        if let Some(last) = self.blocks.last_mut() {
            last.size = size - last.pos;
        }
        self.current_pos = self.current_pos.min(size);
    }

    /// Give `[pos, pos + size)` a status. The range may reach past the current end (the map
    /// grows with non-tried bytes in any gap).
    pub fn set(&mut self, pos: u64, size: u64, status: BlockStatus) {
        let Some(end) = pos.checked_add(size) else {
            return;
        };
        if size == 0 {
            return;
        }
        let cur = self.size();
        if pos > cur {
            push_merged(
                &mut self.blocks,
                Block {
                    pos: cur,
                    size: pos - cur,
                    status: BlockStatus::NonTried,
                },
            );
        }
        let mut out: Vec<Block> = Vec::with_capacity(self.blocks.len() + 2);
        let mut placed = false;
        for b in self.blocks.drain(..) {
            if b.end() <= pos {
                push_merged(&mut out, b);
                continue;
            }
            if b.pos < pos {
                push_merged(
                    &mut out,
                    Block {
                        pos: b.pos,
                        size: pos - b.pos,
                        status: b.status,
                    },
                );
            }
            if !placed {
                push_merged(&mut out, Block { pos, size, status });
                placed = true;
            }
            if b.end() > end {
                let start = b.pos.max(end);
                push_merged(
                    &mut out,
                    Block {
                        pos: start,
                        size: b.end() - start,
                        status: b.status,
                    },
                );
            }
        }
        if !placed {
            push_merged(&mut out, Block { pos, size, status });
        }
        self.blocks = out;
    }

    /// The status of the byte at `pos`, if the map covers it.
    pub fn status_at(&self, pos: u64) -> Option<BlockStatus> {
        let i = self.blocks.partition_point(|b| b.end() <= pos);
        self.blocks.get(i).map(|b| b.status)
    }
}

fn push_merged(v: &mut Vec<Block>, b: Block) {
    match v.last_mut() {
        Some(last) if last.status == b.status && last.end() == b.pos => last.size += b.size,
        _ => v.push(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ddrescue_output() {
        let text = "# Mapfile. Created by GNU ddrescue version 1.27\n\
                    # Command line: ddrescue -d in out map\n\
                    # current_pos  current_status  current_pass\n\
                    0x00100000     +               1\n\
                    #      pos        size  status\n\
                    0x00000000  0x00100000  +\n\
                    0x00100000  0x00002000  -\n\
                    0x00102000  0x002FE000  +\n";
        let m = Map::parse(text).unwrap();
        assert_eq!(m.phase, Phase::Finished);
        assert_eq!(m.size(), 0x400000);
        assert_eq!(m.ranges(BlockStatus::BadSector), vec![(0x100000, 0x2000)]);
        assert_eq!(Map::parse(&m.to_text(&[])).unwrap(), m);
    }

    #[test]
    fn old_status_line_without_pass() {
        let m = Map::parse("0 ?\n0 100 ?\n").unwrap();
        assert_eq!((m.pass, m.size()), (1, 100));
    }

    #[test]
    fn rejects_gaps() {
        let e = Map::parse("0 ?\n0 10 +\n20 10 -\n").unwrap_err();
        assert!(matches!(e, MapError::NotContiguous { line: 3, .. }));
    }

    #[test]
    fn set_splits_and_merges() {
        let mut m = Map::new(100);
        m.set(10, 10, BlockStatus::Finished);
        m.set(20, 10, BlockStatus::Finished);
        m.set(0, 10, BlockStatus::BadSector);
        assert_eq!(m.blocks().len(), 3);
        assert_eq!(m.ranges(BlockStatus::Finished), vec![(10, 20)]);
        m.resize(15);
        assert_eq!(m.size(), 15);
        m.resize(40);
        assert_eq!(m.total(BlockStatus::NonTried), 25);
    }
}
