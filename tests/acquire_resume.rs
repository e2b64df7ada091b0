//! Resuming `salvor image`: after SIGKILL, from a mapfile made by GNU ddrescue, with a mapfile
//! larger than the source, and after the destination filled up.

mod support;

use salvor_carvers::mapfile::{BlockStatus, Map};
use sha2::Digest;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::faultfs::{FaultFile, Tmpfs};

fn salvor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("-q")
        .args(args)
        .output()
        .expect("salvor runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The mapfile is well formed, covers the source, and every `+` byte is in the image.
fn assert_consistent(map_path: &Path, src: &[u8], img_path: &Path) -> Map {
    let map = Map::parse(&std::fs::read_to_string(map_path).unwrap()).unwrap();
    assert_eq!(map.size(), src.len() as u64);
    let img = std::fs::read(img_path).unwrap();
    for (o, l) in map.ranges(BlockStatus::Finished) {
        let r = o as usize..(o + l) as usize;
        assert!(
            img[r.clone()] == src[r],
            "rescued range {o:#x}+{l:#x} differs"
        );
    }
    map
}

fn hashes(dest: &Path) -> serde_json::Value {
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.with_extension("img.json")).unwrap()).unwrap();
    rec["hashes"].clone()
}

#[test]
fn sigkill_then_resume_gives_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(6 << 20, 11);
    let backing = dir.path().join("backing.img");
    std::fs::write(&backing, &src).unwrap();
    let bad = [(2 << 20, 4096u64), (5 << 20, 8192)];
    let Some(fault) = FaultFile::start(&backing, &bad, &[], true) else {
        return;
    };
    let source = fault.path();

    // The reference: one uninterrupted run.
    let reference = dir.path().join("ref.img");
    let o = salvor(&["image", s(&source), s(&reference)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A slow run, killed with SIGKILL partway.
    let dest = dir.path().join("killed.img");
    let mut child = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(["-q", "image", s(&source), s(&dest)])
        .args(["--max-rate", "3M", "--map-interval", "0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let map_path = dest.with_extension("img.map");
    // Wait until a checkpoint shows progress, then kill.
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let done = std::fs::read_to_string(&map_path)
            .ok()
            .and_then(|t| Map::parse(&t).ok())
            .map_or(0, |m| m.total(BlockStatus::Finished));
        if done >= 1 << 20 || t.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let map = assert_consistent(&map_path, &src, &dest);
    assert!(
        map.total(BlockStatus::Finished) < src.len() as u64,
        "the run finished before it could be killed"
    );

    let o = salvor(&["image", s(&source), s(&dest)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::read(&dest).unwrap() == std::fs::read(&reference).unwrap());
    assert_eq!(hashes(&dest), hashes(&reference));
    assert_eq!(
        std::fs::read_to_string(&map_path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        std::fs::read_to_string(reference.with_extension("img.map"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
    );
    let rec = std::fs::read_to_string(dest.with_extension("img.info")).unwrap();
    assert!(
        rec.contains("from the finished image, because the run resumed"),
        "{rec}"
    );
}

#[test]
fn resumes_a_ddrescue_mapfile() {
    if Command::new("ddrescue").arg("--version").output().is_err() {
        eprintln!("skipped: ddrescue (gddrescue) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(3 << 20, 12);
    let backing = dir.path().join("backing.img");
    std::fs::write(&backing, &src).unwrap();
    let Some(fault) = FaultFile::start(&backing, &[(1 << 20, 4096)], &[], true) else {
        return;
    };
    let dest = dir.path().join("dd.img");
    let map = dir.path().join("dd.map");
    // ddrescue copies the first 2 MiB only (and meets the bad page); Salvor finishes the job.
    let st = Command::new("ddrescue")
        .args(["-q", "-s", "2MiB"])
        .arg(fault.path())
        .arg(&dest)
        .arg(&map)
        .status()
        .unwrap();
    assert!(st.success());
    let before = Map::parse(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert!(before.total(BlockStatus::Finished) <= 2 << 20);
    assert!(before.total(BlockStatus::NonTried) > 0);

    let o = salvor(&["image", s(&fault.path()), s(&dest), "--map", s(&map)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut want = src.clone();
    want[1 << 20..(1 << 20) + 4096].fill(0);
    assert!(std::fs::read(&dest).unwrap() == want);
    let after = Map::parse(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(after.ranges(BlockStatus::BadSector), vec![(1 << 20, 4096)]);
    assert_eq!(after.size(), 3 << 20);
}

#[test]
fn mapfile_larger_than_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(1 << 20, 13);
    let source = dir.path().join("small.bin");
    std::fs::write(&source, &src).unwrap();
    let dest = dir.path().join("x.img");
    let map = dir.path().join("x.img.map");
    std::fs::write(
        &map,
        "# from a bigger drive\n0x0 ? 1\n0x0 0x80000 +\n0x80000 0x180000 ?\n",
    )
    .unwrap();
    std::fs::write(&dest, vec![0u8; 2 << 20]).unwrap();
    let o = salvor(&["image", s(&source), s(&dest)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("covers 2097152 bytes") && err.contains("--truncate-map"),
        "{err}"
    );

    // Told to, Salvor cuts the map; the first half counts as already rescued (zeros here).
    let o = salvor(&["image", s(&source), s(&dest), "--truncate-map"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let img = std::fs::read(&dest).unwrap();
    assert_eq!(img.len(), 1 << 20);
    assert!(img[0x80000..] == src[0x80000..]);
}

#[test]
fn destination_full_then_resume() {
    let Some(fs) = Tmpfs::mount(3 << 20) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(2 << 20, 14);
    let source = dir.path().join("src.bin");
    std::fs::write(&source, &src).unwrap();
    // Leave about 1 MiB free for a 2 MiB image.
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 2 << 20]).unwrap();
    let dest = fs.path().join("full.img");
    let o = salvor(&["image", s(&source), s(&dest)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("destination is full") && err.contains("resume"),
        "{err}"
    );
    let map = assert_consistent(&dest.with_extension("img.map"), &src, &dest);
    assert!(map.total(BlockStatus::Finished) < src.len() as u64);

    std::fs::remove_file(&filler).unwrap();
    let o = salvor(&["image", s(&source), s(&dest)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::read(&dest).unwrap() == src);
    // Images of tmpfs files sit in the tmpfs audit log too.
    salvor::audit::verify(&fs.path().join("audit.log")).unwrap();
}

/// Ctrl-C (SIGINT) mid-run: exit status 130, a mapfile that covers the source and marks `+` only
/// what is in the image, no record yet; the same command then resumes and gives the result of an
/// uninterrupted run.
#[test]
fn sigint_leaves_a_consistent_mapfile_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(6 << 20, 15);
    let backing = dir.path().join("backing.img");
    std::fs::write(&backing, &src).unwrap();
    let bad = [(1 << 20, 4096u64), (5 << 20, 8192)];
    let Some(fault) = FaultFile::start(&backing, &bad, &[], true) else {
        return;
    };
    let source = fault.path();
    let mut want = src.clone();
    for (o, l) in bad {
        want[o as usize..(o + l) as usize].fill(0);
    }

    // A run slowed to 2 MiB/s (about 3 s), interrupted once a checkpoint shows 2 MiB rescued:
    // past the first bad page, before the second.
    let dest = dir.path().join("int.img");
    let map_path = dest.with_extension("img.map");
    let args = ["image", s(&source), s(&dest), "--max-rate", "2M"];
    let child = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("-q")
        .args(args)
        .args(["--map-interval", "0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let done = std::fs::read_to_string(&map_path)
            .ok()
            .and_then(|t| Map::parse(&t).ok())
            .map_or(0, |m| m.total(BlockStatus::Finished));
        if done >= 2 << 20 || t.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("run the same command to resume"));

    let map = assert_consistent(&map_path, &src, &dest);
    let done = map.total(BlockStatus::Finished);
    assert!(
        (2u64 << 20..src.len() as u64).contains(&done),
        "rescued {done} bytes"
    );
    // Nothing unread is claimed: no `+` byte lies in a bad range, and what is left is untried.
    for (o, l) in map.ranges(BlockStatus::Finished) {
        assert!(bad.iter().all(|&(b, bl)| o + l <= b || b + bl <= o));
    }
    assert!(map.total(BlockStatus::NonTried) > 0);
    assert_eq!(
        map.total(BlockStatus::Finished)
            + map.total(BlockStatus::NonTried)
            + map.total(BlockStatus::NonTrimmed)
            + map.total(BlockStatus::NonScraped)
            + map.total(BlockStatus::BadSector),
        src.len() as u64
    );
    assert!(
        !dest.with_extension("img.json").exists(),
        "no record for an unfinished run"
    );

    // The same command resumes and completes with the digests of the expected image.
    let o = salvor(&args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::read(&dest).unwrap() == want);
    let h = hashes(&dest);
    assert_eq!(h["sha256"], hex(&sha2::Sha256::digest(&want)));
    assert_eq!(h["md5"], hex(&md5::Md5::digest(&want)));
    assert_eq!(h["sha1"], hex(&sha1::Sha1::digest(&want)));
    assert_eq!(h["blake3"], blake3::hash(&want).to_hex().as_str());
    let map = Map::parse(&std::fs::read_to_string(&map_path).unwrap()).unwrap();
    assert_eq!(map.ranges(BlockStatus::BadSector), bad.to_vec());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
