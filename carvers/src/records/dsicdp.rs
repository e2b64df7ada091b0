//! The vendor `.dsicdp` container.
