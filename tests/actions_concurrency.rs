//! Actions under concurrency: many clients' replies each reach their sender with their
//! ActionID (none lost or misrouted), list replies go to the requester only, a slow action
//! blocks neither event delivery to others nor their actions, and a client whose queue of
//! actions is full is paced (its socket not read), never refused.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::record::hook_texts;
use common::ws::{WsClient, connect, field};
use common::{Opts, StandIn, free_port};
use serde_json::Value;

const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = pw\nread =\nwrite = all\n\n\
[watcher]\nsecret = pw\nread = all\nwrite = all\n";

const WAIT: Duration = Duration::from_secs(10);

fn start(extra: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n{extra}");
    let s = StandIn::start(
        &[("manager.conf", MANAGER_CONF), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    (s, port)
}

fn login(port: u16, user: &str) -> WsClient {
    let mut c = connect(port);
    let r = c.login(user, "pw");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{user}: {r}");
    c
}

/// Everything received until the reply with ActionID `id` (included).
fn until_reply(c: &mut WsClient, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = c.recv_json(left).unwrap_or_else(|| panic!("no reply {id}; got {seen:?}"));
        let done = field(&v, "ActionID") == id && v.get("Response").is_some();
        seen.push(v);
        if done {
            return seen;
        }
    }
}

#[test]
fn twenty_clients_get_every_reply_and_only_their_own() {
    const CLIENTS: usize = 20;
    const ACTIONS: usize = 100;
    let (s, port) = start("max_actions_total = 4096\n");
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = login(port, "admin");
                for k in 0..ACTIONS {
                    let action = if k % 2 == 0 { "Ping" } else { "CoreStatus" };
                    let id = format!("c{i}-{k}");
                    c.send_action(&[("Action", action), ("ActionID", &id)]);
                }
                let mine = format!("c{i}-");
                let mut got = BTreeSet::new();
                let mut problems = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(60);
                while got.len() < ACTIONS {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let Some(v) = c.recv_json(left) else {
                        problems.push(format!("client {i}: only {} replies", got.len()));
                        break;
                    };
                    let id = field(&v, "ActionID").to_string();
                    let Some(k) = id.strip_prefix(&mine).and_then(|k| k.parse::<usize>().ok())
                    else {
                        problems.push(format!("client {i} got a foreign message: {v}"));
                        continue;
                    };
                    let ok = if k % 2 == 0 {
                        field(&v, "Ping") == "Pong"
                    } else {
                        field(&v, "CoreCurrentCalls").parse::<u32>().is_ok()
                    };
                    if field(&v, "Response") != "Success" || !ok {
                        problems.push(format!("client {i}: bad reply {v}"));
                    }
                    if !got.insert(k) {
                        problems.push(format!("client {i}: {id} answered twice"));
                    }
                }
                // Nothing else arrives before the answer to a last Ping.
                let sentinel = format!("{mine}end");
                c.send_action(&[("Action", "Ping"), ("ActionID", &sentinel)]);
                let rest = until_reply(&mut c, &sentinel);
                if rest.len() != 1 {
                    problems.push(format!("client {i}: stray messages {rest:?}"));
                }
                c.close();
                problems
            })
        })
        .collect();
    let problems: Vec<String> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let took = started.elapsed();
    println!("{CLIENTS} clients x {ACTIONS} actions answered in {took:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The core ran each exactly once.
    let ids: Vec<String> = hook_texts(&s).iter().filter_map(|t| t.header("ActionID")).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), CLIENTS * (ACTIONS + 1));
    assert_eq!(unique.len(), ids.len(), "an action ran twice");
}

#[test]
fn list_replies_reach_the_requester_only() {
    let (s, port) = start("");
    let mut admin = login(port, "admin");
    for n in 0..3 {
        let chan = format!("Local/40{n}@default");
        let id = admin.send_action(&[
            ("Action", "Originate"),
            ("Channel", &chan),
            ("Application", "Wait"),
            ("Data", "30"),
            ("Variable", "STANDIN_DURATION=30"),
        ]);
        let r = admin.reply(&id, WAIT).expect("Originate reply");
        assert_eq!(field(&r, "Response"), "Success", "{r}");
    }
    let channels = s.rx("core show channels");
    assert!(channels.contains("6 active channels"), "{channels}");
    let mut observer = login(port, "watcher");
    let requesters: Vec<_> = (0..5)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = login(port, "watcher");
                let id = format!("list-{i}");
                c.send_action(&[("Action", "CoreShowChannels"), ("ActionID", &id)]);
                let mut list = Vec::new();
                let deadline = Instant::now() + WAIT;
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let v = c.recv_json(left).expect("list message");
                    let vid = field(&v, "ActionID").to_string();
                    if vid.starts_with("list-") && vid != id {
                        panic!("{id} received {v}");
                    }
                    if vid != id {
                        continue;
                    }
                    let end = field(&v, "Event") == "CoreShowChannelsComplete";
                    list.push(v);
                    if end {
                        break;
                    }
                }
                // Nothing of another requester's list arrives afterwards either.
                let sentinel = format!("end-{i}");
                c.send_action(&[("Action", "Ping"), ("ActionID", &sentinel)]);
                for v in until_reply(&mut c, &sentinel) {
                    assert!(!field(&v, "ActionID").starts_with("list-"), "{id} received {v}");
                    assert!(!field(&v, "Event").starts_with("CoreShowChannel"), "{id}: {v}");
                }
                list
            })
        })
        .collect();
    for (i, r) in requesters.into_iter().enumerate() {
        let list = r.join().unwrap();
        let first = &list[0];
        assert_eq!(field(first, "Response"), "Success", "{first}");
        assert_eq!(field(first, "EventList"), "start", "{first}");
        let items: Vec<&Value> =
            list.iter().filter(|v| field(v, "Event") == "CoreShowChannel").collect();
        let last = list.last().unwrap();
        assert_eq!(field(last, "Event"), "CoreShowChannelsComplete", "{last}");
        assert_eq!(field(last, "ListItems"), "6", "{last}");
        assert_eq!(items.len(), 6, "requester {i}: {list:?}");
        assert_eq!(list.len(), 8, "requester {i}: {list:?}");
        let names: BTreeSet<&str> = items.iter().map(|v| field(v, "Channel")).collect();
        assert_eq!(names.len(), 6, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("Local/40")), "{names:?}");
    }
    // The observer (who may read every event class) saw none of it.
    observer.send_action(&[("Action", "Ping"), ("ActionID", "obs-end")]);
    for v in until_reply(&mut observer, "obs-end") {
        assert!(!field(&v, "ActionID").starts_with("list-"), "observer received {v}");
        assert!(!field(&v, "Event").starts_with("CoreShowChannel"), "observer received {v}");
    }
}

/// One Burst event as a watcher received it.
struct Seen {
    at: Instant,
    seq: u64,
    /// From the core raising it to the client reading it (both clocks are the machine's).
    latency: Duration,
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// The Burst events one watcher receives.
fn watch_burst(mut c: WsClient, count: u64) -> Vec<Seen> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while (got.len() as u64) < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = c.recv_json(left) else { break };
        if field(&v, "Event") == "UserEvent" && field(&v, "UserEvent") == "Burst" {
            let sent: u128 = field(&v, "SentNs").parse().unwrap_or(0);
            let latency = Duration::from_nanos(now_ns().saturating_sub(sent) as u64);
            let seq = field(&v, "Seq").parse().unwrap_or(u64::MAX);
            got.push(Seen { at: Instant::now(), seq, latency });
        }
    }
    got
}

#[test]
fn a_slow_action_delays_no_events_and_no_other_client() {
    const EVENTS: u64 = 1600;
    let (mut s, port) = start("max_actions_per_client = 3\naction_threads = 4\n");
    let watchers: Vec<_> = (0..3)
        .map(|_| {
            let c = login(port, "watcher");
            std::thread::spawn(move || watch_burst(c, EVENTS))
        })
        .collect();
    let mut slow = login(port, "admin");
    let mut other = login(port, "admin");
    // Learn Command's and Ping's classes first, so the core's CLI is not needed meanwhile.
    let id = slow.send_action(&[("Action", "Command"), ("Command", "core show version")]);
    assert_eq!(field(&slow.reply(&id, WAIT).expect("Command"), "Response"), "Success");
    let out = s.rx(&format!("traffic burst {EVENTS} 200"));
    assert!(out.contains("burst started"), "{out}");
    std::thread::sleep(Duration::from_millis(500));

    let sent = Instant::now();
    slow.send_action(&[
        ("Action", "Command"),
        ("Command", "standin sleep 5"),
        ("ActionID", "slow"),
    ]);
    // Queued behind it: this client's actions run in the order sent.
    for id in ["next-a", "next-b"] {
        let sleep = [("Action", "Command"), ("Command", "standin sleep 0.2"), ("ActionID", id)];
        slow.send_action(&sleep);
    }
    // A fourth action fills this client's queue (max_actions_per_client = 3): it is not
    // refused; the module stops reading this client until there is room, and answers it last.
    slow.send_action(&[("Action", "Ping"), ("ActionID", "over")]);
    slow.send_action(&[("Action", "Ping"), ("ActionID", "later")]);
    // Another client's action runs meanwhile on the remaining action thread.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let id = other.send_action(&[("Action", "Ping")]);
    assert_eq!(field(&other.reply(&id, WAIT).expect("other Ping"), "Ping"), "Pong");
    let other_took = t.elapsed();
    assert!(other_took < Duration::from_secs(1), "other client's Ping took {other_took:?}");

    // The slow client gets every reply, in the order sent.
    let mut replies = Vec::new();
    let mut done = sent;
    while replies.len() < 5 {
        let r = slow.wait_for(Duration::from_secs(15), |v| v.get("Response").is_some());
        let r = r.unwrap_or_else(|| panic!("missing replies; got {replies:?}"));
        if field(&r, "ActionID") == "slow" {
            done = Instant::now();
        }
        replies.push(r);
    }
    let order: Vec<&str> = replies.iter().map(|r| field(r, "ActionID")).collect();
    assert_eq!(order, ["slow", "next-a", "next-b", "over", "later"], "{replies:?}");
    for r in &replies[..3] {
        assert_eq!(field(r, "Response"), "Success", "{r}");
        assert!(field(r, "Output").starts_with("slept "), "{r}");
    }
    for r in &replies[3..] {
        assert_eq!(field(r, "Ping"), "Pong", "{r}");
    }
    let took = done - sent;
    assert!(took >= Duration::from_secs(5) && took < Duration::from_secs(10), "{took:?}");
    let id = slow.send_action(&[("Action", "Ping")]);
    assert_eq!(field(&slow.reply(&id, WAIT).expect("Ping after"), "Ping"), "Pong");

    for (n, w) in watchers.into_iter().enumerate() {
        let got = w.join().unwrap();
        let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (0..EVENTS).collect::<Vec<_>>(), "watcher {n} lost or reordered events");
        let during: Vec<&Seen> = got.iter().filter(|e| e.at >= sent && e.at <= done).collect();
        assert!(during.len() > 500, "watcher {n}: only {} events during the action", during.len());
        let max_gap = during.windows(2).map(|w| w[1].at - w[0].at).max().unwrap_or_default();
        let mut lat: Vec<Duration> = during.iter().map(|e| e.latency).collect();
        lat.sort();
        let pct = |p: usize| lat[(lat.len() - 1) * p / 100];
        println!(
            "watcher {n}: {} events while the 5 s action ran; max gap {max_gap:?}; latency p50 \
             {:?} p99 {:?} max {:?}; other client's Ping took {other_took:?}",
            during.len(),
            pct(50),
            pct(99),
            pct(100)
        );
        assert!(max_gap < Duration::from_millis(500), "watcher {n}: gap {max_gap:?}");
        // Events go out as they come, not on a timer tick (a 250 ms tick gives ~125 ms).
        assert!(pct(50) < Duration::from_millis(50), "watcher {n}: p50 latency {:?}", pct(50));
    }
    assert_eq!(s.exit_signal(), None);
}

#[test]
fn one_clients_actions_run_in_order_like_an_ami_session() {
    let (s, port) = start("");
    let mut c = login(port, "admin");
    // Pipelined without waiting: each Getvar must see the Setvar sent just before it, and the
    // replies come back in the order sent (AMI runs a session's actions one after another).
    let mut sent = Vec::new();
    for n in 0..5 {
        let v = format!("value-{n}");
        sent.push(c.send_action(&[("Action", "Setvar"), ("Variable", "WSORDER"), ("Value", &v)]));
        sent.push(c.send_action(&[("Action", "Getvar"), ("Variable", "WSORDER")]));
        sent.push(c.send_action(&[("Action", "Ping")]));
    }
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let v = c.wait_for(WAIT, |v| v.get("Response").is_some()).expect("reply");
        got.push(v);
    }
    let ids: Vec<&str> = got.iter().map(|v| field(v, "ActionID")).collect();
    assert_eq!(ids, sent, "replies out of order");
    for (n, v) in got.iter().skip(1).step_by(3).enumerate() {
        assert_eq!(field(v, "Value"), format!("value-{n}"), "{v}");
    }
    drop(s);
}
