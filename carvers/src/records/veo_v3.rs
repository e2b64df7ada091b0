//! VEO v3.
use super::{ComponentSource, RecordReport};
/// Verify a VEO v3.
pub fn verify_v3(_src: &dyn ComponentSource, _member_names: &[String]) -> RecordReport {
    RecordReport::new("veo-v3", "", "utf-8")
}
