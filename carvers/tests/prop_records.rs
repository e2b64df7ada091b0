//! Property tests for the VEO and `.dsicdp` readers: random bytes and mutated valid inputs never
//! panic, every range they report lies inside what they read, and an untouched input verifies.

use proptest::prelude::*;
use salvor_carvers::records::veo::{decode_document, verify_v2, verify_v3};
use salvor_carvers::records::{dsicdp, ComponentSource, NoComponents};
use std::io::Write;

/// A small VEO v2 (unsigned) with one document, for mutation.
fn small_veo() -> Vec<u8> {
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE vers:VERSEncapsulatedObject SYSTEM \"vers.dtd\">\n<vers:VERSEncapsulatedObject xmlns:vers=\"x\">\n<vers:SignatureBlock vers:id=\"S1\"><vers:SignatureAlgorithm><vers:SignatureAlgorithmIdentifier>1.2.840.113549.1.1.5</vers:SignatureAlgorithmIdentifier></vers:SignatureAlgorithm><vers:Signature>\nAAAA\n</vers:Signature><vers:CertificateBlock><vers:Certificate>MIIB</vers:Certificate></vers:CertificateBlock></vers:SignatureBlock>\n<vers:LockSignatureBlock vers:signsSignatureBlock=\"S1\"><vers:Signature>AAAA</vers:Signature></vers:LockSignatureBlock>\n<vers:SignedObject><vers:ObjectContent><vers:Record><vers:Document><vers:Encoding><vers:EncodingMetadata><vers:SourceFileIdentifier>C:\\a\\b.docx</vers:SourceFileIdentifier></vers:EncodingMetadata><vers:DocumentData>\nUEsDBBQAAAAIAAAAIQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nQUJD\n</vers:DocumentData></vers:Encoding></vers:Document><vers:ModifiedVEO><vers:OriginalVEO><vers:SignedObject>x</vers:SignedObject></vers:OriginalVEO></vers:ModifiedVEO></vers:Record></vers:ObjectContent></vers:SignedObject>\n</vers:VERSEncapsulatedObject>\n".to_vec()
}

fn small_dsicdp() -> Vec<u8> {
    let raw = b"0,/a.si,2011/3/17 t 03:32:14,5\n<a/>\n\n1,/b/c.txt,t,3\nabc\n2,/d,t,0\n\n";
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn mutate(mut b: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    for &(at, v) in edits {
        if !b.is_empty() {
            let i = at % b.len();
            b[i] = v;
        }
    }
    let keep = b.len() - cut % (b.len() + 1);
    b.truncate(keep);
    b
}

fn check_dsicdp(b: &[u8]) {
    let c = dsicdp::parse(b);
    for r in &c.records {
        assert!(r.data.start <= r.data.end && r.data.end <= c.inflated.len());
        assert!(r.data_offset as usize == r.data.start);
    }
    for l in &c.lost {
        assert!(l.start < l.end && l.end as usize <= c.inflated.len());
    }
    let r = dsicdp::verify(b);
    assert_eq!(r.components.len(), c.records.len());
    let _ = c.fetch("a.si");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn veo_random_bytes(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify_v2(&b);
        let _ = salvor_carvers::records::veo::content_manifest(&b);
        let d = decode_document(&b, 0..b.len());
        prop_assert!(d.bytes.len() <= b.len() * 3 / 2 + 3);
    }

    #[test]
    fn veo_mutated(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let b = mutate(small_veo(), &edits, cut);
        let r = verify_v2(&b);
        let _ = salvor_carvers::records::veo::content_manifest(&b);
        for p in &r.problems {
            if let Some(o) = p.offset { prop_assert!(o as usize <= b.len()); }
        }
        let d = decode_document(&b, 10..b.len().saturating_sub(3));
        prop_assert!(d.bytes.len() <= b.len() * 3 / 2 + 3);
    }

    #[test]
    fn veo_v3_random_members(files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 5)) {
        struct M(Vec<(String, Vec<u8>)>);
        impl ComponentSource for M {
            fn fetch(&self, uri: &str) -> Result<Option<std::borrow::Cow<'_, [u8]>>, String> {
                Ok(self.0.iter().find(|(n, _)| n == uri).map(|(_, b)| b.as_slice().into()))
            }
            fn describe(&self) -> String { String::new() }
        }
        let names = ["v.veo/VEOContent.xml", "v.veo/VEOHistory.xml", "v.veo/VEOContentSignature1.xml", "v.veo/VEOHistorySignature2.xml", "v.veo/a/b"];
        let mut m = M(names.iter().map(|n| n.to_string()).zip(files).collect());
        m.0[0].1.extend_from_slice(b"<vers:VEOContentFile><vers:ContentFile><vers:PathName>a/b</vers:PathName><vers:HashValue>AAAA</vers:HashValue></vers:ContentFile></vers:VEOContentFile>");
        let list: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let _ = verify_v3(&m, &list);
        let _ = verify_v3(&NoComponents, &list);
    }

    #[test]
    fn dsicdp_random_bytes(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_dsicdp(&b);
        let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0];
        g.extend_from_slice(&b);
        check_dsicdp(&g);
    }

    #[test]
    fn dsicdp_mutated(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        check_dsicdp(&mutate(small_dsicdp(), &edits, cut));
    }
}

#[test]
fn untouched_inputs_parse() {
    let c = dsicdp::parse(&small_dsicdp());
    assert!(c.gzip_intact);
    assert_eq!(c.records.len(), 3);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let r = verify_v2(&small_veo());
    assert!(r.well_formed, "{:?}", r.problems);
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.components.len(), 1);
    assert_eq!(r.components[0].name, "b.docx");
}
