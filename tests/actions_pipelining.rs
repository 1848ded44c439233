//! Pipelining like an AMI TCP session, with flow control instead of refusals: 2,000 actions in
//! one write are all answered, in order, while another client's actions and everyone's events
//! stay prompt; a client that pipelines without reading its answers is paused with bounded
//! output, stalls nobody, and gets every answer once it reads.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::pipeline::{self, action_id, percentile, raw_login, read_answers};
use common::ws::{field, login_as, wait_clients};
use common::{Opts, StandIn, default_module_conf, free_port};

/// Generous bound on the other client's Ping round trip and on event latency while a client
/// pipelines; `cargo bench --bench flow_control` measures the real figures (see README).
const BOUND: Duration = Duration::from_secs(1);

fn start(extra: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = format!("{}{extra}", default_module_conf(port));
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

/// `ws show status`: actions handed to the action threads since load.
fn actions_run(s: &StandIn) -> u64 {
    let out = s.rx("ws show status");
    out.lines()
        .find_map(|l| l.strip_prefix("Actions run:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 'Actions run' in: {out}"))
}

#[test]
fn two_thousand_pipelined_actions_are_answered_in_order_without_delaying_others() {
    const N: usize = 2000;
    let (s, port) = start("");
    let mut f = pipeline::run(&s, port, N, 3000, 1000, Duration::from_secs(2));
    let want: Vec<String> = (0..N).map(action_id).collect();
    assert_eq!(f.answers.len(), N, "only {} answers in {:?}", f.answers.len(), f.took);
    assert_eq!(f.answers, want, "answers out of order");
    assert!(f.wrong.is_empty(), "wrong answers: {:?}", &f.wrong[..f.wrong.len().min(5)]);
    println!("{N} pipelined actions answered in {:?}", f.took);
    assert!(f.other.len() >= 10, "the other client got only {} Pings through", f.other.len());
    assert!(f.events.len() >= 1000, "the watcher got only {} events", f.events.len());
    let other_max = percentile(&mut f.other, 100);
    let events_max = percentile(&mut f.events, 100);
    println!(
        "meanwhile: other client's Ping p50 {:?} max {other_max:?}; events p50 {:?} max \
         {events_max:?}",
        percentile(&mut f.other, 50),
        percentile(&mut f.events, 50)
    );
    assert!(other_max < BOUND, "another client's Ping took {other_max:?}");
    assert!(events_max < BOUND, "an event took {events_max:?}");
    // Nothing was refused or closed: the pipeliner's connection ended only when the test
    // dropped it, and the log has no refusal.
    assert!(!s.log().contains("rate limit"), "{}", s.log());
}

#[test]
fn a_pipeliner_that_does_not_read_is_paused_with_bounded_output_and_stalls_nobody() {
    // ListCommands answers with a few KB each: 2,000 of them are far more than the output cap
    // and the kernel's buffers, so the module must stop reading this client.
    const N: usize = 2000;
    const CAP: u64 = 65536;
    let (s, port) = start(&format!("max_queued_bytes = {CAP}\n"));
    let mut sock = raw_login(port, "admin", "adminpw");
    let mut writer = sock.try_clone().unwrap();
    let frames: Vec<u8> = (0..N)
        .flat_map(|k| {
            let text = format!(r#"{{"Action":"ListCommands","ActionID":"{}"}}"#, action_id(k));
            common::raw::frame(0x1, text.as_bytes(), true)
        })
        .collect();
    let w = std::thread::spawn(move || writer.write_all(&frames));
    // The module's output for this client stays within the cap plus one reply, it stops
    // running this client's actions (it no longer reads them), and the other client is served.
    let mut other = login_as(port, "admin", "adminpw");
    let mut peak = 0u64;
    let mut runs = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(4) {
        let out = s.rx("ws show clients");
        let queued = out
            .lines()
            .filter(|l| l.contains("admin"))
            .filter_map(|l| l.split_whitespace().rev().nth(1)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        peak = peak.max(queued);
        runs.push((t.elapsed(), actions_run(&s)));
        let t0 = Instant::now();
        let id = other.send_action(&[("Action", "Ping")]);
        let r = other.reply(&id, Duration::from_secs(5)).expect("the other client's Ping");
        assert_eq!(field(&r, "Ping"), "Pong");
        assert!(t0.elapsed() < BOUND, "the other client waited {:?}", t0.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let settled: Vec<u64> =
        runs.iter().filter(|(at, _)| *at >= Duration::from_secs(2)).map(|r| r.1).collect();
    let (first, last) = (settled[0], settled[settled.len() - 1]);
    println!("actions run while not reading: {runs:?}; peak queued {peak}");
    // Each of the other client's Pings counts as one: allow for them.
    let others = settled.len() as u64;
    assert!(last - first <= others, "the paused client's actions kept running: {runs:?}");
    assert!(last < N as u64, "all {N} actions ran for a client that does not read");
    assert!(peak <= CAP + 64 * 1024, "{peak} bytes queued for a client that does not read");
    // It reads now, and gets every answer in order.
    let (ids, _) = read_answers(&mut sock, N, Instant::now() + Duration::from_secs(120));
    let want: Vec<String> = (0..N).map(action_id).collect();
    assert_eq!(ids.len(), N, "only {} answers", ids.len());
    assert_eq!(ids, want, "answers out of order");
    w.join().unwrap().expect("the pipelined write failed");
    assert!(wait_clients(&s, 2, Duration::from_secs(3)));
}

#[test]
fn at_the_total_limit_actions_wait_for_room_instead_of_being_refused() {
    let (_s, port) = start("max_actions_total = 1\naction_threads = 2\n");
    let mut slow = login_as(port, "admin", "adminpw");
    let mut quick = login_as(port, "admin", "adminpw");
    // Learn Command's class first, so the sleep below is the only action running.
    let id = slow.send_action(&[("Action", "Command"), ("Command", "core show version")]);
    assert_eq!(field(&slow.reply(&id, Duration::from_secs(10)).unwrap(), "Response"), "Success");
    let t = Instant::now();
    let sleep = [("Action", "Command"), ("Command", "standin sleep 1"), ("ActionID", "sleep")];
    slow.send_action(&sleep);
    std::thread::sleep(Duration::from_millis(200));
    let ids: Vec<String> = (0..3).map(|_| quick.send_action(&[("Action", "Ping")])).collect();
    for id in &ids {
        let r = quick.reply(id, Duration::from_secs(10)).expect("a Ping waiting for room");
        assert_eq!(field(&r, "Ping"), "Pong", "{r}");
    }
    let waited = t.elapsed();
    let r = slow.reply("sleep", Duration::from_secs(10)).expect("the sleep");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    // The Pings waited for the one slot (they were neither refused nor run beside the sleep).
    assert!(waited >= Duration::from_millis(900), "the Pings ran beside the sleep: {waited:?}");
}
