//! Taiwanese records from the corpus: the SI of `tw/00111` with its component files (eight of
//! which lost their CR bytes upstream), the 電子封裝檔 samples whose chained signing-step
//! references hold only once the certificate text's later re-indentation is undone, the SI of
//! `temp/100JP00016.dsicdp` whose Object digest holds under no variant, and DI documents in UTF-8
//! and Big5.

mod common;

use salvor_carvers::records::tw::{self, classify};
use salvor_carvers::records::{ComponentSource, DigestAlg, NoComponents, RecordReport, Verdict};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Component files read from one folder (test-only; the engine has its own).
struct Folder(PathBuf);

impl ComponentSource for Folder {
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        if uri.contains("..") || uri.starts_with('/') {
            return Ok(None);
        }
        match std::fs::read(self.0.join(uri)) {
            Ok(b) => Ok(Some(Cow::Owned(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
    fn describe(&self) -> String {
        format!("folder {}", self.0.display())
    }
}

fn corpus_dir() -> Option<PathBuf> {
    common::corpus_sub("tw")
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The signed file references whose bytes lost their CRs, in signing order: two of the first
/// step's five, four of the second's eight, two of the third's thirteen.
const CR_STRIPPED: [&str; 8] = [
    "413122D9_09500027000$310900100Q.di",
    "公司OPV1.txt",
    "200707020001.di",
    "來文附件1.txt",
    "來文附件1.txt",
    "公司OPV2.txt",
    "413122D9_09500027000$310900100Q.di",
    "來文附件1.txt",
];

#[test]
fn si_with_its_components() {
    let Some(tw) = corpus_dir() else { return };
    let dir = tw.join("00111");
    let bytes = read(&dir.join("1000000016.si"));
    let r = tw::verify(&bytes, &Folder(dir.clone()));
    assert_eq!(r.kind, "si");
    assert_eq!(r.root, "線上簽核");
    assert_eq!(r.encoding, "utf-8");
    assert_eq!(r.id.as_deref(), Some("sign_1000000016"));
    assert!(r.well_formed);
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    let sigs: Vec<&str> = r.signatures.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        sigs,
        [
            "ds_Flow_14_Jack_呈核",
            "ds_Flow_14_DSIC_呈核",
            "ds_Flow_14_Joe_決行"
        ]
    );
    for s in &r.signatures {
        assert_eq!(s.verdict, Verdict::Authentic, "{}: {}", s.id, s.detail);
        let signer = s.signer.as_ref().expect("certificate");
        assert_eq!(signer.not_after, "2012-05-10T00:50:50Z");
        assert_eq!(s.within_validity, Some(true));
    }
    let refs: Vec<&str> = r.references.iter().map(|x| x.uri.as_str()).collect();
    assert_eq!(
        refs,
        [
            "#Sign_info_Flow_14_Jack_呈核",
            "#sign_Flow_14_Jack_呈核",
            "#Sign_info_Flow_14_DSIC_呈核",
            "#sign_Flow_14_DSIC_呈核",
            "#Sign_info_Flow_14_Joe_決行"
        ]
    );
    for x in &r.references {
        assert_eq!(x.verdict, Verdict::Authentic, "{}: {}", x.uri, x.detail);
    }

    // One component per file each signing step signs: 5 + 8 + 13.
    assert_eq!(r.components.len(), 26);
    let equivalent: Vec<&str> = r
        .components
        .iter()
        .filter(|c| c.verdict == Verdict::Equivalent)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(equivalent, CR_STRIPPED);
    for c in &r.components {
        if c.verdict == Verdict::Equivalent {
            assert_eq!(c.transform.as_deref(), Some("cr-restored"));
            let restored = c.restored.as_ref().expect("restored bytes");
            let sha = DigestAlg::Sha1.digest(restored).unwrap();
            let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(Some(hex), c.recorded_digest);
            assert_eq!(Some(restored.len() as u64), c.recorded_size);
        } else {
            assert_eq!(c.verdict, Verdict::Authentic, "{}: {}", c.name, c.detail);
        }
    }
    assert_eq!(r.verdict, Verdict::Equivalent);
    assert!(r.notes.iter().any(|n| n.contains("no revocation")));
}

/// Replace the `nth` occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &[u8], from: &str, to: &str, nth: usize) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("{from} #{nth} not found"));
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn si_with_a_flipped_byte_is_broken_where_it_was_flipped() {
    let Some(tw) = corpus_dir() else { return };
    let dir = tw.join("00111");
    let bytes = read(&dir.join("1000000016.si"));

    // Inside Jack's signed Object: its own reference breaks, and so does DSIC's chained reference
    // to Jack's whole signing step; every signature value still holds.
    let flipped = patch(&bytes, "<帳號>Jack</帳號>", "<帳號>Jacl</帳號>", 0);
    let r = tw::verify(&flipped, &Folder(dir.clone()));
    let broken: Vec<(&str, &str)> = r
        .references
        .iter()
        .filter(|x| x.verdict == Verdict::Broken)
        .map(|x| (x.signature.as_str(), x.uri.as_str()))
        .collect();
    assert_eq!(
        broken,
        [
            ("ds_Flow_14_Jack_呈核", "#Sign_info_Flow_14_Jack_呈核"),
            ("ds_Flow_14_DSIC_呈核", "#sign_Flow_14_Jack_呈核")
        ]
    );
    // Every signature value still holds, but a signature is no better than its references:
    // Jack's and DSIC's are broken as a whole, Joe's stands.
    let verdicts: Vec<Verdict> = r.signatures.iter().map(|s| s.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Broken, Verdict::Broken, Verdict::Authentic]
    );
    assert!(r.signatures[0]
        .detail
        .contains("holds with the embedded certificate"));
    assert_eq!(r.verdict, Verdict::Broken);

    // Inside Joe's SignedInfo: his signature value fails, nothing else does.
    let flipped = patch(&bytes, "REC-xml-c14n", "REC-xml-c15n", 2);
    let r = tw::verify(&flipped, &Folder(dir));
    let verdicts: Vec<Verdict> = r.signatures.iter().map(|s| s.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Authentic, Verdict::Authentic, Verdict::Broken]
    );
    assert!(
        r.signatures[2].detail.contains("does not hold"),
        "{}",
        r.signatures[2].detail
    );
    assert!(r.references.iter().all(|x| x.verdict == Verdict::Authentic));
    assert_eq!(r.verdict, Verdict::Broken);
}

/// The chained references of the 電子封裝檔 samples (signature, URI), in document order. Each
/// digests an earlier signing step's element, whose certificate text has since been re-indented
/// (`…==\n` became `…==\n\t\t\t\t\t\t\t\t\t`): they hold only once that trailing indentation is
/// removed, so they are `equivalent`, not `authentic`.
/// The variant under which the chained references of the 電子封裝檔 samples hold.
const REINDENTED: &str =
    "c14n, whitespace-only text dropped, trailing indentation removed from text";

const ENCAPS_FAILING: [(&str, &str); 6] = [
    ("ds_Flow_14_DSIC_呈核", "#sign_Flow_14_Jack_呈核"),
    ("ds_Flow_14_Joe_決行", "#sign_Flow_14_DSIC_呈核"),
    ("ds_Flow_34_Jay_並會", "#sign_Flow_14_Joe_決行"),
    ("ds_Flow_66_Jimmy_並會", "#sign_Flow_14_Joe_決行"),
    ("ds_Flow_14_Jack_承辦", "#sign_Flow_66_Jimmy_並會"),
    ("ds_Flow_14_Jack_承辦", "#sign_Flow_34_Jay_並會"),
];

fn failing(r: &RecordReport) -> Vec<(&str, &str)> {
    r.references
        .iter()
        .filter(|x| x.verdict != Verdict::Authentic)
        .map(|x| (x.signature.as_str(), x.uri.as_str()))
        .collect()
}

#[test]
fn encapsulations_report_which_references_fail() {
    let Some(tw) = corpus_dir() else { return };
    let dir = tw.join("00111");
    for f in [
        "encaps/checkin-1000000016.xml",
        "merge/1000000016.si",
        "merge/1000000016.xml",
    ] {
        let r = tw::verify(&read(&tw.join(f)), &Folder(dir.clone()));
        assert_eq!(
            (r.kind.as_str(), r.root.as_str()),
            ("erencaps", "電子封裝檔"),
            "{f}"
        );
        assert!(r.well_formed, "{f}");
        // The unfinished check-in signatures keep two of them broken; the finished one holds,
        // and the re-indented chained references make the whole `equivalent`.
        let whole = if f == "merge/1000000016.xml" {
            Verdict::Equivalent
        } else {
            Verdict::Broken
        };
        assert_eq!(r.verdict, whole, "{f}");
        assert_eq!(r.children.len(), 1, "{f}: the inline SI");
        assert_eq!(r.children[0].verdict, Verdict::Equivalent, "{f}");
        let si = &r.children[0];
        assert_eq!(
            (si.kind.as_str(), si.id.as_deref()),
            ("si", Some("sign_1000000016")),
            "{f}"
        );
        assert_eq!(si.signatures.len(), 6, "{f}");
        // Each signature value holds; the five signers whose chained reference holds only
        // once re-indentation is undone are `equivalent` as a whole, the first is `authentic`.
        let chained: std::collections::BTreeSet<&str> = si
            .references
            .iter()
            .filter(|x| x.verdict == Verdict::Equivalent)
            .map(|x| x.signature.as_str())
            .collect();
        assert_eq!(chained.len(), 5, "{f}");
        for s in &si.signatures {
            let want = if chained.contains(s.id.as_str()) {
                Verdict::Equivalent
            } else {
                Verdict::Authentic
            };
            assert_eq!(s.verdict, want, "{f}: {}", s.id);
        }
        assert_eq!(si.references.len(), 12, "{f}");
        assert_eq!(failing(si), ENCAPS_FAILING, "{f}");
        for x in si.references.iter().filter(|x| x.uri.starts_with("#sign_")) {
            assert_eq!(x.verdict, Verdict::Equivalent, "{f}: {}", x.detail);
            assert_eq!(
                x.variant.as_deref(),
                Some(REINDENTED),
                "{f}: {} {}",
                x.signature,
                x.uri
            );
        }
        let chained: Vec<(&str, &str)> = si
            .references
            .iter()
            .filter(|x| x.uri.starts_with("#sign_"))
            .map(|x| {
                let at = x.detail.find("digest ").map_or(0, |i| i + 7);
                (x.uri.as_str(), x.detail.get(at..at + 28).unwrap_or(""))
            })
            .collect();
        assert_eq!(
            chained,
            [
                ("#sign_Flow_14_Jack_呈核", "2EDAWPFcylbSx3vlw3OAVafojIw="),
                ("#sign_Flow_14_DSIC_呈核", "6eazFCgqulwpaO6589kjn47k5uk="),
                ("#sign_Flow_14_Joe_決行", "McsQZiGKosnbe6N1a05Qt8Mc0ow="),
                ("#sign_Flow_14_Joe_決行", "McsQZiGKosnbe6N1a05Qt8Mc0ow="),
                ("#sign_Flow_66_Jimmy_並會", "nJ9VSob1jkScWH463aaEKF10vIU="),
                ("#sign_Flow_34_Jay_並會", "eSeq40VxjcPVbg5oMgYqY/Vg14Y="),
            ],
            "{f}"
        );
        // Each signing step's own Object reference holds.
        assert!(si
            .references
            .iter()
            .filter(|x| x.uri.starts_with("#Sign_info_"))
            .all(|x| x.verdict == Verdict::Authentic));
        assert_eq!(
            si.components.len(),
            5 + 6 + 11 + 5 + 5 + 5,
            "{f}: one per signed file reference"
        );
        assert!(
            si.components
                .iter()
                .all(|c| matches!(c.verdict, Verdict::Authentic | Verdict::Equivalent)),
            "{f}"
        );
        assert_eq!(
            si.components
                .iter()
                .filter(|c| c.verdict == Verdict::Equivalent)
                .count(),
            14,
            "{f}"
        );

        let outer = &r.signatures[0];
        assert_eq!(outer.id, "CheckSignGCA");
        let outer_refs: Vec<&str> = r.references.iter().map(|x| x.uri.as_str()).collect();
        assert_eq!(
            outer_refs,
            ["#FlowInfo", "#SignInfo", "#CheckSignByGcaTime"]
        );
        if f == "merge/1000000016.xml" {
            // The archive's check-in signature is complete here, and holds.
            assert_eq!(outer.verdict, Verdict::Authentic, "{}", outer.detail);
            assert!(r.references.iter().all(|x| x.verdict == Verdict::Authentic));
        } else {
            // Here it was left unfinished: empty DigestValues and no certificate.
            assert_eq!(outer.verdict, Verdict::Broken);
            assert!(
                outer.detail.contains("no X509Certificate"),
                "{}",
                outer.detail
            );
            assert!(
                r.references
                    .iter()
                    .all(|x| x.verdict == Verdict::Broken
                        && x.detail.contains("DigestValue is empty"))
            );
        }
    }

    let av = tw::verify(&read(&tw.join("encaps/av-1000000016.xml")), &NoComponents);
    assert_eq!(
        (av.kind.as_str(), av.verdict),
        ("erencaps", Verdict::Broken)
    );
    assert!(av.signatures.is_empty());
    let listed: Vec<(&str, Option<u64>)> = av
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.recorded_size))
        .collect();
    assert_eq!(
        listed,
        [
            ("078000037484-0001.tif", Some(71144)),
            ("078000037484-0002.tif", Some(24756)),
            ("078000037484-0003.tif", Some(41486)),
            ("078000037484-0004.tif", Some(47908)),
            ("0960001652.Tif", Some(129332)),
            ("1000000016.xml", Some(4946)),
            ("test.tif", Some(340841)),
        ]
    );
    assert_eq!(av.problems.len(), 7, "each listed file is missing");
    assert_eq!(av.problems[0].offset, Some(369));
}

#[test]
fn every_sample_is_classified_by_its_root() {
    let Some(tw) = corpus_dir() else { return };
    let mut seen = Vec::new();
    for sub in ["encaps", "merge", "00111"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(tw.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "xml" | "si" | "di") {
                continue;
            }
            let r = tw::verify(&read(&p), &NoComponents);
            assert!(r.well_formed, "{}: {:?}", p.display(), r.problems);
            assert_eq!(classify(&r.root), Some(r.kind.as_str()));
            seen.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                r.kind.clone(),
                r.encoding.clone(),
            ));
        }
    }
    let kinds: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("av-1000000016.xml", "erencaps", "utf-8"),
            ("big5-93-letter.di", "di", "big5"),
            ("checkin-1000000016.xml", "erencaps", "utf-8"),
            ("1000000016.si", "erencaps", "utf-8"),
            ("1000000016.xml", "erencaps", "utf-8"),
            ("1000000016.si", "si", "utf-8"),
            ("100JP00016V1.di", "di", "utf-8"),
            ("100JP00016V2.di", "di", "utf-8"),
            ("100JP00016V3.di", "di", "utf-8"),
            ("100RM00006V1.di", "di", "utf-8"),
            ("100RM00006V2.di", "di", "utf-8"),
            ("200707020001.di", "di", "big5"),
            ("413122D9_09500027000$310900100Q.di", "di", "big5"),
        ]
    );
}

#[test]
fn big5_di_lists_its_attachments() {
    let Some(tw) = corpus_dir() else { return };
    let r = tw::verify(&read(&tw.join("encaps/big5-93-letter.di")), &NoComponents);
    assert_eq!(
        (r.kind.as_str(), r.root.as_str(), r.encoding.as_str()),
        ("di", "函", "big5")
    );
    let names: Vec<&str> = r.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["097JP01842.sw", "附件文件.doc"]);
    assert!(
        r.components[0].detail.contains("entity 名單"),
        "{}",
        r.components[0].detail
    );
    assert_eq!(r.problems[0].offset, Some(69));

    let r = tw::verify(&read(&tw.join("00111/200707020001.di")), &NoComponents);
    assert_eq!((r.root.as_str(), r.encoding.as_str()), ("函", "big5"));
    let names: Vec<&str> = r.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["096K00D28908.sw", "096K00D28908-01.doc"]);

    let r = tw::verify(&read(&tw.join("00111/100JP00016V1.di")), &NoComponents);
    assert_eq!(
        (r.root.as_str(), r.encoding.as_str(), r.verdict),
        ("文書結構", "utf-8", Verdict::Authentic)
    );
}

#[test]
fn manifest_of_the_si() {
    let Some(tw) = corpus_dir() else { return };
    let m = tw::manifest(&read(&tw.join("00111/1000000016.si"))).unwrap();
    assert_eq!(m.len(), 19, "distinct (file, digest) pairs");
    let opv = m.iter().find(|e| e.name == "公司OPV1.txt").unwrap();
    assert_eq!(opv.size, Some(107));
    assert_eq!(opv.alg, DigestAlg::Sha1);
    let want =
        salvor_carvers::records::crypto::decode_base64_lenient(b"WJ1syfvtgJWN0ApazwoLpCS+xeM=")
            .unwrap();
    assert_eq!(opv.digest, want);
    let big = m
        .iter()
        .find(|e| e.name == "2460200A00_ATTCH27.doc")
        .unwrap();
    assert_eq!(big.size, Some(927232));
    assert!(tw::manifest(b"<not closed").is_err());
}

/// The SI inside `temp/100JP00016.dsicdp`: its one signature holds, but the digest of its own
/// `Object` matches no canonical form tried (see the report for everything else tried).
#[test]
fn dsicdp_si_object_digest_matches_no_variant() {
    let Some(tw) = corpus_dir() else { return };
    let c = salvor_carvers::records::dsicdp::parse(&read(&tw.join("temp/100JP00016.dsicdp")));
    let si = c.fetch("/100JP00016.si").unwrap().unwrap();
    let r = tw::verify(&si, &c);
    assert_eq!(r.verdict, Verdict::Broken);
    assert_eq!(r.signatures.len(), 1);
    let s = &r.signatures[0];
    assert_eq!(
        (s.id.as_str(), s.verdict),
        ("ds_Flow_14_Jack_呈核", Verdict::Broken),
        "{}",
        s.detail
    );
    assert!(
        s.detail.contains("holds with the embedded certificate"),
        "{}",
        s.detail
    );
    assert!(
        s.detail.contains("#Sign_info_Flow_14_Jack_呈核 is broken"),
        "{}",
        s.detail
    );
    assert_eq!(r.references.len(), 1);
    let x = &r.references[0];
    assert_eq!(
        (x.uri.as_str(), x.verdict),
        ("#Sign_info_Flow_14_Jack_呈核", Verdict::Broken)
    );
    // Each distinct canonical form is listed once with its digest: the trailing-indent variant
    // changes nothing in this element, so it adds no line.
    assert_eq!(
        x.detail,
        "recorded digest wlSQXVMvy3HTG89XHpKVYZN3d/0= matches no canonical form of the element at byte 0xf09 (c14n: C11ZqOTw4J3LsREiuPZ8wFPxNkU=; c14n, whitespace-only text dropped: 6fH9K/7ogL/eNSFhO/hkG2sMTXg=; c14n, encoded as Big5: 73YgKn7kjCXLjXL5G3fwRjHaOD0=; c14n, whitespace-only text dropped, encoded as Big5: MP46raWjIdm4epDFt0Z1eEdVEHI=)"
    );
}

/// The trailing-indentation variant forgives whitespace only: one changed base64 character in
/// the first step's certificate breaks the chained reference that covers it, and only that one.
#[test]
fn reindented_reference_still_catches_a_changed_character() {
    let Some(tw) = corpus_dir() else { return };
    let bytes = read(&tw.join("merge/1000000016.si"));
    let changed = patch(&bytes, "zaI3uc54foTs", "zaI3uc55foTs", 0);
    let r = tw::verify(&changed, &NoComponents);
    let si = &r.children[0];
    let chained: Vec<(&str, Verdict)> = si
        .references
        .iter()
        .filter(|x| x.uri.starts_with("#sign_"))
        .map(|x| (x.uri.as_str(), x.verdict))
        .collect();
    assert_eq!(
        chained,
        [
            ("#sign_Flow_14_Jack_呈核", Verdict::Broken),
            ("#sign_Flow_14_DSIC_呈核", Verdict::Equivalent),
            ("#sign_Flow_14_Joe_決行", Verdict::Equivalent),
            ("#sign_Flow_14_Joe_決行", Verdict::Equivalent),
            ("#sign_Flow_66_Jimmy_並會", Verdict::Equivalent),
            ("#sign_Flow_34_Jay_並會", Verdict::Equivalent),
        ]
    );
    // The change sits in the issuer's signature inside the certificate, not in the key: the
    // step's own signature value still holds (certificate chains are not built offline), so
    // only the next signer's chained reference shows it.
    assert_eq!(si.signatures[0].verdict, Verdict::Authentic);
}
