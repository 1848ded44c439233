//! A client that stops reading while `traffic burst` floods events through a small ring: the
//! other client gets every event in time, the slow one's queue stays bounded, its losses are
//! counted and, when it reads again, reported as a WsEventsLost range that fits the WsSeq of
//! the events around it; with `slow_client = disconnect` it is closed with 4001 instead.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::raw::connect_small_rcvbuf;
use common::ws::{Recv, WsClient, clients, connect_over, field, login_as, seq};
use common::{DEFAULT_MANAGER_CONF, Opts, StandIn, default_module_conf, free_port};
use serde_json::Value;

const RING: u64 = 1024;
const BURST: u64 = 3_000;
const RATE: u64 = 2_000;
const MAX_QUEUED: u64 = 65_536;
/// Big events (~58 KB each) raised first, in step with the fast client, until the slow client's
/// kernel buffers are full (loopback send buffers grow to several MiB): at least this many...
const BALLAST_MIN: u64 = 40;
/// ...and at most this many.
const BALLAST_MAX: u64 = 2000;

/// The tests in this file flood the machine; one at a time keeps the timing assertions honest.
static SERIAL: Mutex<()> = Mutex::new(());

fn start(policy: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = format!(
        "{}ring_size = {RING}\nmax_queued_bytes = {MAX_QUEUED}\nslow_client = {policy}\n",
        default_module_conf(port)
    );
    let manager =
        format!("{DEFAULT_MANAGER_CONF}\n[raiser]\nsecret = pw\nread = system\nwrite = user\n");
    let s = StandIn::start(
        &[("ami_websocket.conf", &conf), ("manager.conf", &manager)],
        Opts::default(),
    );
    (s, port)
}

/// A logged-in client over a socket with a tiny receive buffer, its login chatter drained.
fn slow_client(port: u16) -> WsClient {
    let sock = connect_small_rcvbuf(port, 4096);
    let mut c = connect_over(sock, port, None).expect("handshake");
    let r = c.login("admin", "adminpw");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    while c.recv_json(Duration::from_millis(100)).is_some() {}
    c
}

/// Raises the ballast through `raiser` (which reads no user events), each one after `fast`
/// received the previous, so the fast client never falls behind, until `ws show clients` shows
/// output waiting for the slow client (`slow_addr`): its kernel buffers are full. Returns the
/// first WsSeq and the number of ballast events.
fn ballast(s: &StandIn, slow_addr: &str, raiser: &mut WsClient, fast: &mut WsClient) -> (u64, u64) {
    let filler = "x".repeat(950);
    let names: Vec<String> = (0..60).map(|i| format!("B{i:02}")).collect();
    let mut first = None;
    for i in 0..BALLAST_MAX {
        let n = i.to_string();
        let mut headers: Vec<(&str, &str)> = vec![("I", &n)];
        headers.extend(names.iter().map(|k| (k.as_str(), filler.as_str())));
        raiser.user_event("Ballast", &headers);
        let v = fast
            .wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "Ballast")
            .unwrap_or_else(|| panic!("fast client: no ballast event {i}"));
        assert_eq!(field(&v, "I"), n, "{}", field(&v, "WsSeq"));
        let s_n = seq(&v).unwrap();
        let first = *first.get_or_insert(s_n);
        assert_eq!(s_n, first + i, "ballast events must be consecutive");
        if i + 1 >= BALLAST_MIN && (i + 1) % 20 == 0 {
            let (rows, _) = clients(s);
            let slow = rows.iter().find(|r| r.peer == slow_addr).expect("slow client row");
            if slow.queued > 0 {
                return (first, i + 1);
            }
        }
    }
    panic!("{BALLAST_MAX} big events did not fill the slow client's buffers");
}

/// Starts a stand-in with the given policy and drives the flood: slow client logged in and
/// never reading, ballast, then the burst read by the fast client. Returns everything needed
/// to check the slow client: (stand-in, slow client, fast client, first WsSeq, last WsSeq,
/// ballast events).
fn flood(policy: &str) -> (StandIn, WsClient, WsClient, u64, u64, u64) {
    let (s, port) = start(policy);
    let slow = slow_client(port);
    let mut fast = login_as(port, "admin", "adminpw");
    while fast.recv_json(Duration::from_millis(100)).is_some() {}
    let mut raiser = login_as(port, "raiser", "pw");
    let slow_addr = slow.ws.get_ref().local_addr().unwrap().to_string();
    let (first, ballast) = ballast(&s, &slow_addr, &mut raiser, &mut fast);
    let started = Instant::now();
    assert!(s.rx(&format!("traffic burst {BURST} {RATE}")).contains("burst started"));
    let (burst_first, lat) = read_burst(&mut fast);
    let took = started.elapsed();
    assert_eq!(burst_first, first + ballast, "nothing else was raised in between");
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let max = lat.iter().cloned().fold(0.0, f64::max);
    eprintln!(
        "{policy}: fast client got {BURST} events in {took:?}; latency p50 {p50:.2} ms, \
         p99 {p99:.2} ms, max {max:.2} ms"
    );
    // The slow client must not hold the others back: the burst takes 1.5 s to raise.
    assert!(took < Duration::from_secs(6), "fast client needed {took:?}");
    assert!(p50 < 100.0 && max < 2000.0, "fast client delayed: p50 {p50} ms, max {max} ms");
    s.expect_log(&format!("standin: burst done: {BURST} events"));
    (s, slow, fast, first, first + ballast + BURST - 1, ballast)
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// Reads the whole burst on a normal client: (first WsSeq, latencies in ms), checking that no
/// event is missing or out of order.
fn read_burst(c: &mut WsClient) -> (u64, Vec<f64>) {
    let mut first = None;
    let mut lat = Vec::with_capacity(BURST as usize);
    let deadline = Instant::now() + Duration::from_secs(30);
    while (lat.len() as u64) < BURST {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = c.recv_json(left).unwrap_or_else(|| panic!("fast client stalled at {}", lat.len()));
        if field(&v, "Event") == "WsEventsLost" {
            panic!("the fast client lost events: {v}");
        }
        if field(&v, "UserEvent") != "Burst" {
            continue;
        }
        let i = lat.len() as u64;
        let n = seq(&v).unwrap();
        let first = *first.get_or_insert(n);
        assert_eq!(n, first + i, "fast client: gap or reorder");
        assert_eq!(field(&v, "Seq"), i.to_string(), "{v}");
        let sent: u128 = field(&v, "SentNs").parse().unwrap();
        lat.push(now_ns().saturating_sub(sent) as f64 / 1e6);
    }
    (first.unwrap(), lat)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[((s.len() - 1) as f64 * p) as usize]
}

#[test]
fn slow_reader_loses_events_others_do_not() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, mut slow, _fast, first, last, ballast) = flood("report");

    // The slow client's queue is bounded and its losses are counted.
    let (rows, n) = clients(&s);
    assert_eq!(n, 2);
    let (slow_row, fast_row) =
        if rows[0].sent < rows[1].sent { (&rows[0], &rows[1]) } else { (&rows[1], &rows[0]) };
    assert_eq!(fast_row.lost, 0, "{rows:?}");
    assert_eq!(fast_row.sent, ballast + BURST, "{rows:?}");
    assert!(slow_row.lost > 0, "the slow client lost nothing: {rows:?}");
    assert!(slow_row.queued <= MAX_QUEUED + 1024, "queue not bounded: {rows:?}");

    // Reading again: events, then WsEventsLost naming exactly the gap, then the rest.
    let mut prev: Option<u64> = None;
    let mut delivered = 0u64;
    let mut lost = 0u64;
    let mut notices = 0;
    let mut pending_gap: Option<(u64, u64)> = None;
    loop {
        let v: Value = match slow.recv(Duration::from_secs(3)) {
            Recv::Text(t) => serde_json::from_str(&t).unwrap(),
            Recv::Timeout => break,
            Recv::Closed(c) => panic!("slow client closed: {c:?}"),
        };
        if field(&v, "Event") == "WsEventsLost" {
            let a: u64 = field(&v, "FirstLost").parse().unwrap();
            let b: u64 = field(&v, "LastLost").parse().unwrap();
            let count: u64 = field(&v, "Count").parse().unwrap();
            assert!(a <= b && count == b - a + 1, "{v}");
            let expected_first = prev.map_or(first, |p| p + 1);
            assert_eq!(a, expected_first, "FirstLost must follow the last event seen: {v}");
            assert!(pending_gap.is_none(), "two notices in a row");
            pending_gap = Some((a, b));
            lost += count;
            notices += 1;
            continue;
        }
        let Some(n) = seq(&v) else { continue };
        match (pending_gap.take(), prev) {
            (Some((_, b)), _) => assert_eq!(n, b + 1, "event after a notice must be LastLost+1"),
            (None, Some(p)) => assert_eq!(n, p + 1, "gap without a notice: {p} -> {n}"),
            (None, None) => assert_eq!(n, first, "the slow client's first event"),
        }
        prev = Some(n);
        delivered += 1;
        if n == last {
            break;
        }
    }
    assert_eq!(prev, Some(last), "the slow client did not catch up");
    assert!(notices >= 1);
    assert_eq!(delivered + lost, ballast + BURST, "every event is delivered or reported lost");
    let (rows, _) = clients(&s);
    let row = rows.iter().find(|r| r.id == slow_row.id).unwrap();
    assert_eq!(row.lost, lost, "ws show clients and the notices disagree");
}

#[test]
fn slow_reader_is_disconnected_with_4001_when_configured() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, mut slow, mut fast, ..) = flood("disconnect");
    // Whatever was queued comes first, then the close; no WsEventsLost notice.
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        match slow.recv(deadline.saturating_duration_since(Instant::now())) {
            Recv::Text(t) => assert!(!t.contains("WsEventsLost"), "{t}"),
            Recv::Closed(c) => break c.map(|(code, _)| code),
            Recv::Timeout => panic!("the slow client was never closed"),
        }
    };
    assert_eq!(code, Some(4001));
    assert!(common::ws::wait_clients(&s, 1, Duration::from_secs(3)), "{}", s.rx("ws show clients"));
    // The other client is still served.
    let port = s.rx("ws show status");
    let port: u16 = port
        .lines()
        .find_map(|l| l.strip_prefix("Listening on:"))
        .and_then(|a| a.trim().rsplit(':').next()?.parse().ok())
        .expect("port");
    let mut raiser = login_as(port, "raiser", "pw");
    raiser.user_event("After", &[]);
    let v = fast.wait_for(Duration::from_secs(5), |v| field(v, "UserEvent") == "After");
    assert!(v.is_some(), "the fast client stopped receiving");
}

#[test]
fn an_event_bigger_than_the_output_cap_still_gets_through() {
    let (_s, port) = start("report");
    let mut a = login_as(port, "admin", "adminpw");
    // Sent as AMI text (under the 64 KiB message limit); as JSON every `"` doubles, so the
    // event's JSON frame is about 120 KB, more than max_queued_bytes (64 KiB).
    let mut t = common::ws::try_connect(port, Some("ami-text"), None).expect("ami-text");
    t.send_text("Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\nActionID: l\r\n\r\n");
    assert!(matches!(t.recv(Duration::from_secs(5)), Recv::Text(r) if r.contains("Success")));
    let filler = "\"".repeat(990);
    let mut msg = String::from("Action: UserEvent\r\nUserEvent: Big\r\n");
    for i in 0..60 {
        msg.push_str(&format!("B{i:02}: {filler}\r\n"));
    }
    t.send_text(&format!("{msg}\r\n"));
    let big = a.wait_for(Duration::from_secs(5), |v| field(v, "UserEvent") == "Big");
    let big = big.expect("the big event never reached the JSON client");
    assert!(big.to_string().len() > MAX_QUEUED as usize, "not bigger than the cap");
    assert_eq!(field(&big, "B59"), filler);
    // And the stream goes on after it.
    let mut raiser = login_as(port, "raiser", "pw");
    raiser.user_event("Small", &[]);
    let v = a.next_event(Duration::from_secs(5)).expect("nothing after the big event");
    assert_eq!(field(&v, "UserEvent"), "Small");
}
