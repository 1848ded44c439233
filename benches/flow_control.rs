//! Flow control under pipelining, measured side by side in one run: another client's Ping round
//! trip and every client's event latency (p50, p99, max), idle versus while one client pipelines
//! 2,000 and 10,000 actions in one write; and how long those take to be answered (in order).
//!
//! `cargo bench --bench flow_control` (builds the module and the stand-in first). Prints a table.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Duration;

use common::pipeline::{self, Figures, action_id, percentile};
use common::{Opts, StandIn};

/// Events raised during each run, and their rate.
const EVENTS: u64 = 4000;
const RATE: u64 = 1000;

fn row(name: &str, idle: &mut [Duration], busy: &mut [Duration]) {
    for p in [50, 99, 100] {
        let (a, b) = (percentile(idle, p), percentile(busy, p));
        let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        let label = if p == 100 { format!("{name} max") } else { format!("{name} p{p}") };
        println!("{label:<34} {:>12.3} {:>12.3} {ratio:>8.2}x", ms(a), ms(b));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn check(n: usize, f: &Figures) {
    let want: Vec<String> = (0..n).map(action_id).collect();
    assert_eq!(f.answers, want, "{n} pipelined actions: answers missing or out of order");
    assert!(f.wrong.is_empty(), "wrong answers: {:?}", &f.wrong[..f.wrong.len().min(3)]);
}

fn main() {
    let port = common::free_port();
    let conf = common::default_module_conf(port);
    let s = StandIn::start(
        &[("ami_websocket.conf", &conf)],
        Opts { max_lifetime: Duration::from_secs(600), ..Opts::default() },
    );
    println!(
        "res_ami_websocket flow control (stand-in core, loopback, default settings: \
         max_actions_per_client 16, action_threads 4)\n{EVENTS} events at {RATE}/s during each \
         run; another client pings every 10 ms\n"
    );
    let min = Duration::from_millis(EVENTS * 1000 / RATE + 500);
    let mut idle = pipeline::run(&s, port, 0, EVENTS, RATE, min);
    for n in [2000usize, 10_000] {
        let mut busy = pipeline::run(&s, port, n, EVENTS, RATE, min);
        check(n, &busy);
        println!(
            "{n} actions pipelined in one write: all answered in order in {:.0} ms \
             ({:.0} actions/s)",
            ms(busy.took),
            n as f64 / busy.took.as_secs_f64()
        );
        println!("{:<34} {:>12} {:>12} {:>9}", "(ms)", "idle", "pipelining", "ratio");
        row("other client's Ping round trip", &mut idle.other, &mut busy.other);
        row("event latency", &mut idle.events, &mut busy.events);
        println!(
            "{:<34} {:>12} {:>12}\n",
            "samples (pings / events)",
            format!("{}/{}", idle.other.len(), idle.events.len()),
            format!("{}/{}", busy.other.len(), busy.events.len())
        );
    }
}
