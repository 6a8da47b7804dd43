//! Figures the benchmarks read about a process from Linux's `/proc`.

/// User + system CPU seconds process `pid` (a number, or `self`) has used so far; 0 when
/// it cannot be read.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start at state; utime and stime
    // are the 12th and 13th of those, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_and_a_missing_one_none() {
        // Spin until the kernel has counted a tick for this process.
        let mut spent = 0.0;
        let mut x = 0_u64;
        for _ in 0..10_000 {
            for i in 0..1_000_000_u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            spent = cpu_seconds("self");
            if spent > 0.0 {
                break;
            }
        }
        assert!(spent > 0.0, "{x}");
        assert!(cpu_seconds("999999999").abs() < f64::EPSILON);
    }
}
