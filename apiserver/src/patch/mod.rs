//! Patches: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and strategic merge patch.

pub mod strategic;
