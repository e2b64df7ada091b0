//! Filesystem boot sectors, read only for what carving needs: where clusters start and how big
//! they are (FAT12/16/32, exFAT, NTFS). Pure parsing of the first sector of a volume.

use crate::zip::fragments::Geometry;

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// The filesystem a boot sector describes, with its cluster geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    pub kind: &'static str,
    pub geometry: Geometry,
    /// The first file allocation table, for FAT volumes.
    pub fat: Option<Fat>,
}

/// Where a FAT volume's allocation table is and how its entries are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fat {
    /// Absolute offset of the first FAT.
    pub offset: u64,
    /// Bits per entry: 12, 16 or 32 (28 used).
    pub bits: u8,
    /// Number of clusters in the data area (entries 2..clusters+2 describe them).
    pub clusters: u64,
}

impl Fat {
    /// The table entry of cluster `n` (0 = free), read through `data`.
    pub fn entry(&self, data: &dyn crate::ByteView, n: u64) -> Option<u64> {
        match self.bits {
            32 => {
                let b = data.bytes_at(self.offset + n * 4, 4);
                Some(u64::from(
                    u32::from_le_bytes(b.as_ref().try_into().ok()?) & 0x0FFF_FFFF,
                ))
            }
            16 => {
                let b = data.bytes_at(self.offset + n * 2, 2);
                Some(u64::from(u16::from_le_bytes(b.as_ref().try_into().ok()?)))
            }
            _ => {
                let b = data.bytes_at(self.offset + n * 3 / 2, 2);
                let v = u16::from_le_bytes(b.as_ref().try_into().ok()?);
                Some(u64::from(if n.is_multiple_of(2) {
                    v & 0x0FFF
                } else {
                    v >> 4
                }))
            }
        }
    }
}

/// Read the cluster geometry from a volume's first sector (at least 512 bytes).
pub fn volume(sector: &[u8]) -> Option<Volume> {
    if sector.len() < 512 || sector[510..512] != [0x55, 0xAA] {
        return None;
    }
    if &sector[3..11] == b"EXFAT   " {
        let bps = 1u64
            << sector
                .get(108)
                .copied()
                .filter(|&s| (9..=12).contains(&s))?;
        let spc = 1u64 << sector.get(109).copied().filter(|&s| s <= 16)?;
        let heap = u32_at(sector, 88)?;
        return Some(Volume {
            kind: "exFAT",
            geometry: Geometry {
                cluster: bps * spc,
                origin: heap * bps,
            },
            fat: None,
        });
    }
    let bps = u16_at(sector, 11)?;
    if !matches!(bps, 512 | 1024 | 2048 | 4096) {
        return None;
    }
    if &sector[3..11] == b"NTFS    " {
        let raw = sector[13];
        let spc = if raw > 0x80 {
            1u64 << (256 - u64::from(raw)).min(20)
        } else {
            u64::from(raw)
        };
        return (spc > 0).then_some(Volume {
            kind: "NTFS",
            geometry: Geometry {
                cluster: bps * spc,
                origin: 0,
            },
            fat: None,
        });
    }
    let spc = u64::from(sector[13]);
    let reserved = u16_at(sector, 14)?;
    let fats = u64::from(sector[16]);
    let root_entries = u16_at(sector, 17)?;
    if !spc.is_power_of_two() || reserved == 0 || !(1..=2).contains(&fats) {
        return None;
    }
    let fat16 = u16_at(sector, 22)?;
    let (fat_size, fat32) = if fat16 == 0 {
        (u32_at(sector, 36)?, true)
    } else {
        (fat16, false)
    };
    let total16 = u16_at(sector, 19)?;
    let total = if total16 == 0 {
        u32_at(sector, 32)?
    } else {
        total16
    };
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let data_start = reserved + fats * fat_size + root_sectors;
    if fat_size == 0 || data_start >= total {
        return None;
    }
    let clusters = (total - data_start) / spc;
    let kind = if fat32 {
        "FAT32"
    } else if clusters < 4085 {
        "FAT12"
    } else {
        "FAT16"
    };
    let bits = match kind {
        "FAT32" => 32,
        "FAT16" => 16,
        _ => 12,
    };
    let fat = Fat {
        offset: reserved * bps,
        bits,
        clusters,
    };
    Some(Volume {
        kind,
        geometry: Geometry {
            cluster: bps * spc,
            origin: data_start * bps,
        },
        fat: Some(fat),
    })
}

/// A volume found on a disk image, with the byte range of its partition (the whole image for a
/// volume that starts at offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub start: u64,
    pub end: u64,
    pub volume: Volume,
}

/// The volume as seen from a partition starting at `base`: its offsets made absolute.
fn shifted(mut v: Volume, base: u64) -> Volume {
    v.geometry.origin += base;
    if let Some(f) = v.fat.as_mut() {
        f.offset += base;
    }
    v
}

/// Partition entries of an MBR (primary entries, no extended chain) or, behind a protective MBR,
/// of a GPT: `(first byte, end byte)` of each, in table order. Sector size 512.
pub fn partitions(data: &dyn crate::ByteView) -> Vec<(u64, u64)> {
    const SECTOR: u64 = 512;
    let mbr = data.bytes_at(0, 512);
    if mbr.len() < 512 || mbr[510..512] != [0x55, 0xAA] {
        return Vec::new();
    }
    let entries: Vec<(u8, u64, u64)> = (0..4)
        .filter_map(|k| {
            let e = &mbr[446 + 16 * k..446 + 16 * (k + 1)];
            let boot = e[0];
            if boot != 0 && boot != 0x80 {
                return None;
            }
            Some((e[4], u32_at(e, 8)?, u32_at(e, 12)?))
        })
        .filter(|&(t, start, count)| t != 0 && start > 0 && count > 0)
        .collect();
    if entries.iter().any(|e| e.0 == 0xEE) {
        return gpt(data, SECTOR);
    }
    entries
        .into_iter()
        // Extended containers hold no filesystem themselves.
        .filter(|e| !matches!(e.0, 0x05 | 0x0F | 0x85))
        .map(|(_, start, count)| (start * SECTOR, (start + count) * SECTOR))
        .filter(|&(a, b)| b <= data.len() && a < b)
        .collect()
}

/// GPT partition entries (header at LBA 1); at most 256 entries are read.
fn gpt(data: &dyn crate::ByteView, sector: u64) -> Vec<(u64, u64)> {
    let h = data.bytes_at(sector, 92);
    if h.len() < 92 || &h[..8] != b"EFI PART" {
        return Vec::new();
    }
    let u64_at = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    let (Some(lba), Some(count), Some(size)) = (u64_at(&h, 72), u32_at(&h, 80), u32_at(&h, 84))
    else {
        return Vec::new();
    };
    if !(128..=4096).contains(&size) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for k in 0..count.min(256) {
        let Some(at) = lba
            .checked_mul(sector)
            .and_then(|b| b.checked_add(k * size))
        else {
            break;
        };
        let e = data.bytes_at(at, 48);
        if e.len() < 48 {
            break;
        }
        if e[..16].iter().all(|&b| b == 0) {
            continue;
        }
        if let (Some(first), Some(last)) = (u64_at(&e, 32), u64_at(&e, 40)) {
            let (Some(a), Some(b)) = (
                first.checked_mul(sector),
                last.checked_add(1).and_then(|l| l.checked_mul(sector)),
            ) else {
                continue;
            };
            if a < b && b <= data.len() {
                out.push((a, b));
            }
        }
    }
    out
}

/// Every volume of an image: one at offset 0 (a volume image), else one per partition of an MBR
/// or GPT whose first sector is a boot sector Salvor reads.
pub fn volumes(data: &dyn crate::ByteView) -> Vec<Placed> {
    if let Some(v) = volume(&data.bytes_at(0, 512)) {
        return vec![Placed {
            start: 0,
            end: data.len(),
            volume: v,
        }];
    }
    partitions(data)
        .into_iter()
        .filter_map(|(a, b)| {
            let v = volume(&data.bytes_at(a, 512))?;
            Some(Placed {
                start: a,
                end: b,
                volume: shifted(v, a),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A FAT32 boot sector: 512-byte sectors, 8 per cluster, 32 reserved, two FATs.
    fn fat32_sector(total: u32, fat_sectors: u32) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        s[11..13].copy_from_slice(&512u16.to_le_bytes());
        s[13] = 8;
        s[14..16].copy_from_slice(&32u16.to_le_bytes());
        s[16] = 2;
        s[32..36].copy_from_slice(&total.to_le_bytes());
        s[36..40].copy_from_slice(&fat_sectors.to_le_bytes());
        s
    }

    #[test]
    fn a_fat32_boot_sector() {
        let v = volume(&fat32_sector(600_000, 4_600)).unwrap();
        assert_eq!(v.kind, "FAT32");
        assert_eq!(
            v.geometry,
            Geometry {
                cluster: 4096,
                origin: (32 + 2 * 4600) * 512
            }
        );
    }

    #[test]
    fn a_fat32_volume_behind_an_mbr() {
        let base = 2048 * 512;
        let mut img = vec![0u8; base + 20_000 * 512];
        img[510] = 0x55;
        img[511] = 0xAA;
        img[446 + 4] = 0x0C;
        img[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
        img[446 + 12..446 + 16].copy_from_slice(&20_000u32.to_le_bytes());
        img[base..base + 512].copy_from_slice(&fat32_sector(20_000, 160));
        let v = volumes(&&img[..]);
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].start, v[0].end), (base as u64, img.len() as u64));
        assert_eq!(
            v[0].volume.geometry.origin,
            base as u64 + (32 + 2 * 160) * 512
        );
        assert_eq!(v[0].volume.fat.unwrap().offset, base as u64 + 32 * 512);
        // The same partition described by a GPT behind a protective MBR.
        img[446 + 4] = 0xEE;
        img[512..520].copy_from_slice(b"EFI PART");
        img[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        img[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
        img[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        img[1024..1040].copy_from_slice(&[7u8; 16]);
        img[1024 + 32..1024 + 40].copy_from_slice(&2048u64.to_le_bytes());
        img[1024 + 40..1024 + 48].copy_from_slice(&(2048u64 + 20_000 - 1).to_le_bytes());
        let g = volumes(&&img[..]);
        assert_eq!(g, v);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = volume(&bytes);
        }

        #[test]
        fn partition_tables_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 512..4096), ee in any::<bool>()) {
            bytes[510] = 0x55;
            bytes[511] = 0xAA;
            if ee {
                bytes[446 + 4] = 0xEE;
                bytes[446] = 0;
                bytes[446 + 8] = 1;
                bytes[446 + 12] = 1;
                if bytes.len() >= 1024 {
                    bytes[512..520].copy_from_slice(b"EFI PART");
                }
            }
            let v = volumes(&&bytes[..]);
            for p in v {
                prop_assert!(p.start < p.end && p.end <= bytes.len() as u64);
            }
        }
    }
}
