//! Random access to evidence bytes without doing I/O here.

use std::borrow::Cow;

/// Read-only random access to a source.
///
/// The engine implements this over a memory map (borrowed slices) or over positional reads
/// (owned buffers). Reads past the end are clipped: the returned slice may be shorter than asked,
/// and empty at or past the end. A read error inside the source also yields a short slice, so a
/// parser treats an unreadable area exactly like the end of the data.
pub trait ByteView: Sync {
    /// Length of the source in bytes.
    fn len(&self) -> u64;

    /// Up to `len` bytes starting at `offset`.
    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]>;

    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ByteView for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        let total = <[u8]>::len(self) as u64;
        if offset >= total {
            return Cow::Borrowed(&[]);
        }
        let start = offset as usize;
        let end = start.saturating_add(len).min(<[u8]>::len(self));
        Cow::Borrowed(&self[start..end])
    }
}

impl ByteView for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        let total = self.as_slice().len() as u64;
        if offset >= total {
            return Cow::Borrowed(&[]);
        }
        let start = offset as usize;
        let end = start.saturating_add(len).min(self.as_slice().len());
        Cow::Borrowed(&self[start..end])
    }
}

/// A window `[start, start + len)` of another view, seen as a source of its own.
pub struct Window<'a> {
    inner: &'a dyn ByteView,
    start: u64,
    len: u64,
}

impl<'a> Window<'a> {
    /// The window, clipped to the inner view.
    pub fn new(inner: &'a dyn ByteView, start: u64, len: u64) -> Self {
        let start = start.min(inner.len());
        let len = len.min(inner.len() - start);
        Window { inner, start, len }
    }
}

impl ByteView for Window<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn bytes_at(&self, offset: u64, len: usize) -> Cow<'_, [u8]> {
        if offset >= self.len {
            return Cow::Borrowed(&[]);
        }
        let want = (self.len - offset).min(len as u64) as usize;
        self.inner.bytes_at(self.start + offset, want)
    }
}

/// Read a little-endian `u32` at `offset`, or `None` past the end.
pub fn u32_at(data: &dyn ByteView, offset: u64) -> Option<u32> {
    let b = data.bytes_at(offset, 4);
    let arr: [u8; 4] = b.as_ref().try_into().ok()?;
    Some(u32::from_le_bytes(arr))
}

/// Streams a byte range in bounded pieces; the last piece may be short when the source ends.
pub struct RangeReader<'a> {
    data: &'a dyn ByteView,
    pos: u64,
    end: u64,
}

/// Size of one piece read by [`RangeReader`]: large enough for throughput, small for memory.
pub const READ_PIECE: usize = 256 * 1024;

impl<'a> RangeReader<'a> {
    /// A reader over `[start, end)` clipped to the source.
    pub fn new(data: &'a dyn ByteView, start: u64, end: u64) -> Self {
        let end = end.min(data.len());
        RangeReader {
            data,
            pos: start.min(end),
            end,
        }
    }

    /// Current absolute position.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl std::io::Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.end - self.pos)
            .min(buf.len() as u64)
            .min(READ_PIECE as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let got = self.data.bytes_at(self.pos, want);
        buf[..got.len()].copy_from_slice(&got);
        self.pos += got.len() as u64;
        Ok(got.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_clip_at_the_end() {
        let v: &[u8] = b"abcdef";
        assert_eq!(&*v.bytes_at(2, 3), b"cde");
        assert_eq!(&*v.bytes_at(4, 10), b"ef");
        assert!(v.bytes_at(6, 1).is_empty());
        assert!(v.bytes_at(u64::MAX, usize::MAX).is_empty());
        assert_eq!(u32_at(&v, 2), Some(u32::from_le_bytes(*b"cdef")));
        assert_eq!(u32_at(&v, 3), None);
    }
}
