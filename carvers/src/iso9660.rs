//! ISO 9660 volume facts: the primary volume descriptor, Joliet and Rock Ridge presence.
//!
//! The descriptor set starts at sector 16 (byte 32768) of a 2048-byte-sector volume. Raw
//! 2352-byte CD sectors (sync pattern, header, 2048 bytes of Mode 1 user data, EDC/ECC) are
//! recognised and read through their user data. Only what identifies a volume is read here;
//! directory listings are not.

use crate::ByteView;

/// Bytes per logical sector of a data CD or DVD.
pub const SECTOR: u64 = 2048;
/// Bytes per raw CD sector.
pub const RAW_SECTOR: u64 = 2352;
/// Descriptors read at most before giving up on finding the set terminator.
const MAX_DESCRIPTORS: u64 = 64;
/// Continuation areas followed at most while looking for Rock Ridge entries.
const MAX_CONTINUATIONS: usize = 8;

const CD_SYNC: [u8; 12] = [
    0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
];

/// How the volume's sectors are laid out in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// 2048-byte sectors from byte 0 (an ISO image, a DVD, a cooked CD read).
    Cooked,
    /// 2352-byte raw sectors, Mode 1 user data at byte 16 of each.
    RawMode1,
    /// The descriptor set itself starts at byte 0 (an excerpt of a volume).
    DescriptorsAtZero,
}

/// Facts from the primary volume descriptor and its companions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IsoVolume {
    pub layout: Layout,
    pub system_id: String,
    pub volume_id: String,
    pub volume_set_id: String,
    pub publisher_id: String,
    pub preparer_id: String,
    pub application_id: String,
    /// RFC 3339, or `None` when the field is unset (all zeros).
    pub creation_date: Option<String>,
    pub modification_date: Option<String>,
    /// Volume space size in logical blocks.
    pub volume_blocks: u32,
    pub logical_block_size: u16,
    /// `volume_blocks * logical_block_size`.
    pub volume_bytes: u64,
    /// A supplementary descriptor with a Joliet escape sequence (UCS-2 level 1, 2 or 3).
    pub joliet: bool,
    /// SUSP with Rock Ridge entries in the root directory's own record.
    pub rock_ridge: bool,
    /// An El Torito boot record.
    pub el_torito: bool,
}

/// Reads 2048-byte logical sectors of a volume whatever its layout.
struct Sectors<'a> {
    view: &'a dyn ByteView,
    layout: Layout,
}

impl Sectors<'_> {
    fn read(&self, lba: u64, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len);
        let mut lba = lba;
        while out.len() < len {
            let want = (len - out.len()).min(SECTOR as usize);
            let off = match self.layout {
                Layout::Cooked => lba.checked_mul(SECTOR)?,
                Layout::RawMode1 => lba.checked_mul(RAW_SECTOR)?.checked_add(16)?,
                Layout::DescriptorsAtZero => lba.checked_sub(16)?.checked_mul(SECTOR)?,
            };
            let b = self.view.bytes_at(off, want);
            if b.len() < want {
                return None;
            }
            out.extend_from_slice(&b);
            lba += 1;
        }
        Some(out)
    }
}

/// Find and read the primary volume descriptor; `None` when the source holds no ISO 9660 volume.
pub fn probe(view: &dyn ByteView) -> Option<IsoVolume> {
    let head = view.bytes_at(0, 12);
    let mut layouts = vec![Layout::Cooked, Layout::DescriptorsAtZero];
    if head.as_ref() == CD_SYNC {
        layouts.insert(0, Layout::RawMode1);
    }
    layouts
        .into_iter()
        .find_map(|layout| read_set(&Sectors { view, layout }))
}

fn read_set(s: &Sectors<'_>) -> Option<IsoVolume> {
    let mut pvd: Option<Vec<u8>> = None;
    let (mut joliet, mut el_torito) = (false, false);
    for lba in 16..16 + MAX_DESCRIPTORS {
        let Some(d) = s.read(lba, SECTOR as usize) else {
            break;
        };
        if &d[1..6] != b"CD001" {
            break;
        }
        match d[0] {
            0 if d[7..30].starts_with(b"EL TORITO SPECIFICATION") => el_torito = true,
            1 if pvd.is_none() => pvd = Some(d),
            2 => joliet |= matches!(&d[88..91], b"%/@" | b"%/C" | b"%/E"),
            255 => break,
            _ => {}
        }
    }
    let d = pvd?;
    let block = u16::from_le_bytes([d[128], d[129]]);
    let blocks = u32::from_le_bytes([d[80], d[81], d[82], d[83]]);
    let rock_ridge = has_rock_ridge(s, &d[156..190], block);
    Some(IsoVolume {
        layout: s.layout,
        system_id: text(&d[8..40]),
        volume_id: text(&d[40..72]),
        volume_set_id: text(&d[190..318]),
        publisher_id: text(&d[318..446]),
        preparer_id: text(&d[446..574]),
        application_id: text(&d[574..702]),
        creation_date: date(&d[813..830]),
        modification_date: date(&d[830..847]),
        volume_blocks: blocks,
        logical_block_size: block,
        volume_bytes: u64::from(blocks) * u64::from(block),
        joliet,
        rock_ridge,
        el_torito,
    })
}

/// A d-characters / a-characters field, trailing spaces removed; control bytes become '?'.
fn text(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '?'
            }
        })
        .collect();
    s.trim_end_matches([' ', '?']).trim_end().to_owned()
}

/// A 17-byte dec-datetime: "YYYYMMDDHHMMSScc" and an offset from GMT in 15-minute steps.
fn date(b: &[u8]) -> Option<String> {
    let digits = &b[..16];
    if !digits.iter().all(u8::is_ascii_digit) || digits.iter().all(|&c| c == b'0') {
        return None;
    }
    let d = std::str::from_utf8(digits).ok()?;
    let tz = i32::from(b[16] as i8) * 15;
    let sign = if tz < 0 { '-' } else { '+' };
    Some(format!(
        "{}-{}-{}T{}:{}:{}.{}{}{:02}:{:02}",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..14],
        &d[14..16],
        sign,
        tz.abs() / 60,
        tz.abs() % 60
    ))
}

/// Look at the System Use area of the root directory's "." record for Rock Ridge entries,
/// following SUSP continuation areas a few times.
fn has_rock_ridge(s: &Sectors<'_>, root: &[u8], block: u16) -> bool {
    if block as u64 != SECTOR {
        return false;
    }
    let extent = u32::from_le_bytes([root[2], root[3], root[4], root[5]]);
    let Some(dir) = s.read(u64::from(extent), SECTOR as usize) else {
        return false;
    };
    let len = dir[0] as usize;
    let name_len = dir[32] as usize;
    if len < 34 || len > dir.len() {
        return false;
    }
    let su_start = 33 + name_len + usize::from(name_len.is_multiple_of(2));
    if su_start >= len {
        return false;
    }
    let mut area = dir[su_start..len].to_vec();
    for _ in 0..MAX_CONTINUATIONS {
        let (found, next) = scan_susp(&area);
        if found {
            return true;
        }
        let Some((lba, off, len)) = next else {
            return false;
        };
        let Some(sec) = s.read(u64::from(lba), SECTOR as usize) else {
            return false;
        };
        let (off, len) = (off as usize, len as usize);
        match sec.get(off..off.saturating_add(len)) {
            Some(a) => area = a.to_vec(),
            None => return false,
        }
    }
    false
}

/// Walk SUSP entries: (Rock Ridge seen, a continuation area `CE` to follow).
fn scan_susp(area: &[u8]) -> (bool, Option<(u32, u32, u32)>) {
    let mut i = 0;
    let mut next = None;
    while i + 4 <= area.len() {
        let sig = &area[i..i + 2];
        let len = area[i + 2] as usize;
        if len < 4 || i + len > area.len() {
            break;
        }
        let e = &area[i..i + len];
        match sig {
            b"RR" | b"PX" | b"PN" | b"SL" | b"NM" | b"TF" | b"RE" | b"CL" | b"PL" => {
                return (true, None)
            }
            b"ER" if len >= 8 => {
                let id_len = e[4] as usize;
                let id = e.get(8..8 + id_len).unwrap_or(&[]);
                if id.starts_with(b"RRIP")
                    || id.starts_with(b"IEEE_P1282")
                    || id.starts_with(b"IEEE_1282")
                {
                    return (true, None);
                }
            }
            b"CE" if len >= 28 => {
                let le = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
                next = Some((le(4), le(12), le(20)));
            }
            b"ST" => break,
            _ => {}
        }
        i += len;
    }
    (false, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pvd_image() -> Vec<u8> {
        let mut img = vec![0u8; 20 * 2048];
        let d = &mut img[16 * 2048..17 * 2048];
        d[0] = 1;
        d[1..6].copy_from_slice(b"CD001");
        d[6] = 1;
        d[40..72].copy_from_slice(&[b' '; 32]);
        d[40..44].copy_from_slice(b"TEST");
        d[80..84].copy_from_slice(&20u32.to_le_bytes());
        d[128..130].copy_from_slice(&2048u16.to_le_bytes());
        d[813..829].copy_from_slice(b"2024010203040500");
        d[829] = 8; // +02:00
        let t = &mut img[17 * 2048..18 * 2048];
        t[0] = 255;
        t[1..6].copy_from_slice(b"CD001");
        img
    }

    #[test]
    fn reads_a_minimal_pvd() {
        let v = probe(&pvd_image()).unwrap();
        assert_eq!(v.volume_id, "TEST");
        assert_eq!(v.volume_bytes, 20 * 2048);
        assert_eq!(
            v.creation_date.as_deref(),
            Some("2024-01-02T03:04:05.00+02:00")
        );
        assert_eq!(v.modification_date, None);
        assert!(!v.joliet && !v.rock_ridge);
    }

    #[test]
    fn not_iso() {
        assert_eq!(probe(&vec![0u8; 40000]), None);
        assert_eq!(probe(&Vec::new()), None);
    }
}
