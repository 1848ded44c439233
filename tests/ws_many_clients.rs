//! 1,000 simultaneous logged-in clients: all are admitted (limits raised in the config, file
//! descriptors raised in both processes), `ws show clients` counts them, and every one receives
//! an event raised after they connected.

mod common;

use std::time::{Duration, Instant};

use common::raw::raise_fd_limit;
use common::ws::{WsClient, clients, field, login_as};
use common::{Opts, StandIn, default_module_conf, free_port};

const CLIENTS: usize = 1000;
const THREADS: usize = 4;

/// The soft open-file limit of a process, from /proc.
fn soft_fd_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("Max open files");
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).expect("soft limit")
}

#[test]
fn a_thousand_clients_each_receive_the_event() {
    let limit = raise_fd_limit();
    assert!(limit as usize > 2 * CLIENTS + 100, "hard fd limit {limit} is too low for this test");
    let port = free_port();
    let conf =
        format!("{}max_clients = 2000\nmax_clients_per_ip = 2000\n", default_module_conf(port));
    // authlimit (unauthenticated sessions at once) belongs to [general].
    let manager =
        common::DEFAULT_MANAGER_CONF.replacen("[general]\n", "[general]\nauthlimit = 200\n", 1);
    let s = StandIn::start(
        &[("ami_websocket.conf", &conf), ("manager.conf", &manager)],
        Opts::default(),
    );
    assert!(soft_fd_limit(s.pid()) as usize > 2 * CLIENTS, "the stand-in cannot hold the clients");

    let started = Instant::now();
    let mut all: Vec<WsClient> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(move || {
                    (0..CLIENTS / THREADS)
                        .map(|_| login_as(port, "admin", "adminpw"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("login thread")).collect::<Vec<_>>()
    });
    let connected = started.elapsed();
    assert_eq!(all.len(), CLIENTS);
    let (rows, n) = clients(&s);
    assert_eq!(n, CLIENTS, "ws show clients");
    assert!(rows.iter().all(|r| r.user == "admin"), "every client is logged in");

    // One event, raised in the core after everyone connected.
    assert!(s.rx("traffic burst 1 1").contains("burst started"));
    let mut received = 0;
    for (i, c) in all.iter_mut().enumerate() {
        let v = c.wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "Burst");
        assert!(v.is_some(), "client {i} did not receive the event");
        received += 1;
    }
    assert_eq!(received, CLIENTS);
    let took = started.elapsed();
    eprintln!("{CLIENTS} clients: logged in after {connected:?}, all had the event after {took:?}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let status = s.rx("ws show status");
    assert!(
        status.contains(&format!("Connections:         {CLIENTS} ({CLIENTS} logged in)")),
        "{status}"
    );
}
