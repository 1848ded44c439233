//! Resuming the event stream on a new connection with `WsResumeAfter` in the Login: exactly
//! the later events, in order, no gap and no duplicate; a resume point the ring has overwritten
//! gives a WsEventsLost for exactly the missing range, then the rest.

mod common;

use std::time::Duration;

use common::ws::{WsClient, connect, field, login_as, seq};
use common::{DEFAULT_MANAGER_CONF, Opts, StandIn, default_module_conf, free_port};
use serde_json::Value;

fn start(ring: Option<usize>) -> (StandIn, u16) {
    let port = free_port();
    let mut conf = default_module_conf(port);
    if let Some(n) = ring {
        conf.push_str(&format!("ring_size = {n}\n"));
    }
    // `raiser` raises UserEvents but reads none, so it never lags behind.
    let manager = format!(
        "{DEFAULT_MANAGER_CONF}\n[raiser]\nsecret = pw\nread = system\nwrite = user\n\n\
         [caller]\nsecret = pw\nread = call\nwrite = call\n"
    );
    let s = StandIn::start(
        &[("ami_websocket.conf", &conf), ("manager.conf", &manager)],
        Opts::default(),
    );
    (s, port)
}

fn raise(raiser: &mut WsClient, from: u32, to: u32) {
    for i in from..to {
        raiser.user_event(&format!("R{i}"), &[]);
    }
}

/// Logs in on a new connection with `WsResumeAfter: after`.
fn resume(port: u16, user: &str, secret: &str, after: &str) -> WsClient {
    let mut c = connect(port);
    let id = c.send_action(&[
        ("Action", "Login"),
        ("Username", user),
        ("Secret", secret),
        ("WsResumeAfter", after),
    ]);
    let r = c.response(&id, Duration::from_secs(10)).expect("no login response");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    c
}

/// Every message with a WsSeq or a WsEventsLost, until `n` of them came (or 5 s passed).
fn stream(c: &mut WsClient, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        match c.wait_for(Duration::from_secs(5), |v| {
            seq(v).is_some() || field(v, "Event") == "WsEventsLost"
        }) {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

#[test]
fn resume_gets_exactly_the_missed_events() {
    let (_s, port) = start(None);
    let mut raiser = login_as(port, "raiser", "pw");
    let mut a = login_as(port, "admin", "adminpw");
    raise(&mut raiser, 0, 5);
    let seen = a.events(5, Duration::from_secs(5));
    assert_eq!(seen.len(), 5);
    assert_eq!(field(&seen[4], "UserEvent"), "R4");
    let n = seq(&seen[4]).unwrap();
    a.close();

    raise(&mut raiser, 5, 25);
    let mut b = resume(port, "admin", "adminpw", &n.to_string());
    let got = stream(&mut b, 20);
    assert_eq!(got.len(), 20, "{got:?}");
    for (i, v) in got.iter().enumerate() {
        assert_eq!(seq(v), Some(n + 1 + i as u64), "{v}");
        assert_eq!(field(v, "UserEvent"), format!("R{}", 5 + i), "{v}");
    }
    // Then live events follow without a duplicate or a gap.
    raise(&mut raiser, 25, 26);
    let v = b.next_event(Duration::from_secs(5)).expect("no live event after the resume");
    assert_eq!((seq(&v), field(&v, "UserEvent")), (Some(n + 21), "R25"), "{v}");
    assert!(b.next_event(Duration::from_millis(300)).is_none());

    // Resuming only replays what the user may read: a read=call user gets no UserEvent.
    let mut caller = resume(port, "caller", "pw", &n.to_string());
    assert!(caller.next_event(Duration::from_millis(500)).is_none());

    // A resume point not reached yet, or not a number, means live events only.
    for after in [(n + 1000).to_string(), "soon".to_string()] {
        let mut c = resume(port, "admin", "adminpw", &after);
        raise(&mut raiser, 26, 27);
        let v = c.next_event(Duration::from_secs(5)).expect("no live event");
        assert_eq!(field(&v, "UserEvent"), "R26", "resume after {after}: {v}");
        assert!(c.next_event(Duration::from_millis(200)).is_none());
    }
}

#[test]
fn resume_past_the_ring_reports_exactly_the_lost_range() {
    const RING: u64 = 16;
    let (_s, port) = start(Some(RING as usize));
    let mut raiser = login_as(port, "raiser", "pw");
    let mut a = login_as(port, "admin", "adminpw");
    raise(&mut raiser, 0, 1);
    let n = seq(&a.next_event(Duration::from_secs(5)).expect("R0")).unwrap();
    drop(a);

    raise(&mut raiser, 1, 41);
    // The ring keeps the last 16 of the 40 raised since: n+25 ..= n+40.
    let mut b = resume(port, "admin", "adminpw", &n.to_string());
    let got = stream(&mut b, 1 + RING as usize);
    assert_eq!(got.len(), 1 + RING as usize, "{got:?}");
    let lost = &got[0];
    assert_eq!(field(lost, "Event"), "WsEventsLost", "{lost}");
    assert_eq!(field(lost, "FirstLost"), (n + 1).to_string(), "{lost}");
    assert_eq!(field(lost, "LastLost"), (n + 40 - RING).to_string(), "{lost}");
    assert_eq!(field(lost, "Count"), (40 - RING).to_string(), "{lost}");
    for (i, v) in got[1..].iter().enumerate() {
        let k = 40 - RING + 1 + i as u64;
        assert_eq!(seq(v), Some(n + k), "{v}");
        assert_eq!(field(v, "UserEvent"), format!("R{k}"), "{v}");
    }
    assert!(b.next_event(Duration::from_millis(300)).is_none());
}
