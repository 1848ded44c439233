//! What the manager hook costs an Asterisk thread per event: `EventLog::append`, plus encoding.
//!
//! Run: `cargo bench --bench hook_cost` (`HOOK_COST_ONLY=<text>` runs only the scenarios whose
//! name contains it). No harness, std::time only; prints one table. Bodies are
//! the real events of tests/fixtures (Asterisk 22.10.1, ~415 bytes on average), used in turn.
//! Each scenario is one function returning a [`Row`]; add one (e.g. with N connected clients on
//! the loop) by writing it and listing it in `SCENARIOS`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use res_ami_websocket::events::encode::{ami_to_json, ami_to_text};
use res_ami_websocket::events::ring::EventLog;

const CAPTURE: &str = include_str!("../tests/fixtures/hook-capture-22.10.1.jsonl");
/// Runs per scenario; the table shows their median, min and max.
const RUNS: usize = 7;
/// Events appended per run (split among the writers).
const EVENTS_PER_RUN: usize = 100_000;
/// Ring size for the append scenarios: full after the warm-up, so every append also evicts.
const CAPACITY: usize = 16_384;
/// Events the simulated loop takes per read.
const READ_BATCH: usize = 256;

type Scenario = (&'static str, fn(&[Body]) -> Row);

const SCENARIOS: &[Scenario] = &[
    ("append, 1 writer, no reader", |b| append_scenario(b, 1, false)),
    ("append, 4 writers, no reader", |b| append_scenario(b, 4, false)),
    ("append, 1 writer, loop thread draining", |b| append_scenario(b, 1, true)),
    ("append, 4 writers, loop thread draining", |b| append_scenario(b, 4, true)),
    ("append latency, 1 writer + loop", |b| latency_scenario(b, 1)),
    ("append latency, 4 writers + loop", |b| latency_scenario(b, 4)),
    ("ami_to_json (WsSeq), per event", |b| encode_scenario(b, |body| ami_to_json(body, SEQ).len())),
    ("ami_to_text (WsSeq), per event", |b| encode_scenario(b, |body| ami_to_text(body, SEQ).len())),
];

const SEQ: &[(&str, &str)] = &[("WsSeq", "123456")];

/// One captured event as the hook would get it.
struct Body {
    category: i32,
    name: Vec<u8>,
    body: Vec<u8>,
}

/// One line of the table.
struct Row {
    /// Main figure per run, in ns.
    samples: Vec<f64>,
    /// What the figure means.
    unit: &'static str,
    /// Anything else worth printing (wakes, percentiles).
    note: String,
}

fn main() {
    let bodies = captured_events();
    let mean = bodies.iter().map(|b| b.body.len()).sum::<usize>() / bodies.len().max(1);
    println!(
        "hook_cost: {} captured event bodies, mean {mean} bytes; {RUNS} runs each",
        bodies.len()
    );
    println!("{:<42} {:>9} {:>9} {:>9}  {:<24} note", "scenario", "median", "min", "max", "unit");
    let started = Instant::now();
    let only = std::env::var("HOOK_COST_ONLY").unwrap_or_default();
    for (name, run) in SCENARIOS.iter().filter(|(name, _)| name.contains(only.as_str())) {
        let mut row = run(&bodies);
        row.samples.sort_by(f64::total_cmp);
        let (min, max) = (row.samples[0], row.samples[row.samples.len() - 1]);
        let median = row.samples[row.samples.len() / 2];
        println!("{name:<42} {median:>9.1} {min:>9.1} {max:>9.1}  {:<24} {}", row.unit, row.note);
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}

fn captured_events() -> Vec<Body> {
    CAPTURE
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["kind"] == "event")
        .map(|v| Body {
            category: v["cat"].as_i64().unwrap_or(0) as i32,
            name: v["event"].as_str().unwrap_or("").as_bytes().to_vec(),
            body: v["body"].as_str().unwrap_or("").as_bytes().to_vec(),
        })
        .collect()
}

/// The network loop's part, reduced to what the hook feels: a mio waker, and a thread that takes
/// the wake and drains the ring. Later: N clients with cursors and sockets.
struct LoopSim {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: JoinHandle<u64>,
}

impl LoopSim {
    /// Starts the loop thread and returns it with the wake function to hand to `EventLog::new`.
    fn start(
        log_slot: Arc<std::sync::OnceLock<Arc<EventLog>>>,
    ) -> (LoopSim, Box<dyn Fn() + Send + Sync>) {
        let poll = Poll::new().expect("poll");
        let waker = Arc::new(Waker::new(poll.registry(), Token(0)).expect("waker"));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || drain_loop(poll, &stop, &log_slot))
        };
        let w = Arc::clone(&waker);
        (LoopSim { stop, waker, thread }, Box::new(move || drop(w.wake())))
    }

    /// Stops the loop; returns how many events it read.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        self.thread.join().expect("loop thread")
    }
}

fn drain_loop(mut poll: Poll, stop: &AtomicBool, log: &std::sync::OnceLock<Arc<EventLog>>) -> u64 {
    let mut events = Events::with_capacity(8);
    let (mut next, mut read) = (1u64, 0u64);
    let mut batch = Vec::with_capacity(READ_BATCH);
    while !stop.load(Ordering::SeqCst) {
        let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
        let Some(log) = log.get() else { continue };
        log.take_wake();
        loop {
            batch.clear();
            next = log.read(next, READ_BATCH, &mut batch).next;
            read += batch.len() as u64;
            if batch.is_empty() {
                break;
            }
        }
    }
    read
}

/// A log (full to capacity, as in steady state), optionally with the loop thread behind it.
fn make_log(bodies: &[Body], with_loop: bool) -> (Arc<EventLog>, Option<LoopSim>) {
    let slot = Arc::new(std::sync::OnceLock::new());
    let (sim, wake) = if with_loop {
        let (sim, wake) = LoopSim::start(Arc::clone(&slot));
        (Some(sim), wake)
    } else {
        (None, Box::new(|| {}) as Box<dyn Fn() + Send + Sync>)
    };
    let log = EventLog::new(CAPACITY, wake);
    let _ = slot.set(Arc::clone(&log));
    for b in bodies.iter().cycle().take(CAPACITY) {
        log.append(b.category, &b.name, &b.body);
    }
    (log, sim)
}

/// Runs `writers` threads appending `EVENTS_PER_RUN` events in all; returns the wall time and,
/// when `timed`, every call's duration in ns.
fn run_writers(
    log: &Arc<EventLog>,
    bodies: &[Body],
    writers: usize,
    timed: bool,
) -> (Duration, Vec<u32>) {
    let per = EVENTS_PER_RUN / writers;
    let barrier = Barrier::new(writers + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let (log, barrier) = (Arc::clone(log), &barrier);
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(if timed { per } else { 0 });
                    barrier.wait();
                    for b in bodies.iter().cycle().skip(t * 7).take(per) {
                        if timed {
                            let t0 = Instant::now();
                            log.append(b.category, &b.name, &b.body);
                            lat.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                        } else {
                            log.append(b.category, &b.name, &b.body);
                        }
                    }
                    lat
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let lats: Vec<Vec<u32>> = handles.into_iter().map(|h| h.join().expect("writer")).collect();
        (t0.elapsed(), lats.concat())
    })
}

fn append_scenario(bodies: &[Body], writers: usize, with_loop: bool) -> Row {
    let (log, sim) = make_log(bodies, with_loop);
    let wakes0 = log.stats().wakes;
    let samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let (wall, _) = run_writers(&log, bodies, writers, false);
            wall.as_nanos() as f64 / EVENTS_PER_RUN as f64
        })
        .collect();
    let stats = log.stats();
    let appended = (EVENTS_PER_RUN / writers * writers * RUNS) as f64;
    let wakes = stats.wakes - wakes0;
    let mut note = format!("wakes/1k events {:.1}", wakes as f64 * 1000.0 / appended);
    if let Some(sim) = sim {
        note += &format!(", loop read {}", sim.finish());
    }
    let unit = if writers == 1 { "ns/event" } else { "ns/event (wall, all thr)" };
    Row { samples, unit, note }
}

fn latency_scenario(bodies: &[Body], writers: usize) -> Row {
    let (log, sim) = make_log(bodies, true);
    let mut all = Vec::new();
    let samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let (_, mut lat) = run_writers(&log, bodies, writers, true);
            lat.sort_unstable();
            let median = f64::from(lat[lat.len() / 2]);
            all.extend_from_slice(&lat);
            median
        })
        .collect();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
    let note = format!(
        "all runs: p50 {} p99 {} p99.9 {} max {} ns (incl. timer)",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        all[all.len() - 1]
    );
    if let Some(sim) = sim {
        sim.finish();
    }
    Row { samples, unit: "ns/call median", note }
}

fn encode_scenario(bodies: &[Body], encode: fn(&[u8]) -> usize) -> Row {
    let per_run = 20_000;
    let mut out_bytes = 0usize;
    let samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            for b in bodies.iter().cycle().take(per_run) {
                out_bytes += std::hint::black_box(encode(std::hint::black_box(&b.body)));
            }
            t0.elapsed().as_nanos() as f64 / per_run as f64
        })
        .collect();
    let mean_out = out_bytes / (per_run * RUNS);
    Row { samples, unit: "ns/event", note: format!("mean output {mean_out} bytes") }
}
