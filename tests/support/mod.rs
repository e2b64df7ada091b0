//! Shared helpers for the integration tests: generated images, truth files, and one function
//! that runs a scan through every read path.

#![allow(dead_code)]

pub mod faultfs;

use salvor::job::Progress;
use salvor::scan::{self, ScanOptions, ScanOutcome};
use salvor::source::{ReadMode, Source};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the image generator `testimages/<script>` with `args` and `--out <target tmp>/<dir>`,
/// unless that folder already holds images made by the same generator (its SHA-256 is kept in
/// `.generator-sha256`). Callers keep the result in a `OnceLock`, so concurrent tests of one
/// binary wait for a single run.
pub fn generated(script: &str, dir: &str, args: &[&std::ffi::OsStr]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let stamp = dir.join(".generator-sha256");
    let gen = root().join("testimages").join(script);
    let want = salvor::hashing::sha256_hex(
        &std::fs::read(&gen).unwrap_or_else(|e| panic!("{}: {e}", gen.display())),
    );
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new("python3")
            .arg(&gen)
            .args(args)
            .arg("--out")
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| panic!("python3 runs testimages/{script}: {e}"));
        assert!(st.success(), "testimages/{script} failed");
        std::fs::write(&stamp, &want).unwrap();
    }
    dir
}

/// Build the scenario images once per test binary run, into the target's temporary folder.
pub fn scenario_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generated("generate.py", "scenarios", &["--no-check".as_ref()]))
}

/// Where the shared corpus is, if present, or `None` after saying that tests using it are
/// skipped.
pub fn corpus_or_say() -> Option<PathBuf> {
    let c = corpus();
    if c.is_none() {
        eprintln!("skipped: no corpus (set SALVOR_CORPUS or put it at ../shared/corpus)");
    }
    c
}

/// Read a truth file.
pub fn truth(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The read paths every scenario goes through.
#[derive(Debug, Clone, Copy)]
pub struct Path_ {
    pub mode: ReadMode,
    pub threads: usize,
    pub chunk: u64,
}

/// mmap and buffered, one thread and several, default chunks and chunks so small that
/// signatures straddle their boundaries.
pub fn all_paths() -> Vec<Path_> {
    let mut v = Vec::new();
    for mode in [ReadMode::Auto, ReadMode::Buffered] {
        for threads in [1, 4] {
            for chunk in [scan::DEFAULT_CHUNK, 4099] {
                v.push(Path_ {
                    mode,
                    threads,
                    chunk,
                });
            }
        }
    }
    v
}

/// Scan an image through one read path.
pub fn scan_with(image: &Path, p: Path_) -> (Source, ScanOutcome) {
    let source = Source::open(image, p.mode).unwrap();
    let opts = ScanOptions {
        chunk_size: p.chunk,
        threads: Some(p.threads),
        ..ScanOptions::default()
    };
    let out = scan::scan(&source, &opts, &Progress::default()).unwrap();
    (source, out)
}

/// SHA-256 of a byte range of a file.
pub fn sha256_range(image: &Path, offset: u64, len: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(image).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf).unwrap();
    salvor::hashing::sha256_hex(&buf)
}

/// Deterministic pseudo-random bytes (xorshift64*), for fill that has no structure.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Where the shared corpus is, if present.
pub fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("SALVOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    p.is_dir().then_some(p)
}
