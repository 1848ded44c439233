//! permessage-deflate cost and gain on the recorded fixture stream, side by side in one run:
//! - codec (in process, no network): bytes on the wire per event and CPU per event to encode,
//!   and to encode + compress, for ami-json and ami-text; CPU to inflate a client message;
//! - end to end: two stand-ins in turn, `compression = no` and `yes`, each with the same number
//!   of clients (plain ones, then ones that negotiated deflate) receiving the fixture replayed
//!   many times; the stand-in's CPU time per event and the bytes on the wire per delivery.
//!
//! `cargo bench --bench deflate`. Prints two tables.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Duration;

use common::{Opts, StandIn, fixture, pmd};
use res_ami_websocket::events::event::Event;
use res_ami_websocket::ws::deflate::{Deflater, Inflater};

const CODEC_ROUNDS: usize = 200;
const E2E_CLIENTS: usize = 10;
const E2E_REPLAYS: usize = 40;

fn header(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

fn codec() {
    let recorded = fixture::replayed();
    let n = recorded.len();
    println!(
        "Codec, {n} recorded events x {CODEC_ROUNDS} rounds (level 6, no context takeover), thread CPU time"
    );
    println!(
        "| encoding | bytes/event plain | bytes/event deflate | ratio | encode us/event | encode+deflate us/event | deflate share |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut def = Deflater::default();
    for json in [true, false] {
        let (mut plain_bytes, mut wire_bytes) = (0usize, 0usize);
        for (i, r) in recorded.iter().enumerate() {
            let e = Event::new(i as u64 + 1, r.category, r.name.as_bytes(), r.body.as_bytes());
            let plain = if json { e.json().len() } else { e.text().len() };
            plain_bytes += plain + header(plain);
            let d = e.deflated(json, |b| def.compress(b));
            wire_bytes += d.map_or(plain + header(plain), |d| d.len() + header(d.len()));
        }
        let time = |compress: bool, def: &mut Deflater| {
            let t = thread_cpu_ns();
            for round in 0..CODEC_ROUNDS {
                for (i, r) in recorded.iter().enumerate() {
                    let seq = (round * n + i) as u64 + 1;
                    let e = Event::new(seq, r.category, r.name.as_bytes(), r.body.as_bytes());
                    let len = if json { e.json().len() } else { e.text().len() };
                    std::hint::black_box(len);
                    if compress {
                        std::hint::black_box(e.deflated(json, |b| def.compress(b)));
                    }
                }
            }
            (thread_cpu_ns() - t) as f64 / 1e3 / (CODEC_ROUNDS * n) as f64
        };
        let enc = time(false, &mut def);
        let both = time(true, &mut def);
        println!(
            "| {} | {:.0} | {:.0} | {:.2}x | {enc:.2} | {both:.2} | +{:.2} us |",
            if json { "ami-json" } else { "ami-text" },
            plain_bytes as f64 / n as f64,
            wire_bytes as f64 / n as f64,
            plain_bytes as f64 / wire_bytes as f64,
            both - enc
        );
    }
    // Inbound: a typical browser action, inflated by the shared inflater.
    let action = br#"{"Action":"Originate","Channel":"PJSIP/100","Exten":"200","Context":"default","Priority":"1","CallerID":"Bench <100>","Async":"true","ActionID":"bench-1"}"#;
    let packed = def.compress(action).expect("compressible");
    let mut inf = Inflater::default();
    let t = thread_cpu_ns();
    let rounds = 100_000;
    for _ in 0..rounds {
        std::hint::black_box(inf.inflate(&packed, 65536).unwrap());
    }
    let us = (thread_cpu_ns() - t) as f64 / 1e3 / f64::from(rounds);
    println!(
        "inflate one {}-byte action ({} compressed): {us:.2} us\n",
        action.len(),
        packed.len()
    );
}

/// CPU time this thread has run, in ns (/proc/thread-self/schedstat: not wall time, so other
/// load on the machine does not inflate it).
fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    s.split_whitespace().next().and_then(|v| v.parse().ok()).expect("schedstat field")
}

/// utime + stime of a process, in seconds (from /proc/<pid>/stat, clock ticks of 10 ms).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn number_after(text: &str, key: &str) -> u64 {
    let line = text.lines().find(|l| l.starts_with(key)).unwrap_or_default();
    line[key.len()..].split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Runs one stand-in; returns (cpu us per event, wire bytes per delivery, raw bytes per delivery).
fn e2e(compression: bool) -> (f64, f64, f64) {
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\ncompression = {}\nring_size = 65536\n",
        if compression { "yes" } else { "no" }
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    let total = fixture::replayed().len() * E2E_REPLAYS;
    let login = r#"{"Action":"Login","Username":"admin","Secret":"adminpw","ActionID":"l"}"#;
    let mut readers = Vec::new();
    for _ in 0..E2E_CLIENTS {
        let mut c = pmd::connect(port, if compression { "permessage-deflate" } else { "x-none" });
        assert_eq!(c.extensions.is_some(), compression);
        if compression {
            c.send_compressed(login);
        } else {
            c.send_raw(&pmd::frame(true, false, 1, login.as_bytes()));
        }
        readers.push(std::thread::spawn(move || {
            let mut seen = 0;
            let mut started = false;
            while seen < total {
                let Some(m) = c.recv(Duration::from_secs(60)) else { break };
                let t = m.text();
                if t.contains("\"ActionID\":\"l\"") {
                    started = true;
                } else if started && t.contains("\"WsSeq\"") && !t.contains("FullyBooted") {
                    seen += 1;
                }
            }
            seen
        }));
    }
    common::ws::wait_clients(&s, E2E_CLIENTS, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let before = s.rx("ws show status");
    let cpu0 = cpu_seconds(s.pid());
    for _ in 0..E2E_REPLAYS {
        s.rx("traffic replay");
    }
    let seen: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let cpu = cpu_seconds(s.pid()) - cpu0;
    assert_eq!(seen, total * E2E_CLIENTS, "clients missed events");
    let after = s.rx("ws show status");
    let raw = number_after(&after, "Bytes out:") - number_after(&before, "Bytes out:");
    let wire_of = |t: &str| {
        let l = t.lines().find(|l| l.starts_with("Bytes out:")).unwrap_or_default();
        l.split(',')
            .nth(1)
            .and_then(|p| p.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let wire = wire_of(&after) - wire_of(&before);
    let deliveries = seen as f64;
    (cpu * 1e6 / total as f64, wire as f64 / deliveries, raw as f64 / deliveries)
}

fn main() {
    codec();
    let n = fixture::replayed().len() * E2E_REPLAYS;
    println!(
        "End to end, stand-in core, {E2E_CLIENTS} ami-json clients, {n} events (fixture x {E2E_REPLAYS})"
    );
    println!(
        "| compression | stand-in CPU us/event (all clients) | bytes on the wire/delivery | payload bytes/delivery |"
    );
    println!("| --- | --- | --- | --- |");
    let off = e2e(false);
    let on = e2e(true);
    for (name, r) in [("no", off), ("yes", on)] {
        println!("| {name} | {:.1} | {:.0} | {:.0} |", r.0, r.1, r.2);
    }
    println!("ratio yes/no: CPU {:.2}x, wire bytes {:.2}x", on.0 / off.0, on.1 / off.1);
}
