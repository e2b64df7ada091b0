//! The repair of every case of the generated damage corpus (testimages/damage.py): each repaired
//! archive passes `unzip -t`, `7zz t` and Python's zipfile, and gives back exactly what its truth
//! says can be given back.

mod support;

use salvor_carvers::zip::repair::RepairOptions;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn damage_corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("damage");
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new("python3")
        .arg(root().join("testimages/damage.py"))
        .arg("--out")
        .arg(&dir)
        .status()
        .expect("python3 runs testimages/damage.py");
    assert!(st.success());
    dir
}

fn tool_ok(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run: {e}")),
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn every_damage_case_is_repaired_and_passes_three_readers() {
    for t in ["unzip", "7zz", "zip"] {
        assert!(have(t), "{t} is needed (scripts/test.sh installs it)");
    }
    let corpus = damage_corpus();
    let truth: Value =
        serde_json::from_slice(&std::fs::read(corpus.join("truth.json")).unwrap()).unwrap();
    let out = corpus.join("repaired");
    std::fs::create_dir_all(&out).unwrap();
    let mut errs = Vec::new();
    for f in truth["files"].as_array().unwrap() {
        let name = f["file"].as_str().unwrap();
        let input = corpus.join(name);
        let output = out.join(format!("{name}.rep.zip"));
        let rec = match salvor::repair::repair_file(&input, &output, &RepairOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                errs.push(format!("{name}: repair failed: {e:#}"));
                continue;
            }
        };
        let json = serde_json::to_vec(&rec).unwrap();
        std::fs::write(out.join(format!("{name}.rep.zip.repair.json")), json).unwrap();
        let pw = f["password"].as_str().unwrap_or("none");
        let (ok, msg) = tool_ok(Command::new("unzip").args(["-tqq", "-P", pw]).arg(&output));
        if !ok {
            errs.push(format!("{name}: unzip -t fails: {msg}"));
        }
        let (ok, msg) = tool_ok(
            Command::new("7zz")
                .args(["t", &format!("-p{pw}")])
                .arg(&output),
        );
        if !ok {
            errs.push(format!(
                "{name}: 7zz t fails: {}",
                msg.lines()
                    .filter(|l| l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    let check = Command::new("python3")
        .arg(root().join("tests/support/check_repair.py"))
        .arg(corpus.join("truth.json"))
        .arg(&corpus)
        .arg(&out)
        .arg(root().join("testimages/sources"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    println!("{report}");
    if !check.status.success() {
        errs.push(format!(
            "content checks:\n{report}{}",
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn repair_refuses_to_overwrite_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = root().join("testimages/sources/pyzip.zip");
    let out = tmp.path().join("x.zip");
    std::fs::write(&out, b"keep me").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(["repair"])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");

    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, noise(5000, 3)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(["repair"])
        .arg(&junk)
        .arg("--out")
        .arg(tmp.path().join("y.zip"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("junk.bin") && err.contains("no ZIP structure found"),
        "{err}"
    );
    assert!(!tmp.path().join("y.zip").exists());
}

#[test]
fn cli_writes_json_and_text_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = match corpus() {
        Some(c) => c,
        None => {
            println!("skipped: corpus not found");
            return;
        }
    };
    let input = corpus.join("zip/lz-broken.zip");
    let out = tmp.path().join("fixed.zip");
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("repair")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "some members are only partly recovered"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("encrypted") && text.contains("cryptok"),
        "{text}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("fixed.zip.repair.json")).unwrap())
            .unwrap();
    let status = |n: &str| {
        json["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("storedok"), "intact");
    assert_eq!(status("deflateok"), "intact");
    assert_eq!(status("cryptok"), "encrypted");
    // Its CRC field, not its data, differs by one bit: nothing proves a correction.
    assert_eq!(status("storedcrcerror"), "partial");
    assert!(Path::new(&tmp.path().join("fixed.zip.repair.txt")).exists());
}
