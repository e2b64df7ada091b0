//! Every file of the shared ZIP corpus, planted at unaligned offsets in one noise image, carved by
//! the engine through every read path. The per-file detail (extents, defects) is asserted in
//! `carvers/tests/corpus_zip.rs`; this test proves the engine finds each one, once, with the
//! status that table gives, whatever the read path.

mod support;

use salvor_carvers::Status;
use support::*;

/// Files whose directory runs past their end or into unrelated bytes.
const TRUNCATED: &[&str] = &[
    "lz-testfile-truncated.zip",
    "dn-EOCDmissing.zip",
    "poi-truncated62886.docx",
    "cc-apache-maven-2.2.1.zip.001",
    "ep-ocf-zip-unreadable-no-end-header-fatal.epub",
];

/// Files that are no archive at all: an end record with nonsense values and no directory.
const NOTHING: &[&str] = &["z2-invalid_cde_number_of_files_allocation_greater_offset.zip"];

/// Files that are whole and consistent (CRC-checked members, consistent directory).
const INTACT: &[&str] = &[
    "lz-incons-gap-before-local.zip",
    "lz-incons-trailing-garbage.zip",
    "lz-junk-at-start.zip",
    "lz-multidisk.zip",
    "lz-zip-in-archive-comment.zip",
    "lz-zip64-in-archive-comment.zip",
    "lz-zip64-3mf.zip",
    "go-test-prefix.zip",
    "go-test-trailing-junk.zip",
    "go-comment-truncated.zip",
    "go-go-no-datadesc-sig.zip",
    "z2-comment_garbage.zip",
    "z2-misaligned_comment.zip",
    "z2-zip64_demo.zip",
    "z2-zip64_magic_in_filename_4.zip",
    "cc-archive_with_bytes_after_data.zip",
    "cc-COMPRESS-208.zip",
    "cc-zipbomb.xlsx",
    "la-nested.zip",
    "la-sfx.bin",
    "la-with_invalid_traditional_eocd.zip",
    "rz-invalid-split.zip",
    "rz-zipWithCDirHeadersInPayload.zip",
    "poi-duplicate-filename.xlsx",
];

/// Files that hold a second, different archive overlapping the first one's structure (a
/// parser-differential trap): both are reported, neither swallowed.
const TWO: &[&str] = &["go-comment-truncated.zip"];

/// Space of noise between plants, larger than any cut member's overrun.
const GAP: usize = 128 * 1024 + 7;

#[test]
fn every_corpus_file_is_found_once_with_its_status() {
    let Some(corpus) = corpus() else {
        println!("skipped: corpus not found (set SALVOR_CORPUS or place it at ../shared/corpus)");
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(corpus.join("zip"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "MANIFEST.tsv")
        .collect();
    names.sort();
    assert!(names.len() >= 48, "corpus has {} files", names.len());

    let mut image = noise(GAP, 11);
    let mut plants = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let bytes = std::fs::read(corpus.join("zip").join(n)).unwrap();
        plants.push((n.clone(), image.len() as u64, bytes.len() as u64));
        image.extend_from_slice(&bytes);
        image.extend_from_slice(&noise(GAP, 100 + i as u64));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.img");
    std::fs::write(&path, &image).unwrap();

    let mut errs = Vec::new();
    for p in all_paths() {
        let (_, out) = scan_with(&path, p);
        let top: Vec<_> = out.findings.iter().filter(|f| f.parent.is_none()).collect();
        for (name, at, len) in &plants {
            let inside: Vec<_> = top
                .iter()
                .filter(|f| f.candidate.start >= *at && f.candidate.start < at + len)
                .collect();
            let want = if NOTHING.contains(&name.as_str()) {
                None
            } else if TRUNCATED.contains(&name.as_str()) {
                Some(Status::Truncated)
            } else if INTACT.contains(&name.as_str()) {
                Some(Status::Intact)
            } else {
                Some(Status::Damaged)
            };
            match (want, inside.as_slice()) {
                (None, []) => {}
                (Some(s), [f]) if f.candidate.status == s => {}
                (Some(s), [f, g])
                    if TWO.contains(&name.as_str())
                        && f.candidate.status == s
                        && g.candidate.status == s => {}
                _ => errs.push(format!(
                    "{p:?} {name}: expected {want:?}, got {:?}",
                    inside
                        .iter()
                        .map(|f| (f.candidate.start - at, f.candidate.status))
                        .collect::<Vec<_>>()
                )),
            }
        }
        let expected = plants.len() - NOTHING.len() + TWO.len();
        if top.len() != expected {
            errs.push(format!(
                "{p:?}: {} top-level findings, expected {expected}",
                top.len()
            ));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}
