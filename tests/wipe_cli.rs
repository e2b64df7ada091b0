//! `salvor wipe` and `salvor certify-destruction` as a user runs them, on loop devices and files
//! that each test creates itself. Every loop device is checked to be backed by the test's own
//! file before anything is written to it, and detached on drop.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn salvor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(args)
        .output()
        .expect("salvor runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// One loop device at a time in this test binary: `losetup` opens loop devices while it looks
/// for a free one, and the wipe's safety check rightly refuses a device another process has
/// open, so a second test's `losetup` must not run while a wipe starts.
static LOOP_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A loop device over a file this test created; detached on drop.
struct LoopDev {
    dev: PathBuf,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

impl LoopDev {
    /// Attach `file` (which the test made); None when losetup is unavailable.
    fn attach(file: &Path, extra: &[&str]) -> Option<LoopDev> {
        if !is_root() {
            return None;
        }
        let guard = LOOP_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let o = Command::new("losetup")
            .args(extra)
            .args(["-f", "--show"])
            .arg(file)
            .output()
            .ok()?;
        if !o.status.success() {
            eprintln!("losetup failed: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        let dev = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        let l = LoopDev {
            dev,
            _one_at_a_time: guard,
        };
        // The safety rule of these tests: the device must be backed by our own file.
        let name = l.dev.file_name().unwrap().to_string_lossy().into_owned();
        let backing =
            std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file")).unwrap();
        assert_eq!(
            Path::new(backing.trim()),
            std::fs::canonicalize(file).unwrap(),
            "loop device not backed by the test's file; aborting"
        );
        Some(l)
    }

    fn path(&self) -> &str {
        s(&self.dev)
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// A file of `size` bytes filled with 0x5A, so that a pass that wrote nothing shows.
fn make_file(dir: &Path, name: &str, size: usize) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, vec![0x5Au8; size]).unwrap();
    p
}

fn find(dir: &Path, prefix: &str, ext: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(ext)
        })
        .unwrap_or_else(|| panic!("no {prefix}*{ext} in {}", dir.display()))
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The bytes a pass pattern puts on the medium, regenerated independently of Salvor's code:
/// ChaCha20 keyed with the recorded seed, stream = pass index (0-based), byte o at offset o.
fn expected(pattern: &Value, seed: &[u8; 32], size: usize) -> Vec<u8> {
    if let Some(r) = pattern.get("random") {
        let mut rng = ChaCha20Rng::from_seed(*seed);
        rng.set_stream(r["stream"].as_u64().unwrap());
        let mut v = vec![0u8; size];
        rng.fill_bytes(&mut v);
        return v;
    }
    let bytes: Vec<u8> = pattern["bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    (0..size).map(|i| bytes[i % bytes.len()]).collect()
}

/// The plan line of a finished run's wipe log.
fn plan(out: &Path) -> Value {
    let log = std::fs::read_to_string(find(out, "wipe-", ".log")).unwrap();
    serde_json::from_str(log.lines().next().unwrap()).unwrap()
}

/// Check what the medium holds after a run: the last pass's pattern everywhere.
fn check_bytes(backing: &Path, out: &Path) {
    let plan = plan(out);
    let seed: [u8; 32] = hex::decode(plan["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let last = plan["passes"].as_array().unwrap().last().unwrap().clone();
    let got = std::fs::read(backing).unwrap();
    let want = expected(&last, &seed, got.len());
    let bad = got.iter().zip(&want).position(|(a, b)| a != b);
    assert_eq!(
        bad, None,
        "first wrong byte at {bad:?} for last pass {last}"
    );
}

const CERT_ARGS: [&str; 12] = [
    "--operator",
    "王小明",
    "--title",
    "檔案管理師",
    "--organization",
    "國家檔案館",
    "--property-number",
    "PN-0042",
    "--validator",
    "陳大文",
    "--destination",
    "reuse",
];

fn wipe_loop(method: &str, size: usize, extra: &[&str]) -> Option<(tempfile::TempDir, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "disk.img", size);
    let Some(l) = LoopDev::attach(&file, &[]) else {
        println!("skipped: needs root and losetup");
        return None;
    };
    let out = dir.path().join("out");
    let mut args = vec![
        "wipe",
        l.path(),
        "--method",
        method,
        "--confirm",
        l.path(),
        "--out",
        s(&out),
        "-q",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&CERT_ARGS);
    let o = salvor(&args);
    assert_eq!(o.status.code(), Some(0), "{method}: {}", text(&o));
    drop(l);
    check_bytes(&file, &out);
    let cert = json(&find(&out, "certificate-", ".json"));
    assert_eq!(cert["sanitization"]["result"], "PASSED");
    assert_eq!(cert["sanitization"]["category"], "Clear");
    assert_eq!(cert["performed_by"]["name"], "王小明");
    assert_eq!(cert["performed_by"]["organization"], "國家檔案館");
    assert_eq!(cert["media"]["property_number"], "PN-0042");
    assert_eq!(cert["media"]["media_type"], "loop");
    assert_eq!(cert["media"]["size_bytes"], size as u64);
    assert_eq!(cert["validator_signature"]["name"], "陳大文");
    assert!(cert["media"]["device_path"]
        .as_str()
        .unwrap()
        .starts_with("/dev/loop"));
    assert!(!cert["sanitization"]["tool"].as_str().unwrap().is_empty());
    assert!(cert["sanitization"]["resumed"]
        .as_array()
        .unwrap()
        .is_empty());
    let log = find(&out, "wipe-", ".log");
    assert_eq!(
        cert["wipe_log"]["sha256"].as_str().unwrap(),
        salvor::hashing::sha256_hex(&std::fs::read(&log).unwrap())
    );
    let passes = cert["passes"].as_array().unwrap();
    let last = passes.last().unwrap();
    assert_eq!(last["result"], "PASSED", "{last}");
    assert_eq!(last["verification"]["mismatched_blocks"], 0);

    // The audit log holds the run, and its chain is whole.
    let audit = std::fs::read_to_string(out.join("audit.log")).unwrap();
    for ev in [
        "\"wipe-start\"",
        "\"wipe-pass\"",
        "\"wipe-verify\"",
        "\"wipe-end\"",
    ] {
        assert!(audit.contains(ev), "{ev} missing from the audit log");
    }
    salvor::audit::verify(&out.join("audit.log")).unwrap();

    // The PDF carries the Chinese labels, the device path and the operator.
    let pdf = find(&out, "certificate-", ".pdf");
    if let Ok(t) = Command::new("pdftotext").arg(&pdf).arg("-").output() {
        let t = String::from_utf8_lossy(&t.stdout);
        for want in [
            "媒體",
            "序號",
            "王小明",
            "Certificate of Media Sanitization",
            "PASSED",
        ] {
            assert!(t.contains(want), "{want} not in the PDF text:\n{t}");
        }
        assert!(t.contains(cert["media"]["device_path"].as_str().unwrap()));
    } else {
        println!("pdftotext missing: PDF text not checked");
    }
    Some((dir, cert))
}

#[test]
fn every_method_leaves_its_pattern_on_a_loop_device() {
    for (method, size, passes) in [
        ("zero", 4 << 20, 1),
        ("one", 4 << 20, 1),
        ("random", 4 << 20, 1),
        ("nist-clear", 4 << 20, 1),
        ("dod-3pass", 4 << 20, 3),
        ("custom:00,924924,random,6db6db", (4 << 20) + 512, 4),
        ("gutmann", 1 << 20, 35),
    ] {
        let Some((_dir, cert)) = wipe_loop(method, size, &[]) else {
            return;
        };
        assert_eq!(cert["passes"].as_array().unwrap().len(), passes, "{method}");
        assert_eq!(cert["sanitization"]["method"], method);
    }
}

#[test]
fn verify_all_and_sample_are_recorded() {
    let Some((_d, cert)) = wipe_loop("dod-3pass", 4 << 20, &["--verify", "all"]) else {
        return;
    };
    for p in cert["passes"].as_array().unwrap() {
        assert_eq!(p["verification"]["mode"], "all");
        assert_eq!(p["verification"]["bytes_checked"], 4 << 20);
    }
    let Some((_d, cert)) = wipe_loop("random", 8 << 20, &["--verify", "sample"]) else {
        return;
    };
    let v = &cert["passes"][0]["verification"];
    assert_eq!(v["mode"], "sample 10%");
    let checked = v["bytes_checked"].as_u64().unwrap();
    assert!(checked * 10 >= 8 << 20 && checked < 8 << 20, "{checked}");
}

#[test]
fn a_regular_file_can_be_wiped_without_root() {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "old.bin", 1 << 20);
    let out = dir.path().join("out");
    let o = salvor(&[
        "wipe",
        s(&file),
        "--method",
        "random",
        "--confirm",
        s(&file),
        "--out",
        s(&out),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    check_bytes(&file, &out);
    let cert = json(&find(&out, "certificate-", ".json"));
    assert_eq!(cert["media"]["media_type"], "file");
    assert_eq!(
        cert["media"]["hidden_areas"],
        "not applicable (a file has none)"
    );
    assert_eq!(cert["media"]["serial"], "not recorded");
}

#[test]
fn options_that_verify_nothing_and_wrong_confirmations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "keep.bin", 64 << 10);
    let f = s(&file);
    let out = dir.path().join("out");
    let o = s(&out);
    for (args, why) in [
        (
            vec!["--method", "nist-clear", "--verify", "off", "--confirm", f],
            "--verify off",
        ),
        (
            vec![
                "--method",
                "nist-clear",
                "--verify",
                "sample",
                "--confirm",
                f,
            ],
            "--verify sample",
        ),
        (
            vec!["--method", "dod-3pass", "--verify", "off", "--confirm", f],
            "--verify off",
        ),
        (
            vec![
                "--method",
                "zero",
                "--verify",
                "sample",
                "--sample-percent",
                "0",
                "--confirm",
                f,
            ],
            "--sample-percent 0",
        ),
        (
            vec!["--method", "zero", "--confirm", "/dev/sda"],
            "does not match",
        ),
        (vec!["--method", "zero"], "needs --confirm"),
    ] {
        let mut a = vec!["wipe", f, "--out", o];
        a.extend(args);
        let r = salvor(&a);
        assert_eq!(r.status.code(), Some(2), "{a:?}: {}", text(&r));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains("refused") && err.contains(why), "{a:?}: {err}");
    }
    assert!(std::fs::read(&file).unwrap().iter().all(|&b| b == 0x5A));
    assert!(!out.exists(), "a refused run wrote into --out");
}

#[test]
fn wrong_confirm_on_a_loop_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "disk.img", 1 << 20);
    let Some(l) = LoopDev::attach(&file, &[]) else {
        println!("skipped: needs root and losetup");
        return;
    };
    let r = salvor(&[
        "wipe",
        l.path(),
        "--method",
        "zero",
        "--confirm",
        "/dev/loop999",
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(String::from_utf8_lossy(&r.stderr).contains("does not match"));
    drop(l);
    assert!(std::fs::read(&file).unwrap().iter().all(|&b| b == 0x5A));
}

/// The device holding `/` must be refused. Only the pure check and `--dry-run` are used here,
/// so that even a broken check could not write to the system disk.
#[test]
fn the_device_holding_root_is_refused() {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts = salvor::wipe::safety::parse_mountinfo(&mi);
    let root = mounts.iter().rev().find(|m| m.mountpoint == "/").unwrap();
    let uevent = std::fs::read_to_string(format!(
        "/sys/dev/block/{}:{}/uevent",
        root.dev.0, root.dev.1
    ));
    let Some(devname) = uevent.ok().and_then(|u| {
        u.lines()
            .find_map(|l| l.strip_prefix("DEVNAME=").map(str::to_owned))
    }) else {
        println!("skipped: / is not on a block device here ({})", root.source);
        return;
    };
    let dev = PathBuf::from("/dev").join(devname);
    if !dev.exists() {
        println!("skipped: no device node {}", dev.display());
        return;
    }
    let facts = salvor::wipe::safety::inspect(&dev).unwrap();
    let refusals = salvor::wipe::safety::check(&facts);
    assert!(
        refusals.iter().any(|r| matches!(
            r,
            salvor::wipe::safety::Refusal::HoldsSystem { mountpoint, .. } if mountpoint == "/"
        )),
        "{refusals:?}"
    );
    let r = salvor(&[
        "wipe",
        s(&dev),
        "--method",
        "zero",
        "--confirm",
        s(&dev),
        "--dry-run",
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(String::from_utf8_lossy(&r.stderr).contains("holds the root filesystem"));
    assert!(!String::from_utf8_lossy(&r.stdout).contains("Plan"));
}

/// Unmounts on drop.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_loop_device_with_a_mounted_filesystem_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "fs.img", 8 << 20);
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&file)
        .output();
    if !mk.map(|o| o.status.success()).unwrap_or(false) {
        println!("skipped: needs mkfs.ext4");
        return;
    }
    let Some(l) = LoopDev::attach(&file, &[]) else {
        println!("skipped: needs root and losetup");
        return;
    };
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    if !Command::new("mount")
        .arg(&l.dev)
        .arg(&mnt)
        .status()
        .unwrap()
        .success()
    {
        println!("skipped: cannot mount ext4");
        return;
    }
    let guard = MountGuard(mnt.clone());
    let before = std::fs::read(&file).unwrap();
    let out = dir.path().join("out");
    let r = salvor(&[
        "wipe",
        l.path(),
        "--method",
        "zero",
        "--confirm",
        l.path(),
        "--out",
        s(&out),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("is mounted") && err.contains(s(&mnt)), "{err}");
    drop(guard);
    drop(l);
    // Mounting changes a few superblock fields; the wipe must have changed nothing else, so
    // the ext4 magic is there and the image is far from a zero pass.
    let after = std::fs::read(&file).unwrap();
    assert_eq!(&after[1080..1082], &[0x53, 0xEF], "ext4 magic gone");
    let same = before.iter().zip(&after).filter(|(a, b)| a == b).count();
    assert!(
        same > before.len() * 9 / 10,
        "a refused wipe changed the file"
    );
}

#[test]
fn resume_after_sigkill_finishes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let file = make_file(dir.path(), "disk.img", 8 << 20);
    let Some(l) = LoopDev::attach(&file, &[]) else {
        println!("skipped: needs root and losetup");
        return;
    };
    let out = dir.path().join("out");
    let args = [
        "wipe",
        l.path(),
        "--method",
        "dod-3pass",
        "--confirm",
        l.path(),
        "--out",
        s(&out),
        "--block-size",
        "256K",
        "--checkpoint-secs",
        "0",
        "-q",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(args)
        .args(["--throttle-ms", "15"])
        .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    // Kill it once the second pass has a checkpoint past its start.
    let log = out.join(format!(
        "wipe-{}.log",
        l.dev.file_name().unwrap().to_string_lossy()
    ));
    let t0 = Instant::now();
    loop {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        if t.lines()
            .any(|l| l.contains("\"progress\"") && l.contains("\"pass\":1,"))
        {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "salvor ended ({st}) before the second pass: {}\n{t}",
                std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default()
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no progress in the second pass"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert!(!st.success());

    let r = salvor(&[&args[..], &["--resume"]].concat());
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    drop(l);
    check_bytes(&file, &out);
    let cert = json(&find(&out, "certificate-", ".json"));
    assert_eq!(cert["sanitization"]["result"], "PASSED");
    let resumed = cert["sanitization"]["resumed"].as_array().unwrap();
    assert_eq!(resumed.len(), 1, "{cert}");
    assert_eq!(resumed[0]["pass"], 2);
    assert!(resumed[0]["offset"].as_u64().unwrap() > 0);
    assert_eq!(cert["passes"][2]["verification"]["bytes_checked"], 8 << 20);
    let pdf = find(&out, "certificate-", ".pdf");
    if let Ok(t) = Command::new("pdftotext").arg(&pdf).arg("-").output() {
        assert!(String::from_utf8_lossy(&t.stdout).contains("是 yes"));
    }
}

#[test]
fn certify_destruction_writes_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = salvor(&[
        "certify-destruction",
        "--method",
        "碎片化 shredding",
        "--particle-size",
        "DIN 66399 O-5",
        "--witness",
        "李四",
        "--media-type",
        "optical disc",
        "--serial",
        "DVD-7731",
        "--operator",
        "王小明",
        "--out",
        s(&out),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let cert = json(&find(&out, "destruction-", ".json"));
    assert_eq!(cert["sanitization"]["category"], "Destroy");
    assert_eq!(cert["destruction"]["witness"], "李四");
    assert_eq!(
        cert["destruction"]["particle_size_standard"],
        "DIN 66399 O-5"
    );
    assert_eq!(cert["media"]["serial"], "DVD-7731");
    assert!(std::fs::read_to_string(out.join("audit.log"))
        .unwrap()
        .contains("certify-destruction"));
    let pdf = find(&out, "destruction-", ".pdf");
    if let Ok(t) = Command::new("pdftotext").arg(&pdf).arg("-").output() {
        let t = String::from_utf8_lossy(&t.stdout);
        assert!(
            t.contains("媒體銷毀證明書") && t.contains("DVD-7731") && t.contains("李四"),
            "{t}"
        );
    }
}

/// The faultfs binary, built beside salvor by `cargo test --workspace`.
fn faultfs_bin() -> Option<PathBuf> {
    let salvor = PathBuf::from(env!("CARGO_BIN_EXE_salvor"));
    let p = salvor.parent()?.join("salvor-faultfs");
    if p.exists() {
        return Some(p);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "salvor-faultfs",
            "--bin",
            "salvor-faultfs",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    (ok && p.exists()).then_some(p)
}

/// Stops the FUSE server (it unmounts on SIGTERM) on drop.
struct Fuse(std::process::Child, PathBuf);

impl Drop for Fuse {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
        let _ = Command::new("umount")
            .arg(&self.1)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn a_disk_that_drops_writes_fails_verification_with_the_range() {
    if !is_root() || !Path::new("/dev/fuse").exists() {
        println!("skipped: needs root and /dev/fuse");
        return;
    }
    let Some(bin) = faultfs_bin() else {
        println!("skipped: salvor-faultfs is not built");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let backing = make_file(dir.path(), "backing.img", 4 << 20);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let child = Command::new(&bin)
        .arg(&backing)
        .arg(&mnt)
        .args(["--drop-writes", "1M:64K"])
        .spawn()
        .unwrap();
    let fuse = Fuse(child, mnt.clone());
    let disk = mnt.join("disk.img");
    let t0 = Instant::now();
    while !disk.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "faultfs did not mount"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Direct I/O from the loop driver to the file, so no page cache sits between the "disk"
    // and its medium: the dropped writes are really gone when read back.
    let Some(l) = LoopDev::attach(&disk, &["--direct-io=on"]) else {
        println!("skipped: losetup over FUSE failed");
        return;
    };
    let out = dir.path().join("out");
    let r = salvor(&[
        "wipe",
        l.path(),
        "--method",
        "zero",
        "--confirm",
        l.path(),
        "--out",
        s(&out),
        "-q",
    ]);
    drop(l);
    drop(fuse);
    assert_eq!(r.status.code(), Some(3), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("FAILED verification") && err.contains("0x100000..0x110000"),
        "{err}"
    );
    let cert = json(&find(&out, "certificate-", ".json"));
    assert_eq!(cert["sanitization"]["result"], "FAILED");
    let v = &cert["passes"][0]["verification"];
    assert_eq!(v["mismatched_blocks"], 16);
    assert_eq!(v["first_mismatches"][0]["start"], 1 << 20);
    assert_eq!(v["first_mismatches"][0]["end"], (1 << 20) + (64 << 10));
}
