//! Streaming checks of member data: CRC-32 of stored bytes and raw-deflate decoding.
//!
//! Memory stays bounded: input is read in pieces through [`ByteView`] and output goes through a
//! fixed buffer into the CRC (and an optional sink, which repair uses to salvage a prefix).

use crate::model::Limits;
use crate::view::{ByteView, RangeReader, READ_PIECE};
use flate2::{Decompress, FlushDecompress, Status};
use std::io::Read;

/// How a decoding run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stream ended properly (deflate's final block) or all stored bytes were read.
    Complete,
    /// The decoder rejected the data; `at` is the absolute input offset it had reached.
    Corrupt { at: u64, message: String },
    /// The input ran out (end of the allowed range or of the source) before the stream ended.
    ShortInput,
    /// Output passed the size or ratio limit; decoding was stopped there.
    LimitExceeded,
}

/// Result of streaming one member's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamResult {
    /// Input bytes consumed (for deflate: the stream's exact length when complete).
    pub consumed: u64,
    /// Output bytes produced.
    pub produced: u64,
    /// CRC-32 of the output produced.
    pub crc32: u32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Where decoded bytes go besides the CRC (repair salvages a prefix through it).
pub type Sink<'a> = Option<&'a mut dyn FnMut(&[u8])>;

/// Output piece size while inflating.
const OUT_PIECE: usize = 64 * 1024;

/// Before this much output, the ratio limit is not applied (tiny members compress extremely well).
const RATIO_GRACE: u64 = 1 << 20;

/// Inflate a raw deflate stream starting at `start`, reading at most up to `end`.
pub fn inflate(
    data: &dyn ByteView,
    start: u64,
    end: u64,
    limits: &Limits,
    mut sink: Sink<'_>,
) -> StreamResult {
    let mut reader = RangeReader::new(data, start, end);
    let mut z = Decompress::new(false);
    let mut crc = crc32fast::Hasher::new();
    let mut inbuf = vec![0u8; READ_PIECE];
    let mut outbuf = vec![0u8; OUT_PIECE];
    let (mut have, mut pos) = (0usize, 0usize);
    let finish = |z: &Decompress, crc: crc32fast::Hasher, outcome| StreamResult {
        consumed: z.total_in(),
        produced: z.total_out(),
        crc32: crc.finalize(),
        outcome,
    };

    loop {
        if pos == have {
            // A read error ends the input like the end of the source does.
            have = reader.read(&mut inbuf).unwrap_or_default();
            pos = 0;
        }
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let status = match z.decompress(&inbuf[pos..have], &mut outbuf, FlushDecompress::None) {
            Ok(s) => s,
            Err(e) => {
                let at = start + z.total_in();
                let message = e.message().unwrap_or("invalid deflate data").to_owned();
                return finish(&z, crc, Outcome::Corrupt { at, message });
            }
        };
        pos += (z.total_in() - in_before) as usize;
        let made = (z.total_out() - out_before) as usize;
        crc.update(&outbuf[..made]);
        if let Some(s) = sink.as_mut() {
            s(&outbuf[..made]);
        }

        let out = z.total_out();
        let ratio_bound = limits.max_ratio.saturating_mul(z.total_in().max(1));
        if out > limits.max_inflated || (out > RATIO_GRACE && out > ratio_bound) {
            return finish(&z, crc, Outcome::LimitExceeded);
        }
        match status {
            Status::StreamEnd => return finish(&z, crc, Outcome::Complete),
            Status::Ok | Status::BufError => {
                let progressed = z.total_in() != in_before || made != 0;
                if !progressed && pos == have && have == 0 {
                    return finish(&z, crc, Outcome::ShortInput);
                }
                if !progressed && pos < have {
                    // The decoder wants output room it already has and input it already has:
                    // it cannot make sense of the bytes.
                    let at = start + z.total_in();
                    let message = "decoder made no progress".to_owned();
                    return finish(&z, crc, Outcome::Corrupt { at, message });
                }
            }
        }
    }
}

/// CRC-32 of stored bytes `[start, end)`; `ShortInput` when the source ends first.
pub fn stored(data: &dyn ByteView, start: u64, end: u64, mut sink: Sink<'_>) -> StreamResult {
    let mut reader = RangeReader::new(data, start, end);
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; READ_PIECE];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        if let Some(s) = sink.as_mut() {
            s(&buf[..n]);
        }
        total += n as u64;
    }
    let outcome = if start + total < end {
        Outcome::ShortInput
    } else {
        Outcome::Complete
    };
    StreamResult {
        consumed: total,
        produced: total,
        crc32: crc.finalize(),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::DeflateEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn finds_the_exact_end_of_a_stream() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut z = deflate(&text);
        let len = z.len() as u64;
        z.extend_from_slice(b"PK\x07\x08trailing junk");
        let r = inflate(&&z[..], 0, z.len() as u64, &Limits::default(), None);
        assert_eq!(r.outcome, Outcome::Complete);
        assert_eq!(r.consumed, len);
        assert_eq!(r.produced, text.len() as u64);
        assert_eq!(r.crc32, crc32fast::hash(&text));
    }

    #[test]
    fn short_and_corrupt_input() {
        let z = deflate(b"hello hello hello hello world");
        let r = inflate(&&z[..], 0, (z.len() - 2) as u64, &Limits::default(), None);
        assert_eq!(r.outcome, Outcome::ShortInput);
        let bad = [0xffu8; 64];
        let r = inflate(&&bad[..], 0, 64, &Limits::default(), None);
        assert!(matches!(r.outcome, Outcome::Corrupt { .. }), "{r:?}");
    }

    #[test]
    fn ratio_limit_stops_a_bomb() {
        let zeros = vec![0u8; 50 << 20];
        let z = deflate(&zeros);
        let limits = Limits {
            max_ratio: 100,
            ..Limits::default()
        };
        let r = inflate(&&z[..], 0, z.len() as u64, &limits, None);
        assert_eq!(r.outcome, Outcome::LimitExceeded);
        assert!(r.produced < 50 << 20);
    }
}
