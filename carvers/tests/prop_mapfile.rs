//! Property tests for the ddrescue mapfile model and the optical volume probes: any sequence of
//! status changes agrees with a per-byte model, stays contiguous and merged, and survives a
//! write/parse round trip; parsers never panic on arbitrary text or bytes.

use proptest::prelude::*;
use salvor_carvers::mapfile::{BlockStatus, Map};

fn status() -> impl Strategy<Value = BlockStatus> {
    prop_oneof![
        Just(BlockStatus::NonTried),
        Just(BlockStatus::NonTrimmed),
        Just(BlockStatus::NonScraped),
        Just(BlockStatus::BadSector),
        Just(BlockStatus::Finished),
    ]
}

proptest! {
    #[test]
    fn set_agrees_with_a_byte_model(
        size in 1u64..300,
        ops in prop::collection::vec((0u64..320, 0u64..80, status()), 0..40),
        cut in prop::option::of(1u64..400),
    ) {
        let mut map = Map::new(size);
        let mut model = vec![BlockStatus::NonTried; size as usize];
        for (pos, len, st) in ops {
            map.set(pos, len, st);
            let end = (pos + len) as usize;
            if len > 0 && end > model.len() {
                model.resize(end, BlockStatus::NonTried);
            }
            if len > 0 {
                for b in &mut model[pos as usize..end] { *b = st; }
            }
        }
        if let Some(c) = cut {
            map.resize(c);
            model.resize(c as usize, BlockStatus::NonTried);
        }
        prop_assert_eq!(map.size(), model.len() as u64);
        let mut expect = 0;
        for (i, b) in map.blocks().iter().enumerate() {
            prop_assert_eq!(b.pos, expect);
            prop_assert!(b.size > 0);
            if i > 0 { prop_assert_ne!(map.blocks()[i - 1].status, b.status); }
            for x in b.pos..b.end() { prop_assert_eq!(model[x as usize], b.status); }
            expect = b.end();
        }
        let text = map.to_text(&["test".to_owned()]);
        prop_assert_eq!(Map::parse(&text).unwrap(), map);
    }

    #[test]
    fn parse_never_panics(text in "[0-9a-fx?*/+ #\n-]{0,200}") {
        if let Ok(m) = Map::parse(&text) {
            let mut expect = 0;
            for b in m.blocks() { prop_assert_eq!(b.pos, expect); expect = b.end(); }
        }
    }

    #[test]
    fn volume_probes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096), at in 0usize..40) {
        // Plant the bytes over a descriptor-shaped start so the probes get past the first check.
        let mut img = vec![0u8; 300 * 2048];
        img[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
        img[16 * 2048] = 1;
        let off = 16 * 2048 + at * 97;
        let n = bytes.len().min(img.len() - off);
        img[off..off + n].copy_from_slice(&bytes[..n]);
        let _ = salvor_carvers::iso9660::probe(&img);
        let _ = salvor_carvers::udf::probe(&img);
        let _ = salvor_carvers::iso9660::probe(&bytes);
        let _ = salvor_carvers::udf::probe(&bytes);
    }
}
