//! Status answered by the module from the core's channel data (never through the hook, where it
//! crashes Asterisk): AMI's list shape, fields and order, `Channel=`, `Variables=`,
//! `AllVariables`, `ActionID`, AMI's errors; every channel reference, snapshot and lock the
//! module takes in the stand-in is given back.

mod common;

use std::time::{Duration, Instant};

use common::record::hook_texts;
use common::ws::{WsClient, connect, field};
use common::{Opts, StandIn};
use serde_json::Value;

const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = pw\nread =\nwrite = all\n\n\
[caller]\nsecret = pw\nread =\nwrite = call,reporting\n";

const WAIT: Duration = Duration::from_secs(10);

/// manager.c generate_status: the fields of a Status event after the channel state text.
const AFTER_STATE: &[&str] = &[
    "Type",
    "DNID",
    "EffectiveConnectedLineNum",
    "EffectiveConnectedLineName",
    "TimeToHangup",
    "BridgeID",
    "Application",
    "Data",
    "Nativeformats",
    "Readformat",
    "Readtrans",
    "Writeformat",
    "Writetrans",
    "Callgroup",
    "Pickupgroup",
    "Seconds",
];

/// manager_channels.c: the channel state text's fields.
const STATE: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
];

fn login(port: u16, user: &str) -> WsClient {
    let mut c = connect(port);
    let r = c.login(user, "pw");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{user}: {r}");
    c
}

/// Sends an action; returns every message carrying its ActionID up to the list's end (or the
/// single response when it is not a list).
fn list(c: &mut WsClient, pairs: &[(&str, &str)]) -> Vec<Value> {
    let id = c.send_action(pairs);
    let mut out = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = c.wait_for(left, |v| field(v, "ActionID") == id) else {
            panic!("no complete reply to {pairs:?}; so far: {out:?}")
        };
        let end = field(&v, "EventList") == "Complete"
            || (out.is_empty() && field(&v, "EventList") != "start");
        out.push(v);
        if end {
            return out;
        }
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Originates a Local pair that stays up; returns the names of its two channels.
fn originate(c: &mut WsClient, exten: &str) -> Vec<String> {
    let chan = format!("Local/{exten}@default");
    let r = list(
        c,
        &[
            ("Action", "Originate"),
            ("Channel", &chan),
            ("Application", "Wait"),
            ("Data", "60"),
            ("Variable", "STANDIN_DURATION=60"),
        ],
    );
    assert_eq!(field(&r[0], "Response"), "Success", "{r:?}");
    let deadline = Instant::now() + WAIT;
    loop {
        let all = list(c, &[("Action", "CoreShowChannels")]);
        let names: Vec<String> = all
            .iter()
            .filter(|v| field(v, "Event") == "CoreShowChannel")
            .map(|v| field(v, "Channel").to_string())
            .filter(|n| n.starts_with(&format!("{chan}-")))
            .collect();
        if names.len() == 2 || Instant::now() > deadline {
            assert_eq!(names.len(), 2, "{names:?}");
            return names;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn resources_clean(s: &StandIn) {
    let out = s.rx("standin show resources");
    for line in ["channel handles: 0", "channel snapshots: 0", "channel locks held: 0"] {
        assert!(out.contains(line), "{line} expected:\n{out}");
    }
}

#[test]
fn status_lists_every_channel_with_ami_fields_in_order() {
    let s = StandIn::start(&[("manager.conf", MANAGER_CONF)], Opts::default());
    let port = s.ws_port().unwrap();
    let mut admin = login(port, "admin");
    let mut caller = login(port, "caller");

    // No channels: the acknowledgement and an empty Complete.
    let r = list(&mut caller, &[("Action", "Status")]);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(keys(&r[0]), ["Response", "ActionID", "EventList", "Message"], "{r:?}");
    assert_eq!(field(&r[0], "Message"), "Channel status will follow");
    assert_eq!(keys(&r[1]), ["Event", "ActionID", "EventList", "ListItems", "Items"], "{:?}", r[1]);
    assert_eq!((field(&r[1], "ListItems"), field(&r[1], "Items")), ("0", "0"));

    let live = originate(&mut admin, "st");
    let r = list(&mut caller, &[("Action", "Status")]);
    let events: Vec<&Value> = r.iter().filter(|v| field(v, "Event") == "Status").collect();
    assert_eq!(events.len(), 2, "{r:?}");
    let done = r.last().unwrap();
    assert_eq!(field(done, "Event"), "StatusComplete");
    assert_eq!((field(done, "ListItems"), field(done, "Items")), ("2", "2"));
    let mut expected: Vec<String> = vec!["Event".into(), "Privilege".into()];
    expected.extend(STATE.iter().map(|s| s.to_string()));
    expected.extend(AFTER_STATE.iter().map(|s| s.to_string()));
    expected.push("ActionID".into());
    for ev in &events {
        // WsSeq is the module's own key on events; Status items are replies, so none.
        assert_eq!(keys(ev), expected, "{ev}");
        assert_eq!(field(ev, "Privilege"), "Call");
        assert_eq!(field(ev, "Type"), "Local");
        assert_eq!(field(ev, "TimeToHangup"), "0");
        assert!(field(ev, "Seconds").parse::<u64>().is_ok(), "{ev}");
        assert!(live.iter().any(|n| n == field(ev, "Channel")), "{ev}");
    }

    // One channel by name, with requested variables (set, function, unset) and all variables.
    let set = [("Action", "Setvar"), ("Channel", &live[0]), ("Variable", "WSV"), ("Value", "v1")];
    assert_eq!(field(&list(&mut admin, &set)[0], "Response"), "Success");
    let set = [("Action", "Setvar"), ("Channel", &live[0]), ("Variable", "WSW"), ("Value", "w")];
    assert_eq!(field(&list(&mut admin, &set)[0], "Response"), "Success");
    let r = list(
        &mut caller,
        &[
            ("Action", "Status"),
            ("Channel", &live[0]),
            ("Variables", "WSV,CHANNEL(name),NOSUCH"),
            ("AllVariables", "yes"),
        ],
    );
    assert_eq!(r.len(), 3, "{r:?}");
    let ev = &r[1];
    assert_eq!(field(ev, "Channel"), live[0]);
    let vars: Vec<&str> =
        ev["Variable"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let name_var = format!("CHANNEL(name)={}", live[0]);
    assert_eq!(vars, ["WSV=v1", name_var.as_str(), "NOSUCH=(null)", "WSW=w", "WSV=v1"], "{ev}");
    assert_eq!(field(&r[2], "Items"), "1");
    // AllVariables off: only the requested ones.
    let r = list(
        &mut caller,
        &[
            ("Action", "Status"),
            ("Channel", &live[0]),
            ("Variables", "WSW"),
            ("AllVariables", "no"),
        ],
    );
    assert_eq!(field(&r[1], "Variable"), "WSW=w", "{r:?}");

    // AMI's errors.
    let r = list(&mut caller, &[("Action", "Status"), ("Channel", "PJSIP/nobody-00000001")]);
    assert_eq!((field(&r[0], "Response"), field(&r[0], "Message")), ("Error", "No such channel"));
    let r = list(&mut caller, &[("Action", "Status"), ("Variables", "SHELL(id)")]);
    assert_eq!(field(&r[0], "Message"), "Status Access Forbidden: Variables", "{r:?}");
    let r = list(&mut caller, &[("Action", "Status"), ("Variables", "X,EVAL(${Y})")]);
    assert_eq!(field(&r[0], "Message"), "Status Access Forbidden: Variables", "{r:?}");
    // A system user passes AMI's check (the core then refuses SHELL on the action thread).
    let r = list(
        &mut admin,
        &[("Action", "Status"), ("Channel", &live[1]), ("Variables", "SHELL(id)")],
    );
    assert_eq!(field(&r[1], "Variable"), "SHELL(id)=", "{r:?}");

    // Never through the hook; every reference, snapshot and lock given back.
    assert!(
        !hook_texts(&s).iter().any(|t| t.action().eq_ignore_ascii_case("Status")),
        "Status reached ast_hook_send_action"
    );
    resources_clean(&s);
}

#[test]
fn status_while_calls_come_and_go_never_crashes_or_leaks() {
    let s = StandIn::start(
        &[("manager.conf", MANAGER_CONF)],
        Opts { traffic: Some(50.0), ..Opts::default() },
    );
    let port = s.ws_port().unwrap();
    let mut c = login(port, "admin");
    let mut seen = 0usize;
    for _ in 0..60 {
        // Paced below the module's per-connection message rate limit.
        std::thread::sleep(Duration::from_millis(25));
        let r = list(&mut c, &[("Action", "Status"), ("AllVariables", "1")]);
        let done = r.last().unwrap();
        assert_eq!(field(done, "Event"), "StatusComplete", "{done}");
        let n: usize = field(done, "Items").parse().unwrap();
        assert_eq!(n, r.len() - 2, "{r:?}");
        seen += n;
    }
    assert!(seen > 0, "the simulated traffic never showed a channel");
    s.rx("traffic off");
    std::thread::sleep(Duration::from_millis(300));
    resources_clean(&s);
}
