//! How long each hook helper call took (what the module costs Asterisk's event threads), for
//! benchmarks: `standin hookstats` prints the distribution, `standin hookstats reset` clears it.
#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::time::Duration;

/// At most this many samples are kept (then new ones are dropped), bounding memory.
const MAX_SAMPLES: usize = 2_000_000;

static SAMPLES: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Records one helper call's duration.
pub fn record(d: Duration) {
    let ns = u32::try_from(d.as_nanos()).unwrap_or(u32::MAX);
    let mut s = SAMPLES.lock().unwrap_or_else(|e| e.into_inner());
    if s.len() < MAX_SAMPLES {
        s.push(ns);
    }
}

/// Forgets every sample.
pub fn reset() {
    SAMPLES.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// `count N`, `mean`, `p50`, `p90`, `p99`, `max` in nanoseconds, one per line.
pub fn report() -> String {
    let mut s = SAMPLES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if s.is_empty() {
        return "count 0\n".into();
    }
    s.sort_unstable();
    let pct = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    let mean = s.iter().map(|&x| u64::from(x)).sum::<u64>() / s.len() as u64;
    format!(
        "count {}\nmean {mean}\np50 {}\np90 {}\np99 {}\nmax {}\n",
        s.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        s[s.len() - 1]
    )
}
