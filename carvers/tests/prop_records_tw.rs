//! Property tests for the record readers: random and mutated bytes never panic the XML parser,
//! canonicalization, digest-guided repair or Taiwanese record verification; parsed offsets stay
//! inside the input; canonical output parses again and canonicalizes to itself.

use proptest::prelude::*;
use salvor_carvers::records::c14n::{self, Options};
use salvor_carvers::records::{transforms, tw, xml, DigestAlg, NoComponents};

/// A small SI-shaped record: DOCTYPE with entities, ids, a signature with a reference to an
/// element and one to a file, a listed file with size, base64 text.
const SEED: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!DOCTYPE 線上簽核 SYSTEM \"x.dtd\"[\r\n<!ENTITY 附件 SYSTEM \"a.doc\" NDATA DOC>\r\n<!NOTATION DOC SYSTEM \"\">\r\n<!ENTITY t \"文&#x41;\">\r\n]>\r\n<線上簽核 Id=\"r\"><簽核點定義 URI=\"#o\" Id=\"s\"><Signature Id=\"ds\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\" /><SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\" /><Reference URI=\"a.doc\"><DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\" /><DigestValue>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</DigestValue></Reference><Reference URI=\"#o\"><DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\" /><DigestValue>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</DigestValue></Reference></SignedInfo><SignatureValue>AAAA</SignatureValue><KeyInfo><X509Data><X509Certificate>MIIB\r\nAAAA</X509Certificate></X509Data></KeyInfo></Signature><Object Id=\"o\" a='1' b=\"&lt;&amp;&t;\"><x:y xmlns:x=\"urn:x\" xml:lang=\"zh\">\r\n  <簽章時間>10003281801</簽章時間><![CDATA[<]]>&#13;<?pi data?><!-- c --></x:y><檔案清單><電子檔案資訊><檔案名稱>a.doc</檔案名稱><檔案大小>0</檔案大小></電子檔案資訊></檔案清單><b64>PD94bWwgdmVyc2lvbj0iMS4wIj8+POe3muS4iuewveaguCBJZD0iaW4iPjwv57ea5LiK57C95qC4Pg==</b64></Object></簽核點定義></線上簽核>";

fn seed_big5() -> Vec<u8> {
    let text = "<?xml version=\"1.0\" encoding=\"BIG5\"?>\n<!DOCTYPE 函 SYSTEM \"97_2.dtd\"[\n<!ENTITY 名單 SYSTEM \"x.sw\" NDATA DI>\n]>\n<函><主旨><文字>許功蓋</文字></主旨><附件檔名 附件名=\"名單\"/></函>";
    encoding_rs::BIG5.encode(text).0.into_owned()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    Just(b'<'),
                    Just(b'>'),
                    Just(b'&'),
                    Just(b'"'),
                    Just(b']'),
                    Just(b'\r'),
                    any::<u8>()
                ],
                1..8
            )
        )
            .prop_map(|(a, v)| Mutation::Insert(a, v)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if b.is_empty() {
            break;
        }
        let n = b.len();
        match m {
            Mutation::Flip(a, x) => b[a % n] ^= x | 1,
            Mutation::Delete(a, k) => {
                let s = a % n;
                b.drain(s..(s + k).min(n));
            }
            Mutation::Insert(a, v) => {
                let s = a % n;
                b.splice(s..s, v.iter().copied());
            }
            Mutation::Truncate(a) => b.truncate(a % n),
        }
    }
    b
}

/// Everything the record readers promise about any input.
fn check(bytes: &[u8]) {
    let parsed = xml::parse(bytes);
    let report = tw::verify(bytes, &NoComponents);
    // Bytes after the root's end tag are slack, cut before parsing: such a record is still
    // well-formed.
    let slack_only = match &parsed {
        Err(e) if e.message.contains("after the root element") => {
            xml::parse(&bytes[..e.offset as usize]).is_ok()
        }
        _ => false,
    };
    assert_eq!(report.well_formed, parsed.is_ok() || slack_only);
    let _ = tw::manifest(bytes);
    match parsed {
        Err(e) => assert!(e.offset as usize <= bytes.len()),
        Ok(doc) => {
            for e in &doc.elements {
                assert!(e.offset < e.end && e.end as usize <= bytes.len());
                assert_eq!(bytes[e.offset as usize], b'<');
            }
            // The Big5 variants are the same text in another encoding, not a document to re-read.
            for opts in c14n::VARIANTS.into_iter().filter(|o| !o.big5) {
                let once = c14n::canonicalize(&doc, 0, opts);
                let again = xml::parse(&once).expect("canonical form parses");
                assert_eq!(
                    c14n::canonicalize(&again, 0, opts),
                    once,
                    "canonical form is a fixed point"
                );
            }
            for i in 0..doc.elements.len().min(16) {
                let _ = c14n::canonicalize(&doc, i, Options::default());
            }
        }
    }
}

#[test]
fn seeds_are_what_the_mutations_start_from() {
    let r = tw::verify(SEED.as_bytes(), &NoComponents);
    assert!(r.well_formed, "{:?}", r.problems);
    assert_eq!(r.kind, "si");
    assert_eq!(r.children.len(), 1, "the base64 record inside");
    assert_eq!(r.children[0].kind, "si");
    assert_eq!(r.children[0].id.as_deref(), Some("in"));
    check(SEED.as_bytes());
    let r = tw::verify(&seed_big5(), &NoComponents);
    assert_eq!((r.kind.as_str(), r.encoding.as_str()), ("di", "big5"));
    check(&seed_big5());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&b);
        let mut x = b"<?xml version=\"1.0\"?><a>".to_vec();
        x.extend_from_slice(&b);
        check(&x);
    }

    #[test]
    fn mutated_si_never_panics(ms in prop::collection::vec(mutation(), 1..6)) {
        check(&apply(SEED.as_bytes().to_vec(), &ms));
    }

    #[test]
    fn mutated_big5_di_never_panics(ms in prop::collection::vec(mutation(), 1..6)) {
        check(&apply(seed_big5(), &ms));
    }

    #[test]
    fn repair_only_returns_what_proves_itself(
        b in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), any::<u8>()], 0..256),
        orig in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..64),
        size in proptest::option::of(0u64..400),
    ) {
        let digest = DigestAlg::Sha1.digest(&orig).unwrap();
        if let Some((name, fixed)) = transforms::prove(&b, size, DigestAlg::Sha1, &digest) {
            prop_assert_eq!(DigestAlg::Sha1.digest(&fixed).unwrap(), digest);
            prop_assert!(!name.is_empty());
        }
    }

    #[test]
    fn stripped_crs_are_restored(lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no line ends", |c| *c != b'\r' && *c != b'\n'), 0..20), 1..8)) {
        let orig: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain(*b"\r\n")).collect();
        let stripped: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain(*b"\n")).collect();
        let digest = DigestAlg::Sha1.digest(&orig).unwrap();
        let got = transforms::prove(&stripped, Some(orig.len() as u64), DigestAlg::Sha1, &digest);
        prop_assert_eq!(got, Some(("cr-restored".to_string(), orig)));
    }
}
