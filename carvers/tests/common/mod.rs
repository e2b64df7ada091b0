//! Shared by the carvers' corpus tests: where the shared corpus is.

#![allow(dead_code)]

use std::path::PathBuf;

/// `sub` of the shared corpus (`$SALVOR_CORPUS`, else `../shared/corpus` beside the workspace),
/// or `None` after saying the test is skipped.
pub fn corpus_sub(sub: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SALVOR_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    let p = dir.join(sub);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: no corpus at {}", p.display());
        None
    }
}

/// The bytes of corpus file `sub/name`, or `None` after saying the test is skipped.
pub fn corpus_file(sub: &str, name: &str) -> Option<Vec<u8>> {
    let path = corpus_sub(sub)?.join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipped: corpus file {} not found", path.display());
            None
        }
    }
}
