//! What the memory-measuring benchmarks share: their knobs from the environment and the process's
//! resident memory.
#![allow(clippy::float_arithmetic)]

/// A number from the environment, or `default`.
pub fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A memory line of `/proc/self/status` (`VmRSS:`, `VmHWM:`) in MB; 0 where there is none.
pub fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
