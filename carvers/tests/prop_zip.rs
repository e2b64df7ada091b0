//! Property tests for the ZIP carver: random bytes and mutated real archives never panic, never
//! report an extent or member range outside the input, and an untouched archive is found intact.

use flate2::write::DeflateEncoder;
use flate2::Compression;
use proptest::prelude::*;
use salvor_carvers::zip::ZipCarver;
use salvor_carvers::{Candidate, Carver, Hit, Limits, Status};
use std::io::Write;

/// One member to write: name, contents, deflate or store, data descriptor or not.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    body: Vec<u8>,
    deflate: bool,
    descriptor: bool,
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// A plain archive writer: local headers, optional signed descriptors, directory, end record.
fn build(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let crc = crc32fast::hash(&m.body);
        let data = if m.deflate {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(&m.body).unwrap();
            e.finish().unwrap()
        } else {
            m.body.clone()
        };
        let flags: u16 = if m.descriptor { 8 } else { 0 };
        let method: u16 = if m.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let (hcrc, hc, hu) = if m.descriptor {
            (0, 0, 0)
        } else {
            (crc, data.len() as u32, m.body.len() as u32)
        };
        out.extend_from_slice(b"PK\x03\x04");
        put16(&mut out, 20);
        put16(&mut out, flags);
        put16(&mut out, method);
        put32(&mut out, 0);
        put32(&mut out, hcrc);
        put32(&mut out, hc);
        put32(&mut out, hu);
        put16(&mut out, m.name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&data);
        if m.descriptor {
            out.extend_from_slice(b"PK\x07\x08");
            put32(&mut out, crc);
            put32(&mut out, data.len() as u32);
            put32(&mut out, m.body.len() as u32);
        }
        central.extend_from_slice(b"PK\x01\x02");
        put16(&mut central, 20);
        put16(&mut central, 20);
        put16(&mut central, flags);
        put16(&mut central, method);
        put32(&mut central, 0);
        put32(&mut central, crc);
        put32(&mut central, data.len() as u32);
        put32(&mut central, m.body.len() as u32);
        put16(&mut central, m.name.len() as u16);
        central.extend_from_slice(&[0; 12]);
        put32(&mut central, offset);
        central.extend_from_slice(m.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    put32(&mut out, 0);
    put16(&mut out, members.len() as u16);
    put16(&mut out, members.len() as u16);
    put32(&mut out, central.len() as u32);
    put32(&mut out, cd_offset);
    put16(&mut out, 0);
    out
}

/// Every hit located and validated, with nothing dropped: the strictest view for invariants.
fn carve_every_hit(data: &[u8]) -> Vec<Candidate> {
    let limits = Limits::default();
    let mut out = Vec::new();
    for sig in ZipCarver.signatures() {
        for i in memchr::memmem::find_iter(data, sig.bytes) {
            let hit = Hit {
                offset: i as u64,
                tag: sig.tag,
            };
            if let Some(mut c) = ZipCarver.locate(&data, hit, &limits) {
                check_bounds(&c, data.len());
                ZipCarver.validate(&data, &mut c, &limits);
                check_bounds(&c, data.len());
                out.push(c);
            }
        }
    }
    out
}

fn check_bounds(c: &Candidate, len: usize) {
    let len = len as u64;
    assert!(c.end <= len, "extent end {} past input {len}", c.end);
    assert!(
        c.start < c.end || c.members.is_empty(),
        "empty extent with members"
    );
    for m in &c.members {
        assert!(
            m.data_start <= m.data_end && m.data_end <= len,
            "member {:?} range {}..{} outside input {len}",
            m.name,
            m.data_start,
            m.data_end
        );
    }
    for d in &c.defects {
        let _ = d.to_string();
    }
}

fn member() -> impl Strategy<Value = Member> {
    (
        "[a-z]{1,8}(/[a-z]{1,6})?\\.txt",
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b' ')], 0..2000),
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(name, body, deflate, descriptor)| Member {
            name,
            body,
            deflate,
            descriptor,
        })
}

fn archive() -> impl Strategy<Value = (Vec<Member>, Vec<u8>)> {
    proptest::collection::vec(member(), 1..5).prop_map(|m| {
        let z = build(&m);
        (m, z)
    })
}

/// One change to an archive.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Overwrite(usize, Vec<u8>),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Overwrite(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

fn apply(z: &mut Vec<u8>, m: &Mutation) {
    if z.is_empty() {
        return;
    }
    let n = z.len();
    match m {
        Mutation::Flip(i, b) => z[i % n] ^= 1 << b,
        Mutation::Overwrite(i, v) => {
            for (k, x) in v.iter().enumerate() {
                let j = (i % n + k) % n;
                z[j] = *x;
            }
        }
        Mutation::Truncate(i) => z.truncate(i % n),
        Mutation::Insert(i, v) => {
            let at = i % (n + 1);
            z.splice(at..at, v.iter().copied());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..2000),
                                sigs in proptest::collection::vec((any::<usize>(), 0usize..6), 0..12)) {
        // Sprinkle signatures so the parsers get past the first check.
        const SIGS: [&[u8; 4]; 6] = [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06",
                                      b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"];
        for (at, s) in sigs {
            if bytes.len() >= 4 {
                let at = at % (bytes.len() - 3);
                bytes[at..at + 4].copy_from_slice(SIGS[s]);
            }
        }
        carve_every_hit(&bytes);
    }

    #[test]
    fn untouched_archives_are_intact_with_exact_extent((members, z) in archive(),
                                                      lead in 0usize..70) {
        let mut img = vec![0xA5u8; lead];
        img.extend_from_slice(&z);
        img.extend_from_slice(&[0x5Au8; 33]);
        let limits = Limits::default();
        for c in carve_every_hit(&img) {
            // Every hit of an archive whose members hold no signature-like bytes is the archive.
            if c.start != lead as u64 || c.end != (lead + z.len()) as u64 {
                continue;
            }
            prop_assert_eq!(c.status, Status::Intact, "{:?}", c.defects);
            prop_assert_eq!(c.members.len(), members.len());
            // Validating again must not change an intact verdict.
            let mut again = c.clone();
            ZipCarver.validate(&&img[..], &mut again, &limits);
            prop_assert_eq!(again.status, Status::Intact);
        }
        // Found from the end record, the archive is always whole.
        let eocd = lead + z.len() - 22;
        let hit = Hit { offset: eocd as u64, tag: salvor_carvers::zip::TAG_END };
        let mut c = ZipCarver.locate(&&img[..], hit, &limits).expect("archive from its end");
        ZipCarver.validate(&&img[..], &mut c, &limits);
        prop_assert_eq!((c.start, c.end), (lead as u64, (lead + z.len()) as u64));
        prop_assert_eq!(c.status, Status::Intact, "{:?}", c.defects);
        prop_assert_eq!(c.members.len(), members.len());
        // And from the first local header too.
        let hit = Hit { offset: lead as u64, tag: salvor_carvers::zip::TAG_LOCAL };
        let mut c = ZipCarver.locate(&&img[..], hit, &limits).expect("archive from its start");
        ZipCarver.validate(&&img[..], &mut c, &limits);
        prop_assert_eq!((c.start, c.end), (lead as u64, (lead + z.len()) as u64));
        prop_assert_eq!(c.status, Status::Intact, "{:?}", c.defects);
    }

    #[test]
    fn mutated_archives_never_panic((_, z) in archive(),
                                    muts in proptest::collection::vec(mutation(), 1..4)) {
        let mut z = z;
        for m in &muts {
            apply(&mut z, m);
        }
        carve_every_hit(&z);
    }

    #[test]
    fn spliced_archives_never_panic((_, a) in archive(), (_, b) in archive(),
                                    cut_a in any::<usize>(), cut_b in any::<usize>()) {
        let mut img = a[..cut_a % (a.len() + 1)].to_vec();
        img.extend_from_slice(&b[cut_b % (b.len() + 1)..]);
        carve_every_hit(&img);
    }
}

/// Archives of several KiB (members of random or repetitive bytes, stored or deflated), so that
/// sector-aligned cuts fall inside members, between them and in the directory.
fn big_archive() -> impl Strategy<Value = Vec<u8>> {
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 200..3000),
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), Just(b' '), Just(b'\n')],
            2000..20000
        ),
    ];
    proptest::collection::vec(
        ("[a-z]{1,8}\\.txt", body, any::<bool>(), any::<bool>()),
        2..7,
    )
    .prop_map(|m| {
        let members: Vec<Member> = m
            .into_iter()
            .enumerate()
            .map(|(i, (name, body, deflate, descriptor))| Member {
                name: format!("{i}-{name}"),
                body,
                deflate,
                descriptor,
            })
            .collect();
        build(&members)
    })
}

/// A splitmix step: the filler between pieces is random but reproducible from the case.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// Reassemble every damaged candidate of `img` the way the engine does (sector grid, intact
/// archives forbidden); every whole assembly is returned as its bytes.
fn reassemblies(img: &[u8]) -> Vec<Vec<u8>> {
    use salvor_carvers::zip::fragments::{self, Geometry, Reassembly};
    use salvor_carvers::zip::layout::Layout;
    let limits = Limits::default();
    let cands = carve_every_hit(img);
    let locals: Vec<u64> = memchr::memmem::find_iter(img, b"PK\x03\x04")
        .map(|i| i as u64)
        .collect();
    let whole: Vec<(u64, u64)> = cands
        .iter()
        .filter(|c| c.status == Status::Intact)
        .map(|c| (c.start, c.end))
        .collect();
    let mut out = Vec::new();
    for c in cands.iter().filter(|c| c.status == Status::Damaged) {
        let Some(layout) = c.state.as_ref().and_then(|s| s.downcast_ref::<Layout>()) else {
            continue;
        };
        let forbidden: Vec<(u64, u64)> = whole
            .iter()
            .copied()
            .filter(|&(a, b)| !(a <= c.start && c.end <= b))
            .collect();
        if let Some(Reassembly::Whole { runs, .. }) = fragments::reassemble(
            &img,
            layout,
            &locals,
            Geometry::SECTOR,
            &forbidden,
            &[],
            &limits,
            &mut fragments::Budget::new(512),
            None,
        ) {
            let view = fragments::Mapped::from_runs(&img, &runs);
            use salvor_carvers::ByteView;
            out.push(view.bytes_at(0, view.len() as usize).into_owned());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// An archive cut into two or three sector-aligned pieces, laid out in any order with random
    /// fill between them (and, optionally, a second intact copy after them): whatever the search
    /// finds whole is exactly the archive, byte for byte.
    #[test]
    fn scattered_pieces_reassemble_to_the_archive_or_not_at_all(
        z in big_archive(),
        cuts in proptest::collection::vec(any::<u16>(), 1..3),
        gaps in proptest::collection::vec(1usize..9, 3),
        order in 0usize..6,
        copy in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // Cut points in whole sectors, inside the archive.
        let sectors = (z.len() / 512).max(1);
        let mut at: Vec<usize> = cuts
            .iter()
            .map(|&c| (1 + usize::from(c) % sectors) * 512)
            .filter(|&c| c < z.len())
            .collect();
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for &c in &at {
            pieces.push(&z[from..c]);
            from = c;
        }
        pieces.push(&z[from..]);
        let perms: [[usize; 3]; 6] = [[0, 1, 2], [1, 0, 2], [2, 1, 0], [0, 2, 1], [1, 2, 0], [2, 0, 1]];
        let seq: Vec<usize> = perms[order].iter().copied().filter(|&k| k < pieces.len()).collect();
        let mut img = filler(seed, 512);
        for (n, &k) in seq.iter().enumerate() {
            img.extend_from_slice(pieces[k]);
            let pad = (512 - img.len() % 512) % 512 + gaps[n] * 512;
            img.extend(filler(seed ^ n as u64, pad));
        }
        if copy {
            img.extend_from_slice(&z);
            img.extend(filler(!seed, 700));
        }
        for got in reassemblies(&img) {
            prop_assert_eq!(got.len(), z.len());
            prop_assert!(got == z, "a reassembly that is not the archive");
        }
    }

    /// Reassembly over mutated archives (hostile offsets and sizes in the directory, members
    /// claimed after it, cut records) never panics, and whatever it assembles is in bounds.
    #[test]
    fn reassembling_mutated_archives_never_panics(z in big_archive(),
                                                  muts in proptest::collection::vec(mutation(), 1..5),
                                                  seed in any::<u64>()) {
        let mut z = z;
        for m in &muts {
            apply(&mut z, m);
        }
        let mut img = filler(seed, 1536);
        img.extend_from_slice(&z);
        img.extend(filler(!seed, 700));
        for got in reassemblies(&img) {
            prop_assert!(got.len() <= img.len());
        }
    }
}

/// A directory that puts a member after the directory itself (seen in a peer's damaged test
/// archive): the member's span would end before it starts. Reassembly must not underflow.
#[test]
fn a_member_placed_after_the_directory_does_not_break_reassembly() {
    let members: Vec<Member> = (0..3)
        .map(|i| Member {
            name: format!("m{i}.txt"),
            body: vec![b'a' + i as u8; 3000],
            deflate: true,
            descriptor: false,
        })
        .collect();
    let mut z = build(&members);
    let cd = memchr::memmem::find(&z, b"PK\x01\x02").unwrap();
    // The second central header's local-header offset (at +42) points far past the directory.
    let second = cd + memchr::memmem::find(&z[cd + 4..], b"PK\x01\x02").unwrap() + 4;
    z[second + 42..second + 46].copy_from_slice(&0x00F0_0000u32.to_le_bytes());
    // And the first member's data is damaged, so the archive is a reassembly candidate.
    z[40] ^= 0xFF;
    let mut img = filler(7, 1024);
    img.extend_from_slice(&z);
    img.extend(filler(8, 1024));
    for got in reassemblies(&img) {
        assert!(got.len() <= img.len());
    }
}
