//! Electronic records and manifest-guided carving, on images that `testimages/records.py` builds
//! from the shared corpus at test time: exact extents, digests, statuses, kinds and nesting of
//! carved records through every read path; nothing found in random, zero and Chinese text; every
//! file of a manifest found at the offsets where it was planted, through the command line.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::*;

/// The generated images, or `None` (after saying so) when the corpus is absent.
fn images() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let corpus = corpus_or_say()?;
        Some(generated(
            "records.py",
            "records-images",
            &["--corpus".as_ref(), corpus.as_os_str()],
        ))
    })
    .as_deref()
}

fn salvor(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("-q")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn records_have_exact_extents_kinds_and_children() {
    let Some(dir) = images() else { return };
    let image = dir.join("records.img");
    let truth = truth(&dir.join("records.truth.json"));
    let items = truth["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    let mut errs = Vec::new();
    for p in all_paths() {
        let (_, out) = scan_with(&image, p);
        let label = format!("{p:?}");
        let top: Vec<_> = out.findings.iter().filter(|f| f.parent.is_none()).collect();
        if top.len() != items.len() {
            errs.push(format!(
                "{label}: {} top-level findings, expected {}: {:?}",
                top.len(),
                items.len(),
                top.iter()
                    .map(|f| (f.candidate.kind, f.candidate.start, f.candidate.end))
                    .collect::<Vec<_>>()
            ));
        }
        for item in items {
            let off = item["offset"].as_u64().unwrap();
            let Some(f) = top.iter().find(|f| f.candidate.start == off) else {
                errs.push(format!("{label}: {} at {off} not found", item["source"]));
                continue;
            };
            let c = &f.candidate;
            let got = (c.len(), c.kind, c.status.as_str());
            let want = (
                item["length"].as_u64().unwrap(),
                item["type"].as_str().unwrap(),
                item["status"].as_str().unwrap(),
            );
            if got != want {
                errs.push(format!("{label}: {off}: {got:?} expected {want:?}"));
            } else if sha256_range(&image, c.start, c.len()) != item["sha256"].as_str().unwrap() {
                errs.push(format!("{label}: {off}: SHA-256 differs"));
            }
            let children = item["children"].as_array().unwrap();
            if f.children.len() != children.len() {
                errs.push(format!(
                    "{label}: {off}: {} children, expected {}",
                    f.children.len(),
                    children.len()
                ));
            }
            for (k, t) in f.children.iter().zip(children) {
                let ch = &out.findings[*k].candidate;
                let got = (ch.start, ch.len(), ch.kind, ch.status.as_str());
                let want = (
                    t["offset"].as_u64().unwrap(),
                    t["length"].as_u64().unwrap(),
                    t["type"].as_str().unwrap(),
                    t["status"].as_str().unwrap(),
                );
                if got != want {
                    errs.push(format!("{label}: {off}: child {got:?} expected {want:?}"));
                } else if sha256_range(&image, ch.start, ch.len()) != t["sha256"].as_str().unwrap()
                {
                    errs.push(format!("{label}: {off}: child SHA-256 differs"));
                }
            }
        }
    }
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn carved_records_are_written_once_with_their_extensions() {
    let Some(dir) = images() else { return };
    let out = tempfile::tempdir().unwrap();
    let o = salvor(&[
        "carve".as_ref(),
        dir.join("records.img").as_os_str(),
        "--out".as_ref(),
        out.path().join("o").as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("o/report.json")).unwrap()).unwrap();
    let truth = truth(&dir.join("records.truth.json"));
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 13);
    for item in truth["items"].as_array().unwrap() {
        let off = item["offset"].as_u64().unwrap();
        let f = findings.iter().find(|f| f["offset"] == off).unwrap();
        let ext = match item["type"].as_str().unwrap() {
            "erencaps" => "xml",
            k => k,
        };
        let want = format!("{}/{off:012x}.{ext}", item["status"].as_str().unwrap());
        assert_eq!(f["file"].as_str(), Some(want.as_str()));
        let bytes = std::fs::read(out.path().join("o").join(&want)).unwrap();
        assert_eq!(
            salvor::hashing::sha256_hex(&bytes),
            item["sha256"].as_str().unwrap()
        );
        for child in f["children"].as_array().unwrap() {
            let c = &findings[child.as_u64().unwrap() as usize];
            assert!(c["file"].is_null(), "a nested record is not written twice");
            assert_eq!(c["provenance"], "content of <電子封裝檔>");
        }
    }
    let dfxml = std::fs::read_to_string(out.path().join("o/report.dfxml")).unwrap();
    assert_eq!(dfxml.matches("<salvor:kind>si</salvor:kind>").count(), 4);
}

#[test]
fn nothing_in_random_zero_or_chinese_text() {
    let Some(dir) = images() else { return };
    let image = dir.join("clean.img");
    for p in all_paths().into_iter().filter(|p| p.chunk != 4099) {
        let (_, out) = scan_with(&image, p);
        assert!(
            out.findings.is_empty(),
            "{p:?}: {:?}",
            out.findings.first().map(|f| &f.candidate)
        );
        assert_eq!(out.scanned, 32 << 20);
    }
}

#[test]
fn manifest_files_are_found_at_their_offsets() {
    let Some(dir) = images() else { return };
    let out = tempfile::tempdir().unwrap();
    let o = salvor(&[
        "carve".as_ref(),
        dir.join("manifest.img").as_os_str(),
        "--out".as_ref(),
        out.path().join("o").as_os_str(),
        "--manifest".as_ref(),
        dir.join("manifest.tsv").as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("o/report.json")).unwrap()).unwrap();
    let m = &report["manifest"];
    let truth = truth(&dir.join("manifest.truth.json"));
    let want = truth["entries"].as_array().unwrap();
    let got = m["entries"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    assert_eq!(
        (m["found"].as_u64(), m["not_found"].as_u64()),
        (Some(26), Some(1))
    );
    for (g, t) in got.iter().zip(want) {
        assert_eq!(g["name"], t["name"]);
        assert_eq!(g["digest"], t["sha1"], "{}", t["name"]);
        assert_eq!(g["offsets"], t["offsets"], "{}", t["name"]);
        if t["offsets"].as_array().unwrap().is_empty() {
            assert_eq!(g["status"], "not-found");
            assert!(g["file"].is_null());
            continue;
        }
        assert_eq!(g["status"], "found");
        let planted = t["planted_at"].as_u64().unwrap();
        assert!(g["offsets"].as_array().unwrap().contains(&planted.into()));
        let file = g["file"].as_str().unwrap();
        assert!(
            file.starts_with("manifest/") && !file.contains(".."),
            "{file}"
        );
        let bytes = std::fs::read(out.path().join("o").join(file)).unwrap();
        assert_eq!(
            salvor::hashing::sha256_hex(&bytes),
            t["sha256"].as_str().unwrap()
        );
    }
    assert!(!out.path().join("outside").exists());
    assert!(out.path().join("o/manifest/outside/公司OPV1.txt").is_file());
    let dfxml = std::fs::read_to_string(out.path().join("o/report.dfxml")).unwrap();
    assert!(dfxml.contains("<salvor:manifest "));
    assert_eq!(dfxml.matches("status='found'").count(), 26);
}

#[test]
fn manifest_without_sizes_matches_carved_findings_and_exit_codes_follow_carve() {
    let Some(dir) = images() else { return };
    let out = tempfile::tempdir().unwrap();
    // sha1sum output has no sizes: only whole carved findings (the SI, DIs and docx) can match.
    let o = salvor(&[
        "carve".as_ref(),
        dir.join("manifest.img").as_os_str(),
        "--out".as_ref(),
        out.path().join("a").as_os_str(),
        "--manifest".as_ref(),
        dir.join("manifest.sha1").as_os_str(),
        "--report-only".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("a/report.json")).unwrap()).unwrap();
    let found: Vec<&str> = report["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "found")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [
            "1000000016.si",
            "100JP00016V1.di",
            "100JP00016V2.di",
            "100JP00016V3.di",
            "100RM00006V1.di",
            "100RM00006V2.di",
            "300000000AU900000_2460200A00_ATTCH27.doc",
            "413122D9_09500027000$310900100Q.di",
            "來文附件2.docx",
        ]
    );

    // Nothing carved and nothing of the manifest found: exit 1, as for carve.
    let zero = out.path().join("zero.img");
    std::fs::write(&zero, vec![0u8; 1 << 20]).unwrap();
    let o = salvor(&[
        "carve".as_ref(),
        zero.as_os_str(),
        "--out".as_ref(),
        out.path().join("b").as_os_str(),
        "--manifest".as_ref(),
        dir.join("manifest.tsv").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));

    // An unreadable manifest is an error (exit 2) that names the file and line.
    let bad = out.path().join("bad.txt");
    std::fs::write(&bad, "not a manifest\n").unwrap();
    let o = salvor(&[
        "carve".as_ref(),
        zero.as_os_str(),
        "--out".as_ref(),
        out.path().join("c").as_os_str(),
        "--manifest".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.txt") && err.contains("line 1"), "{err}");
}

/// Where the truth planted bytes with this SHA-1 (every copy), sorted.
fn planted_offsets(truth: &Value, sha1: &str) -> Vec<u64> {
    let mut v: Vec<u64> = truth["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["sha1"] == sha1)
        .flat_map(|t| {
            t["offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_u64().unwrap())
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The SI as the manifest (given as a file, then found by `--manifest auto` in the image itself):
/// each component it lists is found where its bytes were planted, proven by the SI's SHA-1; the
/// five files that lost their CRs no longer have the signed digest and are reported not found.
#[test]
fn an_si_is_a_manifest_given_or_carved() {
    let Some(dir) = images() else { return };
    let corpus = support::corpus().unwrap();
    let truth = truth(&dir.join("manifest.truth.json"));
    for how in ["file", "auto"] {
        let out = tempfile::tempdir().unwrap();
        let si = corpus.join("tw/00111/1000000016.si");
        let arg = if how == "file" {
            si.as_os_str()
        } else {
            "auto".as_ref()
        };
        let o = salvor(&[
            "carve".as_ref(),
            dir.join("manifest.img").as_os_str(),
            "--out".as_ref(),
            out.path().join("o").as_os_str(),
            "--manifest".as_ref(),
            arg,
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.path().join("o/report.json")).unwrap())
                .unwrap();
        let m = &report["manifest"];
        let entries = m["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 19, "{how}: the SI lists 19 distinct files");
        let mut not_found = Vec::new();
        for e in entries {
            let want = planted_offsets(&truth, e["digest"].as_str().unwrap());
            let got: Vec<u64> = e["offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_u64().unwrap())
                .collect();
            assert_eq!(got, want, "{how}: {}", e["name"]);
            if want.is_empty() {
                assert_eq!(e["status"], "not-found");
                not_found.push(e["name"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(e["status"], "found");
            }
        }
        not_found.sort();
        assert_eq!(
            not_found,
            [
                "200707020001.di",
                "413122D9_09500027000$310900100Q.di",
                "來文附件1.txt",
                "公司OPV1.txt",
                "公司OPV2.txt"
            ]
            .map(|s| s.to_owned())
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
            "{how}"
        );
        assert_eq!(
            (m["found"].as_u64(), m["not_found"].as_u64()),
            (Some(14), Some(5)),
            "{how}"
        );
    }
}

/// A VEO v3 `VEOContent.xml` is a manifest too: its content files carry hashes but no sizes, so
/// they are matched against whole carved findings (here, two archives of the bundled demo image
/// found at their offsets, and one hash that is nowhere).
#[test]
fn a_veo_v3_content_file_is_a_manifest() {
    use base64::Engine as _;
    let truth = truth(&root().join("testimages/demo.truth.json"));
    let items: Vec<&Value> = truth["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "intact")
        .take(2)
        .collect();
    let b64 = |hex_digest: &str| {
        base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_digest).unwrap())
    };
    let file = |path: &str, h: &str| {
        format!("<vers:ContentFile><vers:PathName>{path}</vers:PathName><vers:HashValue>{h}</vers:HashValue></vers:ContentFile>")
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vers:VEOContentFile xmlns:vers=\"http://www.prov.vic.gov.au/VERS\"><vers:Version>3.0</vers:Version><vers:HashFunctionAlgorithm>SHA-256</vers:HashFunctionAlgorithm><vers:InformationObject><vers:InformationPiece>{}{}{}</vers:InformationPiece></vers:InformationObject></vers:VEOContentFile>\n",
        file("S-1/a.jar", &b64(items[0]["sha256"].as_str().unwrap())),
        file("S-1/b.zip", &b64(items[1]["sha256"].as_str().unwrap())),
        file("S-1/gone.pdf", &b64(&"ab".repeat(32)))
    );
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("VEOContent.xml");
    std::fs::write(&manifest, xml).unwrap();
    let o = salvor(&[
        "carve".as_ref(),
        root().join("testimages/demo.img").as_os_str(),
        "--out".as_ref(),
        tmp.path().join("o").as_os_str(),
        "--manifest".as_ref(),
        manifest.as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("o/report.json")).unwrap()).unwrap();
    let got: Vec<(String, String, Vec<u64>)> = report["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
                e["offsets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "S-1/a.jar".to_owned(),
                "found".to_owned(),
                vec![items[0]["offset"].as_u64().unwrap()]
            ),
            (
                "S-1/b.zip".to_owned(),
                "found".to_owned(),
                vec![items[1]["offset"].as_u64().unwrap()]
            ),
            ("S-1/gone.pdf".to_owned(), "not-found".to_owned(), vec![]),
        ]
    );
}
