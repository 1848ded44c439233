//! End-to-end benchmark of the module in the stand-in core, measured side by side in one run:
//! - hook cost per event (what Asterisk's event thread pays) with 0, 100 and 1,000 connected
//!   clients, and the 1,000/0 ratio (target: within 1.2x);
//! - events delivered per second to 100 clients, with loss checked (must be zero);
//! - latency from the hook call to client receipt, p50/p99, events 5 ms apart, 1 and 100 clients.
//!
//! `cargo bench --bench ws_load` (builds the module and the stand-in first). Prints a table.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::ws::{WsClient, connect};
use common::{Opts, StandIn};
use tungstenite::Message;

const READER_THREADS: usize = 4;

/// What the readers saw.
#[derive(Default)]
struct Seen {
    events: AtomicU64,
    gaps: AtomicU64,
    lost_notices: AtomicU64,
}

/// Clients spread over a few threads, reading non-blocking until stopped.
struct Readers {
    stop: Arc<AtomicBool>,
    seen: Arc<Seen>,
    latencies: Arc<std::sync::Mutex<Vec<u64>>>,
    threads: Vec<JoinHandle<()>>,
}

fn find_num(text: &str, key: &str) -> Option<u128> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

impl Readers {
    fn start(clients: Vec<WsClient>) -> Readers {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Seen::default());
        let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut groups: Vec<Vec<WsClient>> = (0..READER_THREADS).map(|_| Vec::new()).collect();
        for (i, c) in clients.into_iter().enumerate() {
            c.ws.get_ref().set_nonblocking(true).unwrap();
            groups[i % READER_THREADS].push(c);
        }
        let threads = groups
            .into_iter()
            .map(|mut group| {
                let (stop, seen, lat) = (stop.clone(), seen.clone(), latencies.clone());
                std::thread::spawn(move || {
                    let mut last: Vec<Option<u128>> = vec![None; group.len()];
                    let mut local_lat = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let mut idle = true;
                        for (i, c) in group.iter_mut().enumerate() {
                            loop {
                                match c.ws.read() {
                                    Ok(Message::Text(t)) => {
                                        idle = false;
                                        let t = t.as_str();
                                        if t.contains("WsEventsLost") {
                                            seen.lost_notices.fetch_add(1, Ordering::Relaxed);
                                        }
                                        let Some(seq) = find_num(t, "\"WsSeq\":\"") else {
                                            continue;
                                        };
                                        if let Some(prev) = last[i] {
                                            if seq != prev + 1 {
                                                seen.gaps.fetch_add(1, Ordering::Relaxed);
                                            }
                                        }
                                        last[i] = Some(seq);
                                        seen.events.fetch_add(1, Ordering::Relaxed);
                                        if let Some(sent) = find_num(t, "\"SentNs\":\"") {
                                            local_lat.push(now_ns().saturating_sub(sent) as u64);
                                        }
                                    }
                                    Ok(_) => idle = false,
                                    Err(_) => break,
                                }
                            }
                        }
                        if idle {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                    lat.lock().unwrap().extend(local_lat);
                })
            })
            .collect();
        Readers { stop, seen, latencies, threads }
    }

    fn stop(self) -> (Arc<Seen>, Vec<u64>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        let lat = std::mem::take(&mut *self.latencies.lock().unwrap());
        (self.seen, lat)
    }
}

/// `n` logged-in clients that only see the burst's UserEvents (read=user).
fn clients(port: u16, n: usize) -> Vec<WsClient> {
    (0..n)
        .map(|_| {
            let mut c = connect(port);
            let r = c.login("bench", "benchpw");
            assert_eq!(common::ws::field(&r, "Response"), "Success", "{r}");
            c
        })
        .collect()
}

fn hookstats(s: &StandIn) -> (u64, u64, u64, u64) {
    let out = s.rx("standin hookstats");
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (get("count"), get("mean"), get("p50"), get("p99"))
}

fn burst(s: &StandIn, n: u64, rate: u64, timeout: Duration) {
    let before = s.log().matches("burst done").count();
    let out = s.rx(&format!("traffic burst {n} {rate}"));
    assert!(!out.contains("already"), "{out}");
    let deadline = Instant::now() + timeout;
    while s.log().matches("burst done").count() == before {
        assert!(Instant::now() < deadline, "burst did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn raise_fd_limit(pid: u32) {
    let lim = libc::rlimit { rlim_cur: 20000, rlim_max: 20000 };
    // SAFETY: plain syscalls on this process and on our own child, with a valid struct.
    unsafe {
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::prlimit(pid as i32, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut());
    }
}

fn main() {
    let manager = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
                   [bench]\nsecret = benchpw\nread = user\nwrite = all\n";
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nmax_clients = 5000\n\
         max_clients_per_ip = 5000\nring_size = 1048576\n"
    );
    let s = StandIn::start(
        &[("manager.conf", manager), ("ami_websocket.conf", &conf)],
        Opts { max_lifetime: Duration::from_secs(600), ..Opts::default() },
    );
    raise_fd_limit(s.pid());
    println!(
        "res_ami_websocket end-to-end benchmark (stand-in core, loopback, 2 cores shared by core, module and clients)\n"
    );

    // 1. Hook cost vs connected clients: 20,000 events at 20,000/s each time.
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10}",
        "hook cost per event (ns)", "events", "mean", "p50", "p99"
    );
    let mut p50s = Vec::new();
    let mut connected: Vec<WsClient> = Vec::new();
    for n in [0usize, 100, 1000] {
        connected.extend(clients(port, n - connected.len()));
        let readers = Readers::start(std::mem::take(&mut connected));
        std::thread::sleep(Duration::from_millis(200));
        s.rx("standin hookstats reset");
        burst(&s, 20_000, 20_000, Duration::from_secs(60));
        let (count, mean, p50, p99) = hookstats(&s);
        println!(
            "{:<44} {count:>10} {mean:>10} {p50:>10} {p99:>10}",
            format!("  {n} clients connected")
        );
        p50s.push((n, p50, mean));
        std::thread::sleep(Duration::from_millis(500));
        let (_seen, _) = readers.stop();
        connected = Vec::new();
        // Readers own the clients; reconnect the same count for the next step.
        connected.extend(clients(port, n));
    }
    let (_, p50_0, mean_0) = p50s[0];
    let (_, p50_1000, mean_1000) = p50s[2];
    println!(
        "  ratio 1,000 clients / 0 clients: p50 {:.2}x, mean {:.2}x (target <= 1.2x)\n",
        p50_1000 as f64 / p50_0.max(1) as f64,
        mean_1000 as f64 / mean_0.max(1) as f64
    );
    drop(connected);
    std::thread::sleep(Duration::from_millis(500));

    // 2. Throughput to 100 clients, loss checked.
    let n_events = 50_000u64;
    let readers = Readers::start(clients(port, 100));
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    s.rx(&format!("traffic burst {n_events} 0"));
    let expected = n_events * 100;
    let deadline = Instant::now() + Duration::from_secs(120);
    while readers.seen.events.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = start.elapsed().as_secs_f64();
    let (seen, _) = readers.stop();
    let got = seen.events.load(Ordering::Relaxed);
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:>8}",
        "throughput, 100 clients", "events/s", "deliveries/s", "lost", "gaps"
    );
    println!(
        "{:<44} {:>12.0} {:>12.0} {:>8} {:>8}\n",
        format!("  {n_events} events as fast as the core raises"),
        n_events as f64 / secs,
        got as f64 / secs,
        expected.saturating_sub(got) + seen.lost_notices.load(Ordering::Relaxed),
        seen.gaps.load(Ordering::Relaxed)
    );
    std::thread::sleep(Duration::from_millis(500));

    // 3. Latency, events 5 ms apart (200/s), hook call -> client has it.
    println!("{:<44} {:>10} {:>10} {:>10}", "latency hook -> client (us)", "samples", "p50", "p99");
    for n in [1usize, 100] {
        let readers = Readers::start(clients(port, n));
        std::thread::sleep(Duration::from_millis(200));
        burst(&s, 1000, 200, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(300));
        let (_, mut lat) = readers.stop();
        let samples = lat.len();
        let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
        println!(
            "{:<44} {samples:>10} {:>10.1} {:>10.1}",
            format!("  {n} client(s), 1000 events 5 ms apart"),
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0
        );
    }
}
