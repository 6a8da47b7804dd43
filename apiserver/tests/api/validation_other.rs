//! API tests: validation of config, storage and other kinds (being written).
