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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_fat32_boot_sector() {
        let mut s = vec![0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        s[11..13].copy_from_slice(&512u16.to_le_bytes());
        s[13] = 8;
        s[14..16].copy_from_slice(&32u16.to_le_bytes());
        s[16] = 2;
        s[32..36].copy_from_slice(&600_000u32.to_le_bytes());
        s[36..40].copy_from_slice(&4_600u32.to_le_bytes());
        let v = volume(&s).unwrap();
        assert_eq!(v.kind, "FAT32");
        assert_eq!(
            v.geometry,
            Geometry {
                cluster: 4096,
                origin: (32 + 2 * 4600) * 512
            }
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = volume(&bytes);
        }
    }
}
