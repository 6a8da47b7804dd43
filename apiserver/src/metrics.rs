//! Prometheus metrics: requests by verb/resource/code, latency histograms, watches, storage operations.
