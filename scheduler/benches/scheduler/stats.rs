//! Per-second throughput samples and their summary.

/// Summary of per-second scheduling throughput.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Throughput {
    /// Pods per second over the whole measured phase.
    pub(crate) average: f64,
    /// Median of the per-second samples.
    pub p50: f64,
    /// 99th percentile of the per-second samples (ascending, as upstream sorts them).
    pub p99: f64,
    /// Number of full one-second samples.
    pub(crate) samples: usize,
}

/// Summarises `samples` (pods bound in each full second) given `pods` bound in
/// `seconds` overall. With no full second, the percentiles fall back to the average.
pub(crate) fn summarise(samples: &[usize], pods: usize, seconds: f64) -> Throughput {
    let average = if seconds > 0.0 {
        pods as f64 / seconds
    } else {
        0.0
    };
    let mut sorted: Vec<usize> = samples.to_vec();
    sorted.sort_unstable();
    // Nearest rank: the smallest sample with at least p of the samples at or below it.
    let percentile = |p: f64| {
        if sorted.is_empty() {
            return average;
        }
        let rank = ((sorted.len() as f64) * p).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1] as f64
    };
    Throughput {
        average,
        p50: percentile(0.50),
        p99: percentile(0.99),
        samples: sorted.len(),
    }
}
