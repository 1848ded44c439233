//! The NATS publisher's cost and throughput, side by side in one run against a real
//! nats-server (Debian's package, started here on a loopback port) with 100 WebSocket clients
//! connected throughout:
//! - hook cost per event (what Asterisk's event thread pays) with the publisher off, on, and on
//!   with the server unreachable;
//! - events per second published to NATS and received by a NATS subscriber, while the same
//!   events go to the 100 WebSocket clients, with loss checked on both sides.
//!
//! `cargo bench --bench nats_publish`. Prints a table.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::nats::{NatsClient, NatsServer};
use common::ws::WsClient;
use common::{Opts, StandIn};
use serde_json::json;

const CLIENTS: usize = 100;

/// Counts Burst events read by a set of WebSocket clients on one thread.
fn ws_readers(mut clients: Vec<WsClient>, stop: Arc<AtomicBool>, seen: Arc<AtomicU64>) {
    for c in &clients {
        c.ws.get_ref().set_nonblocking(true).unwrap();
    }
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        for c in &mut clients {
            while let Ok(m) = c.ws.read() {
                idle = false;
                if m.to_text().is_ok_and(|t| t.contains("\"UserEvent\":\"Burst\"")) {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
}

fn hook_cost(s: &StandIn, events: u64) -> (u64, u64, u64) {
    s.rx("standin hookstats reset");
    burst(s, events, 20_000);
    let out = s.rx("standin hookstats");
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (get("mean"), get("p50"), get("p99"))
}

fn burst(s: &StandIn, n: u64, rate: u64) {
    let before = s.log().matches("burst done").count();
    s.rx(&format!("traffic burst {n} {rate}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.log().matches("burst done").count() == before {
        assert!(Instant::now() < deadline, "burst did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn conf(ws_port: u16, nats: &str) -> String {
    format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {ws_port}\nmax_clients_per_ip = 1000\n\
         ring_size = 1048576\n\n[nats]\n{nats}\n"
    )
}

fn main() {
    let mut server = NatsServer::start("");
    let manager = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
                   [bench]\nsecret = benchpw\nread = user\nwrite = all\n";
    let port = common::free_port();
    let s = StandIn::start(
        &[("manager.conf", manager), ("ami_websocket.conf", &conf(port, "enabled = no"))],
        Opts { max_lifetime: Duration::from_secs(600), ..Opts::default() },
    );
    let clients: Vec<WsClient> = (0..CLIENTS)
        .map(|_| {
            let mut c = common::ws::connect(port);
            c.login("bench", "benchpw");
            c
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let ws_seen = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, seen) = (Arc::clone(&stop), Arc::clone(&ws_seen));
        std::thread::spawn(move || ws_readers(clients, stop, seen))
    };
    let reload = |nats: &str| {
        std::fs::write(s.config_dir().join("ami_websocket.conf"), conf(port, nats)).unwrap();
        s.rx("module reload res_ami_websocket.so");
        std::thread::sleep(Duration::from_millis(500));
    };
    println!(
        "NATS publisher benchmark (stand-in core, nats-server {} on loopback, {CLIENTS} WebSocket clients connected, 2 cores shared)\n",
        server.url()
    );
    println!(
        "{:<46} {:>10} {:>10} {:>10}",
        "hook cost per event (ns), 20,000 events", "mean", "p50", "p99"
    );
    let off = hook_cost(&s, 20_000);
    println!("{:<46} {:>10} {:>10} {:>10}", "  publisher off", off.0, off.1, off.2);
    reload(&format!("enabled = yes\nurl = {}", server.url()));
    let on = hook_cost(&s, 20_000);
    println!("{:<46} {:>10} {:>10} {:>10}", "  publisher on, server up", on.0, on.1, on.2);
    reload(&format!("enabled = yes\nurl = {}\njetstream = no", server.url()));
    server.kill();
    std::thread::sleep(Duration::from_millis(500));
    let down = hook_cost(&s, 20_000);
    println!(
        "{:<46} {:>10} {:>10} {:>10}",
        "  publisher on, server unreachable", down.0, down.1, down.2
    );
    println!(
        "  ratio on/off p50 {:.2}x, unreachable/off p50 {:.2}x\n",
        on.1 as f64 / off.1.max(1) as f64,
        down.1 as f64 / off.1.max(1) as f64
    );

    // Throughput: events as fast as the core raises them, to NATS and the WebSocket clients.
    server.restart();
    let mut sub = NatsClient::connect(server.port, json!({}));
    sub.sub("ami.*.user.UserEvent");
    sub.flush();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.rx("ws show nats").contains("publisher:      connected") {
        assert!(Instant::now() < deadline, "publisher did not reconnect");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The publisher first sends what the ring kept during the outage; let that pass.
    let mut backlog = 0;
    while sub.next_msg(Duration::from_secs(1)).is_some() {
        backlog += 1;
    }
    println!(
        "(after the restart the publisher delivered the {backlog} events raised during the outage)"
    );
    // The WebSocket clients first finish reading the 60,000 events of the hook-cost runs.
    let ws_before = 60_000 * CLIENTS as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while ws_seen.load(Ordering::Relaxed) < ws_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ws_seen.load(Ordering::Relaxed), ws_before, "WebSocket clients missed events");
    let n = 50_000u64;
    let start = Instant::now();
    s.rx(&format!("traffic burst {n} 0"));
    let mut got = 0u64;
    let mut last_seq = 0u64;
    let mut gaps = 0u64;
    while got < n {
        let Some(m) = sub.next_msg(Duration::from_secs(10)) else { break };
        let text = String::from_utf8_lossy(&m.payload);
        let seq: u64 = text
            .split("\"WsSeq\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        if last_seq != 0 && seq != last_seq + 1 {
            gaps += 1;
        }
        last_seq = seq;
        got += 1;
    }
    let nats_secs = start.elapsed().as_secs_f64();
    let ws_deadline = Instant::now() + Duration::from_secs(60);
    while ws_seen.load(Ordering::Relaxed) - ws_before < n * CLIENTS as u64
        && Instant::now() < ws_deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let ws_secs = start.elapsed().as_secs_f64();
    let ws_got = ws_seen.load(Ordering::Relaxed) - ws_before;
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    println!(
        "{:<46} {:>12} {:>10} {:>8}",
        "throughput, 50,000 events at full speed", "events/s", "received", "gaps"
    );
    println!(
        "{:<46} {:>12.0} {:>10} {:>8}",
        "  NATS subscriber",
        got as f64 / nats_secs,
        got,
        gaps
    );
    println!(
        "{:<46} {:>12.0} {:>10} {:>8}",
        format!("  {CLIENTS} WebSocket clients (deliveries)"),
        ws_got as f64 / ws_secs,
        ws_got,
        "-"
    );
    let stats = s.rx("ws show nats");
    println!("\n{stats}");
    assert_eq!(got, n, "NATS subscriber missed events");
    assert_eq!(ws_got, n * CLIENTS as u64, "WebSocket clients missed events");
}
