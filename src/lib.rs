//! Salvor's engine: sources, scanning, output and reports.
//!
//! The command-line interface (`src/cli/`) sits on top of this library; the engine never calls
//! into it. Format knowledge lives in the `salvor-carvers` crate.

pub mod acquire;
pub mod audit;
pub mod carve;
pub mod dfxml;
pub mod gui;
pub mod hashing;
pub mod job;
pub mod manifest;
pub mod repair;
pub mod scan;
pub mod source;
pub mod util;
pub mod verify;
pub mod wipe;

/// The tool's name and version as written into every report and log line.
pub const TOOL: &str = concat!("salvor ", env!("CARGO_PKG_VERSION"));
