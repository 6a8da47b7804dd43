//! API tests: validation_pod (being written).
