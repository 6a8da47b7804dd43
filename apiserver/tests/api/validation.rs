//! API tests: validation (being written).
