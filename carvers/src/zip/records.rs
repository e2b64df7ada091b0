//! The fixed records of the ZIP format (APPNOTE 6.3.10), parsed with `nom`.
//!
//! Each parser takes the bytes starting at the record's signature and returns the record with its
//! variable-length parts borrowed. They never allocate from a length read out of the evidence.

use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::{IResult, Parser};

/// `PK\x03\x04`: local file header.
pub const LFH_SIG: &[u8; 4] = b"PK\x03\x04";
/// `PK\x01\x02`: central directory header.
pub const CDH_SIG: &[u8; 4] = b"PK\x01\x02";
/// `PK\x05\x06`: end of central directory.
pub const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
/// `PK\x06\x06`: ZIP64 end of central directory record.
pub const Z64_EOCD_SIG: &[u8; 4] = b"PK\x06\x06";
/// `PK\x06\x07`: ZIP64 end of central directory locator.
pub const Z64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
/// `PK\x07\x08`: optional data descriptor signature (also the split-archive marker).
pub const DD_SIG: &[u8; 4] = b"PK\x07\x08";
/// `PK\x05\x05`: central directory digital signature record.
pub const DIGSIG_SIG: &[u8; 4] = b"PK\x05\x05";

/// Fixed part of a local file header.
pub const LFH_LEN: usize = 30;
/// Fixed part of a central directory header.
pub const CDH_LEN: usize = 46;
/// Fixed part of an end of central directory record.
pub const EOCD_LEN: usize = 22;
/// Fixed part of a ZIP64 end of central directory record.
pub const Z64_EOCD_LEN: usize = 56;
/// A ZIP64 end of central directory locator.
pub const Z64_LOCATOR_LEN: usize = 20;

/// General purpose flag: the member is encrypted.
pub const FLAG_ENCRYPTED: u16 = 1;
/// General purpose flag: sizes and CRC follow the data in a data descriptor.
pub const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;

/// The ZIP64 extended information extra field.
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// A local file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHeader<'a> {
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub mod_time: u16,
    pub mod_date: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub name: &'a [u8],
    pub extra: &'a [u8],
    /// True when the sizes came from a ZIP64 extra field.
    pub zip64: bool,
}

impl LocalHeader<'_> {
    /// Bytes taken by the header including name and extra field.
    pub fn header_len(&self) -> u64 {
        (LFH_LEN + self.name.len() + self.extra.len()) as u64
    }

    /// True when sizes are only known from a trailing data descriptor.
    pub fn sizes_deferred(&self) -> bool {
        self.flags & FLAG_DATA_DESCRIPTOR != 0 && self.compressed_size == 0
    }
}

/// Parse a local file header. Needs the whole header, name and extra field.
pub fn local_header(i: &[u8]) -> IResult<&[u8], LocalHeader<'_>> {
    let (i, (_, version_needed, flags, method, mod_time, mod_date, crc32, csize, usize_)) = (
        tag(&LFH_SIG[..]),
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u32,
        le_u32,
        le_u32,
    )
        .parse(i)?;
    let (i, (name_len, extra_len)) = (le_u16, le_u16).parse(i)?;
    let (i, (name, extra)) = (take(name_len), take(extra_len)).parse(i)?;
    let mut h = LocalHeader {
        version_needed,
        flags,
        method,
        mod_time,
        mod_date,
        crc32,
        compressed_size: u64::from(csize),
        uncompressed_size: u64::from(usize_),
        name,
        extra,
        zip64: false,
    };
    if csize == u32::MAX || usize_ == u32::MAX {
        if let Some(z) = zip64_extra(extra, usize_ == u32::MAX, csize == u32::MAX, false) {
            if let Some(v) = z.uncompressed_size {
                h.uncompressed_size = v;
            }
            if let Some(v) = z.compressed_size {
                h.compressed_size = v;
            }
            h.zip64 = true;
        }
    }
    Ok((i, h))
}

/// A central directory header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralHeader<'a> {
    pub version_made_by: u16,
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub mod_time: u16,
    pub mod_date: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub disk_start: u32,
    pub internal_attrs: u16,
    pub external_attrs: u32,
    /// Offset of the local header relative to the archive start (possibly wrapped at 4 GiB).
    pub local_offset: u64,
    pub name: &'a [u8],
    pub extra: &'a [u8],
    pub comment: &'a [u8],
    /// True when any value came from a ZIP64 extra field.
    pub zip64: bool,
}

impl CentralHeader<'_> {
    /// Bytes taken by the record including its variable parts.
    pub fn record_len(&self) -> u64 {
        (CDH_LEN + self.name.len() + self.extra.len() + self.comment.len()) as u64
    }
}

/// Parse a central directory header with its name, extra field and comment.
pub fn central_header(i: &[u8]) -> IResult<&[u8], CentralHeader<'_>> {
    let (i, (_, made_by, needed, flags, method, mod_time, mod_date, crc32, csize, usize_)) = (
        tag(&CDH_SIG[..]),
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u32,
        le_u32,
        le_u32,
    )
        .parse(i)?;
    let (i, (name_len, extra_len, comment_len, disk, iattr, eattr, offset)) =
        (le_u16, le_u16, le_u16, le_u16, le_u16, le_u32, le_u32).parse(i)?;
    let (i, (name, extra, comment)) =
        (take(name_len), take(extra_len), take(comment_len)).parse(i)?;
    let mut h = CentralHeader {
        version_made_by: made_by,
        version_needed: needed,
        flags,
        method,
        mod_time,
        mod_date,
        crc32,
        compressed_size: u64::from(csize),
        uncompressed_size: u64::from(usize_),
        disk_start: u32::from(disk),
        internal_attrs: iattr,
        external_attrs: eattr,
        local_offset: u64::from(offset),
        name,
        extra,
        comment,
        zip64: false,
    };
    let (wu, wc, wo) = (usize_ == u32::MAX, csize == u32::MAX, offset == u32::MAX);
    if wu || wc || wo {
        if let Some(z) = zip64_extra(extra, wu, wc, wo) {
            h.uncompressed_size = z.uncompressed_size.unwrap_or(h.uncompressed_size);
            h.compressed_size = z.compressed_size.unwrap_or(h.compressed_size);
            h.local_offset = z.local_offset.unwrap_or(h.local_offset);
            h.zip64 = true;
        }
    }
    Ok((i, h))
}

/// Values found in a ZIP64 extended information extra field.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Zip64Extra {
    pub uncompressed_size: Option<u64>,
    pub compressed_size: Option<u64>,
    pub local_offset: Option<u64>,
}

/// Walk an extra field block and read the ZIP64 values that the header marked as saturated.
///
/// The values appear in a fixed order, each only when its header field is `0xFFFFFFFF`. Padding
/// and truncated sub-fields (seen in the wild) end the walk quietly.
pub fn zip64_extra(
    mut extra: &[u8],
    want_usize: bool,
    want_csize: bool,
    want_offset: bool,
) -> Option<Zip64Extra> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let body = extra.get(4..4 + len)?;
        if id == ZIP64_EXTRA_ID {
            let mut out = Zip64Extra::default();
            let mut values = body.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            });
            if want_usize {
                out.uncompressed_size = Some(values.next()?);
            }
            if want_csize {
                out.compressed_size = Some(values.next()?);
            }
            if want_offset {
                out.local_offset = values.next();
            }
            return Some(out);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// The end of central directory record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndRecord<'a> {
    pub disk: u16,
    pub cd_disk: u16,
    pub entries_on_disk: u16,
    pub entries: u16,
    pub cd_size: u32,
    pub cd_offset: u32,
    /// The comment as far as the bytes go; `comment_len` is what the record declares.
    pub comment: &'a [u8],
    pub comment_len: u16,
}

impl EndRecord<'_> {
    /// True when fields are saturated, meaning a ZIP64 record holds the real values.
    pub fn wants_zip64(&self) -> bool {
        self.entries == u16::MAX || self.cd_size == u32::MAX || self.cd_offset == u32::MAX
    }
}

/// Parse an EOCD record. The comment is clipped to the bytes available.
pub fn end_record(i: &[u8]) -> IResult<&[u8], EndRecord<'_>> {
    let (i, (_, disk, cd_disk, entries_on_disk, entries, cd_size, cd_offset, comment_len)) = (
        tag(&EOCD_SIG[..]),
        le_u16,
        le_u16,
        le_u16,
        le_u16,
        le_u32,
        le_u32,
        le_u16,
    )
        .parse(i)?;
    let n = usize::from(comment_len).min(i.len());
    let (i, comment) = take(n).parse(i)?;
    Ok((
        i,
        EndRecord {
            disk,
            cd_disk,
            entries_on_disk,
            entries,
            cd_size,
            cd_offset,
            comment,
            comment_len,
        },
    ))
}

/// The ZIP64 end of central directory record (fixed part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zip64EndRecord {
    /// Size of the rest of the record (after the first 12 bytes).
    pub record_size: u64,
    pub disk: u32,
    pub cd_disk: u32,
    pub entries_on_disk: u64,
    pub entries: u64,
    pub cd_size: u64,
    pub cd_offset: u64,
}

/// Parse a ZIP64 EOCD record's fixed part.
pub fn zip64_end_record(i: &[u8]) -> IResult<&[u8], Zip64EndRecord> {
    let (
        i,
        (_, record_size, _made_by, _needed, disk, cd_disk, on_disk, entries, cd_size, cd_offset),
    ) = (
        tag(&Z64_EOCD_SIG[..]),
        le_u64,
        le_u16,
        le_u16,
        le_u32,
        le_u32,
        le_u64,
        le_u64,
        le_u64,
        le_u64,
    )
        .parse(i)?;
    Ok((
        i,
        Zip64EndRecord {
            record_size,
            disk,
            cd_disk,
            entries_on_disk: on_disk,
            entries,
            cd_size,
            cd_offset,
        },
    ))
}

/// The ZIP64 end of central directory locator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zip64Locator {
    pub disk: u32,
    /// Offset of the ZIP64 EOCD record relative to the archive start.
    pub record_offset: u64,
    pub total_disks: u32,
}

/// Parse a ZIP64 EOCD locator.
pub fn zip64_locator(i: &[u8]) -> IResult<&[u8], Zip64Locator> {
    let (i, (_, disk, record_offset, total_disks)) =
        (tag(&Z64_LOCATOR_SIG[..]), le_u32, le_u64, le_u32).parse(i)?;
    Ok((
        i,
        Zip64Locator {
            disk,
            record_offset,
            total_disks,
        },
    ))
}

/// A data descriptor as found after a member's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataDescriptor {
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Whether the optional `PK\x07\x08` signature was present.
    pub signed: bool,
    /// Whether sizes were 8 bytes each.
    pub wide: bool,
}

impl DataDescriptor {
    /// Bytes the descriptor occupies.
    pub fn len(&self) -> u64 {
        let sizes = if self.wide { 16 } else { 8 };
        4 + sizes + if self.signed { 4 } else { 0 }
    }

    /// Never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Parse a data descriptor of the given shape.
pub fn data_descriptor(i: &[u8], signed: bool, wide: bool) -> IResult<&[u8], DataDescriptor> {
    let i = if signed {
        tag(&DD_SIG[..]).parse(i)?.0
    } else {
        i
    };
    let (i, crc32) = le_u32.parse(i)?;
    let (i, (c, u)) = if wide {
        (le_u64, le_u64).parse(i)?
    } else {
        let (i, (c, u)) = (le_u32, le_u32).parse(i)?;
        (i, (u64::from(c), u64::from(u)))
    };
    Ok((
        i,
        DataDescriptor {
            crc32,
            compressed_size: c,
            uncompressed_size: u,
            signed,
            wide,
        },
    ))
}

/// Choose the descriptor shape that agrees with what is known of the member.
///
/// `csize` is the compressed length actually found; `crc` the CRC computed from the data when
/// known. Signed forms are preferred (the signature is positive evidence), then 64-bit forms
/// only when the member is ZIP64 or the 32-bit reading disagrees.
pub fn matching_descriptor(i: &[u8], csize: u64, crc: Option<u32>) -> Option<DataDescriptor> {
    let shapes = [(true, false), (true, true), (false, false), (false, true)];
    shapes.iter().find_map(|&(signed, wide)| {
        let (_, dd) = data_descriptor(i, signed, wide).ok()?;
        let crc_ok = crc.is_none_or(|c| c == dd.crc32);
        (dd.compressed_size == csize && crc_ok).then_some(dd)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lfh(name: &[u8], csize: u32, extra: &[u8]) -> Vec<u8> {
        let mut v = LFH_SIG.to_vec();
        v.extend_from_slice(&20u16.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(&8u16.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&0xdead_beefu32.to_le_bytes());
        v.extend_from_slice(&csize.to_le_bytes());
        v.extend_from_slice(&csize.to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        v.extend_from_slice(name);
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn local_header_round_trip() {
        let bytes = lfh(b"a.txt", 7, b"");
        let (rest, h) = local_header(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(h.name, b"a.txt");
        assert_eq!(h.crc32, 0xdead_beef);
        assert_eq!(h.compressed_size, 7);
        assert_eq!(h.header_len(), 35);
    }

    #[test]
    fn local_header_zip64_sizes() {
        let mut extra = vec![1, 0, 16, 0];
        extra.extend_from_slice(&5_000_000_000u64.to_le_bytes());
        extra.extend_from_slice(&4_000_000_000u64.to_le_bytes());
        let bytes = lfh(b"big", u32::MAX, &extra);
        let (_, h) = local_header(&bytes).unwrap();
        assert!(h.zip64);
        assert_eq!(h.uncompressed_size, 5_000_000_000);
        assert_eq!(h.compressed_size, 4_000_000_000);
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let bytes = lfh(b"a.txt", 7, b"");
        for n in 0..bytes.len() {
            assert!(local_header(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn descriptor_shapes() {
        let mut v = DD_SIG.to_vec();
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&10u32.to_le_bytes());
        v.extend_from_slice(&20u32.to_le_bytes());
        let dd = matching_descriptor(&v, 10, Some(1)).unwrap();
        assert!(dd.signed && !dd.wide);
        assert_eq!(dd.len(), 16);
        let dd = matching_descriptor(&v[4..], 10, Some(1)).unwrap();
        assert!(!dd.signed);
        assert_eq!(dd.len(), 12);
        assert!(matching_descriptor(&v, 11, Some(1)).is_none());
    }

    #[test]
    fn padded_extra_fields_are_tolerated() {
        // A zero-type padding field followed by three stray bytes (libarchive #1055).
        let extra = [0, 0, 2, 0, 0, 0, 9, 9, 9];
        assert_eq!(zip64_extra(&extra, true, false, false), None);
    }
}
