//! `salvor carve` as a user runs it: exit codes, output folders, reports and the audit log.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use support::*;

fn salvor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(args)
        .output()
        .expect("salvor runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn carve_demo_image_writes_files_reports_and_audit_log() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("case1");
    let image = root().join("testimages/demo.img");
    let o = salvor(&["carve", s(&image), "--out", s(&dir), "-q"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.starts_with("salvor: 15 findings in "), "{stdout}");
    assert!(
        stdout.contains("(12 intact, 2 damaged, 1 truncated, 1 nested); 14 files written"),
        "{stdout}"
    );

    let truth = truth(&root().join("testimages/demo.truth.json"));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for item in truth["items"].as_array().unwrap() {
        let off = item["offset"].as_u64().unwrap();
        let f = findings
            .iter()
            .find(|f| f["offset"] == off && f["parent"].is_null())
            .expect("finding for truth item");
        let status = item["status"].as_str().unwrap();
        assert_eq!(f["status"], status);
        let file = f["file"].as_str().unwrap();
        assert!(file.starts_with(&format!("{status}/{off:012x}.")), "{file}");
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(
            salvor::hashing::sha256_hex(&bytes),
            f["digests"]["sha256"].as_str().unwrap()
        );
        if status != "truncated" {
            assert_eq!(f["digests"]["sha256"], item["sha256"], "{file}");
        }
        for child in item["children"].as_array().unwrap() {
            let c = findings
                .iter()
                .find(|c| c["offset"] == child["offset"])
                .expect("child reported");
            assert_eq!(c["parent"], f["id"]);
            assert!(c["file"].is_null(), "a child is not written twice");
            assert_eq!(c["digests"]["sha256"], child["sha256"]);
        }
    }

    // Damaged and truncated archives get a repaired copy beside them.
    let repaired: Vec<&Value> = findings.iter().filter(|f| !f["repair"].is_null()).collect();
    assert_eq!(repaired.len(), 3);
    for f in &repaired {
        let r = &f["repair"];
        let file = dir.join(r["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            salvor::hashing::sha256_hex(&bytes),
            r["sha256"].as_str().unwrap()
        );
        assert!(dir.join(r["report"].as_str().unwrap()).exists());
        let t = std::process::Command::new("python3")
            .args([
                "-c",
                "import zipfile,sys; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)",
            ])
            .arg(&file)
            .status()
            .unwrap();
        assert!(t.success(), "{}", file.display());
        match f["status"].as_str().unwrap() {
            // One flipped bit in a deflated member, and an overwritten directory: all back whole.
            "damaged" => assert_eq!(
                (r["whole"].as_u64(), r["partial"].as_u64()),
                (Some(3), Some(0))
            ),
            // Cut at half: the complete members whole, the cut one as a partial prefix.
            _ => assert_eq!(
                (r["whole"].as_u64(), r["partial"].as_u64()),
                (Some(3), Some(1))
            ),
        }
    }

    // DFXML: one fileobject per finding, with image byte runs and both digests.
    let dfxml = std::fs::read_to_string(dir.join("report.dfxml")).unwrap();
    assert_eq!(dfxml.matches("<fileobject>").count(), findings.len());
    let first = &findings[0];
    let run = format!(
        "<byte_run file_offset='0' img_offset='{}' len='{}'/>",
        first["offset"], first["length"]
    );
    assert!(dfxml.contains(&run), "{run}");
    assert!(dfxml.contains(&format!(
        "<hashdigest type='sha256'>{}</hashdigest>",
        first["digests"]["sha256"].as_str().unwrap()
    )));
    assert!(dfxml.contains("<salvor:defect kind='crc-mismatch'"));

    // Audit log: the chain holds and names every written file with its digest.
    let (_, lines) = salvor::audit::verify(&dir.join("audit.log")).unwrap();
    assert_eq!(
        lines,
        1 + 14 + 3 + 2 + 1,
        "start, 14 carved files, 3 repaired copies, 2 reports, end"
    );
    let log = std::fs::read_to_string(dir.join("audit.log")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "carve-start");
    assert_eq!(events[0]["source"]["size"], 2 << 20);
    assert_eq!(events.last().unwrap()["event"], "carve-end");
    for f in findings.iter().filter(|f| !f["file"].is_null()) {
        assert!(events
            .iter()
            .any(|e| e["file"] == f["file"] && e["sha256"] == f["digests"]["sha256"]));
    }

    // A second run into the same folder is refused: each run keeps its own reports and log.
    let report_before = std::fs::read(dir.join("report.json")).unwrap();
    let o = salvor(&["carve", s(&image), "--out", s(&dir), "-q", "--report-only"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not empty"));
    assert_eq!(
        std::fs::read(dir.join("report.json")).unwrap(),
        report_before
    );
    let (_, lines) = salvor::audit::verify(&dir.join("audit.log")).unwrap();
    assert_eq!(lines, 21);
}

#[test]
fn report_only_and_json() {
    let out = tempfile::tempdir().unwrap();
    let image = root().join("testimages/demo.img");
    let o = salvor(&[
        "carve",
        s(&image),
        "--out",
        s(out.path()),
        "--report-only",
        "--json",
        "--types",
        "docx,odt",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["odt", "docx"]);
    for d in ["intact", "damaged", "truncated"] {
        assert!(!out.path().join(d).exists(), "--report-only wrote {d}/");
    }
}

#[test]
fn exit_codes_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let noise_img = tmp.path().join("noise.img");
    std::fs::write(&noise_img, noise(4 << 20, 7)).unwrap();
    let o = salvor(&[
        "carve",
        s(&noise_img),
        "--out",
        s(&tmp.path().join("o1")),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1), "nothing found");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("salvor: 0 findings"));

    let o = salvor(&["carve", s(&noise_img), "--out", s(&noise_img)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is the source itself"), "{err}");

    let missing = tmp.path().join("nope.img");
    let o = salvor(&["carve", s(&missing), "--out", s(&tmp.path().join("o2"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("cannot open {}", missing.display()))
    );

    let o = salvor(&[
        "carve",
        s(&noise_img),
        "--out",
        s(&tmp.path().join("o3")),
        "--max-size",
        "12Q",
    ]);
    assert_eq!(o.status.code(), Some(2));

    for bad in [
        ["--threads", "5000"],
        ["--threads", "0"],
        ["--max-size", "0"],
        ["--chunk-size", "1"],
        ["--max-ratio", "0"],
    ] {
        let o = salvor(&[
            "carve",
            s(&noise_img),
            "--out",
            s(&tmp.path().join("o4")),
            bad[0],
            bad[1],
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad:?} accepted");
    }
    assert!(!tmp.path().join("o4").exists());

    // A FIFO is refused at once, without waiting for a writer.
    let fifo = tmp.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let o = salvor(&["carve", s(&fifo), "--out", s(&tmp.path().join("o5"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("neither a regular file nor a block device")
    );

    let o = salvor(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("carve"));

    // With no subcommand Salvor opens its window; without a display it says why and fails.
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open the window"));
}

#[test]
fn interrupt_leaves_a_consistent_report() {
    let tmp = tempfile::tempdir().unwrap();
    // A sparse 64 GiB image: no disk space used, but far too long to scan before the signal.
    let img = tmp.path().join("big.img");
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(64 << 30).unwrap();
    drop(f);
    let dir = tmp.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args([
            "carve",
            s(&img),
            "--out",
            s(&dir),
            "-q",
            "--read",
            "buffered",
            "--threads",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&o.stdout).contains("INTERRUPTED"));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true);
    let scanned = report["bytes_scanned"].as_u64().unwrap();
    assert!(scanned > 0 && scanned < 64 << 30, "{scanned}");
    let (_, lines) = salvor::audit::verify(&dir.join("audit.log")).unwrap();
    assert_eq!(lines, 4);
}

/// Outputs that would land on the evidence, through loop devices this test creates.
#[test]
fn refuses_output_on_the_evidence_through_a_loop_device() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("ext4.img");
    std::fs::write(&img, vec![0u8; 16 << 20]).unwrap();
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&img)
        .output();
    if !mk.is_ok_and(|o| o.status.success()) {
        println!("skipped: mkfs.ext4 not available");
        return;
    }
    let Some(lo) = support::faultfs::LoopDev::attach(&img, false) else {
        return;
    };
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .arg(&lo.dev)
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount {}", lo.dev.display());
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());

    // The image file as source, the output inside the filesystem that image holds.
    let o = salvor(&["carve", s(&img), "--out", s(&mnt.join("out"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loop device backed by the source image"));
    // The device itself as source, the output on it.
    let o = salvor(&["carve", s(&lo.dev), "--out", s(&mnt.join("out"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is on the source device"));
    assert!(!mnt.join("out").exists());
}
