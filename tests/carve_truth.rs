//! Every generated scenario, through every read path, against its truth file.

mod support;

use salvor::scan::ScanOutcome;
use salvor_carvers::Status;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use support::*;

fn status_of(v: &Value) -> Status {
    match v["status"].as_str().unwrap() {
        "intact" => Status::Intact,
        "damaged" => Status::Damaged,
        "truncated" => Status::Truncated,
        s => panic!("unknown status {s}"),
    }
}

/// Check one scan against the truth; returns a list of failures so all paths report together.
fn compare(image: &Path, truth: &Value, out: &ScanOutcome, label: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let items = truth["items"].as_array().unwrap();
    let top: Vec<_> = out.findings.iter().filter(|f| f.parent.is_none()).collect();
    let mut expected_offsets = BTreeSet::new();
    for item in items {
        let off = item["offset"].as_u64().unwrap();
        let len = item["length"].as_u64().unwrap();
        expected_offsets.insert(off);
        let Some(f) = top.iter().find(|f| f.candidate.start == off) else {
            errs.push(format!(
                "{label}: {} at {off} ({}) not found",
                item["source"], item["damage"]
            ));
            continue;
        };
        let c = &f.candidate;
        let want = status_of(item);
        if c.status != want {
            errs.push(format!(
                "{label}: {off}: status {} expected {want} ({:?})",
                c.status, c.defects
            ));
        }
        if let (Status::Truncated, Some(surv)) = (want, item["surviving_length"].as_u64()) {
            if c.len() < surv {
                errs.push(format!(
                    "{label}: {off}: truncated extent {} shorter than the {surv} surviving bytes",
                    c.len()
                ));
            } else if sha256_range(image, off, surv) != item["sha256_surviving"].as_str().unwrap() {
                errs.push(format!("{label}: {off}: surviving bytes differ"));
            }
        } else {
            if c.len() != len {
                errs.push(format!("{label}: {off}: length {} expected {len}", c.len()));
            } else if sha256_range(image, c.start, c.len()) != item["sha256"].as_str().unwrap() {
                errs.push(format!("{label}: {off}: carved bytes' SHA-256 differs"));
            }
            let kind = item["type"].as_str().unwrap();
            if c.kind != kind {
                errs.push(format!("{label}: {off}: kind {} expected {kind}", c.kind));
            }
        }
        let any_of: Vec<&str> = item["defects_any_of"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if !any_of.is_empty() && !c.defects.iter().any(|d| any_of.contains(&d.kind.as_str())) {
            errs.push(format!(
                "{label}: {off}: defects {:?} none of {any_of:?}",
                c.defects.iter().map(|d| d.kind).collect::<Vec<_>>()
            ));
        }
        if want == Status::Intact {
            let members = item["members"].as_array().unwrap();
            if c.members.len() != members.len() {
                errs.push(format!(
                    "{label}: {off}: {} members expected {}",
                    c.members.len(),
                    members.len()
                ));
            }
            for (m, t) in c.members.iter().zip(members) {
                let crc = format!("{:08x}", m.crc32);
                if m.name != t["name"].as_str().unwrap()
                    || crc != t["crc32"].as_str().unwrap()
                    || m.check != "ok"
                {
                    errs.push(format!(
                        "{label}: {off}: member {} crc {crc} check {} vs truth {t}",
                        m.name, m.check
                    ));
                }
                if m.header_offset != t["header_offset"].as_u64() {
                    errs.push(format!(
                        "{label}: {off}: member {} header at {:?}",
                        m.name, m.header_offset
                    ));
                }
            }
        }
        for child in item["children"].as_array().unwrap() {
            let co = child["offset"].as_u64().unwrap();
            let ok = f.children.iter().any(|&k| {
                let ch = &out.findings[k];
                ch.candidate.start == co
                    && ch.candidate.len() == child["length"].as_u64().unwrap()
                    && ch
                        .provenance
                        .as_deref()
                        .is_some_and(|p| p.contains("stored"))
            });
            if !ok {
                errs.push(format!(
                    "{label}: {off}: child at {co} not reported as a child of a stored member"
                ));
            }
        }
    }
    for f in &top {
        if !expected_offsets.contains(&f.candidate.start) {
            errs.push(format!(
                "{label}: unexpected finding {} {} at {}..{} {:?}",
                f.candidate.kind,
                f.candidate.status,
                f.candidate.start,
                f.candidate.end,
                f.candidate.defects
            ));
        }
    }
    errs
}

fn run_scenario(name: &str) {
    let dir = scenario_dir();
    let image = dir.join(format!("{name}.img"));
    let truth = truth(&dir.join(format!("{name}.truth.json")));
    let mut errs = Vec::new();
    for p in all_paths() {
        let (_, out) = scan_with(&image, p);
        assert!(!out.interrupted);
        errs.extend(compare(&image, &truth, &out, &format!("{name} {p:?}")));
    }
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn random_unaligned() {
    run_scenario("random-unaligned");
}

#[test]
fn random_aligned() {
    run_scenario("random-aligned");
}

#[test]
fn zero_unaligned() {
    run_scenario("zero-unaligned");
}

#[test]
fn zero_aligned() {
    run_scenario("zero-aligned");
}

#[test]
fn damaged_random() {
    run_scenario("damaged-random");
}

#[test]
fn damaged_zero() {
    run_scenario("damaged-zero");
}

#[test]
fn nested() {
    run_scenario("nested");
}

#[test]
fn fat32_with_deleted_files() {
    run_scenario("fat32");
}

#[test]
fn demo_image() {
    let image = root().join("testimages/demo.img");
    let truth = truth(&root().join("testimages/demo.truth.json"));
    let mut errs = Vec::new();
    for p in all_paths() {
        let (_, out) = scan_with(&image, p);
        errs.extend(compare(&image, &truth, &out, &format!("demo {p:?}")));
    }
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn nothing_in_pure_random_or_zero_fill() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("random", noise(32 << 20, 0x5a1e)),
        ("zero", vec![0u8; 32 << 20]),
    ] {
        let image = dir.path().join(name);
        std::fs::write(&image, &bytes).unwrap();
        for p in all_paths().into_iter().filter(|p| p.chunk != 4099) {
            let (_, out) = scan_with(&image, p);
            assert!(
                out.findings.is_empty(),
                "{name} {p:?}: {:?}",
                out.findings.first().map(|f| &f.candidate)
            );
            assert_eq!(out.scanned, 32 << 20);
        }
    }
}
