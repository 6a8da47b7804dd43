//! API tests: alloc (being written).
