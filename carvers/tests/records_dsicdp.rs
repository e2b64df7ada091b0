//! The `.dsicdp` container on the two corpus samples and on damaged copies of them.

mod common;

use salvor_carvers::records::dsicdp::{self, parse, verify, verify_with, Dsicdp};
use salvor_carvers::records::{ComponentSource, RecordReport, Verdict};
use sha2::Digest as _;
use std::io::{Read, Write};

fn corpus_file(name: &str) -> Option<Vec<u8>> {
    common::corpus_file("tw/temp", name)
}

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// (path, length, data offset in the inflated stream) of every record of 1000000016.dsicdp,
/// as read independently with Python's gzip module.
const BIG: &[(&str, u64, u64)] = &[
    ("/1000000016.si", 20545, 47),
    ("/100JP00016DcpSignInfo.htm", 4310, 20650),
    ("/100JP00016V1.di", 3792, 25009),
    ("/100JP00016V2.di", 3792, 28850),
    ("/100JP00016V3.di", 3792, 32691),
    ("/100JP00016V3.htm", 7266, 36533),
    ("/100JP00016V3SignInfo_0001.jpg", 181003, 43864),
    ("/100JP00016V3_0001.jpg", 369301, 224924),
    ("/100JP00016V3_0002.jpg", 162320, 594282),
    ("/100RM00006DcpSignInfo.htm", 4310, 756660),
    ("/100RM00006V1.di", 3792, 761020),
    ("/100RM00006V2.di", 3792, 764862),
    ("/100RM00006V2.htm", 7266, 768705),
    ("/100RM00006V2SignInfo_0001.jpg", 181003, 776037),
    ("/100RM00006V2_0001.jpg", 369301, 957098),
    ("/100RM00006V2_0002.jpg", 162320, 1326457),
    ("/200707020001.di", 1291, 1488827),
    ("/DcpSignInfo.htm", 4310, 1490168),
    ("/來文附件1.txt", 28, 1494524),
    ("/來文附件2.docx", 11601, 1494602),
    ("/公司OPV1.txt", 107, 1506249),
    ("/公司OPV2.txt", 107, 1506402),
];

fn check_records(c: &Dsicdp, expected: &[(&str, u64, u64)]) {
    assert_eq!(c.records.len(), expected.len());
    for (i, (r, (path, len, off))) in c.records.iter().zip(expected).enumerate() {
        assert_eq!(r.index, i as u64);
        assert_eq!(r.path, *path);
        assert_eq!(r.length, *len);
        assert_eq!(r.data_offset, *off);
        assert!(r.complete);
        assert_eq!(c.data(r).len() as u64, *len);
    }
}

#[test]
fn big_sample_parses_whole() {
    let Some(b) = corpus_file("1000000016.dsicdp") else {
        return;
    };
    let c = parse(&b);
    assert!(c.gzip_intact);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert!(c.lost.is_empty());
    assert_eq!(c.inflated.len(), 1_506_510);
    check_records(&c, BIG);
    assert_eq!(c.records[0].time, "2011/3/17 上午 03:32:14");
    let si = c.fetch("1000000016.si").unwrap().unwrap();
    assert_eq!(
        sha256(&si),
        "af8db3dcd7db290d22a3946426ccc33f11b9211a9baf570f4f0ca9e0a375a28f"
    );
    assert!(dsicdp::is_si(&si));
    let docx = c.fetch("\\來文附件2.docx").unwrap().unwrap();
    assert_eq!(
        sha256(&docx),
        "bc165b1781dd8aac2d9690ecb22df3761164015ab8096b47998cf3784d3dbfce"
    );

    let r = verify(&b);
    assert_eq!(r.kind, "dsicdp");
    assert!(r.well_formed);
    assert_eq!(r.verdict, Verdict::Authentic);
    assert_eq!(r.components.len(), 22);
    assert_eq!(
        r.components[0].found_digest.as_deref(),
        Some("af8db3dcd7db290d22a3946426ccc33f11b9211a9baf570f4f0ca9e0a375a28f")
    );
    assert_eq!(
        r.notes,
        vec!["/1000000016.si is an SI signing record; it was not verified here".to_owned()]
    );
}

#[test]
fn small_sample_parses_whole() {
    let Some(b) = corpus_file("100JP00016.dsicdp") else {
        return;
    };
    let c = parse(&b);
    assert!(c.gzip_intact);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    check_records(
        &c,
        &[
            ("/200707020001.di", 1291, 48),
            ("/來文附件1.txt", 28, 1383),
            ("/來文附件2.docx", 11601, 1459),
            ("/100JP00016V1.di", 3792, 13109),
            ("/公司OP.txt", 107, 16944),
            ("/100JP00016.si", 8189, 17097),
        ],
    );
    let si = c.fetch("/100JP00016.si").unwrap().unwrap();
    assert_eq!(
        sha256(&si),
        "c80bde06a77de680c0146fdb2d95a52e284f296ee881c9473ac24382fd1e0a86"
    );
}

fn fake_si(data: &[u8], src: &dyn ComponentSource) -> RecordReport {
    let mut r = RecordReport::new("si", "線上簽核", "utf-8");
    let di = src.fetch("100JP00016V1.di").unwrap().map(|d| d.len());
    r.notes
        .push(format!("{} bytes; component {:?}", data.len(), di));
    r
}

#[test]
fn si_records_go_to_the_hook() {
    let Some(b) = corpus_file("100JP00016.dsicdp") else {
        return;
    };
    let r = verify_with(&b, Some(fake_si));
    assert_eq!(r.children.len(), 1);
    assert_eq!(
        r.children[0].notes,
        vec!["8189 bytes; component Some(3792)".to_owned()]
    );
    assert!(r.notes.is_empty());
}

#[test]
fn truncated_copy_keeps_the_records_before_the_cut() {
    let Some(b) = corpus_file("1000000016.dsicdp") else {
        return;
    };
    let cut = &b[..400_000];
    let c = parse(cut);
    assert!(!c.gzip_intact);
    assert!(
        c.problems[0].message.contains("cut off"),
        "{:?}",
        c.problems
    );
    // Records 0 to 9 are whole, 10 is cut.
    assert_eq!(c.inflated.len(), 764_233);
    let whole = c.records.iter().filter(|r| r.complete).count();
    assert_eq!(whole, 10);
    check_records(
        &Dsicdp {
            records: c.records[..10].to_vec(),
            ..c.clone()
        },
        &BIG[..10],
    );
    let last = &c.records[10];
    assert_eq!(last.path, "/100RM00006V1.di");
    assert!(!last.complete);
    assert_eq!(last.data.end, c.inflated.len());
    assert!(c
        .problems
        .iter()
        .any(|p| p.message == "record 10 (/100RM00006V1.di) cut off: 3213 of 3792 bytes present"));

    let r = verify(cut);
    assert_eq!(r.components.len(), 11);
    assert_eq!(r.components[0].verdict, Verdict::RepairedNotAuthentic);
    assert_eq!(r.components[10].verdict, Verdict::Broken);
    assert_eq!(r.components[10].found_size, Some(3213));
    assert!(!r.well_formed);
}

fn inflate(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

#[test]
fn corrupted_record_header_loses_only_that_record() {
    let Some(b) = corpus_file("1000000016.dsicdp") else {
        return;
    };
    let mut raw = inflate(&b);
    // Record 5's header starts at 36514 ("5,/100JP00016V3.htm,...,7266\n", data at 36533).
    let h5 = raw[..36_532].iter().rposition(|&x| x == b'\n').unwrap() + 1;
    assert!(raw[h5..].starts_with(b"5,/100JP00016V3.htm,"));
    raw[h5 + 1] = b'#'; // "5#/100JP..." : no longer a header
    let c = parse(&deflate(&raw));
    assert!(c.gzip_intact);
    assert_eq!(c.records.len(), 21);
    let paths: Vec<&str> = c.records.iter().map(|r| r.path.as_str()).collect();
    assert!(!paths.contains(&"/100JP00016V3.htm"));
    assert!(c.records.iter().all(|r| r.complete));
    // Record 4 before it and record 6 after it are whole.
    assert_eq!(c.records[4].path, "/100JP00016V3.di");
    assert_eq!(c.records[5].path, "/100JP00016V3SignInfo_0001.jpg");
    assert_eq!(c.records[5].data_offset, 43_864);
    let lost_end = c.records[5].header_offset;
    assert_eq!(c.lost, vec![h5 as u64..lost_end]);
    assert!(
        c.problems[0]
            .message
            .contains(&format!("bytes {h5}..{lost_end} lost")),
        "{:?}",
        c.problems
    );
}

#[test]
fn corrupted_length_field_is_bounded_by_the_next_header() {
    let Some(b) = corpus_file("100JP00016.dsicdp") else {
        return;
    };
    let raw = inflate(&b);
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.contains(",28\n"));
    // "1,/來文附件1.txt,...,28\n": make the stated length 2800.
    let at = raw.windows(4).position(|w| w == b",28\n").unwrap();
    let mut bad = raw[..at].to_vec();
    bad.extend_from_slice(b",2800\n");
    bad.extend_from_slice(&raw[at + 4..]);
    let c = parse(&deflate(&bad));
    assert_eq!(c.records.len(), 6);
    assert!(!c.records[1].complete);
    assert_eq!(c.data(&c.records[1]).len(), 28);
    assert!(c.records[2..].iter().all(|r| r.complete));
    assert_eq!(c.records[5].path, "/100JP00016.si");
}

#[test]
fn corrupted_deflate_stream_keeps_its_prefix() {
    let Some(mut b) = corpus_file("1000000016.dsicdp") else {
        return;
    };
    let intact = parse(&b);
    for x in &mut b[300_000..300_016] {
        *x ^= 0x5a;
    }
    let c = parse(&b);
    assert!(!c.gzip_intact);
    assert!(!c.problems.is_empty());
    // The records wholly inflated before the damage are the same bytes as in the intact file.
    assert!(c.records.len() >= 5);
    for r in c.records.iter().take(5) {
        let good = intact.find(&r.path).unwrap();
        assert_eq!(c.data(r), intact.data(good));
    }
}

#[test]
fn damaged_gzip_header_is_read_anyway() {
    let Some(mut b) = corpus_file("100JP00016.dsicdp") else {
        return;
    };
    b[0] = 0;
    b[1] = 0;
    b[3] = 0xe0; // reserved flag bits, no optional fields
    let c = parse(&b);
    // The deflate data and its CRC-32 are untouched: the content is still proven.
    assert!(c.gzip_intact);
    assert_eq!(c.records.len(), 6);
    assert!(c.records.iter().all(|r| r.complete));
    assert_eq!(
        c.problems[0].message,
        "gzip magic is 0000, not 1f8b: read as gzip anyway (offset in the .dsicdp file)"
    );
}
