//! Soak: the module in the stand-in core for N minutes under everything at once, checking that
//! nothing is lost to healthy clients and that memory and fds do not grow.
//!
//! - events at a steady rate (UserEvent bursts, 200/s) plus simulated calls (`--traffic 2`);
//! - 1,000 clients: 50 healthy readers (every UserEvent counted and timed), 900 idle logged-in
//!   clients, reconnect storms (connect, log in, drop, again), slow readers that never read,
//!   bad frames (unmasked, invalid UTF-8, oversize, binary) on fresh connections;
//! - `module reload` every 10 s while events flow; unload + load every `SOAK_CYCLE_SECS` (60),
//!   after which every client reconnects at once.
//!
//! Prints per period RSS, fds and threads of the core, events lost to healthy clients and
//! their latency percentiles; exits non-zero if any healthy client lost an event or if fds or
//! the heap in use grew between the first unload/load cycle after the warm-up (`SOAK_WARMUP_SECS`,
//! 300: the stand-in's bounded logs fill meanwhile) and the last.
//!
//! `cargo bench --bench soak` (30 minutes); `SOAK_SECONDS=60 SOAK_CYCLE_SECS=20 cargo bench
//! --bench soak` is the CI run. Loopback only.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::raw::{connect_small_rcvbuf, frame};
use common::ws::{WsClient, connect_over, field, try_connect};
use common::{Opts, StandIn};
use tungstenite::Message;

const HEALTHY: usize = 50;
const SLOW: usize = 10;
const STORM_THREADS: usize = 2;
const TOTAL_CLIENTS: usize = 1000;
/// UserEvents per second, and per window (one burst).
const RATE: u64 = 200;
const WINDOW_EVENTS: u64 = 1000;

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nauthlimit = 500\n\n\
[healthy]\nsecret = pw\nread = user\nwrite = all\nallowmultiplelogin = yes\n\n\
[idle]\nsecret = pw\nread = system\nwrite = all\n\n\
[storm]\nsecret = pw\nread = all\nwrite = all\n";

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn find_num(text: &str, key: &str) -> Option<u128> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Logs in as `user`, retrying while the module is away (unload) for up to 60 s.
fn login(port: u16, user: &str) -> WsClient {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut c) = try_connect(port, None, None) {
            let id = c.send_action(&[("Action", "Login"), ("Username", user), ("Secret", "pw")]);
            if let Some(r) = c.response(&id, Duration::from_secs(10)) {
                if field(&r, "Response") == "Success" {
                    return c;
                }
            }
        }
        assert!(Instant::now() < deadline, "cannot log in as {user}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Shared state of the healthy readers.
#[derive(Default)]
struct Healthy {
    /// Burst events received, per client.
    received: Vec<AtomicU64>,
    /// Clients logged in right now.
    connected: AtomicUsize,
    /// Latencies (us) since the last report.
    latencies: Mutex<Vec<u64>>,
}

fn healthy_thread(port: u16, ids: Vec<usize>, h: Arc<Healthy>, stop: Arc<AtomicBool>) {
    let mut clients: Vec<Option<WsClient>> = ids.iter().map(|_| None).collect();
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        for (slot, &id) in clients.iter_mut().zip(&ids) {
            if slot.is_none() {
                let c = login(port, "healthy");
                c.ws.get_ref().set_nonblocking(true).unwrap();
                *slot = Some(c);
                h.connected.fetch_add(1, Ordering::SeqCst);
            }
            let Some(c) = slot.as_mut() else { continue };
            loop {
                match c.ws.read() {
                    Ok(Message::Text(t)) => {
                        idle = false;
                        let t = t.as_str();
                        if t.contains("\"UserEvent\":\"Burst\"") {
                            h.received[id].fetch_add(1, Ordering::Relaxed);
                            if let Some(sent) = find_num(t, "\"SentNs\":\"") {
                                let us = now_ns().saturating_sub(sent) / 1000;
                                h.latencies.lock().unwrap().push(us as u64);
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        break;
                    }
                    Err(_) => {
                        // Closed (unload sends 1001): reconnect on the next pass.
                        *slot = None;
                        h.connected.fetch_sub(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Connect, log in, drop, again: a reconnect storm.
fn storm_thread(port: u16, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut c) = try_connect(port, None, None) {
            let _ = c.send_action(&[("Action", "Login"), ("Username", "storm"), ("Secret", "pw")]);
            std::thread::sleep(Duration::from_millis(20));
            count.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Slow readers (read=all, tiny receive buffer, never read), replaced every few seconds, and
/// bad frames on fresh connections.
fn nuisance_thread(port: u16, stop: Arc<AtomicBool>, bad: Arc<AtomicU64>) {
    let mut slow: Vec<WsClient> = Vec::new();
    let mut last_refresh = Instant::now() - Duration::from_secs(60);
    let bad_frames: Vec<Vec<u8>> = vec![
        frame(0x1, b"{\"Action\":\"Ping\"}", false),
        frame(0x1, b"{\"Action\":\"\xff\xfe\"}", true),
        frame(0x1, &vec![b'a'; 70_000], true),
        frame(0x2, b"\x00\x01", true),
        frame(0x9, &[b'p'; 126], true),
    ];
    let mut k = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if last_refresh.elapsed() > Duration::from_secs(5) {
            slow.clear();
            for _ in 0..SLOW {
                let sock = connect_small_rcvbuf(port, 4096);
                if let Ok(mut c) = connect_over(sock, port, None) {
                    let id = c.send_action(&[
                        ("Action", "Login"),
                        ("Username", "storm"),
                        ("Secret", "pw"),
                    ]);
                    let _ = c.response(&id, Duration::from_secs(5));
                    slow.push(c);
                }
            }
            last_refresh = Instant::now();
        }
        if let Some(mut s) = try_handshake(port) {
            let _ = s.write_all(&bad_frames[k % bad_frames.len()]);
            k += 1;
            bad.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A raw upgraded connection, or None while the module is away (unload/load).
fn try_handshake(port: u16) -> Option<std::net::TcpStream> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("GET /ami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for h in common::raw::UPGRADE_HEADERS {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    head.starts_with(b"HTTP/1.1 101").then_some(s)
}

/// The core's heap in use and the freed heap its allocator keeps (KiB), from `standin show
/// resources` (glibc `mallinfo2`): the first leaves out, unlike RSS, freed memory kept for reuse.
fn heap_kib(s: &StandIn) -> (u64, u64) {
    let [in_use, kept_free] = s.resource_counts(["heap in use:", "heap kept free:"]);
    (in_use / 1024, kept_free / 1024)
}

/// What the soak reads from the core just after each unload/load and reconnect storm.
struct CycleSample {
    /// Seconds since the soak started.
    at_secs: u64,
    /// Resident set size (KiB).
    rss: u64,
    /// Open fds other than client connections.
    own_fds: usize,
    /// Heap in use (KiB).
    heap: u64,
    /// Freed heap the allocator keeps (KiB).
    kept_free: u64,
}

/// Core RSS (KiB), fds and threads.
fn resources(s: &StandIn) -> (u64, usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let (threads, fds) = s.resources();
    (rss, fds, threads)
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn burst(s: &StandIn, reload_midway: bool) {
    let before = s.log().matches("burst done").count();
    let out = s.rx(&format!("traffic burst {WINDOW_EVENTS} {RATE}"));
    assert!(!out.contains("already"), "{out}");
    let start = Instant::now();
    let mut reloaded = !reload_midway;
    while s.log().matches("burst done").count() == before {
        if !reloaded && start.elapsed() >= Duration::from_millis(WINDOW_EVENTS * 500 / RATE) {
            let out = s.rx("module reload res_ami_websocket.so");
            assert!(!out.contains("rror"), "reload: {out}");
            reloaded = true;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "burst did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let seconds = env_secs("SOAK_SECONDS", env_secs("SOAK_MINUTES", 30) * 60);
    let cycle = Duration::from_secs(env_secs("SOAK_CYCLE_SECS", 60));
    let report_every = Duration::from_secs(env_secs("SOAK_REPORT_SECS", 60.min(seconds)));
    common::raw::raise_fd_limit();
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nmax_clients = 5000\n\
         max_clients_per_ip = 5000\nmessages_per_second = 1000\n"
    );
    let s = StandIn::start(
        &[("manager.conf", MANAGER), ("ami_websocket.conf", &conf)],
        Opts {
            traffic: Some(2.0),
            max_lifetime: Duration::from_secs(seconds + 600),
            ..Opts::default()
        },
    );
    println!(
        "soak: {seconds} s, {TOTAL_CLIENTS} clients ({HEALTHY} healthy readers, {SLOW} slow, \
         {STORM_THREADS} storm loops, bad frames, the rest idle), {RATE} UserEvents/s + 2 calls/s, \
         reload every 10 s, unload/load every {} s",
        cycle.as_secs()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let healthy = Arc::new(Healthy {
        received: (0..HEALTHY).map(|_| AtomicU64::new(0)).collect(),
        ..Healthy::default()
    });
    let storms = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    for part in 0..2 {
        let ids: Vec<usize> = (0..HEALTHY).filter(|i| i % 2 == part).collect();
        let (h, st) = (healthy.clone(), stop.clone());
        threads.push(std::thread::spawn(move || healthy_thread(port, ids, h, st)));
    }
    for _ in 0..STORM_THREADS {
        let (st, c) = (stop.clone(), storms.clone());
        threads.push(std::thread::spawn(move || storm_thread(port, st, c)));
    }
    {
        let (st, b) = (stop.clone(), bad.clone());
        threads.push(std::thread::spawn(move || nuisance_thread(port, st, b)));
    }
    let idle_count = TOTAL_CLIENTS - HEALTHY - SLOW - STORM_THREADS - 1;
    let connect_idle = || (0..idle_count).map(|_| login(port, "idle")).collect::<Vec<_>>();
    let mut idle = connect_idle();

    let start = Instant::now();
    let mut windows = 0u64;
    let mut last_cycle = Instant::now();
    let mut last_report = Instant::now();
    let warmup = env_secs("SOAK_WARMUP_SECS", 300);
    let mut cycle_samples: Vec<CycleSample> = Vec::new();
    let mut failed = false;
    let lost = |windows: u64| -> u64 {
        healthy
            .received
            .iter()
            .map(|r| (windows * WINDOW_EVENTS).abs_diff(r.load(Ordering::Relaxed)))
            .sum()
    };
    println!(
        "{:>6} {:>9} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6}",
        "t(s)",
        "RSS(KiB)",
        "fds",
        "threads",
        "windows",
        "lost",
        "p50(us)",
        "p99(us)",
        "max(us)",
        "storms",
        "bad"
    );
    while start.elapsed() < Duration::from_secs(seconds) {
        // Every healthy reader is connected before a window starts, so each must see it all.
        let deadline = Instant::now() + Duration::from_secs(60);
        while healthy.connected.load(Ordering::SeqCst) < HEALTHY {
            assert!(Instant::now() < deadline, "healthy readers did not reconnect");
            std::thread::sleep(Duration::from_millis(20));
        }
        burst(&s, true);
        windows += 1;
        let deadline = Instant::now() + Duration::from_secs(10);
        while lost(windows) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if last_report.elapsed() >= report_every || start.elapsed() >= Duration::from_secs(seconds)
        {
            let mut lat = std::mem::take(&mut *healthy.latencies.lock().unwrap());
            let (rss, fds, threads) = resources(&s);
            println!(
                "{:>6} {rss:>9} {fds:>5} {threads:>7} {windows:>7} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6}",
                start.elapsed().as_secs(),
                lost(windows),
                pct(&mut lat, 0.5),
                pct(&mut lat, 0.99),
                lat.last().copied().unwrap_or(0),
                storms.load(Ordering::Relaxed),
                bad.load(Ordering::Relaxed)
            );
            last_report = Instant::now();
        }
        if lost(windows) > 0 {
            println!("FAIL: healthy clients lost {} events", lost(windows));
            failed = true;
            break;
        }
        if last_cycle.elapsed() >= cycle {
            for cmd in ["module unload", "module load"] {
                let out = s.rx(&format!("{cmd} res_ami_websocket.so"));
                assert!(!out.contains("rror"), "{cmd}: {out}");
            }
            // The soak does not read the stand-in's hook timings; clearing them each cycle keeps
            // that store (up to 8 MiB of samples) from growing the core's heap over the run.
            s.rx("standin hookstats reset");
            drop(idle);
            idle = connect_idle();
            std::thread::sleep(Duration::from_secs(1));
            let (rss, fds, threads) = resources(&s);
            let (heap, kept_free) = heap_kib(&s);
            let connections = common::ws::clients(&s).1;
            // Compared across cycles: the fds not held by a client connection (how many slow
            // readers and storm connections are open at the sample moment varies).
            let own = fds.saturating_sub(connections);
            println!(
                "       after unload/load and {TOTAL_CLIENTS} reconnects: RSS {rss} KiB, heap in use \
                 {heap} KiB (kept free {kept_free} KiB), {fds} fds ({connections} client connections, {own} other), {threads} threads"
            );
            cycle_samples.push(CycleSample {
                at_secs: start.elapsed().as_secs(),
                rss,
                own_fds: own,
                heap,
                kept_free,
            });
            last_cycle = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    drop(idle);
    // The baseline: the first cycle after the warm-up, if a later one exists (then allocator
    // noise of 5% + 4 MiB is allowed); else the first cycle, when the stand-in's bounded logs
    // are still filling (10% + 16 MiB).
    let after_warmup = cycle_samples.iter().position(|c| c.at_secs >= warmup);
    let (baseline, slack_kib): (usize, fn(u64) -> u64) = match after_warmup {
        Some(k) if k + 1 < cycle_samples.len() => (k, |heap| heap / 20 + 4 * 1024),
        _ => (0, |heap| heap / 10 + 16 * 1024),
    };
    if let (Some(first), Some(last)) = (cycle_samples.get(baseline), cycle_samples.last()) {
        if cycle_samples.len() >= baseline + 2 {
            println!(
                "growth compared from cycle {} (t = {} s) to cycle {} (t = {} s)",
                baseline + 1,
                first.at_secs,
                cycle_samples.len(),
                last.at_secs
            );
            // Same phase each time (just after a load and the reconnect storm): fds other than
            // client connections must come back to the same count.
            if last.own_fds > first.own_fds + 8 {
                println!(
                    "FAIL: fds other than client connections grew from {} to {} across cycles",
                    first.own_fds, last.own_fds
                );
                failed = true;
            }
            // Memory held: the heap in use (a leak grows it). RSS also counts freed memory the
            // allocator keeps for reuse, so its growth alone is reported, not failed.
            if last.heap > first.heap + slack_kib(first.heap) {
                println!(
                    "FAIL: heap in use grew from {} to {} KiB across cycles",
                    first.heap, last.heap
                );
                failed = true;
            }
            if last.rss > first.rss + first.rss / 10 + 16 * 1024 {
                println!(
                    "note: RSS grew from {} to {} KiB across cycles (heap in use {} -> {} KiB, \
                     freed heap kept by the allocator {} -> {} KiB)",
                    first.rss, last.rss, first.heap, last.heap, first.kept_free, last.kept_free
                );
            }
        } else {
            println!("note: fewer than 2 unload/load cycles; growth not compared");
        }
    }
    assert!(s.rx("module show like res_ami_websocket").contains("Running"), "module not running");
    if failed {
        std::process::exit(1);
    }
    println!(
        "soak: passed: {windows} windows x {WINDOW_EVENTS} events to {HEALTHY} healthy clients, 0 lost"
    );
}
