//! Per-second rates for `ws show status`: events into the ring and deliveries to clients,
//! measured over the last completed window of at least one second.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Counters at the start of the current window, and the rates of the last full one.
#[derive(Debug)]
pub struct Rates {
    since: Instant,
    events_in: u64,
    delivered: u64,
    /// Events per second into the ring, last window.
    pub in_per_sec: f64,
    /// Deliveries per second to clients, last window.
    pub out_per_sec: f64,
}

impl Rates {
    /// Starts measuring at `now`.
    pub fn new(now: Instant) -> Self {
        Rates { since: now, events_in: 0, delivered: 0, in_per_sec: 0.0, out_per_sec: 0.0 }
    }

    /// Feeds the running totals; closes the window once a second has passed.
    pub fn update(&mut self, now: Instant, events_in: u64, delivered: u64) {
        let elapsed = now.duration_since(self.since);
        if elapsed < Duration::from_secs(1) {
            return;
        }
        let secs = elapsed.as_secs_f64();
        self.in_per_sec = events_in.saturating_sub(self.events_in) as f64 / secs;
        self.out_per_sec = delivered.saturating_sub(self.delivered) as f64 / secs;
        self.since = now;
        self.events_in = events_in;
        self.delivered = delivered;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_the_last_full_window() {
        let t0 = Instant::now();
        let mut r = Rates::new(t0);
        r.update(t0 + Duration::from_millis(500), 100, 1000);
        assert_eq!((r.in_per_sec, r.out_per_sec), (0.0, 0.0), "window not complete yet");
        r.update(t0 + Duration::from_secs(2), 400, 4000);
        assert_eq!((r.in_per_sec, r.out_per_sec), (200.0, 2000.0));
        r.update(t0 + Duration::from_secs(3), 400, 4000);
        assert_eq!((r.in_per_sec, r.out_per_sec), (0.0, 0.0));
    }
}
