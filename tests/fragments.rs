//! Fragmented archives (testimages/fragments.py): bifragments with gaps of 1 to 1000 clusters,
//! swapped and scrambled fragments, three fragments, decoys in the gaps, and deleted fragmented
//! archives on real FAT12/16/32 volumes. Each must come back byte-identical with its exact runs;
//! no assembly is ever claimed whose bytes are not the archive's.

mod support;

use salvor_carvers::{ByteView, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use support::*;

/// Items the reassembly does not bring back yet, with the reason. They must come back as
/// something other than an intact or reassembled claim, never as a wrong assembly.
const KNOWN_MISSES: &[(&str, &str, &str)] = &[];

/// Items where a decoy is an exact copy of the missing fragment, placed so that a contiguous
/// reading gives the same bytes: the bytes must match, the runs may be the copy's.
const SAME_BYTES_OTHER_RUNS: &[(&str, &str)] = &[("decoy-4k", "sources/writer.odt")];

fn images() -> PathBuf {
    // Built once per test binary; both tests wait for the same build.
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| generated("fragments.py", "fragments", &[]))
        .clone()
}

fn merged(runs: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &(p, l) in runs {
        match out.last_mut() {
            Some(last) if last.0 + last.1 == p => last.1 += l,
            _ => out.push((p, l)),
        }
    }
    out
}

#[test]
fn fragmented_archives_come_back_byte_identical() {
    let dir = images();
    let mut errs = Vec::new();
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for name in [
        "bifrag-512",
        "bifrag-4k",
        "swapped-4k",
        "three-4k",
        "decoy-4k",
        "fat-512",
        "fat-4k",
        "fat-32k",
        "mbr-fat-4k",
        "gpt-fat-512",
    ] {
        let image = dir.join(format!("{name}.img"));
        let truth = truth(&dir.join(format!("{name}.truth.json")));
        let (source, out) = scan_with(
            &image,
            Path_ {
                mode: salvor::source::ReadMode::Auto,
                threads: 2,
                chunk: salvor::scan::DEFAULT_CHUNK,
            },
        );
        let digest = |f: &salvor::scan::Finding| {
            let c = &f.candidate;
            let runs = if c.runs.is_empty() {
                vec![(c.start, c.len())]
            } else {
                c.runs.clone()
            };
            let view = salvor_carvers::zip::fragments::Mapped::from_runs(&source, &runs);
            let bytes = view.bytes_at(0, view.len() as usize).into_owned();
            salvor::hashing::sha256_hex(&bytes)
        };
        let items = truth["items"].as_array().unwrap();
        let shas: Vec<&str> = items
            .iter()
            .map(|i| i["sha256"].as_str().unwrap())
            .collect();
        for f in out
            .findings
            .iter()
            .filter(|f| f.candidate.status == Status::Reassembled)
        {
            let d = digest(f);
            if !shas.contains(&d.as_str()) {
                errs.push(format!(
                    "{name}: a reassembly at {} whose bytes are no archive of the truth",
                    f.candidate.start
                ));
            }
        }
        for item in items {
            let src = item["source"].as_str().unwrap();
            let want = item["status"].as_str().unwrap();
            let runs: Vec<(u64, u64)> = item["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()))
                .collect();
            let found = out
                .findings
                .iter()
                .find(|f| f.parent.is_none() && digest(f) == item["sha256"].as_str().unwrap());
            let known = KNOWN_MISSES.iter().any(|k| k.0 == name && k.1 == src);
            let t = tally.entry(name).or_default();
            match found {
                Some(f) => {
                    let c = &f.candidate;
                    let ok_status = match want {
                        "reassembled" => c.status == Status::Reassembled,
                        _ => c.status == Status::Intact,
                    };
                    let got_runs = if c.runs.is_empty() {
                        vec![(c.start, c.len())]
                    } else {
                        merged(&c.runs)
                    };
                    let ambiguous = SAME_BYTES_OTHER_RUNS.contains(&(name, src));
                    if !ok_status || (got_runs != merged(&runs) && !ambiguous) {
                        errs.push(format!(
                            "{name} {src}: status {} runs {got_runs:?}, truth {want} {runs:?}",
                            c.status
                        ));
                    } else if known {
                        errs.push(format!(
                            "{name} {src}: now recovered; remove it from KNOWN_MISSES"
                        ));
                    } else {
                        t.0 += 1;
                    }
                }
                None if known => t.1 += 1,
                None => errs.push(format!(
                    "{name} {src} ({want}, {} runs) not recovered",
                    runs.len()
                )),
            }
        }
    }
    println!("recovered / known misses per image: {tally:?}");
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn reassembled_findings_are_written_with_their_runs_in_dfxml() {
    let dir = images();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_salvor"))
        .args(["carve", "-q"])
        .arg(dir.join("bifrag-4k.img"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let truth = truth(&dir.join("bifrag-4k.truth.json"));
    let re: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "reassembled")
        .collect();
    let want = truth["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "reassembled")
        .count();
    assert_eq!(re.len(), want);
    let dfxml = std::fs::read_to_string(out.join("report.dfxml")).unwrap();
    for f in re {
        let file = out.join(f["file"].as_str().unwrap());
        assert!(file.starts_with(out.join("reassembled")));
        let bytes = std::fs::read(&file).unwrap();
        let sha = salvor::hashing::sha256_hex(&bytes);
        assert!(truth["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["sha256"] == sha.as_str()));
        let runs = f["runs"].as_array().unwrap();
        assert!(runs.len() >= 2);
        let second = &runs[1];
        let line = format!(
            "<byte_run file_offset='{}' img_offset='{}' len='{}'/>",
            runs[0][1], second[0], second[1]
        );
        assert!(dfxml.contains(&line), "{line}");
        let t = Command::new("python3")
            .args([
                "-c",
                "import zipfile,sys; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)",
            ])
            .arg(&file)
            .status()
            .unwrap();
        assert!(t.success());
    }
}

/// `len` bytes of xorshift noise: the random fill between the pieces of the hand-built images.
fn noise(len: usize, mut x: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// No finding of `out` claims a reassembly.
fn assert_nothing_reassembled(out: &salvor::scan::ScanOutcome) {
    let claimed: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.candidate.status == Status::Reassembled)
        .map(|f| &f.candidate.runs)
        .collect();
    assert!(claimed.is_empty(), "reassemblies claimed: {claimed:?}");
}

/// Carve an image held in memory (written to a temporary file) the default way.
fn scan_image(img: &[u8]) -> salvor::scan::ScanOutcome {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("built.img");
    std::fs::write(&path, img).unwrap();
    scan_with(
        &path,
        Path_ {
            mode: salvor::source::ReadMode::Auto,
            threads: 2,
            chunk: salvor::scan::DEFAULT_CHUNK,
        },
    )
    .1
}

/// A damaged archive and, elsewhere, a truncated copy of the same archive that holds the damaged
/// members whole, both on cluster boundaries so that a splice of the two lines up: the splice
/// would pass every CRC, but the copy's own first member would be left out. That is two copies,
/// not one fragmented file, and no reassembly may be claimed.
#[test]
fn a_damaged_archive_is_not_spliced_with_another_copy() {
    let dir = images();
    let gen = std::fs::read(dir.join("generated/gen-1.zip")).unwrap();
    let heads: Vec<usize> = memchr::memmem::find_iter(&gen, b"PK\x03\x04").collect();
    // gen-1's plan puts member 1's header exactly on 4096 and member 5's on a later multiple.
    assert_eq!(heads[1], 4096, "{heads:?}");
    assert_eq!(heads[5] % 4096, 0, "{heads:?}");
    let cut = heads[5];
    // Members 1 to 4 of the damaged one are zeroed: the copy holds them whole, and a splice
    // (member 0 and members 5.. from the damaged one, 1 to 4 from the copy) would pass every CRC.
    let mut damaged = gen.clone();
    damaged[4096..cut].fill(0);
    let mut img = noise(1 << 20, 0x2545_F491_4F6C_DD1D);
    let (d_at, t_at) = (65536usize, 524_288usize);
    img[d_at..d_at + damaged.len()].copy_from_slice(&damaged);
    img[t_at..t_at + cut].copy_from_slice(&gen[..cut]);
    let out = scan_image(&img);
    let at = |o: usize| {
        out.findings
            .iter()
            .find(|f| f.candidate.start == o as u64)
            .unwrap_or_else(|| panic!("no finding at {o}: {:?}", out.findings))
    };
    assert_nothing_reassembled(&out);
    let d = &at(d_at).candidate;
    assert_eq!(d.status, Status::Damaged);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("could not reassemble") && n.contains("remains of other copies")),
        "{:?}",
        d.notes
    );
    assert_eq!(at(t_at).candidate.status, Status::Truncated);
    assert_eq!(at(t_at).candidate.end, (t_at + cut) as u64);
}

/// The same files zipped twice give two archives whose directories say the same thing and whose
/// local headers differ only in bytes no directory records. With the second one's head lying
/// nearer than the first one's own, an assembly from either head passes every CRC: which head
/// belongs to the directory cannot be told, so nothing is claimed, and the note names both.
#[test]
fn a_rival_head_from_the_same_files_zipped_again_is_not_guessed_at() {
    let dir = images();
    let a = std::fs::read(dir.join("generated/gen-1.zip")).unwrap();
    // The other zipping: every local header says another "version needed" (bytes 4..6).
    let mut a2 = a.clone();
    for h in memchr::memmem::find_iter(&a, b"PK\x03\x04") {
        a2[h + 4] ^= 0x01;
    }
    let cut = 8192;
    let mut img = noise(1 << 20, 0x9E37_79B9_7F4A_7C15);
    let (a_head, a2_head, a_tail) = (65536usize, 409_600usize, 524_288usize);
    img[a_head..a_head + cut].copy_from_slice(&a[..cut]);
    img[a2_head..a2_head + cut].copy_from_slice(&a2[..cut]);
    img[a_tail..a_tail + a.len() - cut].copy_from_slice(&a[cut..]);
    let out = scan_image(&img);
    assert_nothing_reassembled(&out);
    let notes: Vec<&String> = out
        .findings
        .iter()
        .flat_map(|f| f.candidate.notes.iter())
        .filter(|n| n.contains("has a rival"))
        .collect();
    assert_eq!(notes.len(), 1, "{:#?}", out.findings);
    assert!(
        notes[0].contains(&format!("offset {a_head}"))
            && notes[0].contains(&format!("offset {a2_head}")),
        "{}",
        notes[0]
    );
}
