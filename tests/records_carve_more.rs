//! A sceptical examiner's cases for record and manifest-guided carving, built at test time from
//! the shared corpus (never copied into the repository): exact extents and statuses of records
//! cut inside a tag, an attribute value, a UTF-8 or Big5 character, a comment or CDATA; CRLF,
//! BOM and a comment between the declaration and the root; records back to back; nesting; a
//! gzip `.dsicdp`; records in a FAT image; and manifests with CR-restored files, wrong sizes,
//! climbing names, a 0-byte file and duplicates.

mod support;

use serde_json::Value;
use sha1::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::*;

/// Corpus files by path under `tw/`, or `None` (after saying so) when the corpus is absent.
fn tw(name: &str) -> Option<Vec<u8>> {
    let c = corpus_or_say()?;
    Some(std::fs::read(c.join("tw").join(name)).expect("corpus file"))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in corpus file")
}

fn tmp() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("records-more");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
    .clone()
}

/// Carve `image` into a fresh folder; returns the exit code, the report and the folder.
fn carve(image: &Path, extra: &[&str]) -> (Option<i32>, Value, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("-q")
        .arg("carve")
        .arg(image)
        .arg("--out")
        .arg(out.path().join("o"))
        .args(extra)
        .output()
        .unwrap();
    let report = std::fs::read(out.path().join("o/report.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null);
    (o.status.code(), report, out)
}

/// (offset, length, status, kind, file) of each top-level finding.
fn top(report: &Value) -> Vec<(u64, u64, String, String, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["parent"].is_null())
        .map(|f| {
            (
                f["offset"].as_u64().unwrap(),
                f["length"].as_u64().unwrap(),
                f["status"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
                f["file"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn write_image(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const PAD: usize = 1000;

fn padded(rec: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; PAD];
    v.extend_from_slice(rec);
    v.extend_from_slice(tail);
    v
}

/// Each case: image bytes and the single record expected at offset 1000 (length, status, kind).
#[test]
fn single_records_have_exact_extents_statuses_and_extensions() {
    let (Some(si), Some(b5), Some(di)) = (
        tw("00111/1000000016.si"),
        tw("encaps/big5-93-letter.di"),
        tw("00111/100JP00016V1.di"),
    ) else {
        return;
    };
    let z = vec![0u8; PAD];
    let mut cases: Vec<(&str, Vec<u8>, u64, &str, &str)> = Vec::new();
    let slack = [&b"slack text after the end <tag>"[..], &z].concat();
    cases.push(("si-slack", padded(&si, &slack), 23270, "intact", "si"));
    cases.push(("big5", padded(&b5, &z), 987, "intact", "di"));
    cases.push(("big5-at-eof", padded(&b5, b""), 987, "intact", "di"));
    // Cut inside a tag name (after `<` and one byte of a 3-byte character): ends after `<`.
    let i = find(&si, b"<", 5000);
    assert_eq!(i, 5026);
    cases.push(("cut-tag", padded(&si[..i + 3], &z), 5027, "truncated", "si"));
    let i = find(&si, b"Id=\"", 8000) + 6;
    cases.push(("cut-attr", padded(&si[..i], &z), 10212, "truncated", "si"));
    let j = find(&si, "簽".as_bytes(), 9000);
    cases.push((
        "cut-utf8",
        padded(&si[..j + 1], b""),
        10256,
        "truncated",
        "si",
    ));
    let k = b5.iter().skip(600).position(|&b| b >= 0x81).unwrap() + 600;
    assert_eq!(k, 601);
    cases.push(("cut-big5", padded(&b5[..k + 1], &z), 601, "truncated", "di"));
    cases.push((
        "cut-big5-eof",
        padded(&b5[..k + 1], b""),
        601,
        "truncated",
        "di",
    ));
    let end = find(&si, "</線上簽核>".as_bytes(), 0);
    let rec = [
        &si[..end],
        "<!-- a comment </線上簽核> -->".as_bytes(),
        "<![CDATA[ x </線上簽核> ]]>".as_bytes(),
        "</線上簽核>".as_bytes(),
    ]
    .concat();
    cases.push((
        "comment-cdata",
        padded(&rec, &z),
        rec.len() as u64,
        "intact",
        "si",
    ));
    let c = find(&rec, b"<!-- a comment", 0) + 8;
    cases.push((
        "cut-comment",
        padded(&rec[..c], &z),
        c as u64,
        "truncated",
        "si",
    ));
    let c = find(&rec, b"<![CDATA[", 0) + 12;
    cases.push((
        "cut-cdata",
        padded(&rec[..c], &z),
        c as u64,
        "truncated",
        "si",
    ));
    let lf: Vec<u8> = di.iter().copied().filter(|&b| b != b'\r').collect();
    let crlf: Vec<u8> = lf
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    cases.push((
        "di-crlf",
        padded(&crlf, &z),
        crlf.len() as u64,
        "intact",
        "di",
    ));
    let body = &si[find(&si, "<線上簽核".as_bytes(), 0)..];
    let decl = [
        &b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- exported -->\n"[..],
        body,
    ]
    .concat();
    cases.push((
        "decl-comment-root",
        padded(&decl, &z),
        decl.len() as u64,
        "intact",
        "si",
    ));
    let bom = [
        &b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"[..],
        body,
    ]
    .concat();
    cases.push((
        "bom-no-doctype",
        padded(&bom, &z),
        bom.len() as u64,
        "intact",
        "si",
    ));

    let mut errs = Vec::new();
    for (name, bytes, len, status, kind) in cases {
        let img = write_image(&format!("{name}.img"), &bytes);
        let (code, report, out) = carve(&img, &[]);
        let ext = if kind == "si" { "si" } else { "di" };
        let file = format!("{status}/{PAD:012x}.{ext}");
        let want = vec![(
            PAD as u64,
            len,
            status.to_owned(),
            kind.to_owned(),
            Some(file.clone()),
        )];
        let got = top(&report);
        if code != Some(0) || got != want {
            errs.push(format!("{name}: exit {code:?}, {got:?}, expected {want:?}"));
            continue;
        }
        let written = std::fs::read(out.path().join("o").join(&file)).unwrap();
        if written[..] != bytes[PAD..PAD + len as usize] {
            errs.push(format!("{name}: written bytes differ"));
        }
        let dfxml = std::fs::read_to_string(out.path().join("o/report.dfxml")).unwrap();
        if !dfxml.contains(&format!("<salvor:kind>{kind}</salvor:kind>")) {
            errs.push(format!("{name}: DFXML does not name kind {kind}"));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn back_to_back_records_and_nested_si_written_once() {
    let (Some(si), Some(b5), Some(di), Some(enc), Some(mx)) = (
        tw("00111/1000000016.si"),
        tw("encaps/big5-93-letter.di"),
        tw("00111/100JP00016V1.di"),
        tw("encaps/checkin-1000000016.xml"),
        tw("merge/1000000016.xml"),
    ) else {
        return;
    };
    let bb = [&di[..], &b5, &si, &di].concat();
    let img = write_image("back2back.img", &padded(&bb, &[0u8; PAD]));
    let (code, report, _out) = carve(&img, &["--report-only"]);
    assert_eq!(code, Some(0));
    let got: Vec<_> = top(&report).into_iter().map(|t| (t.0, t.1, t.3)).collect();
    let d = di.len() as u64;
    assert_eq!(
        got,
        [
            (1000, d, "di".to_owned()),
            (1000 + d, 987, "di".to_owned()),
            (1000 + d + 987, 23270, "si".to_owned()),
            (1000 + d + 987 + 23270, d, "di".to_owned()),
        ]
    );
    for (name, rec, child) in [
        ("encaps", &enc, (2039u64, 36317u64)),
        ("merge", &mx, (4341, 37536)),
    ] {
        let img = write_image(&format!("{name}.img"), &padded(rec, &[0u8; PAD]));
        let (code, report, out) = carve(&img, &[]);
        assert_eq!(code, Some(0));
        let f = report["findings"].as_array().unwrap();
        assert_eq!(f.len(), 2, "{name}");
        assert_eq!(
            (
                f[0]["offset"].as_u64(),
                f[0]["length"].as_u64(),
                f[0]["kind"].as_str()
            ),
            (Some(1000), Some(rec.len() as u64), Some("erencaps"))
        );
        assert_eq!(f[0]["file"], "intact/0000000003e8.xml");
        assert_eq!(f[0]["children"], serde_json::json!([1]));
        assert_eq!(
            (
                f[1]["offset"].as_u64(),
                f[1]["length"].as_u64(),
                f[1]["kind"].as_str()
            ),
            (Some(child.0), Some(child.1), Some("si"))
        );
        assert!(f[1]["file"].is_null());
        assert_eq!(f[1]["provenance"], "content of <電子封裝檔>");
        let files: Vec<_> = std::fs::read_dir(out.path().join("o/intact"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1, "{name}: the nested SI is not written twice");
    }
}

/// A gzip `.dsicdp` is not inflated by carve, so its records are not found; the records a
/// comment or an attribute value of another document quotes are carved as records.
#[test]
fn dsicdp_is_not_inflated_and_quoted_records_are_carved() {
    let (Some(dsi), Some(si)) = (tw("temp/100JP00016.dsicdp"), tw("00111/1000000016.si")) else {
        return;
    };
    let img = write_image("dsicdp.img", &padded(&dsi, &[0u8; PAD]));
    let (code, report, _o) = carve(&img, &["--report-only"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"], serde_json::json!([]));
    let body = &si[find(&si, "<線上簽核".as_bytes(), 0)..];
    let quoted: Vec<u8> = body
        .iter()
        .map(|&b| if b == b'"' { b'\'' } else { b })
        .collect();
    let doc = [
        &b"<?xml version=\"1.0\"?><doc><!-- "[..],
        body,
        b" --><x a=\"",
        &quoted,
        b"\"/></doc>",
    ]
    .concat();
    let img = write_image("quoted.img", &padded(&doc, &[0u8; PAD]));
    let (_, report, _o) = carve(&img, &["--report-only"]);
    let got: Vec<_> = top(&report)
        .into_iter()
        .map(|t| (t.0, t.1, t.2, t.3))
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        got,
        [
            (1031, 23178, s("intact"), s("si")),
            (24219, 23178, s("intact"), s("si"))
        ]
    );
}

#[test]

fn many_short_root_tags_in_text_are_not_records() {
    let text = "公文 <函> 內容 ".repeat(10_000);
    let img = write_image("hits10k.img", text.as_bytes());
    let (code, report, _o) = carve(&img, &["--report-only"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn records_in_a_fat_image() {
    let (Some(si), Some(b5)) = (tw("00111/1000000016.si"), tw("encaps/big5-93-letter.di")) else {
        return;
    };
    let img = tmp().join("fat.img");
    let _ = std::fs::remove_file(&img);
    std::fs::write(&img, vec![0u8; 8 << 20]).unwrap();
    let ok = Command::new("mkfs.vfat")
        .arg(&img)
        .output()
        .map(|o| o.status.success());
    if ok.ok() != Some(true) {
        eprintln!("skipped: mkfs.vfat not available");
        return;
    }
    let a = write_image("fat-si.si", &si);
    let b = write_image("fat-b5.di", &b5);
    for f in [&a, &b] {
        let st = Command::new("mcopy")
            .arg("-i")
            .arg(&img)
            .arg(f)
            .arg("::")
            .status();
        if st.map(|s| s.success()).ok() != Some(true) {
            eprintln!("skipped: mcopy not available");
            return;
        }
    }
    let (code, report, _o) = carve(&img, &["--report-only"]);
    assert_eq!(code, Some(0));
    let mut got: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
                f["length"].as_u64().unwrap(),
                f["digests"]["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        got,
        [
            (
                s("di"),
                s("intact"),
                987,
                s("b59aad645ba79891bb3b71f84f5fd3e7e54fea60e68d1647e19069ee71eda1a3")
            ),
            (
                s("si"),
                s("intact"),
                23270,
                s("fe427eef62a131ae54a4d60237352967e88dc973b1a8149d88d7c775c03d6f24")
            ),
        ]
    );
}

/// The 00111 files at unaligned offsets, plus a CR-restored copy of each text file that lost
/// its CRs; (image, [(offset, sha1)]).
fn manifest_image() -> Option<&'static (PathBuf, Vec<(u64, String)>)> {
    static IMG: OnceLock<Option<(PathBuf, Vec<(u64, String)>)>> = OnceLock::new();
    IMG.get_or_init(|| {
        let dir = corpus()?.join("tw/00111");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        let mut img = vec![0u8; 777];
        let mut planted = Vec::new();
        let mut plant = |img: &mut Vec<u8>, d: &[u8], gap: usize| {
            planted.push((img.len() as u64, hex(&sha1::Sha1::digest(d))));
            img.extend_from_slice(d);
            img.extend(std::iter::repeat(0x55).take(gap));
        };
        for n in names {
            let d = std::fs::read(dir.join(&n)).unwrap();
            plant(&mut img, &d, 13);
            let n = n.to_string_lossy();
            let text = n.ends_with(".txt") || n.ends_with(".di") || n.ends_with(".htm");
            if text && !d.windows(2).any(|w| w == b"\r\n") && d.contains(&b'\n') {
                let cr: Vec<u8> = d
                    .iter()
                    .flat_map(|&b| {
                        if b == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![b]
                        }
                    })
                    .collect();
                plant(&mut img, &cr, 7);
            }
        }
        Some((write_image("manifest-cr.img", &img), planted))
    })
    .as_ref()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn si_manifest_finds_every_component_once_crs_are_restored() {
    let Some((img, planted)) = manifest_image() else {
        eprintln!("skipped: no corpus");
        return;
    };
    let si = corpus().unwrap().join("tw/00111/1000000016.si");
    for arg in [si.to_str().unwrap(), "auto"] {
        let (code, report, _o) = carve(img, &["--report-only", "--manifest", arg]);
        assert_eq!(code, Some(0));
        let m = &report["manifest"];
        assert_eq!(
            (m["found"].as_u64(), m["not_found"].as_u64()),
            (Some(19), Some(0)),
            "{arg}"
        );
        for e in m["entries"].as_array().unwrap() {
            let mut want: Vec<u64> = planted
                .iter()
                .filter(|p| p.1 == e["digest"].as_str().unwrap())
                .map(|p| p.0)
                .collect();
            want.sort_unstable();
            assert_eq!(
                e["offsets"],
                serde_json::json!(want),
                "{arg}: {}",
                e["name"]
            );
        }
    }
}

#[test]
fn manifest_wrong_size_climbing_names_empty_file_and_duplicates() {
    let Some((img, _)) = manifest_image() else {
        eprintln!("skipped: no corpus");
        return;
    };
    let c = corpus().unwrap().join("tw/00111");
    let txt = std::fs::read(c.join("公司OPV1.txt")).unwrap();
    let cr: Vec<u8> = txt
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    let s1 = hex(&sha1::Sha1::digest(&cr));
    let n = cr.len();
    let di = hex(&sha1::Sha1::digest(
        std::fs::read(c.join("100JP00016V1.di")).unwrap(),
    ));
    let e0 = hex(&sha1::Sha1::digest(b""));
    let m = tmp().join("edge.tsv");
    std::fs::write(
        &m,
        format!(
            "{s1}\t{}\twrong.txt\n{s1}\t{n}\tright.txt\n{s1}\t{n}\tright.txt\n{e0}\t0\tempty.txt\n{di}\t3792\t../../escape.di\n{di}\t3792\t/abs/x.di\n",
            n + 1
        ),
    )
    .unwrap();
    let (code, report, out) = carve(img, &["--manifest", m.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let got: Vec<_> = report["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        got,
        [
            (s("wrong.txt"), s("not-found")),
            (s("right.txt"), s("found")),
            (s("right.txt"), s("found")),
            (s("empty.txt"), s("not-found")),
            (s("../../escape.di"), s("found")),
            (s("/abs/x.di"), s("found")),
        ]
    );
    assert!(!out.path().join("escape.di").exists());
    assert!(!tmp().join("escape.di").exists());
    let files: Vec<_> = report["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().map(str::to_owned))
        .collect();
    // A duplicated line is written a second time under another name (right-2.txt).
    let f = |x: &str| Some(format!("manifest/{x}"));
    assert_eq!(
        files,
        [
            None,
            f("right.txt"),
            f("right-2.txt"),
            None,
            f("escape.di"),
            f("abs/x.di")
        ]
    );
    for x in ["right.txt", "right-2.txt", "escape.di", "abs/x.di"] {
        assert!(out.path().join("o/manifest").join(x).is_file(), "{x}");
    }
}

#[test]
#[ignore = "slow: 200,000 sized entries with 5,000 distinct sizes take minutes on a 2.5 MB image \
            (54 s release, 355 s debug under load); the search seems to cost one pass per size"]
fn a_huge_manifest_is_searched_in_reasonable_time() {
    let Some((img, _)) = manifest_image() else {
        eprintln!("skipped: no corpus");
        return;
    };
    let mut s = String::new();
    for i in 0..200_000u32 {
        let d = hex(&sha1::Sha1::digest(i.to_string().as_bytes()));
        s.push_str(&format!("{d}\t{}\tf{i}.bin\n", 100 + i % 5000));
    }
    let m = tmp().join("huge.tsv");
    std::fs::write(&m, s).unwrap();
    let t = std::time::Instant::now();
    let (code, report, _o) = carve(img, &["--report-only", "--manifest", m.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(report["manifest"]["not_found"].as_u64(), Some(200_000));
    assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
}
