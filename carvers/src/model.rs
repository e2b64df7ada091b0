//! What a carver reports: candidates, their members, status and defects.

use serde::Serialize;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// How whole a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every checksum holds and the directory agrees with the data.
    Intact,
    /// Put back together from fragments; every checksum holds through the assembly.
    Reassembled,
    /// The structure is there but something in it is wrong; see the defects.
    Damaged,
    /// The structure runs past the end of the source or into unrelated data.
    Truncated,
}

impl Status {
    /// The word used in reports and folder names.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Intact => "intact",
            Status::Reassembled => "reassembled",
            Status::Damaged => "damaged",
            Status::Truncated => "truncated",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of damage a carver can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefectKind {
    /// The local headers end and no central directory follows them.
    CentralDirectoryMissing,
    /// The end record points at bytes that are not central directory records.
    CentralDirectoryUnreadable,
    /// The central directory is there but no end-of-central-directory record follows it.
    EocdMissing,
    /// A central directory record points at an offset that holds no local header.
    LocalHeaderMissing,
    /// A local header disagrees with its central directory record.
    LocalHeaderMismatch,
    /// A member's bytes do not match its recorded CRC-32.
    CrcMismatch,
    /// A member's deflate stream cannot be decoded.
    DeflateError,
    /// A member decodes to a different size than recorded.
    SizeMismatch,
    /// An offset or size in the end record disagrees with the bytes (corrected by the carver).
    OffsetMismatch,
    /// The end record's entry count disagrees with the directory.
    EntryCountMismatch,
    /// The structure runs past the end of the source.
    Truncated,
    /// A member would decode to more than the limits allow; it was not fully checked.
    LimitExceeded,
}

impl DefectKind {
    /// The kebab-case word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DefectKind::CentralDirectoryMissing => "central-directory-missing",
            DefectKind::CentralDirectoryUnreadable => "central-directory-unreadable",
            DefectKind::EocdMissing => "eocd-missing",
            DefectKind::LocalHeaderMissing => "local-header-missing",
            DefectKind::LocalHeaderMismatch => "local-header-mismatch",
            DefectKind::CrcMismatch => "crc-mismatch",
            DefectKind::DeflateError => "deflate-error",
            DefectKind::SizeMismatch => "size-mismatch",
            DefectKind::OffsetMismatch => "offset-mismatch",
            DefectKind::EntryCountMismatch => "entry-count-mismatch",
            DefectKind::Truncated => "truncated",
            DefectKind::LimitExceeded => "limit-exceeded",
        }
    }
}

impl fmt::Display for DefectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of damage: what, where (absolute offset), what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defect {
    /// What kind of damage.
    pub kind: DefectKind,
    /// Absolute offset in the source where it was seen.
    pub offset: u64,
    /// What the structure says should be there.
    pub expected: String,
    /// What the bytes hold.
    pub found: String,
    /// The member concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Defect {
    /// A defect with no member attached.
    pub fn new(
        kind: DefectKind,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Defect {
            kind,
            offset,
            expected: expected.into(),
            found: found.into(),
            member: None,
        }
    }

    /// Attach the member's name.
    pub fn on(mut self, member: &str) -> Self {
        self.member = Some(member.to_owned());
        self
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {:#x}", self.kind, self.offset)?;
        if let Some(m) = &self.member {
            write!(f, " ({})", m.escape_debug())?;
        }
        write!(f, ": expected {}, found {}", self.expected, self.found)
    }
}

/// One member of an archive, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    /// The name exactly as stored, lossily decoded for display.
    pub name: String,
    /// Absolute offset of the local header, when one was found.
    pub header_offset: Option<u64>,
    /// Absolute range of the member's stored (compressed) bytes.
    pub data_start: u64,
    /// End (exclusive) of the stored bytes.
    pub data_end: u64,
    /// Compression method number.
    pub method: u16,
    /// Recorded CRC-32.
    pub crc32: u32,
    /// Recorded uncompressed size.
    pub size: u64,
    /// Whether the member is encrypted.
    pub encrypted: bool,
    /// Outcome of the check: `ok`, `crc-mismatch`, `deflate-error`, `unsupported method`,
    /// `encrypted`, `unchecked`, ...
    pub check: String,
}

/// An area inside a candidate where another object may legitimately sit, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Absolute start.
    pub start: u64,
    /// Absolute end (exclusive).
    pub end: u64,
    /// How a child found here is described, e.g. `member "small.zip" (stored)`.
    pub label: String,
}

/// A possible file found by a carver.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Name of the carver that found it.
    pub carver: &'static str,
    /// Subtype, e.g. `docx`, `odt`, `zip`.
    pub kind: &'static str,
    /// Absolute start of the extent.
    pub start: u64,
    /// Absolute end (exclusive) of the extent.
    pub end: u64,
    /// How whole it is.
    pub status: Status,
    /// Each piece of damage found.
    pub defects: Vec<Defect>,
    /// Observations that are not damage (unsupported methods, encryption, prefixes...).
    pub notes: Vec<String>,
    /// Members, for archives.
    pub members: Vec<MemberInfo>,
    /// Offsets of headers that belong to this object: a hit at one of them is not a new object.
    #[serde(skip)]
    pub anchors: Vec<u64>,
    /// Areas where a nested object is a child of this one.
    #[serde(skip)]
    pub regions: Vec<Region>,
    /// Physical runs `(offset, length)` in logical order when the object is fragmented; empty
    /// when it is the contiguous extent `[start, end)`.
    pub runs: Vec<(u64, u64)>,
    /// The carver's own description of the object, kept between `locate` and `validate`.
    #[serde(skip)]
    pub state: Option<Arc<dyn Any + Send + Sync>>,
}

impl Candidate {
    /// Length of the extent.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// True for an empty extent.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Record a defect; truncation wins over damage.
    pub fn add_defect(&mut self, defect: Defect) {
        if defect.kind == DefectKind::Truncated {
            self.status = Status::Truncated;
        } else if self.status == Status::Intact {
            self.status = Status::Damaged;
        }
        if !self.defects.contains(&defect) {
            self.defects.push(defect);
        }
    }
}

/// Bounds on work done for one candidate. Every one is user-settable from the engine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest object the carver will delimit.
    pub max_size: u64,
    /// Most members parsed in one archive (a hostile entry count must not drive allocation).
    pub max_members: usize,
    /// Largest uncompressed size checked per member.
    pub max_inflated: u64,
    /// Largest allowed inflated:compressed ratio before a member counts as a bomb.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // No cap by default: the source length is the natural bound.
            max_size: u64::MAX,
            // Info-ZIP's own ceiling for ZIP64 archives is far above this; a million members is
            // far beyond any real package while keeping the member table under ~200 MiB.
            max_members: 1_000_000,
            // Checking a member means streaming it; size only costs time, not memory.
            max_inflated: 64 << 30,
            // Real text compresses at most ~1000:1 with deflate (its theoretical limit is 1032:1).
            max_ratio: 1100,
        }
    }
}
