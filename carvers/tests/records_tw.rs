//! Taiwanese records from the corpus: the SI of `tw/00111` with its component files (eight of
//! which lost their CR bytes upstream), the 電子封裝檔 samples whose signing-step references are
//! known not to verify, and DI documents in UTF-8 and Big5.

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
    let dir = match std::env::var_os("SALVOR_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    let tw = dir.join("tw");
    if tw.is_dir() {
        Some(tw)
    } else {
        eprintln!("skipped: no corpus at {}", tw.display());
        None
    }
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
    assert_eq!(sigs, ["ds_Flow_14_Jack_呈核", "ds_Flow_14_DSIC_呈核", "ds_Flow_14_Joe_決行"]);
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
