//! The event log: one bounded ring of sequenced events, appended by the hook, read by the loop.
//!
//! Writers are Asterisk threads inside the manager hook, several at once. An append copies the
//! bytes into a new [`Event`] outside any lock, then holds a std mutex only to number the event
//! and push it (dropping the evicted one after unlocking), then wakes the reader unless a wake
//! is already pending. Its cost does not depend on the number of clients. Nothing on this path
//! uses parking_lot or a thread-local, so Asterisk's threads are left without destructors of ours.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::event::Event;
use crate::host::manager::EventSink;

/// Bounded, shared log of events numbered from 1.
pub struct EventLog {
    inner: Mutex<Inner>,
    capacity: usize,
    wake: Box<dyn Fn() + Send + Sync>,
    wake_pending: AtomicBool,
    wakes: AtomicU64,
}

struct Inner {
    slots: VecDeque<Slot>,
    /// The number the next appended event gets.
    next_seq: u64,
    /// Sum of `raw_len` of the events in the ring.
    bytes: usize,
}

struct Slot {
    event: Arc<Event>,
    /// Kept beside the pointer so evicting never touches the (cold) event under the lock.
    raw_len: usize,
}

/// What [`EventLog::read`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The sequence number to read from next time.
    pub next: u64,
    /// Inclusive range of wanted sequence numbers the ring had already overwritten.
    pub lost: Option<(u64, u64)>,
}

/// A consistent snapshot of the log's counters, for `ws show status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStats {
    /// Events appended since the log was made (= next_seq - 1).
    pub appended: u64,
    /// Times the wake callback ran (bursts are coalesced into one).
    pub wakes: u64,
    /// Events held now.
    pub len: usize,
    /// Most events held.
    pub capacity: usize,
    /// Oldest sequence number held (equals `next_seq` when empty).
    pub first_seq: u64,
    /// The number the next event will get.
    pub next_seq: u64,
    /// Name and body bytes held.
    pub bytes: usize,
}

impl EventLog {
    /// A log holding at most `capacity` events (at least 1); `wake` is called from the appending
    /// thread to wake the reader, at most once until the reader calls [`EventLog::take_wake`].
    /// `wake` runs on Asterisk's threads: it must be quick, must not block and must not panic
    /// (e.g. `mio::Waker::wake` with its error ignored).
    pub fn new(capacity: usize, wake: Box<dyn Fn() + Send + Sync>) -> Arc<EventLog> {
        let capacity = capacity.max(1);
        Arc::new(EventLog {
            inner: Mutex::new(Inner {
                slots: VecDeque::with_capacity(capacity),
                next_seq: 1,
                bytes: 0,
            }),
            capacity,
            wake,
            wake_pending: AtomicBool::new(false),
            wakes: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held, but never let a poisoned lock stop the hook.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Copies one event into the log and returns its sequence number. Called by the hook.
    pub fn append(&self, category: i32, name: &[u8], body: &[u8]) -> u64 {
        self.append_from(0, category, name, body)
    }

    /// As [`append`](Self::append), for an event raised while connection `origin` (non-zero)
    /// had an action running on this thread.
    pub fn append_from(&self, origin: u64, category: i32, name: &[u8], body: &[u8]) -> u64 {
        // The category is a bit set; keep its bits as they are.
        let mut event = Event::new(0, category as u32, name, body);
        event.set_origin(origin);
        let event = Arc::new(event);
        let raw_len = event.raw_len();
        let (seq, evicted) = {
            let mut inner = self.lock();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            event.set_seq(seq);
            let evicted =
                if inner.slots.len() >= self.capacity { inner.slots.pop_front() } else { None };
            if let Some(old) = &evicted {
                inner.bytes = inner.bytes.saturating_sub(old.raw_len);
            }
            inner.bytes += raw_len;
            inner.slots.push_back(Slot { event, raw_len });
            (seq, evicted)
        };
        // Freeing the overwritten event (if no client holds it) happens outside the lock.
        drop(evicted);
        self.signal();
        seq
    }

    /// Calls `wake` unless a wake is already pending (the reader has not taken it yet).
    fn signal(&self) {
        // The plain load keeps a burst from bouncing the flag's cache line between writers.
        if !self.wake_pending.load(Ordering::Relaxed)
            && !self.wake_pending.swap(true, Ordering::AcqRel)
        {
            self.wakes.fetch_add(1, Ordering::Relaxed);
            (self.wake)();
        }
    }

    /// For the reader, before it drains: clears the pending wake and says whether one was set.
    /// Any event appended after this call wakes the reader again.
    pub fn take_wake(&self) -> bool {
        self.wake_pending.swap(false, Ordering::AcqRel)
    }

    /// Appends to `out` the events numbered `from_seq` and later still in the ring, in order, at
    /// most `max` of them. If the ring has overwritten some wanted events, reports their range in
    /// `lost` and continues from the oldest one kept. `from_seq` 0 means 1. A `from_seq` beyond
    /// `next_seq()` yields nothing and comes back unchanged: callers check resume points.
    ///
    /// The lock is held while the `Arc`s are cloned, so keep `max` modest (a few hundred).
    pub fn read(&self, from_seq: u64, max: usize, out: &mut Vec<Arc<Event>>) -> ReadOutcome {
        let from = from_seq.max(1);
        let inner = self.lock();
        let first = first_seq_of(&inner);
        let (start, lost) =
            if from < first { (first, Some((from, first - 1))) } else { (from, None) };
        if start >= inner.next_seq {
            return ReadOutcome { next: start, lost };
        }
        let skip = usize::try_from(start - first).unwrap_or(usize::MAX);
        let before = out.len();
        out.extend(inner.slots.iter().skip(skip).take(max).map(|slot| Arc::clone(&slot.event)));
        let taken = (out.len() - before) as u64;
        ReadOutcome { next: start + taken, lost }
    }

    /// Oldest sequence number still held (equals `next_seq()` when the log is empty).
    pub fn first_seq(&self) -> u64 {
        first_seq_of(&self.lock())
    }

    /// The number the next appended event will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// Events held now.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether no event has been appended yet.
    pub fn is_empty(&self) -> bool {
        self.lock().slots.is_empty()
    }

    /// Most events held; older ones are overwritten.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// All counters at one instant.
    pub fn stats(&self) -> LogStats {
        let inner = self.lock();
        LogStats {
            appended: inner.next_seq - 1,
            wakes: self.wakes.load(Ordering::Relaxed),
            len: inner.slots.len(),
            capacity: self.capacity,
            first_seq: first_seq_of(&inner),
            next_seq: inner.next_seq,
            bytes: inner.bytes,
        }
    }
}

fn first_seq_of(inner: &Inner) -> u64 {
    inner.next_seq - inner.slots.len() as u64
}

impl EventSink for EventLog {
    fn event(&self, origin: u64, category: i32, name: &[u8], body: &[u8]) {
        self.append_from(origin, category, name, body);
    }
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog").field("stats", &self.stats()).finish()
    }
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
