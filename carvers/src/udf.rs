//! UDF volume recognition: the volume recognition sequence from byte 32768, the anchor volume
//! descriptor pointer at sector 256, and the volume and logical volume identifiers from the main
//! volume descriptor sequence. Sectors are 2048 bytes (optical media and their images).

use crate::ByteView;

const SECTOR: u64 = 2048;
/// Where the anchor volume descriptor pointer lives.
pub const ANCHOR_SECTOR: u64 = 256;
/// Recognition-sequence descriptors read at most.
const MAX_VRS: u64 = 32;
/// Descriptors of the main volume descriptor sequence read at most.
const MAX_VDS: u64 = 64;

/// What was recognised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UdfVolume {
    /// Identifiers of the recognition sequence in order (`BEA01`, `NSR02`, `TEA01`, ...).
    pub recognition_sequence: Vec<String>,
    /// 2 for `NSR02` (UDF ≤ 1.50), 3 for `NSR03` (UDF ≥ 2.00).
    pub nsr: Option<u8>,
    /// Sector and length of the main volume descriptor sequence, from a valid anchor.
    pub anchor_main_vds: Option<(u32, u32)>,
    /// Primary volume descriptor's volume identifier.
    pub volume_id: Option<String>,
    /// Logical volume descriptor's identifier.
    pub logical_volume_id: Option<String>,
}

/// `None` when the source has neither an NSR descriptor nor a valid anchor.
pub fn probe(view: &dyn ByteView) -> Option<UdfVolume> {
    let mut seq = Vec::new();
    let mut nsr = None;
    for i in 0..MAX_VRS {
        let d = view.bytes_at(32768 + i * SECTOR, 7);
        if d.len() < 7 || d[0] > 0 && &d[1..6] == b"\0\0\0\0\0" {
            break;
        }
        let id = &d[1..6];
        if !matches!(
            id,
            b"BEA01" | b"NSR02" | b"NSR03" | b"TEA01" | b"CD001" | b"BOOT2" | b"CDW02"
        ) {
            break;
        }
        seq.push(String::from_utf8_lossy(id).into_owned());
        match id {
            b"NSR02" => nsr = Some(2),
            b"NSR03" => nsr = Some(3),
            b"TEA01" => break,
            _ => {}
        }
    }
    let anchor = read_tag(view, ANCHOR_SECTOR, 2).map(|d| (le32(&d, 20), le32(&d, 16)));
    if nsr.is_none() && anchor.is_none() {
        return None;
    }
    let (mut volume_id, mut logical_volume_id) = (None, None);
    if let Some((loc, len)) = anchor {
        let count = (u64::from(len) / SECTOR).min(MAX_VDS);
        for i in 0..count {
            let sector = u64::from(loc) + i;
            let Some((tag, d)) = read_any_tag(view, sector) else {
                break;
            };
            match tag {
                1 if volume_id.is_none() => volume_id = dstring(&d[24..56]),
                6 if logical_volume_id.is_none() => logical_volume_id = dstring(&d[84..212]),
                8 => break,
                _ => {}
            }
        }
    }
    Some(UdfVolume {
        recognition_sequence: seq,
        nsr,
        anchor_main_vds: anchor,
        volume_id,
        logical_volume_id,
    })
}

fn le32(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]])
}

/// A sector whose descriptor tag has a valid checksum and records its own location.
fn read_any_tag(view: &dyn ByteView, sector: u64) -> Option<(u16, Vec<u8>)> {
    let d = view.bytes_at(sector.checked_mul(SECTOR)?, SECTOR as usize);
    if d.len() < SECTOR as usize {
        return None;
    }
    let sum = d[..16]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |a, (_, &b)| a.wrapping_add(b));
    if sum != d[4] || u64::from(le32(&d, 12)) != sector {
        return None;
    }
    Some((u16::from_le_bytes([d[0], d[1]]), d.into_owned()))
}

fn read_tag(view: &dyn ByteView, sector: u64, want: u16) -> Option<Vec<u8>> {
    read_any_tag(view, sector).and_then(|(t, d)| (t == want).then_some(d))
}

/// An OSTA CS0 dstring: compression id (8 = one byte per character, 16 = UTF-16BE), the
/// characters, and the used length in the last byte.
fn dstring(field: &[u8]) -> Option<String> {
    let used = *field.last()? as usize;
    if used == 0 || used >= field.len() {
        return None;
    }
    let body = &field[1..used];
    let s: String = match field[0] {
        8 => body.iter().map(|&b| b as char).collect(),
        16 => char::decode_utf16(
            body.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect(),
        _ => return None,
    };
    let s = s.trim_end_matches(['\0', ' ']).to_owned();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dstrings() {
        let mut f = [0u8; 32];
        f[0] = 8;
        f[1..5].copy_from_slice(b"DISC");
        f[31] = 5;
        assert_eq!(dstring(&f).as_deref(), Some("DISC"));
        let mut g = [0u8; 32];
        g[0] = 16;
        g[1..5].copy_from_slice(&[0x04, 0x36, 0x03, 0x98]); // жΘ
        g[31] = 5;
        assert_eq!(dstring(&g).as_deref(), Some("жΘ"));
    }

    #[test]
    fn plain_zeros_are_not_udf() {
        assert_eq!(probe(&vec![0u8; 600 * 2048]), None);
    }
}
