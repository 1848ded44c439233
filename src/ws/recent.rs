//! The network loop's copy of the newest events: fetched from the ring once per wake-up and
//! shared by every client that is up to date, so the ring's lock is taken once per wake-up
//! instead of once per client (the hook never waits behind a thousand clients).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::Arc;

use crate::events::event::Event;
use crate::events::ring::{EventLog, ReadOutcome};

/// Newest events kept here; clients further behind read the ring itself.
pub const RECENT: usize = 4096;
const FETCH: usize = 1024;

/// Contiguous run of the newest events (sequence numbers without gaps).
#[derive(Default)]
pub struct RecentEvents {
    events: VecDeque<Arc<Event>>,
    /// The sequence number after the newest cached event (0: nothing fetched yet).
    next: u64,
}

impl RecentEvents {
    /// Copies what the ring gained since the last call (at most [`RECENT`] newest events).
    pub fn refresh(&mut self, log: &EventLog) {
        let newest_wanted = log.next_seq().saturating_sub(RECENT as u64).max(log.first_seq());
        if self.next < newest_wanted {
            // More arrived than we keep: start the run at the newest RECENT events.
            self.events.clear();
            self.next = newest_wanted;
        }
        let mut batch = Vec::with_capacity(FETCH);
        loop {
            batch.clear();
            let out = log.read(self.next.max(1), FETCH, &mut batch);
            if out.lost.is_some() {
                self.events.clear();
            }
            let got = batch.len();
            for ev in batch.drain(..) {
                self.next = ev.seq() + 1;
                self.events.push_back(ev);
            }
            while self.events.len() > RECENT {
                self.events.pop_front();
            }
            if got < FETCH {
                return;
            }
        }
    }

    /// Events from `from` on (at most `max`) into `out`, from this cache when it covers `from`,
    /// otherwise from the ring (which reports what it lost).
    pub fn read(
        &self,
        log: &EventLog,
        from: u64,
        max: usize,
        out: &mut Vec<Arc<Event>>,
    ) -> ReadOutcome {
        if let Some(first) = self.events.front().map(|e| e.seq()) {
            if from >= first && from <= self.next {
                let start = (from - first) as usize;
                let before = out.len();
                out.extend(self.events.iter().skip(start).take(max).cloned());
                let n = (out.len() - before) as u64;
                return ReadOutcome { next: from + n, lost: None };
            }
        }
        log.read(from, max, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: u64, capacity: usize) -> Arc<EventLog> {
        let log = EventLog::new(capacity, Box::new(|| {}));
        for i in 0..n {
            log.append(64, b"UserEvent", format!("Event: UserEvent\r\nN: {i}\r\n\r\n").as_bytes());
        }
        log
    }

    #[test]
    fn serves_up_to_date_readers_from_the_copy_with_the_rings_numbers() {
        let log = log_with(10, 100);
        let mut r = RecentEvents::default();
        r.refresh(&log);
        let mut out = Vec::new();
        let got = r.read(&log, 4, 100, &mut out);
        assert_eq!(got, ReadOutcome { next: 11, lost: None });
        assert_eq!(out.iter().map(|e| e.seq()).collect::<Vec<_>>(), (4..=10).collect::<Vec<_>>());
        out.clear();
        assert_eq!(r.read(&log, 11, 100, &mut out), ReadOutcome { next: 11, lost: None });
        assert!(out.is_empty());
        log.append(64, b"UserEvent", b"Event: UserEvent\r\n\r\n");
        r.refresh(&log);
        assert_eq!(r.read(&log, 11, 100, &mut out).next, 12);
        assert_eq!(out[0].seq(), 11);
    }

    #[test]
    fn readers_behind_the_copy_go_to_the_ring_and_learn_what_was_lost() {
        let log = log_with(RECENT as u64 + 500, RECENT + 100);
        let mut r = RecentEvents::default();
        r.refresh(&log);
        let mut out = Vec::new();
        // Seq 1..=400 were overwritten in the ring (capacity RECENT+100 of RECENT+500).
        let got = r.read(&log, 1, 10, &mut out);
        assert_eq!(got.lost, Some((1, 400)));
        assert_eq!(out[0].seq(), 401);
        // Seq 450 is in the ring but older than the copy's RECENT newest.
        out.clear();
        let got = r.read(&log, 450, 10, &mut out);
        assert_eq!((got.lost, out[0].seq()), (None, 450));
    }
}
