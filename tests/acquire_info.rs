//! `salvor info`: ISO 9660 and UDF volume facts of an image made here with xorriso, of the
//! shared corpus's images (against their upstream facts), and of an ISO on a 2048-byte-sector
//! loop device.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn info(path: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(["info", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn xorriso_image() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("docs")).unwrap();
    std::fs::write(tree.join("docs/a-rather-long-file-name.txt"), b"hello").unwrap();
    let iso = dir.path().join("made.iso");
    let out = Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-J", "-R", "-V", "SALVOR_TEST"])
        .args(["-publisher", "Salvor Tests", "-volset", "SET1", "-o"])
        .arg(&iso)
        .arg(&tree)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("xorriso failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            eprintln!("skipped: xorriso is not installed");
            return;
        }
    }
    let v = info(&iso);
    let i = &v["volumes"]["iso9660"];
    assert_eq!(i["volume_id"], "SALVOR_TEST");
    // ISO 9660 a-characters are upper case; xorriso converts.
    assert_eq!(i["publisher_id"], "SALVOR TESTS");
    assert_eq!(i["volume_set_id"], "SET1");
    assert_eq!(i["joliet"], true);
    assert_eq!(i["rock_ridge"], true);
    assert_eq!(i["logical_block_size"], 2048);
    let len = std::fs::metadata(&iso).unwrap().len();
    assert!(i["volume_bytes"].as_u64().unwrap() <= len);
    assert!(i["creation_date"].as_str().unwrap().starts_with("20"));
    assert!(v["volumes"].get("udf").is_none());

    // The same image as an optical-like block device with 2048-byte sectors.
    let Some(dev) = support::faultfs::LoopDev::attach_with(&iso, &["-r", "-b", "2048"]) else {
        return;
    };
    let d = info(&dev.dev);
    assert_eq!(d["source"]["logical_sector"], 2048);
    assert_eq!(d["source"]["kind"], "block-device");
    assert_eq!(d["volumes"]["iso9660"]["volume_id"], "SALVOR_TEST");
}

#[test]
fn corpus_images() {
    let Some(corpus) = support::corpus() else {
        eprintln!("skipped: the shared corpus is absent");
        return;
    };
    // file, volume id, Joliet, Rock Ridge, UDF logical volume id (None: no UDF).
    let table: [(&str, &str, bool, bool, Option<&str>); 10] = [
        ("cdio-copying.iso", "CDROM", false, false, None),
        ("cdio-joliet.iso", "K3b data project", true, false, None),
        ("cdio-multi_extent_8k.iso", "ISOIMAGE", false, true, None),
        ("cdio-test-udf1.iso", "CDROM", true, true, Some("CDROM")),
        ("cdio-isofs-m1.bin", "CDROM", false, true, None),
        ("la-iso.iso", "CDROM", false, false, None),
        ("la-iso_joliet_rockridge.iso", "CDROM", true, true, None),
        ("la-iso_xorriso.iso", "ISOIMAGE", false, true, None),
        ("dfvfs-iso9660.raw", "CDROM", false, false, None),
        (
            "godiskfs-volrecords.iso",
            "Ubuntu-Server 18.04.1 LTS amd64",
            true,
            false,
            None,
        ),
    ];
    for (file, vol, joliet, rr, udf) in table {
        let v = info(&corpus.join("iso").join(file));
        let i = &v["volumes"]["iso9660"];
        assert_eq!(i["volume_id"], vol, "{file}");
        assert_eq!(i["joliet"], joliet, "{file} joliet");
        assert_eq!(i["rock_ridge"], rr, "{file} rock ridge");
        match udf {
            Some(lv) => assert_eq!(v["volumes"]["udf"]["logical_volume_id"], lv, "{file}"),
            None => assert!(v["volumes"].get("udf").is_none(), "{file}"),
        }
    }
    // libcdio's isofs-m1 listing says 64 blocks; the raw track is read through its user data.
    let m1 = info(&corpus.join("iso/cdio-isofs-m1.bin"));
    assert_eq!(m1["volumes"]["iso9660"]["volume_blocks"], 64);
    assert_eq!(m1["volumes"]["iso9660"]["layout"], "raw-mode1");
    // Pure UDF 1.02: no ISO 9660 descriptor, NSR02, the OSTA CS0 name decoded.
    let u = info(&corpus.join("iso/cdio-udf102.iso"));
    assert!(u["volumes"].get("iso9660").is_none());
    assert_eq!(u["volumes"]["udf"]["nsr"], 2);
    assert_eq!(u["volumes"]["udf"]["logical_volume_id"], "FéжΘvrier");
    assert_eq!(
        u["volumes"]["udf"]["recognition_sequence"],
        serde_json::json!(["BEA01", "NSR02", "TEA01"])
    );
    // The Ubuntu excerpt has an El Torito boot record.
    let g = info(&corpus.join("iso/godiskfs-volrecords.iso"));
    assert_eq!(g["volumes"]["iso9660"]["el_torito"], true);
}
