//! `salvor image` against real read errors: a FUSE file that fails reads on chosen pages, read
//! directly and through a loop device. The image must have the source's size, every readable
//! byte, zeros where reads failed, exactly those ranges as `-` in the mapfile (which ddrescuelog
//! reads), and the digests of the expected image.

mod support;

use md5::Md5;
use salvor_carvers::mapfile::{BlockStatus, Map};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};
use support::faultfs::{FaultFile, LoopDev};

const SIZE: usize = 4 << 20;
/// Bad pages: one in the middle, one pair, and the last two pages of the source.
const BAD: [(u64, u64); 3] = [(1 << 20, 8192), (3 << 20, 4096), (SIZE as u64 - 8192, 8192)];

fn salvor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salvor"))
        .arg("-q")
        .args(args)
        .output()
        .expect("salvor runs")
}

fn expected(src: &[u8]) -> Vec<u8> {
    let mut e = src.to_vec();
    for (o, l) in BAD {
        e[o as usize..(o + l) as usize].fill(0);
    }
    e
}

/// Everything the issue asks of an image made through bad sectors.
fn check_image(src: &[u8], dest: &Path) {
    let img = std::fs::read(dest).unwrap();
    let want = expected(src);
    assert_eq!(img.len(), src.len(), "image size must equal the source's");
    assert!(
        img == want,
        "image differs from the source with zeroed bad ranges"
    );

    let map =
        Map::parse(&std::fs::read_to_string(dest.with_extension("img.map")).unwrap()).unwrap();
    assert_eq!(map.size(), SIZE as u64);
    assert_eq!(map.ranges(BlockStatus::BadSector), BAD.to_vec());
    assert_eq!(map.total(BlockStatus::Finished), SIZE as u64 - 20480);

    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.with_extension("img.json")).unwrap()).unwrap();
    assert_eq!(rec["hashes"]["md5"], support_hex(&Md5::digest(&want)));
    assert_eq!(rec["hashes"]["sha256"], support_hex(&Sha256::digest(&want)));
    assert_eq!(
        rec["hashes"]["sha1"],
        support_hex(&sha1::Sha1::digest(&want))
    );
    assert_eq!(
        rec["hashes"]["blake3"],
        blake3::hash(&want).to_hex().as_str()
    );
    assert_eq!(rec["bad_sectors"], 40);
    assert_eq!(rec["size"], SIZE);
    let info = std::fs::read_to_string(dest.with_extension("img.info")).unwrap();
    assert!(
        info.contains("bad range         0x100000 + 0x2000"),
        "{info}"
    );
}

fn support_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn setup() -> Option<(tempfile::TempDir, Vec<u8>, FaultFile)> {
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(SIZE, 0xacc0);
    let backing = dir.path().join("backing.img");
    std::fs::write(&backing, &src).unwrap();
    let f = FaultFile::start(&backing, &BAD, &[], true)?;
    Some((dir, src, f))
}

#[test]
fn eio_ranges_read_directly() {
    let Some((dir, src, fault)) = setup() else {
        return;
    };
    let dest = dir.path().join("out.img");
    let o = salvor(&[
        "image",
        fault.path().to_str().unwrap(),
        dest.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    check_image(&src, &dest);

    // ddrescuelog reads Salvor's mapfile and finds the same bad sectors.
    if let Ok(out) = Command::new("ddrescuelog")
        .args(["-b", "4096", "-l-"])
        .arg(dest.with_extension("img.map"))
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        assert_eq!(listed, vec![256, 257, 768, 1022, 1023]);
    } else {
        eprintln!("skipped: ddrescuelog is not installed");
    }

    // verify-image agrees with the record, and notices a changed byte.
    let rec = dest.with_extension("img.json");
    let o = salvor(&[
        "verify-image",
        dest.to_str().unwrap(),
        rec.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = salvor(&[
        "verify-image",
        dest.to_str().unwrap(),
        rec.to_str().unwrap(),
        "--source",
        fault.path().to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let mut img = std::fs::read(&dest).unwrap();
    img[12345] ^= 1;
    std::fs::write(&dest, &img).unwrap();
    let o = salvor(&[
        "verify-image",
        dest.to_str().unwrap(),
        rec.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("MISMATCH"));

    // Every run is in the audit log, chained.
    salvor::audit::verify(&dir.path().join("audit.log")).unwrap();
}

#[test]
fn eio_ranges_through_a_loop_device() {
    let Some((dir, src, fault)) = setup() else {
        return;
    };
    let Some(dev) = LoopDev::attach(&fault.path(), true) else {
        return;
    };
    let dest = dir.path().join("loop.img");
    let o = salvor(&[
        "image",
        dev.dev.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--verify",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    check_image(&src, &dest);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.with_extension("img.json")).unwrap()).unwrap();
    assert_eq!(
        rec["direct_io"], true,
        "block devices are read with O_DIRECT"
    );
    assert_eq!(rec["source"]["kind"], "block-device");
    assert_eq!(rec["source"]["class"], "loop");
    assert_eq!(rec["verified"], true);

    // The surface scan sees the same bad sectors.
    let csv = dir.path().join("surface.csv");
    let o = salvor(&[
        "surface-scan",
        dev.dev.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
        "--block-size",
        "256K",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&csv).unwrap();
    let bad: u64 = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(bad, 40);
    assert_eq!(text.lines().count(), 1 + 16);
}

#[test]
fn clean_file_is_hashed_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(3 << 20, 7);
    let s = dir.path().join("clean.bin");
    std::fs::write(&s, &src).unwrap();
    let dest = dir.path().join("clean.img");
    let o = salvor(&[
        "image",
        s.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--hash",
        "md5,sha256",
        "--piecewise",
        "1M",
        "--case",
        "C-1",
        "--examiner",
        "Tester",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), src);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.with_extension("img.json")).unwrap()).unwrap();
    assert_eq!(rec["hashes"]["md5"], support_hex(&Md5::digest(&src)));
    assert!(rec["hashes"].get("sha1").is_none());
    assert_eq!(rec["case"]["examiner"], "Tester");
    let pieces = std::fs::read_to_string(dest.with_extension("img.pieces.csv")).unwrap();
    let second = pieces.lines().nth(3).unwrap();
    assert_eq!(
        second,
        format!(
            "1048576,1048576,{},{}",
            support_hex(&Md5::digest(&src[1 << 20..2 << 20])),
            support_hex(&Sha256::digest(&src[1 << 20..2 << 20]))
        )
    );

    // The image beside an existing image without a mapfile is refused.
    let again = salvor(&["image", s.to_str().unwrap(), s.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
}

/// Unmounts a folder when dropped (declared after the loop device, so it goes first).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn refuses_a_destination_on_the_source_device() {
    let dir = tempfile::tempdir().unwrap();
    let fs_img = dir.path().join("ext4.img");
    std::fs::write(&fs_img, vec![0u8; 8 << 20]).unwrap();
    match Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&fs_img)
        .output()
    {
        Ok(o) if o.status.success() => {}
        _ => {
            eprintln!("skipped: mkfs.ext4 is not available");
            return;
        }
    }
    let Some(dev) = LoopDev::attach(&fs_img, false) else {
        return;
    };
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    if !Command::new("mount")
        .arg(&dev.dev)
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: cannot mount ext4");
        return;
    }
    let _m = Mounted(mnt.clone());
    let dest = mnt.join("self.img");
    let o = salvor(&["image", dev.dev.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is on the source device"));
    assert!(!dest.exists());
}

/// A 2 MiB bad area read in 64 KiB blocks: the copy phase skips ahead (64 KiB, doubling per
/// consecutive failed read up to 1 % of the source) instead of failing once per block, and
/// trim and scrape still pin the bad sectors to the exact page. The result does not depend on
/// the read pattern: the same image and mapfile come out with the default 1 MiB blocks.
#[test]
fn a_large_bad_area_is_skipped_in_the_copy_phase() {
    const BIG: usize = 32 << 20;
    let bad = [(8u64 << 20, 2u64 << 20), ((20 << 20) + 0x3000, 4096)];
    let dir = tempfile::tempdir().unwrap();
    let src = support::noise(BIG, 0x5c1b);
    let backing = dir.path().join("backing.img");
    std::fs::write(&backing, &src).unwrap();
    let Some(fault) = FaultFile::start(&backing, &bad, &[], true) else {
        return;
    };
    let mut want = src.clone();
    for (o, l) in bad {
        want[o as usize..(o + l) as usize].fill(0);
    }

    let mut maps = Vec::new();
    for (name, block) in [("small.img", "64K"), ("large.img", "1M")] {
        let dest = dir.path().join(name);
        let o = salvor(&[
            "image",
            fault.path().to_str().unwrap(),
            dest.to_str().unwrap(),
            "--block-size",
            block,
            "--sector-size",
            "4096",
            "--hash",
            "sha256",
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(std::fs::read(&dest).unwrap() == want, "{name} differs");
        let map_path = dest.with_extension("img.map");
        let text = std::fs::read_to_string(&map_path).unwrap();
        let map = Map::parse(&text).unwrap();
        assert_eq!(map.size(), BIG as u64);
        assert_eq!(map.ranges(BlockStatus::BadSector), bad.to_vec());
        assert_eq!(
            map.total(BlockStatus::Finished),
            BIG as u64 - (2 << 20) - 4096
        );
        let rec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dest.with_extension("img.json")).unwrap())
                .unwrap();
        assert_eq!(rec["hashes"]["sha256"], support_hex(&Sha256::digest(&want)));
        let phases = rec["phases"].as_array().unwrap();
        assert_eq!(phases[0]["phase"], "copying");
        assert_eq!(phases[2]["phase"], "scraping");
        if block == "64K" {
            // Skips of 64, 128, 256 KiB, then 1 % of 32 MiB (328 KiB) four times: 7 failed reads
            // over the 2 MiB area (32 blocks, 512 sectors), and 1 for the lone page.
            assert_eq!(phases[0]["read_errors"], 8, "{phases:?}");
            // Trim found both edges of the large area and the lone page; scrape read the rest.
            assert_eq!(phases[1]["read_errors"], 3, "{phases:?}");
            assert_eq!(phases[2]["read_errors"], 510, "{phases:?}");
        }

        // ddrescuelog reads the mapfile and lists exactly the bad 4 KiB blocks.
        if let Ok(out) = Command::new("ddrescuelog")
            .args(["-b", "4096", "-l-"])
            .arg(&map_path)
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let listed: Vec<u64> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            let mut expect: Vec<u64> = (2048..2560).collect();
            expect.push(5123);
            assert_eq!(listed, expect);
        } else {
            eprintln!("skipped: ddrescuelog is not installed");
        }
        maps.push(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(maps[0], maps[1]);
}
