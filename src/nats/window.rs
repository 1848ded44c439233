//! Events sent to NATS and not yet confirmed: written to the socket (core NATS) or
//! acknowledged by JetStream. After a reconnect the publisher starts again at the oldest
//! unconfirmed event, so nothing is lost across a server restart.
#![forbid(unsafe_code)]

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// The sent-but-unconfirmed window, in sequence order.
#[derive(Debug, Default)]
pub struct Window {
    /// (sequence number, byte offset in the output stream where its frame ends, when sent).
    sent: VecDeque<(u64, u64, Instant)>,
    /// JetStream acks that arrived for events behind an older unacknowledged one.
    early: BTreeSet<u64>,
}

impl Window {
    /// Events in the window.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// Whether nothing is waiting for confirmation.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// Records an event whose frame ends at byte `end` of the output stream.
    pub fn push(&mut self, seq: u64, end: u64, now: Instant) {
        self.sent.push_back((seq, end, now));
    }

    /// Core NATS: confirms every event whose frame is completely written (`written` bytes of
    /// the output stream so far). Returns how many were confirmed.
    pub fn written(&mut self, written: u64) -> usize {
        let mut n = 0;
        while self.sent.front().is_some_and(|&(_, end, _)| end <= written) {
            self.sent.pop_front();
            n += 1;
        }
        n
    }

    /// JetStream: the ack for `seq` arrived. Returns how many events left the window (acks
    /// may overtake each other; the window only moves past a contiguous acknowledged run).
    pub fn acked(&mut self, seq: u64) -> usize {
        if !self.sent.iter().any(|&(s, _, _)| s == seq) {
            return 0;
        }
        self.early.insert(seq);
        let mut n = 0;
        while let Some(&(front, _, _)) = self.sent.front() {
            if !self.early.remove(&front) {
                break;
            }
            self.sent.pop_front();
            n += 1;
        }
        n
    }

    /// When the oldest unconfirmed event was sent.
    pub fn oldest_sent_at(&self) -> Option<Instant> {
        self.sent.front().map(|&(_, _, at)| at)
    }

    /// Forgets everything (the connection dropped) and returns the sequence number to send
    /// again from, if anything was unconfirmed.
    pub fn rewind(&mut self) -> Option<u64> {
        let first = self.sent.front().map(|&(s, _, _)| s);
        self.sent.clear();
        self.early.clear();
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_mode_confirms_what_is_fully_written() {
        let now = Instant::now();
        let mut w = Window::default();
        w.push(1, 100, now);
        w.push(2, 250, now);
        w.push(5, 300, now);
        assert_eq!(w.written(99), 0);
        assert_eq!(w.written(260), 2);
        assert_eq!(w.len(), 1);
        assert_eq!(w.rewind(), Some(5));
        assert!(w.is_empty());
        assert_eq!(w.rewind(), None);
    }

    #[test]
    fn jetstream_acks_move_the_window_only_past_a_contiguous_run() {
        let now = Instant::now();
        let mut w = Window::default();
        for s in [3, 4, 7, 8] {
            w.push(s, 0, now);
        }
        assert_eq!(w.acked(4), 0, "3 is still unacknowledged");
        assert_eq!(w.acked(99), 0, "not sent: ignored");
        assert_eq!(w.acked(3), 2);
        assert_eq!(w.acked(8), 0);
        assert_eq!(w.rewind(), Some(7), "resend from the oldest unacknowledged");
    }
}
