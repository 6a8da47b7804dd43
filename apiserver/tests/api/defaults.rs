//! API tests: defaults (being written).
