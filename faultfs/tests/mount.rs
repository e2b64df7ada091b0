//! The filesystem mounted for real: EIO on the chosen pages, dropped writes stay unwritten.
//! Skipped when FUSE is unavailable (no /dev/fuse or not allowed to mount).

use salvor_faultfs::{mount, Options};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

fn setup(
    eio: Vec<(u64, u64)>,
    drop: Vec<(u64, u64)>,
) -> Option<(tempfile::TempDir, salvor_faultfs::Mounted)> {
    if !std::path::Path::new("/dev/fuse").exists() {
        eprintln!("skipped: no /dev/fuse");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let backing = dir.path().join("backing.img");
    let bytes: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&backing, &bytes).unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut opts = Options::new(&backing, &mnt);
    opts.eio = eio;
    opts.drop_writes = drop;
    match mount(&opts) {
        Ok(m) => Some((dir, m)),
        Err(e) => {
            eprintln!("skipped: cannot mount FUSE: {e}");
            None
        }
    }
}

#[test]
fn reads_fail_only_on_bad_pages() {
    let Some((_dir, m)) = setup(vec![(64 * 1024, 8192)], vec![]) else {
        return;
    };
    let f = std::fs::File::open(m.file()).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 256 * 1024);
    let mut buf = vec![0u8; 4096];
    f.read_exact_at(&mut buf, 60 * 1024).unwrap();
    assert_eq!(buf[0], ((60 * 1024) % 251) as u8);
    let err = f.read_exact_at(&mut buf, 64 * 1024).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO expected, got {err}");
    let err = f
        .read_exact_at(&mut buf[..512], 68 * 1024 + 512)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5));
    f.read_exact_at(&mut buf, 72 * 1024).unwrap();
}

#[test]
fn dropped_writes_are_acknowledged_and_lost() {
    let Some((dir, m)) = setup(vec![], vec![(8192, 4096)]) else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(m.file())
        .unwrap();
    f.seek(SeekFrom::Start(4096)).unwrap();
    f.write_all(&[0xAAu8; 12288]).unwrap();
    f.sync_all().unwrap();
    drop(f);
    m.unmount().unwrap();

    let mut back = Vec::new();
    std::fs::File::open(dir.path().join("backing.img"))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert!(back[4096..8192].iter().all(|&b| b == 0xAA));
    assert!(back[8192..12288]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == ((8192 + i) % 251) as u8));
    assert!(back[12288..16384].iter().all(|&b| b == 0xAA));
}
