//! The ZIP carver against real damaged and unusual archives from other projects' test suites.
//!
//! Each corpus file is planted at an unaligned offset inside deterministic pseudo-random bytes,
//! carved the way the engine carves (locate every hit, drop duplicates found from another header,
//! sort out children, validate), and compared with an expectation written by hand from the
//! corpus MANIFEST and the bytes themselves.

mod common;

use salvor_carvers::zip::ZipCarver;
use salvor_carvers::{Candidate, Carver, DefectKind, Hit, Limits, Status};
use std::path::PathBuf;
use DefectKind as K;
use Status::{Damaged, Intact, Truncated};

/// Where the corpus file starts inside the synthetic image: odd, so nothing lines up by chance.
const PLANT_AT: usize = 100_003;
/// Random bytes after the planted file.
const TAIL: usize = 64 * 1024;

/// Deterministic xorshift64 noise.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn corpus_dir() -> Option<PathBuf> {
    common::corpus_sub("zip")
}

/// A finding after the engine's rules, with the candidates nested inside it.
struct Finding {
    c: Candidate,
    children: Vec<Candidate>,
}

/// Carve the way the engine does: locate each hit, drop a candidate that starts at an anchor of a
/// bigger one and ends inside it, validate the kept ones, and hang candidates that start inside
/// a member's data or the comment of another under it.
fn carve(data: &[u8]) -> Vec<Finding> {
    let limits = Limits::default();
    let mut found = Vec::new();
    for sig in ZipCarver.signatures() {
        for i in memchr::memmem::find_iter(data, sig.bytes) {
            let hit = Hit {
                offset: i as u64,
                tag: sig.tag,
            };
            if let Some(c) = ZipCarver.locate(&data, hit, &limits) {
                found.push(c);
            }
        }
    }
    // Bigger first; among equals, the earlier start.
    found.sort_by_key(|c| (std::cmp::Reverse(c.len()), c.start));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in found {
        let dup = kept
            .iter()
            .any(|k| k.anchors.contains(&c.start) && c.end <= k.end && c.start >= k.start);
        if !dup {
            kept.push(c);
        }
    }
    for c in &mut kept {
        ZipCarver.validate(&data, c, &limits);
    }
    let parent_of = |c: &Candidate, all: &[Candidate]| {
        all.iter().position(|p| {
            !std::ptr::eq(p, c)
                && p.regions
                    .iter()
                    .any(|r| r.start <= c.start && c.start < r.end)
        })
    };
    let parents: Vec<Option<usize>> = kept.iter().map(|c| parent_of(c, &kept)).collect();
    let mut out: Vec<Finding> = Vec::new();
    let mut index = vec![usize::MAX; kept.len()];
    for (i, c) in kept.iter().enumerate() {
        if parents[i].is_none() {
            index[i] = out.len();
            out.push(Finding {
                c: c.clone(),
                children: Vec::new(),
            });
        }
    }
    for (i, c) in kept.iter().enumerate() {
        if let Some(mut p) = parents[i] {
            // Grandchildren are listed under the top-level ancestor.
            let mut guard = 0;
            while let Some(pp) = parents[p] {
                p = pp;
                guard += 1;
                if guard > kept.len() {
                    break;
                }
            }
            if index[p] != usize::MAX {
                out[index[p]].children.push(c.clone());
            }
        }
    }
    out.sort_by_key(|f| f.c.start);
    out
}

fn describe(f: &[Finding], base: u64) -> String {
    let mut s = String::new();
    for x in f {
        let c = &x.c;
        s += &format!(
            "  [{:+}..{:+}) {} {} members={} defects={:?} notes={:?}\n",
            c.start as i64 - base as i64,
            c.end as i64 - base as i64,
            c.kind,
            c.status,
            c.members.len(),
            c.defects.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            c.notes
        );
        for m in &c.members {
            s += &format!("      {:?} {}\n", m.name, m.check);
        }
        for ch in &x.children {
            s += &format!(
                "    child [{:+}..{:+}) {} {} members={} defects={:?}\n",
                ch.start as i64 - base as i64,
                ch.end as i64 - base as i64,
                ch.kind,
                ch.status,
                ch.members.len(),
                ch.defects.iter().map(|d| d.kind).collect::<Vec<_>>()
            );
        }
    }
    s
}

/// What an examiner expects of one planted file. Extents are relative to the planted offset.
struct Expect {
    file: &'static str,
    /// Top-level findings after dedupe (children not counted).
    findings: usize,
    status: Status,
    kind: &'static str,
    start: i64,
    /// End of the extent: exactly, or a range when the archive was cut and its end is only known
    /// as "where the noise stops decoding".
    end: (i64, i64),
    members: usize,
    /// Defect kinds, as a set.
    defects: &'static [DefectKind],
    /// Children (nested archives in member data or the comment) of the first finding.
    children: usize,
}

const fn x(
    file: &'static str,
    status: Status,
    kind: &'static str,
    extent: (i64, i64),
    members: usize,
    defects: &'static [DefectKind],
) -> Expect {
    Expect {
        file,
        findings: 1,
        status,
        kind,
        start: extent.0,
        end: (extent.1, extent.1),
        members,
        defects,
        children: 0,
    }
}

/// Cut archives: the extent may run into the noise up to where the deflate stream breaks.
const NOISE_SLACK: i64 = 8192;

#[rustfmt::skip]
fn expectations() -> Vec<Expect> {
    vec![
        // Six members; two wrong CRCs, one broken deflate stream; the encrypted one is a note.
        x("lz-broken.zip", Damaged, "zip", (0, 75091), 6, &[K::CrcMismatch, K::DeflateError]),
        // The end record's CD offset is wrong; the directory sits right before it.
        x("lz-incons-cdoffset.zip", Damaged, "zip", (0, 153), 1, &[K::OffsetMismatch]),
        // End-record signature bytes 40 4b 05 06 at 131, fields intact: damage, whole file.
        x("lz-incons-eocd-magic-bad.zip", Damaged, "zip", (0, 153), 1, &[K::EocdMissing]),
        x("lz-incons-central-magic-bad.zip", Damaged, "zip", (0, 153), 1, &[K::CentralDirectoryUnreadable]),
        // Local signature 40 4b 03 04 at 0; the header's lengths still place the data.
        x("lz-incons-local-magic-bad.zip", Damaged, "zip", (0, 153), 1, &[K::LocalHeaderMismatch]),
        x("lz-incons-file-count-low.zip", Damaged, "zip", (0, 304), 3, &[K::EntryCountMismatch]),
        // An unreferenced gap between members is not damage.
        x("lz-incons-local-crc.zip", Damaged, "zip", (0, 153), 1, &[K::LocalHeaderMismatch]),
        x("lz-incons-gap-before-local.zip", Intact, "zip", (0, 202), 2, &[]),
        // 16 bytes after the deflate stream inside the recorded size: a note, CRC holds.
        x("lz-incons-trailing-garbage.zip", Intact, "zip", (0, 193), 1, &[]),
        // Offsets relative to +4: the 4 junk bytes are not the archive's.
        x("lz-junk-at-start.zip", Intact, "zip", (4, 416), 3, &[]),
        // One local header and a complete directory record; no end record, noise follows.
        x("lz-testfile-truncated.zip", Truncated, "zip", (0, 100), 1, &[K::EocdMissing, K::Truncated]),
        x("lz-multidisk.zip", Intact, "zip", (0, 122), 1, &[]),
        // Outer archive with the inner one in its 122-byte comment: one finding, one child.
        Expect { children: 1, ..x("lz-zip-in-archive-comment.zip", Intact, "zip", (0, 267), 1, &[]) },
        x("lz-zip64-3mf.zip", Intact, "zip", (0, 198), 1, &[]),
        Expect { children: 1, ..x("lz-zip64-in-archive-comment.zip", Intact, "zip", (0, 320), 1, &[]) },
        // 43 bytes of prefix, 14 after the comment: the archive is [43, 1213).
        x("go-test-prefix.zip", Intact, "zip", (43, 1213), 2, &[]),
        x("go-test-trailing-junk.zip", Intact, "zip", (0, 1170), 2, &[]),
        x("go-test-baddirsz.zip", Damaged, "zip", (0, 1170), 2, &[K::OffsetMismatch]),
        // Last end record (0xc2) declares a 1-byte comment; planted, a noise byte supplies it.
        // The archive whose end record is at 0x7a starts at 0x22, inside member FILE's data.
        Expect { children: 1, ..x("go-comment-truncated.zip", Intact, "zip", (0, 217), 1, &[]) },
        x("go-go-no-datadesc-sig.zip", Intact, "zip", (0, 330), 2, &[]),
        // Empty archive, comment "short." (6 bytes); the 18 stale bytes after are not its.
        x("z2-comment_garbage.zip", Intact, "zip", (0, 28), 0, &[]),
        x("z2-misaligned_comment.zip", Intact, "zip", (0, 28), 0, &[]),
        // Bytes 645..683 replaced two directory records; 4 local members, 6 records, 8 declared.
        x("z2-invalid_offset.zip", Damaged, "zip", (0, 1241), 8,
          &[K::OffsetMismatch, K::LocalHeaderMissing, K::EntryCountMismatch]),
        // Nonsense end record and no directory anywhere: nothing to carve.
        Expect { findings: 0, ..x("z2-invalid_cde_number_of_files_allocation_greater_offset.zip", Intact, "zip", (0, 0), 0, &[]) },
        x("z2-zip64_demo.zip", Intact, "zip", (14, 224), 1, &[]),
        x("z2-zip64_magic_in_filename_4.zip", Intact, "zip", (0, 250), 2, &[]),
        // Second local signature 50 4b 03 03; its lengths still place b.txt's data.
        x("yz-invalid_local_file_header_signature_0x3034b50.zip", Damaged, "zip", (0, 308), 2, &[K::LocalHeaderMismatch]),
        // Directory says 2147483647 bytes, local header 5 (which the CRC confirms).
        x("yz-file_data_overflows_file_bounds_63_2147483647_308.zip", Damaged, "zip", (0, 308), 2,
          &[K::LocalHeaderMismatch, K::SizeMismatch]),
        x("yz-not_enough_bytes_in_the_stream_expected_2048576_got_only_1000000.zip", Damaged, "zip", (0, 1153), 1, &[K::SizeMismatch]),
        x("yz-invalid_code_lengths_set.zip", Damaged, "zip", (0, 2993), 1, &[K::DeflateError]),
        // The 22 bytes at 286 are an end record whose signature reads 50 4b 00 00.
        x("yz-eocd_not_found_truncated.zip", Damaged, "zip", (0, 308), 2, &[K::EocdMissing]),
        // 15 complete members and the cut uber jar; the extent stops where the noise stops
        // decoding, not at the end of the image.
        Expect { end: (65536, 65536 + NOISE_SLACK),
                 ..x("cc-apache-maven-2.2.1.zip.001", Truncated, "zip", (0, 0), 16, &[K::Truncated]) },
        x("cc-archive_with_bytes_after_data.zip", Intact, "zip", (0, 670), 2, &[]),
        // Directory offsets forget the 12-byte descriptor: test1 fits base 0, test2 and the
        // directory base 12. One archive, whole file.
        x("cc-bla-stored-dd-nosig.zip", Damaged, "zip", (0, 1018), 2, &[K::OffsetMismatch]),
        // "PK00" marker at 0; offsets count from it.
        x("cc-COMPRESS-208.zip", Intact, "zip", (0, 670), 2, &[]),
        x("cc-zipbomb.xlsx", Intact, "xlsx", (0, 18348), 19, &[]),
        // Stored small.zip at 67..278 holds the inner archive: a child, not a finding.
        Expect { children: 1, ..x("la-nested.zip", Intact, "zip", (0, 576), 2, &[]) },
        x("la-sfx.bin", Intact, "zip", (1024, 1387), 2, &[]),
        x("la-size_exceeds_declared_stored.zip", Damaged, "zip", (0, 227), 2, &[K::SizeMismatch]),
        x("la-with_invalid_traditional_eocd.zip", Intact, "zip", (0, 454), 2, &[]),
        // End record at 132 reads 00 4b 05 06, fields intact.
        x("la-extra_padding.zip", Damaged, "zip", (0, 154), 1, &[K::EocdMissing]),
        x("dn-EOCDmissing.zip", Truncated, "zip", (0, 120), 1, &[K::EocdMissing, K::Truncated]),
        x("dn-invalidDeflate.zip", Damaged, "zip", (0, 1006), 1, &[K::DeflateError]),
        x("rz-zipWithCDirHeadersInPayload.zip", Intact, "zip", (0, 175), 1, &[]),
        // PK\x07\x08 split marker at 0, offsets count from it.
        x("rz-invalid-split.zip", Intact, "zip", (0, 180), 1, &[]),
        // 26 local members; the directory stops after 21 whole records (a 22nd is cut at 19778).
        x("poi-truncated62886.docx", Truncated, "docx", (0, 19778), 26, &[K::EocdMissing, K::Truncated]),
        // Duplicate name: noted, not hidden.
        x("poi-duplicate-filename.xlsx", Intact, "xlsx", (0, 10721), 11, &[]),
        // mimetype and content.opf whole, cover.jpg cut at 40960 and followed by noise.
        Expect { end: (40960, 40960 + NOISE_SLACK),
                 ..x("ep-ocf-zip-unreadable-no-end-header-fatal.epub", Truncated, "epub", (0, 0), 3, &[K::Truncated]) },
    ]
}

fn plant(file: &[u8]) -> Vec<u8> {
    let mut img = noise(PLANT_AT, 0x5eed_0001);
    img.extend_from_slice(file);
    img.extend_from_slice(&noise(TAIL, 0x5eed_0002));
    img
}

fn check(e: &Expect, found: &[Finding]) -> Result<(), String> {
    if found.len() != e.findings {
        return Err(format!(
            "{} top-level findings, expected {}",
            found.len(),
            e.findings
        ));
    }
    let Some(f) = found.first() else {
        return Ok(());
    };
    let c = &f.c;
    let base = PLANT_AT as i64;
    let (start, end) = (c.start as i64 - base, c.end as i64 - base);
    let mut kinds: Vec<DefectKind> = c.defects.iter().map(|d| d.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut want = e.defects.to_vec();
    want.sort_unstable();
    let mut errs = Vec::new();
    if c.status != e.status {
        errs.push(format!("status {}, expected {}", c.status, e.status));
    }
    if c.kind != e.kind {
        errs.push(format!("kind {}, expected {}", c.kind, e.kind));
    }
    if start != e.start || end < e.end.0 || end > e.end.1 {
        errs.push(format!(
            "extent [{start}, {end}), expected [{}, {:?})",
            e.start, e.end
        ));
    }
    if c.members.len() != e.members {
        errs.push(format!(
            "{} members, expected {}",
            c.members.len(),
            e.members
        ));
    }
    if kinds != want {
        errs.push(format!("defects {kinds:?}, expected {want:?}"));
    }
    if f.children.len() != e.children {
        errs.push(format!(
            "{} children, expected {}",
            f.children.len(),
            e.children
        ));
    }
    // A ZIP64 end record saturates the classic disk fields; that is not a multi-disk claim.
    let zip64 = e.file.contains("zip64") || e.file.contains("invalid_traditional");
    if zip64 && c.notes.iter().any(|n| n.contains("multi-disk")) {
        errs.push("ZIP64 archive reported as multi-disk".into());
    }
    for m in &c.members {
        if m.data_start > m.data_end || m.data_end > c.end {
            errs.push(format!("member {:?} data range outside the extent", m.name));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

#[test]
fn corpus_files_planted_in_noise() {
    let Some(dir) = corpus_dir() else { return };
    let table = expectations();
    let mut failures = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus folder readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "MANIFEST.tsv")
        .collect();
    names.sort();
    for n in &names {
        let Some(e) = table.iter().find(|e| e.file == n) else {
            failures.push(format!("{n}: no expectation written for this file"));
            continue;
        };
        let file = std::fs::read(dir.join(n)).expect("corpus file readable");
        let found = carve(&plant(&file));
        if let Err(msg) = check(e, &found) {
            failures.push(format!("{n}: {msg}\n{}", describe(&found, PLANT_AT as u64)));
        }
    }
    for e in &table {
        if !names.iter().any(|n| n == e.file) {
            failures.push(format!("{}: expected but not in the corpus", e.file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dump_corpus() {
    let Some(dir) = corpus_dir() else { return };
    if std::env::var_os("SALVOR_DUMP").is_none() {
        return;
    }
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "MANIFEST.tsv")
        .collect();
    names.sort();
    for n in names {
        let file = std::fs::read(dir.join(&n)).unwrap();
        let f = carve(&plant(&file));
        println!(
            "{n} (len {}):\n{}",
            file.len(),
            describe(&f, PLANT_AT as u64)
        );
    }
}
