//! An archive larger than 4 GiB written without ZIP64: its 32-bit local-header offsets wrapped.
//! The carver must find the true positions and say what it corrected; repair must write an
//! archive whose offsets are right (ZIP64 where needed). The source is virtual: zeros except
//! where headers are, so the test needs no disk space.

use salvor_carvers::zip::layout;
use salvor_carvers::zip::repair::{self, MemberStatus, RepairOptions};
use salvor_carvers::{ByteView, DefectKind, Limits};
use std::borrow::Cow;

/// A source of `len` bytes that are zero except for the given pieces.
struct Sparse {
    len: u64,
    pieces: Vec<(u64, Vec<u8>)>,
}

impl ByteView for Sparse {
    fn len(&self) -> u64 {
        self.len
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        if offset >= self.len {
            return Cow::Borrowed(&[]);
        }
        let n = (self.len - offset).min(len as u64) as usize;
        let mut v = vec![0u8; n];
        for (at, bytes) in &self.pieces {
            let (a, b) = (*at, *at + bytes.len() as u64);
            let (lo, hi) = (a.max(offset), b.min(offset + n as u64));
            if lo < hi {
                v[(lo - offset) as usize..(hi - offset) as usize]
                    .copy_from_slice(&bytes[(lo - a) as usize..(hi - a) as usize]);
            }
        }
        Cow::Owned(v)
    }
}

fn local(name: &[u8], crc: u32, size: u32) -> Vec<u8> {
    let mut v = b"PK\x03\x04".to_vec();
    v.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&(name.len() as u16).to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(name);
    v
}

fn central(name: &[u8], crc: u32, size: u32, offset: u32) -> Vec<u8> {
    let mut v = b"PK\x01\x02".to_vec();
    v.extend_from_slice(&[10, 3, 10, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&(name.len() as u16).to_le_bytes());
    v.extend_from_slice(&[0; 12]);
    v.extend_from_slice(&offset.to_le_bytes());
    v.extend_from_slice(name);
    v
}

fn zeros_crc(n: u64) -> u32 {
    let block = vec![0u8; 1 << 20];
    let mut h = crc32fast::Hasher::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len() as u64) as usize;
        h.update(&block[..k]);
        left -= k as u64;
    }
    h.finalize()
}

#[test]
fn wrapped_offsets_are_found_and_rewritten() {
    let big: u64 = (1 << 31) + 4096;
    let crc = zeros_crc(big);
    let tail = b"the last member lives past 4 GiB";
    let mut pieces = Vec::new();
    let mut pos = 0u64;
    let mut offsets = Vec::new();
    for name in [&b"a.bin"[..], b"b.bin"] {
        offsets.push(pos);
        let h = local(name, crc, big as u32);
        let hl = h.len() as u64;
        pieces.push((pos, h));
        pos += hl + big;
    }
    offsets.push(pos);
    let mut h = local(b"tail.txt", crc32fast::hash(tail), tail.len() as u32);
    h.extend_from_slice(tail);
    let hl = h.len() as u64;
    pieces.push((pos, h));
    pos += hl;
    assert!(offsets[2] > 1 << 32);

    let cd_start = pos;
    let mut cd = Vec::new();
    cd.extend(central(b"a.bin", crc, big as u32, offsets[0] as u32));
    cd.extend(central(b"b.bin", crc, big as u32, offsets[1] as u32));
    cd.extend(central(
        b"tail.txt",
        crc32fast::hash(tail),
        tail.len() as u32,
        offsets[2] as u32,
    ));
    let mut end = b"PK\x05\x06\0\0\0\0\x03\0\x03\0".to_vec();
    end.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    end.extend_from_slice(&(cd_start as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    let eocd = cd_start + cd.len() as u64;
    pieces.push((cd_start, cd));
    pieces.push((eocd, end));
    let source = Sparse {
        len: eocd + 22,
        pieces,
    };

    let l = layout::from_end(&source, eocd, &Limits::default())
        .expect("archive found from its end record");
    assert_eq!(l.start, 0);
    let found: Vec<Option<u64>> = l.entries.iter().map(|e| e.header_offset).collect();
    assert_eq!(found, offsets.iter().map(|&o| Some(o)).collect::<Vec<_>>());
    assert!(
        l.defects
            .iter()
            .any(|d| d.kind == DefectKind::OffsetMismatch && d.found.contains("wrapped")),
        "{:?}",
        l.defects
    );

    // Repair into a sink that only counts: the rewritten offsets need ZIP64.
    struct Tail(Vec<u8>, u64);
    impl std::io::Write for Tail {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1 += b.len() as u64;
            self.0
                .extend_from_slice(&b[b.len().saturating_sub(1 << 16)..]);
            let keep = self.0.len().saturating_sub(1 << 16);
            self.0.drain(..keep);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Tail(Vec::new(), 0);
    let rep = repair::repair(&source, &RepairOptions::default(), &mut out).unwrap();
    assert!(
        rep.members.iter().all(|m| m.status == MemberStatus::Intact),
        "{:?}",
        rep.members
    );
    assert_eq!(
        out.1,
        source.len() + 20 + 56 + 12,
        "same bytes plus ZIP64 extra, end record and locator"
    );
    let tailbytes = &out.0;
    let z64 = tailbytes
        .windows(4)
        .rposition(|w| w == b"PK\x06\x06")
        .expect("ZIP64 end record written");
    let cd_offset = u64::from_le_bytes(tailbytes[z64 + 48..z64 + 56].try_into().unwrap());
    assert_eq!(cd_offset, cd_start, "directory offset recorded in full");
}
