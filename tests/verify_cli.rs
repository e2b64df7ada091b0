//! `salvor verify` driven as an archivist would drive it: the built binary, over packages built in
//! a temporary folder from the shared corpus (`tw/`, `veo/`), intact and damaged on purpose.
//! Every test prints "skipped: corpus absent" and returns when the corpus is not there.

mod support;

use serde_json::Value;
use sha1::Digest as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WORDS: [&str; 4] = [
    "authentic",
    "equivalent",
    "repaired-not-authentic",
    "broken",
];

fn corpus() -> Option<PathBuf> {
    support::corpus().filter(|p| p.join("tw").is_dir() && p.join("veo").is_dir())
}

macro_rules! corpus_or_skip {
    () => {
        match corpus() {
            Some(c) => c,
            None => {
                println!(
                    "skipped: corpus absent (set SALVOR_CORPUS or place it at ../shared/corpus)"
                );
                return;
            }
        }
    };
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn salvor_in(dir: Option<&Path>, args: &[&std::ffi::OsStr]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_salvor"));
    c.arg("verify").args(args).env("SALVOR_LOG", "error");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let o = c.output().expect("salvor runs");
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(
        !r.err.contains("panicked") && !r.err.contains("RUST_BACKTRACE"),
        "salvor panicked: {}",
        r.err
    );
    r
}

fn verify(args: &[&str]) -> Run {
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    salvor_in(None, &a)
}

/// `salvor verify --json PATH`: exit code and the report, after checking that every record,
/// signature, reference and component carries one of the four verdict words.
fn json(path: &Path) -> (i32, Value) {
    let r = salvor_in(None, &["--json".as_ref(), path.as_os_str()]);
    let v: Value = serde_json::from_str(&r.out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.out, r.err));
    check_words(&v);
    (r.code, v)
}

fn check_words(rep: &Value) {
    fn rec(r: &Value) {
        assert!(WORDS.contains(&r["verdict"].as_str().unwrap()), "{r}");
        for k in ["signatures", "references", "components"] {
            for x in r[k].as_array().unwrap_or_else(|| panic!("no {k} in {r}")) {
                let w = x["verdict"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no verdict: {x}"));
                assert!(WORDS.contains(&w), "{x}");
            }
        }
        for c in r["children"].as_array().unwrap() {
            rec(c);
        }
    }
    assert!(WORDS.contains(&rep["verdict"].as_str().unwrap()));
    for r in rep["records"].as_array().unwrap() {
        rec(r);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::write(to.join(e.file_name()), fs::read(e.path()).unwrap()).unwrap();
        }
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn verdicts(list: &Value) -> Vec<(&str, &str)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x.get("name")
                    .or_else(|| x.get("id"))
                    .or_else(|| x.get("uri"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                x["verdict"].as_str().unwrap(),
            )
        })
        .collect()
}

fn count(list: &Value, word: &str) -> usize {
    verdicts(list).iter().filter(|(_, v)| *v == word).count()
}

fn component<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn sha1_hex(b: &[u8]) -> String {
    hex(&sha1::Sha1::digest(b))
}
fn sha256_hex(b: &[u8]) -> String {
    hex(&sha2::Sha256::digest(b))
}
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The five files of `00111/` whose CR bytes were stripped, with the size and SHA-1 the SI
/// records for them.
const STRIPPED: [(&str, u64, &str); 5] = [
    (
        "200707020001.di",
        1291,
        "f73dc4a4511a0b2d5aa5ad9606aa42bd9d406ff3",
    ),
    (
        "413122D9_09500027000$310900100Q.di",
        989,
        "8f0a6cda9126b47e4c0fec3d24833b605c89e3d5",
    ),
    (
        "來文附件1.txt",
        28,
        "4c5c446c1b89514fa2383268d80122229a10d922",
    ),
    (
        "公司OPV1.txt",
        107,
        "589d6cc9fbed80958dd00a5acf0a0ba424bec5e3",
    ),
    (
        "公司OPV2.txt",
        107,
        "589d6cc9fbed80958dd00a5acf0a0ba424bec5e3",
    ),
];

const SIGS: [&str; 3] = [
    "ds_Flow_14_Jack_呈核",
    "ds_Flow_14_DSIC_呈核",
    "ds_Flow_14_Joe_決行",
];

/// The SI's verdicts as the corpus holds it: every signature and internal reference authentic,
/// 26 listed components, the 8 listings of the 5 CR-stripped files `equivalent` by
/// `cr-restored`, the other 18 `authentic`.
fn assert_si_00111(r: &Value) {
    assert_eq!(r["kind"], "si");
    assert_eq!(r["root"], "線上簽核");
    assert_eq!(r["verdict"], "equivalent");
    assert_eq!(r["well_formed"], true);
    let sigs = verdicts(&r["signatures"]);
    assert_eq!(
        sigs,
        SIGS.iter().map(|s| (*s, "authentic")).collect::<Vec<_>>()
    );
    for s in r["signatures"].as_array().unwrap() {
        assert_eq!(
            s["signer"]["subject"],
            "SERIALNUMBER=0000000112721924,CN=楊季剛,C=TW"
        );
        assert_eq!(s["signer"]["not_after"], "2012-05-10T00:50:50Z");
    }
    assert_eq!(r["references"].as_array().unwrap().len(), 5);
    assert_eq!(count(&r["references"], "authentic"), 5);
    let comps = r["components"].as_array().unwrap();
    assert_eq!(comps.len(), 26);
    assert_eq!(count(&r["components"], "authentic"), 18);
    assert_eq!(count(&r["components"], "equivalent"), 8);
    let mut eq: Vec<&str> = comps
        .iter()
        .filter(|c| c["verdict"] == "equivalent")
        .map(|c| {
            assert_eq!(c["transform"], "cr-restored", "{c}");
            c["name"].as_str().unwrap()
        })
        .collect();
    eq.sort();
    assert_eq!(
        eq,
        [
            "200707020001.di",
            "413122D9_09500027000$310900100Q.di",
            "413122D9_09500027000$310900100Q.di",
            "來文附件1.txt",
            "來文附件1.txt",
            "來文附件1.txt",
            "公司OPV1.txt",
            "公司OPV2.txt",
        ]
    );
    for (name, size, sha1) in STRIPPED {
        let c = component(r, name);
        assert_eq!(c["recorded_size"], size);
        assert_eq!(c["recorded_digest"], sha1);
    }
}

fn folder_00111(c: &Path, at: &Path) -> PathBuf {
    let d = at.join("00111");
    copy_dir(&c.join("tw/00111"), &d);
    d
}

#[test]
fn si_00111_signatures_authentic_eight_listings_equivalent_by_cr_restored() {
    let c = corpus_or_skip!();
    let t = tmp();
    let d = folder_00111(&c, t.path());
    let (code, rep) = json(&d.join("1000000016.si"));
    assert_eq!(code, 0, "equivalent is not broken: exit 0");
    assert_eq!(rep["package"], "record");
    assert_eq!(rep["verdict"], "equivalent");
    assert_eq!(rep["records"].as_array().unwrap().len(), 1);
    assert_si_00111(&rep["records"][0]);
    // The text report names the transform on each of the eight listings.
    let r = verify(&[d.join("1000000016.si").to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert_eq!(r.out.matches("equivalent by cr-restored").count(), 8);
    assert!(
        r.out.contains("components: 26 listed, 18 authentic"),
        "{}",
        r.out
    );
}

#[test]
fn restore_writes_files_whose_sha1_is_the_recorded_digest() {
    let c = corpus_or_skip!();
    let t = tmp();
    let d = folder_00111(&c, t.path());
    let out = t.path().join("restored");
    let r = verify(&[
        "--json",
        "--restore",
        out.to_str().unwrap(),
        d.join("1000000016.si").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    let rep: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(rep["restored"].as_array().unwrap().len(), 5);
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<&str> = STRIPPED.iter().map(|s| s.0).collect();
    want.sort();
    assert_eq!(names, want);
    for (name, size, sha1) in STRIPPED {
        let b = fs::read(out.join(name)).unwrap();
        assert_eq!(b.len() as u64, size, "{name}");
        assert_eq!(sha1_hex(&b), sha1, "{name}");
        let row = rep["restored"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["component"] == name)
            .unwrap();
        assert_eq!(row["transform"], "cr-restored");
        assert_eq!(row["sha256"], sha256_hex(&b));
    }
    // Files listed by several signatures are written once, without a warning at the default
    // log level.
    let out2 = t.path().join("restored2");
    let quiet = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("verify")
        .arg("--restore")
        .arg(&out2)
        .arg(d.join("1000000016.si"))
        .env_remove("SALVOR_LOG")
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    assert_eq!(fs::read_dir(&out2).unwrap().count(), 5);
    // The originals are never modified.
    assert_eq!(fs::read(d.join("公司OPV1.txt")).unwrap().len(), 106);
    // A second restore into the now non-empty folder is refused, nothing overwritten.
    let again = verify(&[
        "--restore",
        out.to_str().unwrap(),
        d.join("1000000016.si").to_str().unwrap(),
    ]);
    assert_eq!(again.code, 2);
    assert!(again.err.contains("is not empty"), "{}", again.err);
}

#[test]
fn veo_samples_are_authentic_and_their_documents_decode_to_the_sources() {
    let c = corpus_or_skip!();
    let (code, rep) = json(&c.join("veo/1D-2E.veo"));
    assert_eq!(code, 0);
    let r = &rep["records"][0];
    assert_eq!(r["kind"], "veo-v2");
    assert_eq!(r["verdict"], "authentic");
    assert_eq!(
        verdicts(&r["signatures"]),
        [
            ("Revision-1-Signature-1", "authentic"),
            (
                "vers:LockSignatureBlock #1 (signs Revision-1-Signature-1)",
                "authentic"
            )
        ]
    );
    for (name, size) in [("S-39-6-Nov.docx", 263937), ("S-39-6-Nov.pdf", 896223)] {
        let comp = component(r, name);
        let src = fs::read(c.join("veo").join(name)).unwrap();
        assert_eq!(comp["verdict"], "authentic");
        assert_eq!(comp["found_size"], size);
        assert_eq!(comp["found_digest"], sha256_hex(&src));
    }
    let (code, rep) = json(&c.join("veo/fileVEO.veo"));
    assert_eq!(code, 0);
    assert_eq!(rep["records"][0]["verdict"], "authentic");
    assert_eq!(count(&rep["records"][0]["signatures"], "authentic"), 2);
}

#[test]
fn veo_one_flipped_byte_in_a_signed_element_is_broken_line_endings_are_not() {
    let c = corpus_or_skip!();
    let t = tmp();
    let src = fs::read(c.join("veo/1D-2E.veo")).unwrap();
    let at = find(&src, b"Document Author");
    let mut flipped = src.clone();
    flipped[at] ^= 1;
    let p = t.path().join("flipped.veo");
    fs::write(&p, &flipped).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1, "broken: exit 1");
    let r = &rep["records"][0];
    assert_eq!(r["verdict"], "broken");
    assert_eq!(
        verdicts(&r["signatures"]),
        [
            ("Revision-1-Signature-1", "broken"),
            // The lock signature signs the signature value, which did not change.
            (
                "vers:LockSignatureBlock #1 (signs Revision-1-Signature-1)",
                "authentic"
            )
        ]
    );
    assert_eq!(count(&r["components"], "broken"), 2);

    let crlf = replace_all(&src, b"\n", b"\r\n");
    let p = t.path().join("crlf.veo");
    fs::write(&p, &crlf).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 0);
    assert_eq!(rep["records"][0]["verdict"], "authentic");
    assert_eq!(count(&rep["records"][0]["signatures"], "authentic"), 2);
    assert_eq!(count(&rep["records"][0]["components"], "authentic"), 2);
}

#[test]
fn veo_bad_base64_lines_first_reported_docx_handed_to_zip_repair() {
    let c = corpus_or_skip!();
    let t = tmp();
    let src = fs::read(c.join("veo/1D-2E.veo")).unwrap();
    let start = find(
        &src,
        b"vers:id=\"Revision-1-Document-1-Encoding-1-DocumentData\">",
    );
    let line_start = |n: usize| {
        let mut at = start;
        for _ in 0..n {
            at += src[at..].iter().position(|b| *b == b'\n').unwrap() + 1;
        }
        at
    };
    let (a, b) = (line_start(40), line_start(300));
    assert_eq!((a, b), (19838, 39858));
    let mut bad = src.clone();
    bad[a + 10] = b'*';
    bad[b + 3] = b'#';
    let p = t.path().join("bad64.veo");
    fs::write(&p, &bad).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    let docx = component(r, "S-39-6-Nov.docx");
    assert_eq!(docx["verdict"], "repaired-not-authentic");
    let detail = docx["detail"].as_str().unwrap();
    assert!(
        detail.contains("base64 line 416 at offset 19838 does not decode")
            && detail.contains("column 11")
            && detail.contains("2 bad base64 line(s) zero-filled")
            && detail.contains("ZIP repair (docx): 27 members"),
        "{detail}"
    );
    assert_eq!(docx["found_size"], 263937);
    assert_eq!(component(r, "S-39-6-Nov.pdf")["verdict"], "broken");
}

#[test]
fn dsicdp_intact_damaged_truncated_and_resynchronized() {
    let c = corpus_or_skip!();
    let t = tmp();
    let src = fs::read(c.join("tw/temp/1000000016.dsicdp")).unwrap();
    let (code, rep) = json(&c.join("tw/temp/1000000016.dsicdp"));
    assert_eq!(code, 0);
    assert_eq!(rep["package"], "dsicdp");
    let r = &rep["records"][0];
    assert_eq!(r["verdict"], "authentic");
    assert_eq!(count(&r["components"], "authentic"), 22);
    let si = &r["children"][0];
    assert_eq!(si["kind"], "si");
    assert_eq!(count(&si["signatures"], "authentic"), 3);
    assert_eq!(count(&si["components"], "authentic"), 22);

    // Cut in half: 13 records recovered whole, the 14th cut, the lost range named.
    let p = t.path().join("cut.dsicdp");
    fs::write(&p, &src[..src.len() / 2]).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(r["components"].as_array().unwrap().len(), 14);
    assert_eq!(count(&r["components"], "repaired-not-authentic"), 13);
    let cut = component(r, "/100RM00006V2SignInfo_0001.jpg");
    assert_eq!(cut["verdict"], "broken");
    assert!(cut["detail"]
        .as_str()
        .unwrap()
        .contains("336 of 181003 bytes found"));
    let probs: Vec<String> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}: {}", p["offset"], p["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        probs,
        [
            "402488: deflate stream cut off after 402478 compressed bytes (offset in the .dsicdp file)",
            "776037: record 13 (/100RM00006V2SignInfo_0001.jpg) cut off: 336 of 181003 bytes present"
        ]
    );
    // The SI inside still verifies, and proves the records it lists that survived.
    let si = &r["children"][0];
    assert_eq!(count(&si["signatures"], "authentic"), 3);
    assert_eq!(count(&si["components"], "authentic"), 8);
    assert_eq!(count(&si["components"], "broken"), 14);

    // One flipped compressed byte: the CRC fails, records resynchronized by their headers.
    let mut flip = src.clone();
    flip[src.len() * 3 / 10] ^= 0xff;
    let p = t.path().join("flip.dsicdp");
    fs::write(&p, &flip).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(count(&r["components"], "repaired-not-authentic"), 21);
    assert_eq!(component(r, "/100JP00016V3_0001.jpg")["verdict"], "broken");
    let si = &r["children"][0];
    assert_eq!(count(&si["components"], "authentic"), 21);
    assert_eq!(component(si, "100JP00016V3_0001.jpg")["verdict"], "broken");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).unwrap();
    out
}

#[test]
fn dsicdp_impossible_record_length_is_skipped_by_resynchronizing() {
    let c = corpus_or_skip!();
    let t = tmp();
    let raw = gunzip(&fs::read(c.join("tw/temp/1000000016.dsicdp")).unwrap());
    for len in ["99999999999999999999", "18446744073709551615"] {
        let hacked = replace_first(&raw, b",4310\n", format!(",{len}\n").as_bytes());
        let p = t.path().join("len.dsicdp");
        fs::write(&p, gzip(&hacked)).unwrap();
        let (code, rep) = json(&p);
        assert_eq!(code, 1);
        let r = &rep["records"][0];
        assert_eq!(count(&r["components"], "authentic"), 21);
        assert_eq!(
            r["problems"][0]["message"],
            "no record header at 20593: bytes 20593..24977 lost"
        );
        assert_eq!(r["children"][0]["verdict"], "authentic");
    }
}

#[test]
fn dsicdp_gzip_bomb_is_bounded() {
    let _c = corpus_or_skip!();
    let t = tmp();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b"0,/x.si,2011/3/17,3221225472\n").unwrap();
    let chunk = vec![b'A'; 1 << 24];
    for _ in 0..72 {
        e.write_all(&chunk).unwrap();
    }
    let p = t.path().join("bomb.dsicdp");
    fs::write(&p, e.finish().unwrap()).unwrap();
    let started = std::time::Instant::now();
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(
        r["problems"][0]["message"],
        "inflated stream stopped at the 1073741824-byte limit (offset in the .dsicdp file)"
    );
    assert_eq!(component(r, "/x.si")["verdict"], "broken");
    assert!(started.elapsed().as_secs() < 120);
}

#[test]
fn the_00111_folder_zipped_crlf_members_and_strange_folder_names() {
    let c = corpus_or_skip!();
    let t = tmp();
    // A folder named with spaces and Chinese.
    let base = t.path().join("檔案 資料夾 (copy)");
    let d = folder_00111(&c, &base);
    let (code, rep) = json(&d.join("1000000016.si"));
    assert_eq!(code, 0);
    assert_si_00111(&rep["records"][0]);

    // Relative path from the record's folder, ./, and through `..`.
    for arg in ["1000000016.si", "./1000000016.si", "../00111/1000000016.si"] {
        let r = salvor_in(Some(&d), &["--json".as_ref(), arg.as_ref()]);
        assert_eq!(r.code, 0, "{arg}: {}", r.err);
        let rep: Value = serde_json::from_str(&r.out).unwrap();
        assert_si_00111(&rep["records"][0]);
    }

    // The folder zipped as `zip -r` would: members under 00111/.
    let z = t.path().join("00111.zip");
    write_zip(&z, &d, "00111/", |_, b| b);
    let (_, rep) = json(&z);
    assert_eq!(rep["package"], "zip");
    let si = rep["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "00111/1000000016.si")
        .unwrap();
    assert_si_00111(si);

    // Members with CR put back before LF (zip -l): the stripped files match again.
    let z = t.path().join("crlf.zip");
    write_zip(&z, &d, "00111/", |name, b| {
        if STRIPPED.iter().any(|s| s.0 == name) {
            replace_all(&b, b"\n", b"\r\n")
        } else {
            b
        }
    });
    let (_, rep) = json(&z);
    let si = rep["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "00111/1000000016.si")
        .unwrap();
    assert_eq!(si["verdict"], "authentic");
    assert_eq!(count(&si["components"], "authentic"), 26);
}

/// The whole 00111 folder: the SI is `equivalent`, but two DIs among its files declare
/// attachments that are not in the package, and they make the folder `broken` (exit 1).
#[test]
fn the_00111_folder_as_a_whole_names_the_missing_di_attachments() {
    let c = corpus_or_skip!();
    let t = tmp();
    let d = folder_00111(&c, t.path());
    let (code, rep) = json(&d);
    assert_eq!(code, 1);
    assert_eq!(rep["package"], "folder");
    let recs = rep["records"].as_array().unwrap();
    assert_eq!(recs.len(), 8);
    assert_si_00111(&recs[0]);
    let di = recs
        .iter()
        .find(|r| r["path"] == "200707020001.di")
        .unwrap();
    assert_eq!(di["encoding"], "big5");
    assert_eq!(
        verdicts(&di["components"]),
        [
            ("096K00D28908.sw", "broken"),
            ("096K00D28908-01.doc", "broken")
        ]
    );
    // 25 files: 8 records, 15 other files, 2 ZIPs (a .docx and a .doc that is one) holding none.
    let skipped: Vec<&str> = rep["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 17);
    assert!(skipped.contains(&"來文附件2.docx: a ZIP holding no record"));
    assert!(skipped.contains(&"公司OPV1.txt: not a record"));
}

#[test]
fn component_damage_each_named_with_its_transform() {
    let c = corpus_or_skip!();
    let t = tmp();
    let d = folder_00111(&c, t.path());
    let edit = |n: &str, f: &dyn Fn(Vec<u8>) -> Vec<u8>| {
        let p = d.join(n);
        fs::write(&p, f(fs::read(&p).unwrap())).unwrap();
    };
    edit("100JP00016V1.di", &|mut b| {
        b.extend_from_slice(&[0; 512]);
        b
    });
    edit("100JP00016V2.di", &|b| {
        [&[0xEF, 0xBB, 0xBF][..], &b].concat()
    });
    edit("100JP00016V3_0001.jpg", &|mut b| {
        b[1000] ^= 1;
        b
    });
    edit("100RM00006V1.di", &|_| Vec::new());
    edit("2460200A00_ATTCH27.doc", &|b| b[..500_000].to_vec());
    fs::remove_file(d.join("公司OPV2.txt")).unwrap();
    let (code, rep) = json(&d.join("1000000016.si"));
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(count(&r["signatures"], "authentic"), 3);
    let v1 = component(r, "100JP00016V1.di");
    assert_eq!(
        (v1["verdict"].as_str(), v1["transform"].as_str()),
        (Some("equivalent"), Some("truncated-to-recorded-size"))
    );
    let v2 = component(r, "100JP00016V2.di");
    assert_eq!(
        (v2["verdict"].as_str(), v2["transform"].as_str()),
        (Some("equivalent"), Some("bom-removed"))
    );
    for n in [
        "100JP00016V3_0001.jpg",
        "100RM00006V1.di",
        "2460200A00_ATTCH27.doc",
    ] {
        assert_eq!(component(r, n)["verdict"], "broken", "{n}");
    }
    let gone = component(r, "公司OPV2.txt");
    assert_eq!(gone["verdict"], "broken");
    assert!(gone["detail"]
        .as_str()
        .unwrap()
        .contains("missing from folder"));
    assert_eq!(count(&r["components"], "authentic"), 12);
}

fn si_with_uri(c: &Path, dir: &Path, uri: &str) -> PathBuf {
    let si = fs::read(c.join("tw/00111/1000000016.si")).unwrap();
    let out = replace_all(
        &si,
        "URI=\"公司OPV2.txt\"".as_bytes(),
        format!("URI=\"{uri}\"").as_bytes(),
    );
    let p = dir.join("x.si");
    fs::write(&p, out).unwrap();
    p
}

#[test]
fn component_uris_never_lead_out_of_the_package() {
    let c = corpus_or_skip!();
    let t = tmp();
    // A file outside the package that would match the recorded digest if it were read.
    let good = replace_all(
        &fs::read(c.join("tw/00111/公司OPV2.txt")).unwrap(),
        b"\n",
        b"\r\n",
    );
    fs::write(t.path().join("secret.txt"), &good).unwrap();
    fs::create_dir(t.path().join("outside")).unwrap();
    fs::write(t.path().join("outside/secret.txt"), &good).unwrap();
    let pkg = t.path().join("pkg");
    copy_dir(&c.join("tw/00111"), &pkg);
    std::os::unix::fs::symlink("../outside", pkg.join("sub")).unwrap();
    let abs = t.path().join("secret.txt");
    for (uri, why) in [
        ("../secret.txt", "points outside the package; not followed"),
        (
            "%2e%2e/secret.txt",
            "points outside the package; not followed",
        ),
        (
            "..%2fsecret.txt",
            "points outside the package; not followed",
        ),
        ("..\\secret.txt", "points outside the package; not followed"),
        ("sub/secret.txt", "passes through the symbolic link"),
        (abs.to_str().unwrap(), "missing from folder"),
        (&format!("file://{}", abs.display()), "missing from folder"),
    ] {
        let p = si_with_uri(&c, &pkg, uri);
        let (code, rep) = json(&p);
        assert_eq!(code, 1, "{uri}");
        let comp = component(&rep["records"][0], uri);
        assert_eq!(comp["verdict"], "broken", "{uri}");
        assert!(
            comp["detail"].as_str().unwrap().contains(why),
            "{uri}: {}",
            comp["detail"]
        );
    }
    // A component that is itself a symbolic link is not followed either.
    fs::remove_file(pkg.join("公司OPV2.txt")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", pkg.join("公司OPV2.txt")).unwrap();
    let (code, rep) = json(&pkg.join("1000000016.si"));
    assert_eq!(code, 1);
    let comp = component(&rep["records"][0], "公司OPV2.txt");
    assert_eq!(comp["verdict"], "broken");
    assert!(comp["detail"]
        .as_str()
        .unwrap()
        .contains("is a symbolic link; not followed"));
}

#[test]
fn hostile_records_end_in_a_clear_verdict_or_error() {
    let c = corpus_or_skip!();
    let t = tmp();
    let si = fs::read(c.join("tw/00111/1000000016.si")).unwrap();
    let put = |name: &str, b: &[u8]| {
        let p = t.path().join(name);
        fs::write(&p, b).unwrap();
        p
    };

    // A huge declared size: no allocation from it, the digest decides.
    let d = folder_00111(&c, t.path());
    let p = d.join("huge.si");
    fs::write(
        &p,
        replace_all(
            &si,
            "<檔案大小>989<".as_bytes(),
            "<檔案大小>9000000000000000000<".as_bytes(),
        ),
    )
    .unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1, "the size is inside a signed element");
    let comp = component(&rep["records"][0], "413122D9_09500027000$310900100Q.di");
    assert_eq!(comp["recorded_size"], 9000000000000000000u64);
    assert_eq!(comp["verdict"], "equivalent");

    // An empty file, a binary file named .si, NUL bytes before the root: exit 2, file named.
    for (name, bytes) in [
        ("empty.si", Vec::new()),
        (
            "binary.si",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("nul.si", [&b"\0\0\0"[..], &si].concat()),
    ] {
        let p = put(name, &bytes);
        let r = verify(&[p.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{name}");
        assert!(
            r.err.contains(name) && r.err.contains("not a record package"),
            "{name}: {}",
            r.err
        );
    }

    // Truncated: not well-formed, at the offset where the input ends.
    let p = put("cut.si", &si[..12000]);
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(r["well_formed"], false);
    assert_eq!(r["problems"][0]["offset"], 0x2ede);
    assert_eq!(
        r["problems"][0]["message"],
        "not well-formed: unterminated quoted value"
    );

    // A NUL byte inside: a well-formedness problem with its offset.
    let at = find(&si, "<檔案名稱>".as_bytes());
    let mut nul = si.clone();
    nul[at] = 0;
    let (code, rep) = json(&put("nulin.si", &nul));
    assert_eq!(code, 1);
    assert_eq!(rep["records"][0]["problems"][0]["offset"], 0x1517);

    // Zero slack after the record (a carved, sector-padded file) is left out with a note.
    let mut pad = si.clone();
    pad.resize(si.len().div_ceil(512) * 512, 0);
    fs::write(d.join("pad.si"), &pad).unwrap();
    let (code, rep) = json(&d.join("pad.si"));
    assert_eq!(code, 0);
    assert_si_00111(&rep["records"][0]);
    let notes = rep["records"][0]["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "{} zero bytes after the record (slack) were left out, from byte {:#x}",
            pad.len() - si.len(),
            si.len()
        )),
        "{notes}"
    );

    // A path that does not exist: exit 2, named.
    let r = verify(&[t.path().join("nope.si").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.err.contains("nope.si") && r.err.contains("No such file"),
        "{}",
        r.err
    );
}

#[test]
fn entity_expansion_nesting_and_wide_tags_stay_bounded() {
    let _c = corpus_or_skip!();
    let t = tmp();
    let put = |name: &str, s: String| {
        let p = t.path().join(name);
        fs::write(&p, s).unwrap();
        p
    };
    let laughs: String = (1..12)
        .map(|i| {
            let r = format!("&a{};", i - 1).repeat(10);
            format!("<!ENTITY a{i} \"{r}\">")
        })
        .collect();
    let started = std::time::Instant::now();
    let p = put(
        "laughs.si",
        format!("<?xml version=\"1.0\"?><!DOCTYPE 線上簽核 [<!ENTITY a0 \"lol\">{laughs}]><線上簽核><a>&a11;</a></線上簽核>"),
    );
    let (code, _) = json(&p);
    assert!(code == 0 || code == 1);

    // Many references to one large entity, each run under the per-run limit.
    let big = "x".repeat(60_000);
    let run = "&b;".repeat(17);
    let p = put(
        "wide.si",
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE 線上簽核 [<!ENTITY b \"{big}\">]><線上簽核>{}</線上簽核>",
            format!("<a>{run}</a>").repeat(2000)
        ),
    );
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(
        rep["records"][0]["problems"][0]["message"],
        "not well-formed: entity expansion over the whole document passes 16777216 bytes"
    );

    let p = put(
        "deep.si",
        format!(
            "<線上簽核>{}{}</線上簽核>",
            "<a>".repeat(200_000),
            "</a>".repeat(200_000)
        ),
    );
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(
        rep["records"][0]["problems"][0]["message"],
        "not well-formed: elements nested deeper than 4096"
    );

    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    // Well-formed and quick, but an SI with no signature proves nothing: broken, exit 1.
    let p = put("attrs.si", format!("<線上簽核{attrs}/>"));
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(
        rep["records"][0]["problems"][0]["message"],
        "nothing to verify: no signature, digest or record was found in it"
    );
    let p = put("dup.si", format!("<線上簽核{attrs} a7=\"x\"/>"));
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(
        rep["records"][0]["problems"][0]["message"],
        "not well-formed: attribute a7 repeated"
    );
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn big5_di_with_and_without_its_attachments() {
    let c = corpus_or_skip!();
    let t = tmp();
    let p = t.path().join("letter.di");
    fs::copy(c.join("tw/encaps/big5-93-letter.di"), &p).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 1);
    let r = &rep["records"][0];
    assert_eq!(
        (
            r["kind"].as_str(),
            r["root"].as_str(),
            r["encoding"].as_str()
        ),
        (Some("di"), Some("函"), Some("big5"))
    );
    assert_eq!(
        verdicts(&r["components"]),
        [("097JP01842.sw", "broken"), ("附件文件.doc", "broken")]
    );
    fs::write(t.path().join("097JP01842.sw"), b"sw").unwrap();
    fs::write(t.path().join("附件文件.doc"), b"doc").unwrap();
    let (code, _) = json(&p);
    assert_eq!(code, 0);
}

#[test]
fn a_folder_of_thousands_of_files_and_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt as _;
    let c = corpus_or_skip!();
    let t = tmp();
    let d = t.path().join("many");
    fs::create_dir(&d).unwrap();
    for i in 0..3000 {
        fs::write(d.join(format!("f{i:05}.txt")), b"x").unwrap();
    }
    fs::write(d.join("binary.si"), [0xFFu8; 300]).unwrap();
    let odd = d.join(std::ffi::OsStr::from_bytes(b"\xff\xfe dir"));
    fs::create_dir(&odd).unwrap();
    let veo = odd.join(std::ffi::OsStr::from_bytes(b"\xc3(.veo"));
    fs::copy(c.join("veo/fileVEO.veo"), &veo).unwrap();
    let (code, rep) = json(&d);
    assert_eq!(code, 0);
    assert_eq!(rep["verdict"], "authentic");
    assert_eq!(rep["skipped"].as_array().unwrap().len(), 3001);
    assert_eq!(
        rep["records"][0]["path"],
        "\u{fffd}\u{fffd} dir/\u{fffd}(.veo"
    );
    // The record given by a path that is not UTF-8.
    let r = salvor_in(None, &[veo.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("authentic"));
    let r = salvor_in(None, &["--json".as_ref(), veo.as_os_str()]);
    let rep: Value = serde_json::from_str(&r.out).unwrap();
    assert!(rep["input"].as_str().unwrap().ends_with("\u{fffd}(.veo"));
}

/// A signature whose SignedInfo holds but one of whose references does not is not valid under
/// XML-DSig core validation; calling it `authentic` misleads.
#[test]

fn a_signature_with_a_broken_reference_is_not_authentic() {
    let c = corpus_or_skip!();
    let (_, rep) = json(&c.join("tw/merge/1000000016.xml"));
    let si = &rep["records"][0]["children"][0];
    for rf in si["references"].as_array().unwrap() {
        if rf["verdict"] == "broken" {
            let sig = si["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == rf["signature"])
                .unwrap();
            assert_ne!(sig["verdict"], "authentic", "{}", sig["id"]);
        }
    }
}

/// Nothing was proven about a record with no signature and no digest, or a container holding
/// no record: `authentic` (exit 0) overstates it.
#[test]

fn nothing_to_prove_is_not_authentic() {
    let _c = corpus_or_skip!();
    let t = tmp();
    let p = t.path().join("empty.dsicdp");
    fs::write(&p, gzip(b"")).unwrap();
    let (code, rep) = json(&p);
    assert_ne!(rep["verdict"], "authentic");
    assert_eq!(code, 1);
    let p = t.path().join("bare.si");
    fs::write(&p, "<線上簽核 Id=\"x\"><a/></線上簽核>").unwrap();
    let (_, rep) = json(&p);
    assert_ne!(rep["verdict"], "authentic");
}

/// The issue: bytes after the root's end tag are slack, not part of the record. Zero slack is
/// left out; other slack (a sector tail of an older file) makes the record not well-formed.
#[test]

fn non_zero_slack_after_the_record_is_cut() {
    let c = corpus_or_skip!();
    let t = tmp();
    let d = folder_00111(&c, t.path());
    let p = d.join("1000000016.si");
    let mut b = fs::read(&p).unwrap();
    b.extend_from_slice(b"\r\nJUNK<x>older file");
    fs::write(&p, b).unwrap();
    let (code, rep) = json(&p);
    assert_eq!(code, 0);
    assert_si_00111(&rep["records"][0]);
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn replace_first(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = find(hay, from);
    [&hay[..at], to, &hay[at + from.len()..]].concat()
}

fn write_zip(out: &Path, dir: &Path, prefix: &str, f: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let mut w = zip::ZipWriter::new(fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let b = f(&n, fs::read(dir.join(&n)).unwrap());
        w.start_file(format!("{prefix}{n}"), opts).unwrap();
        w.write_all(&b).unwrap();
    }
    w.finish().unwrap();
}
