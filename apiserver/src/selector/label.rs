//! Label selectors, as upstream parses and matches them.
