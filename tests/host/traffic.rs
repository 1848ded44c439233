//! Event traffic: persistent worker threads that run simulated calls (so events arrive from
//! several threads, as from Asterisk's channel and stasis threads), a generator of calls at a
//! chosen rate (life-cycle calls of the demo phones, lifecycle.rs, while phones are idle), the
//! replay of the recorded fixture, and UserEvent bursts for load tests.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::calls::Call;
use crate::hook::{self, USER};
use crate::logger::NOTICE;
use crate::{fixture, slog, world};

/// Worker threads running calls.
pub const WORKERS: usize = 3;

enum Job {
    Start(u64, Call),
    Wake(u64),
}

static SENDERS: OnceLock<Vec<Mutex<Sender<Job>>>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Calls per second of the generator, as f64 bits; 0 = off.
static RATE_BITS: AtomicU64 = AtomicU64::new(0);
static RATE_CHANGED: (Mutex<u64>, std::sync::Condvar) = (Mutex::new(0), std::sync::Condvar::new());
static BURSTING: AtomicBool = AtomicBool::new(false);
static RNG: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

/// A small xorshift generator (no crates needed for jitter).
pub fn rand_u64() -> u64 {
    let mut x = RNG.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    RNG.store(x, Ordering::Relaxed);
    x
}

fn rand_ms(lo: u64, hi: u64) -> Duration {
    Duration::from_millis(lo + rand_u64() % (hi - lo).max(1))
}

/// Starts the workers and the (idle) generator. Called once at startup.
pub fn start() {
    let mut senders = Vec::new();
    for i in 0..WORKERS {
        let (tx, rx) = channel();
        let spawned =
            std::thread::Builder::new().name(format!("calls-{i}")).spawn(move || worker(i, rx));
        if spawned.is_ok() {
            senders.push(Mutex::new(tx));
        }
    }
    let _ = SENDERS.set(senders);
    let _ = std::thread::Builder::new().name("traffic".into()).spawn(generator);
}

fn send(worker: usize, job: Job) {
    if let Some(tx) = SENDERS.get().and_then(|s| s.get(worker)) {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(job);
    }
}

/// Hands a call to a worker (round robin). Returns (worker, call id).
pub fn start_call(call: Call) -> (usize, u64) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let worker = (id as usize) % WORKERS;
    send(worker, Job::Start(id, call));
    (worker, id)
}

/// Wakes the call driving a channel (after a Hangup request).
pub fn wake(worker: usize, id: u64) {
    send(worker, Job::Wake(id));
}

fn worker(index: usize, rx: Receiver<Job>) {
    let mut calls: HashMap<u64, (Call, u64)> = HashMap::new();
    let mut due: BinaryHeap<Reverse<(Instant, u64, u64)>> = BinaryHeap::new();
    loop {
        let timeout =
            due.peek().map(|Reverse((t, _, _))| t.saturating_duration_since(Instant::now()));
        let job = match timeout {
            Some(t) => rx.recv_timeout(t),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match job {
            Ok(Job::Start(id, call)) => {
                calls.insert(id, (call, 0));
                due.push(Reverse((Instant::now(), id, 0)));
            }
            Ok(Job::Wake(id)) => {
                if let Some((_, gen_)) = calls.get_mut(&id) {
                    *gen_ += 1;
                    due.push(Reverse((Instant::now(), id, *gen_)));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while due.peek().is_some_and(|Reverse((t, _, _))| *t <= Instant::now()) {
            let Some(Reverse((_, id, gen_))) = due.pop() else { break };
            let Some((call, current)) = calls.get_mut(&id) else { continue };
            if *current != gen_ {
                continue;
            }
            match call.run(index, id) {
                Some(wait) => {
                    call.bind(index, id);
                    *current += 1;
                    due.push(Reverse((Instant::now() + wait, id, *current)));
                }
                None => {
                    calls.remove(&id);
                }
            }
        }
    }
}

/// The generator's rate in calls per second (0 = off).
pub fn rate() -> f64 {
    f64::from_bits(RATE_BITS.load(Ordering::Relaxed))
}

/// Sets the generator's rate (0 stops it).
pub fn set_rate(calls_per_sec: f64) {
    let r = if calls_per_sec.is_finite() && calls_per_sec > 0.0 { calls_per_sec } else { 0.0 };
    RATE_BITS.store(r.to_bits(), Ordering::Relaxed);
    let (lock, cv) = &RATE_CHANGED;
    *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    cv.notify_all();
}

fn generator() {
    let (lock, cv) = &RATE_CHANGED;
    let mut next = Instant::now();
    loop {
        let r = rate();
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if r <= 0.0 {
            let _unused = cv.wait(guard);
            next = Instant::now();
            continue;
        }
        let wait = next.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            let seen = *guard;
            let (g, _) = cv.wait_timeout(guard, wait).unwrap_or_else(|e| e.into_inner());
            if *g != seen {
                next = Instant::now();
            }
            continue;
        }
        drop(guard);
        // A life-cycle call between idle demo phones when three are idle; otherwise, at load
        // rates (2 calls/s or more), a short call between numbered endpoints on the workers.
        if !crate::lifecycle::start() && r >= 2.0 {
            let from = 1000 + (rand_u64() % 9000) as u32;
            let to = 1000 + (rand_u64() % 9000) as u32;
            start_call(Call::new(
                crate::scripts::traffic_call(from, to, rand_ms(300, 2000), rand_ms(2000, 8000)),
                None,
            ));
        }
        next += Duration::from_secs_f64(1.0 / r);
        if next + Duration::from_secs(1) < Instant::now() {
            next = Instant::now();
        }
    }
}

/// Raises the fixture's recorded events in order, with fresh timestamps, from a new thread.
/// `speed` 0 = as fast as possible, else the recording's pace times `speed`.
pub fn replay(speed: f64) -> usize {
    let events = fixture::events();
    let n = events.len();
    let _ = std::thread::Builder::new().name("replay".into()).spawn(move || {
        let start = Instant::now();
        let first = events.first().map(|e| e.at).unwrap_or_default();
        for e in &events {
            if speed > 0.0 {
                let target = start + Duration::from_secs_f64(((e.at - first) / speed).max(0.0));
                std::thread::sleep(target.saturating_duration_since(Instant::now()));
            }
            let body = fixture::refresh_timestamp(&e.body);
            if hook::ENABLED.load(Ordering::Relaxed) {
                hook::deliver(e.category, &e.name, &body);
            }
        }
        slog!(
            NOTICE,
            "standin: replayed {} recorded events in {:.3} s",
            events.len(),
            start.elapsed().as_secs_f64()
        );
    });
    n
}

/// Nanoseconds since the epoch (CLOCK_REALTIME), for latency measurements across processes.
pub fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Raises `count` UserEvents (`UserEvent: Burst`, `Seq`, `SentNs`) at `per_sec` from a new thread.
/// False when a burst is already running.
pub fn burst(count: u64, per_sec: f64) -> bool {
    if BURSTING.swap(true, Ordering::SeqCst) {
        return false;
    }
    let spawned = std::thread::Builder::new().name("burst".into()).spawn(move || {
        let start = Instant::now();
        for seq in 0..count {
            if per_sec > 0.0 {
                let target = start + Duration::from_secs_f64(seq as f64 / per_sec);
                let ahead = target.saturating_duration_since(Instant::now());
                if ahead > Duration::from_micros(200) {
                    std::thread::sleep(ahead - Duration::from_micros(100));
                }
                while Instant::now() < target {
                    std::hint::spin_loop();
                }
            }
            let fields = format!("UserEvent: Burst\r\nSeq: {seq}\r\nSentNs: {}\r\n", now_ns());
            hook::bus_event(USER, "UserEvent", &fields);
        }
        let secs = start.elapsed().as_secs_f64();
        slog!(NOTICE, "standin: burst done: {count} events in {secs:.3} s");
        BURSTING.store(false, Ordering::SeqCst);
    });
    if spawned.is_err() {
        BURSTING.store(false, Ordering::SeqCst);
        return false;
    }
    true
}

/// Live channels count (for `traffic show`).
pub fn live_channels() -> usize {
    world::with(|w| w.channels.len())
}
