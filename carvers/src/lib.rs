//! Format knowledge for Salvor.
//!
//! This crate is mechanism only: pure functions over bytes, `nom` parsers, no I/O, no threads, no
//! logging and no `unsafe`. Evidence is read through the [`ByteView`] trait, which the engine
//! implements over a memory map or over positional reads; a plain `[u8]` implements it too, so
//! every parser can be tested and fuzzed on an in-memory slice.
//!
//! Every format lives in one module and implements [`Carver`]; [`CARVERS`] lists them all, and the
//! engine builds one multi-pattern search from their signatures.

#![forbid(unsafe_code)]

pub mod bootsector;
pub mod iso9660;
pub mod mapfile;
pub mod model;
pub mod records;
pub mod udf;
pub mod view;
pub mod zip;

pub use model::{Candidate, Defect, DefectKind, Limits, MemberInfo, Region, Status};
pub use view::ByteView;

/// A byte pattern that marks a place worth handing to a carver.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The pattern itself.
    pub bytes: &'static [u8],
    /// A carver-specific tag passed back with each hit, so the carver knows which pattern matched.
    pub tag: u16,
}

/// One place where a signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Absolute offset of the first byte of the pattern in the source.
    pub offset: u64,
    /// The [`Signature::tag`] of the pattern that matched.
    pub tag: u16,
}

/// A format that can be found inside raw bytes.
pub trait Carver: Sync + Send {
    /// Short stable name, used in reports and in `--types`.
    fn name(&self) -> &'static str;

    /// Subtypes this carver can report (for `--types` and the README).
    fn kinds(&self) -> &'static [&'static str];

    /// Patterns that may start or end one of this format's objects.
    fn signatures(&self) -> &'static [Signature];

    /// Work out the extent and structure of the object the hit belongs to.
    ///
    /// Cheap structural work only: no decompression beyond what is needed to delimit members.
    /// `None` means "not mine", which is an answer, not an error.
    fn locate(&self, data: &dyn ByteView, hit: Hit, limits: &Limits) -> Option<Candidate>;

    /// The file extension of a carved object of `kind` (without the dot); the kind itself unless
    /// the carver says otherwise.
    fn extension(&self, kind: &'static str) -> &'static str {
        kind
    }

    /// Deep checks on a kept candidate (checksums, decompression); fills in defects and status.
    fn validate(&self, data: &dyn ByteView, candidate: &mut Candidate, limits: &Limits);
}

/// Every carver Salvor knows, in one list.
pub static CARVERS: &[&dyn Carver] = &[&zip::ZipCarver, &records::carve::RecordCarver];

/// Look a carver up by name.
pub fn carver_by_name(name: &str) -> Option<&'static dyn Carver> {
    CARVERS.iter().copied().find(|c| c.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carver_list_is_sound() {
        let mut names: Vec<_> = CARVERS.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CARVERS.len(), "carver names must be unique");
        for c in CARVERS {
            assert!(!c.signatures().is_empty(), "{} has no signatures", c.name());
            assert!(
                c.signatures().iter().all(|s| s.bytes.len() >= 4),
                "{}",
                c.name()
            );
            assert!(!c.kinds().is_empty());
        }
    }
}
