//! Unit tests on archives built in memory.

use super::*;
use crate::Hit;

/// A tiny stored archive: one member "a.txt" holding "hello".
pub(crate) fn tiny_zip() -> Vec<u8> {
    let data = b"hello";
    let crc = crc32fast::hash(data);
    let mut v = Vec::new();
    v.extend_from_slice(records::LFH_SIG);
    v.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    v.extend_from_slice(&5u16.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(b"a.txt");
    v.extend_from_slice(data);
    let cd = v.len() as u32;
    v.extend_from_slice(records::CDH_SIG);
    v.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    v.extend_from_slice(&5u16.to_le_bytes());
    v.extend_from_slice(&[0; 12]);
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(b"a.txt");
    let cd_size = v.len() as u32 - cd;
    v.extend_from_slice(records::EOCD_SIG);
    v.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    v.extend_from_slice(&cd_size.to_le_bytes());
    v.extend_from_slice(&cd.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v
}

fn carve_all(data: &[u8]) -> Vec<Candidate> {
    let limits = Limits::default();
    let mut out = Vec::new();
    for sig in ZipCarver.signatures() {
        for i in memchr::memmem::find_iter(data, sig.bytes) {
            let hit = Hit {
                offset: i as u64,
                tag: sig.tag,
            };
            if let Some(mut c) = ZipCarver.locate(&data, hit, &limits) {
                ZipCarver.validate(&data, &mut c, &limits);
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn intact_archive_from_both_ends() {
    let mut img = vec![0x55u8; 1000];
    let z = tiny_zip();
    img[333..333 + z.len()].copy_from_slice(&z);
    let found = carve_all(&img);
    assert_eq!(
        found.len(),
        2,
        "one from the local header, one from the end record"
    );
    for c in &found {
        assert_eq!((c.start, c.end), (333, 333 + z.len() as u64));
        assert_eq!(c.status, Status::Intact, "{:?}", c.defects);
        assert_eq!(c.members.len(), 1);
        assert_eq!(c.members[0].check, "ok");
        assert_eq!(c.kind, "zip");
    }
}

#[test]
fn flipped_bit_in_stored_data_is_a_crc_mismatch() {
    let mut z = tiny_zip();
    z[30 + 5 + 2] ^= 0x10;
    let found = carve_all(&z);
    let c = &found[0];
    assert_eq!(c.status, Status::Damaged);
    assert_eq!(c.defects[0].kind, DefectKind::CrcMismatch);
    assert_eq!(c.defects[0].offset, 35);
}

#[test]
fn missing_end_record_is_reported() {
    let z = tiny_zip();
    let mut img = z[..z.len() - 22].to_vec();
    img.extend_from_slice(&[0xAA; 64]);
    let found = carve_all(&img);
    assert_eq!(found.len(), 1);
    // The directory runs into unrelated bytes: the archive was cut after it.
    assert_eq!(found[0].status, Status::Truncated);
    assert!(found[0]
        .defects
        .iter()
        .any(|d| d.kind == DefectKind::EocdMissing));
    assert_eq!(found[0].end, (z.len() - 22) as u64);
}

#[test]
fn end_record_with_a_damaged_signature_is_damage_not_truncation() {
    let mut z = tiny_zip();
    let at = z.len() - 22;
    z[at] = b'@';
    let found = carve_all(&z);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, Status::Damaged, "{:?}", found[0].defects);
    assert_eq!(found[0].end, z.len() as u64);
}

#[test]
fn local_header_with_a_damaged_signature_still_places_its_data() {
    let mut z = tiny_zip();
    z[0] = b'@';
    let found = carve_all(&z);
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert_eq!((c.start, c.end), (0, z.len() as u64));
    let kinds: Vec<_> = c.defects.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [DefectKind::LocalHeaderMismatch]);
}

#[test]
fn every_prefix_is_handled_without_panic() {
    let z = tiny_zip();
    for n in 0..z.len() {
        for c in carve_all(&z[..n]) {
            assert!(c.end <= n as u64);
            assert_ne!(c.status, Status::Intact);
        }
    }
}
