//! The stand-in's simulated world through the module, over real sockets: list actions with
//! Asterisk 22's shapes and items routed by ActionID; a call's event sequence; hold/unhold;
//! blind transfer; queue join and leave; park; Hangup ends a call; Originate makes one; a
//! read-only `viewer` may not hang up. Event shapes are checked against the recording of a real
//! Asterisk 22.10.1 (tests/fixtures) where it has them, and against tests/fixtures/SHAPES.md.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::fixture;
use common::ws::{WsClient, field, login_as};
use common::{StandIn, start_with_manager};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\ntimestampevents = yes\n\n\
[demo]\nsecret = demo\nread = all\nwrite = all\n\n\
[viewer]\nsecret = viewer\nread = all\nwrite = reporting\n";

fn start() -> (StandIn, WsClient) {
    let (s, port) = start_with_manager(MANAGER);
    let c = login_as(port, "demo", "demo");
    (s, c)
}

fn cmd(s: &StandIn, line: &str) -> Vec<String> {
    common::world_cmd(s, line)
}

/// A list action to run: (action, extra headers, item event or "" for several, Complete event).
type ListCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

/// A list action's messages: (response, items, complete), collected by ActionID only.
struct List {
    response: Value,
    items: Vec<Value>,
    complete: Value,
}

fn collect(c: &mut WsClient, id: &str) -> List {
    let deadline = Instant::now() + WAIT;
    let mut response = None;
    let mut items = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = c.wait_for(left, |v| field(v, "ActionID") == id).expect("list message");
        if v.get("Response").is_some() {
            response = Some(v);
        } else if field(&v, "EventList") == "Complete" {
            return List {
                response: response.expect("response before Complete"),
                items,
                complete: v,
            };
        } else {
            items.push(v);
        }
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// Keys of an event without the module's `WsSeq`.
fn event_keys(v: &Value) -> Vec<String> {
    keys(v).into_iter().filter(|k| k != "WsSeq").collect()
}

/// The keys of the first recorded event of that name (real Asterisk 22.10.1); for DialBegin
/// and DialEnd the first with a calling channel (the recording's first ones come from an
/// Originate, which has none).
fn recorded_keys(name: &str) -> Vec<String> {
    let caller = matches!(name, "DialBegin" | "DialEnd");
    fixture::replayed()
        .into_iter()
        .find(|e| e.name == name && (!caller || e.headers().iter().any(|(k, _)| k == "Channel")))
        .map(|e| e.headers().into_iter().map(|(k, _)| k).collect())
        .unwrap_or_else(|| panic!("no {name} in the fixture"))
}

/// Sends an action and reads every message: its reply and the events, until the reply came and
/// `done` says stop.
fn run(
    c: &mut WsClient,
    pairs: &[(&str, &str)],
    done: impl Fn(&[Value]) -> bool,
) -> (Value, Vec<Value>) {
    let id = c.send_action(pairs);
    let deadline = Instant::now() + WAIT;
    let (mut reply, mut got) = (None, Vec::new());
    while reply.is_none() || !done(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = c.recv_json(left) else {
            panic!("no reply/events for {pairs:?}; got {got:?}")
        };
        if v.get("Response").is_some() && v.get("Event").is_none() && field(&v, "ActionID") == id {
            reply = Some(v);
        } else if v.get("Event").is_some() {
            got.push(v);
        }
    }
    (reply.expect("reply"), got)
}

/// Events until `done` says stop (returned in order), or panics at the deadline.
fn events_until(c: &mut WsClient, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while !done(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = c.recv_json(left) else {
            panic!(
                "events ended early; got {:?}",
                got.iter().map(|e| field(e, "Event")).collect::<Vec<_>>()
            )
        };
        if v.get("Event").is_some() {
            got.push(v);
        }
    }
    got
}

fn count(ev: &[Value], name: &str) -> usize {
    ev.iter().filter(|e| field(e, "Event") == name).count()
}

/// Index of the first event matching, or panic.
fn pos(ev: &[Value], what: &str, pred: impl Fn(&Value) -> bool) -> usize {
    ev.iter().position(pred).unwrap_or_else(|| {
        panic!("no {what} in {:?}", ev.iter().map(|e| field(e, "Event")).collect::<Vec<_>>())
    })
}

fn is(e: &Value, name: &str, key: &str, val: &str) -> bool {
    field(e, "Event") == name && field(e, key) == val
}

#[test]
fn a_call_raises_asterisk_events_in_order() {
    let (s, mut c) = start();
    let ans = cmd(&s, "standin call 100 101");
    assert_eq!(ans[0], "call", "{ans:?}");
    let (a, b, bridge) = (ans[1].clone(), ans[2].clone(), ans[3].clone());
    let ev = events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2 && count(ev, "VarSet") >= 5);
    let newchan_a = pos(&ev, "Newchannel A", |e| is(e, "Newchannel", "Uniqueid", &a));
    let dial_app = pos(&ev, "Newexten Dial", |e| is(e, "Newexten", "Application", "Dial"));
    let newchan_b = pos(&ev, "Newchannel B", |e| is(e, "Newchannel", "Uniqueid", &b));
    let begin = pos(&ev, "DialBegin", |e| is(e, "DialBegin", "DestUniqueid", &b));
    let ringing =
        pos(&ev, "Newstate Ringing", |e| is(e, "Newstate", "ChannelStateDesc", "Ringing"));
    let ext_ring = pos(&ev, "ExtensionStatus 101 Ringing", |e| {
        is(e, "ExtensionStatus", "Exten", "101") && field(e, "StatusText") == "Ringing"
    });
    let end = pos(&ev, "DialEnd", |e| is(e, "DialEnd", "DialStatus", "ANSWER"));
    let create = pos(&ev, "BridgeCreate", |e| is(e, "BridgeCreate", "BridgeUniqueid", &bridge));
    let enter_b = pos(&ev, "BridgeEnter B", |e| is(e, "BridgeEnter", "Uniqueid", &b));
    let enter_a = pos(&ev, "BridgeEnter A", |e| is(e, "BridgeEnter", "Uniqueid", &a));
    let order =
        [newchan_a, dial_app, newchan_b, begin, ringing, ext_ring, end, create, enter_b, enter_a];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "order {order:?}");
    // Shapes: the same keys in the same order as the real Asterisk's events.
    for name in [
        "Newchannel",
        "DialBegin",
        "DialEnd",
        "Newstate",
        "BridgeCreate",
        "BridgeEnter",
        "NewConnectedLine",
        "NewCallerid",
    ] {
        let e = ev.iter().find(|e| field(e, "Event") == name).expect(name);
        assert_eq!(event_keys(e), recorded_keys(name), "{name}: {e}");
    }
    let caller = &ev[newchan_a];
    assert_eq!(
        (field(caller, "Channel").starts_with("PJSIP/100-"), field(caller, "CallerIDNum")),
        (true, "100")
    );
    assert_eq!(field(&ev[enter_a], "ConnectedLineNum"), "101", "{}", ev[enter_a]);
    assert_eq!(field(&ev[enter_a], "Linkedid"), field(&ev[enter_b], "Linkedid"));
    let dev =
        ev.iter().find(|e| is(e, "DeviceStateChange", "Device", "PJSIP/100")).expect("device 100");
    assert_eq!(event_keys(dev), recorded_keys("DeviceStateChange"));

    // The phone of 101 hangs up: both legs end, the bridge goes, the lamps go idle.
    cmd(&s, &format!("standin hangup {b}"));
    let ev = events_until(&mut c, |ev| {
        count(ev, "Hangup") == 2
            && count(ev, "BridgeDestroy") == 1
            && count(ev, "ExtensionStatus") == 2
    });
    let req = pos(&ev, "HangupRequest", |e| is(e, "HangupRequest", "Uniqueid", &b));
    let leave = pos(&ev, "BridgeLeave", |e| is(e, "BridgeLeave", "Uniqueid", &b));
    let hang_b = pos(&ev, "Hangup B", |e| is(e, "Hangup", "Uniqueid", &b));
    let destroy = pos(&ev, "BridgeDestroy", |e| is(e, "BridgeDestroy", "BridgeUniqueid", &bridge));
    let hang_a = pos(&ev, "Hangup A", |e| is(e, "Hangup", "Uniqueid", &a));
    assert!(
        req < leave && leave < hang_b && hang_b < destroy && destroy < hang_a,
        "{req} {leave} {hang_b} {destroy} {hang_a}"
    );
    for name in ["Hangup", "HangupRequest", "BridgeLeave", "BridgeDestroy"] {
        let e = ev.iter().find(|e| field(e, "Event") == name).expect(name);
        assert_eq!(event_keys(e), recorded_keys(name), "{name}: {e}");
    }
    assert_eq!(field(&ev[hang_b], "Cause-txt"), "Normal Clearing");
    assert!(
        ev.iter()
            .any(|e| is(e, "ExtensionStatus", "Exten", "100") && field(e, "StatusText") == "Idle")
    );
    assert!(!s.rx("standin show world").contains("channel "), "{}", s.rx("standin show world"));
}

#[test]
fn hold_and_unhold_raise_hold_events_and_the_peer_lamp() {
    let (s, mut c) = start();
    let ans = cmd(&s, "standin call 102 103");
    let (a, b) = (ans[1].clone(), ans[2].clone());
    events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    cmd(&s, &format!("standin hold {a}"));
    let ev = events_until(&mut c, |ev| count(ev, "MusicOnHoldStart") == 1);
    let hold = pos(&ev, "Hold", |e| is(e, "Hold", "Uniqueid", &a));
    assert_eq!(field(&ev[hold], "MusicClass"), "default");
    let mut want: Vec<String> = recorded_keys("Newstate");
    want.retain(|k| k != "Event");
    want.insert(0, "Event".into());
    want.push("MusicClass".into());
    assert_eq!(event_keys(&ev[hold]), want, "Hold: channel fields then MusicClass");
    assert!(
        ev.iter()
            .any(|e| is(e, "ExtensionStatus", "Exten", "103") && field(e, "StatusText") == "Hold")
    );
    assert!(ev.iter().any(|e| is(e, "MusicOnHoldStart", "Uniqueid", &b)));
    assert!(s.rx("standin hold").contains("Usage"));
    assert!(s.rx(&format!("standin hold {a}")).starts_with("error:"), "twice on hold");
    cmd(&s, &format!("standin unhold {a}"));
    let ev = events_until(&mut c, |ev| count(ev, "MusicOnHoldStop") == 1);
    assert!(ev.iter().any(|e| is(e, "Unhold", "Uniqueid", &a)));
    assert!(
        ev.iter()
            .any(|e| is(e, "ExtensionStatus", "Exten", "103") && field(e, "StatusText") == "InUse")
    );
}

#[test]
fn blind_transfer_sends_the_peer_to_the_new_phone() {
    let (s, mut c) = start();
    let ans = cmd(&s, "standin call 104 105");
    let (a, b) = (ans[1].clone(), ans[2].clone());
    events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    let t = cmd(&s, &format!("standin transfer {b} 106"));
    assert_eq!((t[0].as_str(), t[1].as_str()), ("transfer", a.as_str()), "{t:?}");
    let leg = t[2].clone();
    let ev = events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    let bt = pos(&ev, "BlindTransfer", |e| field(e, "Event") == "BlindTransfer");
    let e = &ev[bt];
    assert_eq!(
        (
            field(e, "Result"),
            field(e, "TransfererUniqueid"),
            field(e, "TransfereeUniqueid"),
            field(e, "Extension"),
            field(e, "IsExternal")
        ),
        ("Success", b.as_str(), a.as_str(), "106", "Yes"),
        "{e}"
    );
    let k = event_keys(e);
    let at =
        |name: &str| k.iter().position(|x| x == name).unwrap_or_else(|| panic!("{name} in {k:?}"));
    assert!(
        at("Result") < at("TransfererChannel")
            && at("TransfererLinkedid") < at("TransfereeChannel")
    );
    assert!(
        at("TransfereeLinkedid") < at("BridgeUniqueid")
            && at("BridgeVideoSourceMode") < at("IsExternal")
    );
    assert!(at("IsExternal") < at("Context") && at("Context") < at("Extension"));
    let hang_b = pos(&ev, "transferer hangs up", |e| is(e, "Hangup", "Uniqueid", &b));
    let rings = pos(&ev, "new leg", |e| is(e, "DialBegin", "DestUniqueid", &leg));
    assert!(bt < hang_b && hang_b < rings);
    assert!(ev.iter().any(|e| is(e, "BridgeEnter", "Uniqueid", &a)));
    assert!(s.rx("standin show world").contains(&format!("channel {leg} PJSIP/106-")));
}

#[test]
fn queue_callers_join_wait_and_leave() {
    let (s, mut c) = start();
    let caller = cmd(&s, "standin queue-call support 107")[1].clone();
    let ev = events_until(&mut c, |ev| count(ev, "QueueCallerJoin") == 1);
    let j = &ev[pos(&ev, "join", |e| field(e, "Event") == "QueueCallerJoin")];
    assert_eq!(
        (field(j, "Uniqueid"), field(j, "Queue"), field(j, "Position"), field(j, "Count")),
        (caller.as_str(), "support", "1", "1")
    );
    assert_eq!(field(j, "Privilege"), "agent,all");
    let k = event_keys(j);
    assert_eq!(k[k.len() - 3..], ["Queue", "Position", "Count"], "{k:?}");
    assert_eq!(k[3], "Channel", "{k:?}");

    let status = c.send_action(&[("Action", "QueueStatus"), ("Queue", "support")]);
    let l = collect(&mut c, &status);
    let entry = l.items.iter().find(|i| field(i, "Event") == "QueueEntry").expect("QueueEntry");
    assert_eq!((field(entry, "Uniqueid"), field(entry, "Position")), (caller.as_str(), "1"));

    let second = cmd(&s, "standin queue-call support 108")[1].clone();
    let ans = cmd(&s, "standin queue-answer support");
    assert_eq!(ans[1], caller, "the first caller is served first: {ans:?}");
    let agent = ans[2].clone();
    let ev = events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    let called = pos(&ev, "AgentCalled", |e| is(e, "AgentCalled", "DestUniqueid", &agent));
    let leave = pos(&ev, "QueueCallerLeave", |e| is(e, "QueueCallerLeave", "Uniqueid", &caller));
    let connect = pos(&ev, "AgentConnect", |e| is(e, "AgentConnect", "Uniqueid", &caller));
    assert!(called < leave && leave < connect);
    assert_eq!((field(&ev[leave], "Position"), field(&ev[leave], "Count")), ("1", "1"));
    let member = field(&ev[connect], "Interface").to_string();
    assert!(["PJSIP/100", "PJSIP/101", "PJSIP/102"].contains(&member.as_str()), "{member}");

    // The second caller gives up: abandon, then leave.
    cmd(&s, &format!("standin hangup {second}"));
    let ev = events_until(&mut c, |ev| count(ev, "Hangup") == 1);
    let ab = pos(&ev, "abandon", |e| is(e, "QueueCallerAbandon", "Uniqueid", &second));
    let lv = pos(&ev, "leave", |e| is(e, "QueueCallerLeave", "Uniqueid", &second));
    assert!(ab < lv);
    assert_eq!((field(&ev[ab], "Position"), field(&ev[ab], "OriginalPosition")), ("1", "2"));
    let k = event_keys(&ev[ab]);
    assert_eq!(k[k.len() - 4..], ["Queue", "Position", "OriginalPosition", "HoldTime"]);

    // Pausing a member through the action: QueueMemberPause with app_queue.c's member blob.
    let pause = [
        ("Action", "QueuePause"),
        ("Interface", "PJSIP/102"),
        ("Paused", "true"),
        ("Reason", "test"),
    ];
    let (r, ev) = run(&mut c, &pause, |ev| count(ev, "QueueMemberPause") == 1);
    assert_eq!(field(&r, "Message"), "Interface paused successfully", "{r}");
    let p = &ev[pos(&ev, "pause", |e| field(e, "Event") == "QueueMemberPause")];
    let want = [
        "Event",
        "Privilege",
        "Timestamp",
        "Queue",
        "MemberName",
        "Interface",
        "StateInterface",
        "Membership",
        "Penalty",
        "CallsTaken",
        "LastCall",
        "LastPause",
        "LoginTime",
        "InCall",
        "Status",
        "Paused",
        "PausedReason",
        "Ringinuse",
        "Wrapuptime",
    ];
    assert_eq!(event_keys(p), want);
    assert_eq!((field(p, "Paused"), field(p, "PausedReason")), ("1", "test"));
    let id =
        c.send_action(&[("Action", "QueuePause"), ("Interface", "PJSIP/199"), ("Paused", "true")]);
    assert_eq!(field(&c.reply(&id, WAIT).expect("reply"), "Message"), "Interface not found");
}

#[test]
fn park_moves_the_call_to_the_lot_and_the_parker_hangs_up() {
    let (s, mut c) = start();
    let ans = cmd(&s, "standin call 100 109");
    let (a, b) = (ans[1].clone(), ans[2].clone());
    events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    assert_eq!(cmd(&s, &format!("standin park {a}")), ["park", "701"]);
    let ev = events_until(&mut c, |ev| count(ev, "Hangup") == 1);
    let parked = pos(&ev, "ParkedCall", |e| is(e, "ParkedCall", "ParkeeUniqueid", &a));
    let p = &ev[parked];
    assert_eq!(
        (field(p, "ParkingSpace"), field(p, "Parkinglot"), field(p, "ParkerDialString")),
        ("701", "default", "PJSIP/109")
    );
    let k = event_keys(p);
    assert_eq!(k[3], "ParkeeChannel");
    assert_eq!(
        k[k.len() - 5..],
        ["ParkerDialString", "Parkinglot", "ParkingSpace", "ParkingTimeout", "ParkingDuration"]
    );
    let lot_enter = pos(&ev, "enter lot", |e| is(e, "BridgeEnter", "BridgeType", "parking"));
    let hang = pos(&ev, "parker hangs up", |e| is(e, "Hangup", "Uniqueid", &b));
    assert!(lot_enter < parked && parked < hang);
    assert!(ev.iter().any(|e| is(e, "DeviceStateChange", "Device", "park:701@parkedcalls")
        && field(e, "State") == "INUSE"));

    let id = c.send_action(&[("Action", "ParkedCalls")]);
    let l = collect(&mut c, &id);
    assert_eq!(l.items.len(), 1);
    assert_eq!(field(&l.items[0], "ParkeeUniqueid"), a);
    assert_eq!(
        (field(&l.complete, "ListItems"), field(&l.complete, "Total")),
        ("1", "1"),
        "{}",
        l.complete
    );

    // Picked up from 104: UnParkedCall (res/parking spells it so) with the Retriever.
    let r = cmd(&s, "standin unpark 701 104")[1].clone();
    let ev = events_until(&mut c, |ev| count(ev, "BridgeEnter") == 2);
    let u = &ev[pos(&ev, "UnParkedCall", |e| field(e, "Event") == "UnParkedCall")];
    assert_eq!(
        (field(u, "ParkeeUniqueid"), field(u, "RetrieverUniqueid")),
        (a.as_str(), r.as_str())
    );
}

#[test]
fn hangup_action_ends_a_call_and_originate_makes_one() {
    let (_s, mut c) = start();
    // Originate: PJSIP/105 rings, answers, then dials 106, which answers: a bridged call.
    let (r, ev) = run(
        &mut c,
        &[
            ("Action", "Originate"),
            ("Channel", "PJSIP/105"),
            ("Context", "default"),
            ("Exten", "106"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ActionID", "orig-1"),
        ],
        |ev| count(ev, "BridgeEnter") == 2,
    );
    let id = "orig-1";
    assert_eq!(field(&r, "Message"), "Originate successfully queued", "{r}");
    let o =
        ev.iter().find(|e| field(e, "Event") == "OriginateResponse").expect("OriginateResponse");
    assert_eq!(
        (field(o, "Response"), field(o, "Reason"), field(o, "ActionID")),
        ("Success", "4", id),
        "{o}"
    );
    let enter: Vec<&str> = ev
        .iter()
        .filter(|e| field(e, "Event") == "BridgeEnter")
        .map(|e| field(e, "Channel"))
        .collect();
    assert!(
        enter.iter().any(|n| n.starts_with("PJSIP/105-"))
            && enter.iter().any(|n| n.starts_with("PJSIP/106-")),
        "{enter:?}"
    );

    // Hangup of one leg ends the call (SoftHangupRequest: the action's soft hangup).
    let victim = enter[0].to_string();
    let (r, ev) =
        run(&mut c, &[("Action", "Hangup"), ("Channel", &victim)], |ev| count(ev, "Hangup") == 2);
    assert_eq!(field(&r, "Message"), "Channel Hungup", "{r}");
    assert!(ev.iter().any(|e| is(e, "SoftHangupRequest", "Channel", &victim)));
    assert!(!ev.iter().any(|e| field(e, "Event") == "HangupRequest"));
    let id = c.send_action(&[("Action", "CoreShowChannels")]);
    assert!(collect(&mut c, &id).items.is_empty());
}

#[test]
fn viewer_may_list_but_not_hang_up() {
    let (s, port) = start_with_manager(MANAGER);
    let mut v = login_as(port, "viewer", "viewer");
    let ans = cmd(&s, "standin call 101 102");
    let id = v.send_action(&[("Action", "Hangup"), ("Channel", &ans[1])]);
    let r = v.reply(&id, WAIT).expect("Hangup reply");
    assert_eq!(
        (field(&r, "Response"), field(&r, "Message")),
        ("Error", "Permission denied"),
        "{r}"
    );
    assert!(s.rx("standin show world").contains(&ans[1]), "the call must still be up");
    let id = v.send_action(&[("Action", "CoreShowChannels")]);
    assert_eq!(collect(&mut v, &id).items.len(), 2);
}

#[test]
fn list_actions_answer_with_asterisk_shapes_routed_by_action_id() {
    let (s, mut c) = start();
    let call = cmd(&s, "standin call 100 101");
    let queued = cmd(&s, "standin queue-call support 104")[1].clone();
    let park = cmd(&s, "standin call 105 106");
    cmd(&s, &format!("standin park {}", park[1]));
    // Let the events pass before listing.
    std::thread::sleep(Duration::from_millis(300));
    let actions: &[ListCase<'_>] = &[
        ("CoreShowChannels", &[], "CoreShowChannel", "CoreShowChannelsComplete"),
        ("BridgeList", &[], "BridgeListItem", "BridgeListComplete"),
        ("BridgeInfo", &[("BridgeUniqueid", &call[3])], "BridgeInfoChannel", "BridgeInfoComplete"),
        ("ExtensionStateList", &[], "ExtensionStatus", "ExtensionStateListComplete"),
        ("DeviceStateList", &[], "DeviceStateChange", "DeviceStateListComplete"),
        ("QueueStatus", &[], "", "QueueStatusComplete"),
        ("QueueSummary", &[], "QueueSummary", "QueueSummaryComplete"),
        ("Parkinglots", &[], "Parkinglot", "ParkinglotsComplete"),
        ("ParkedCalls", &[], "ParkedCall", "ParkedCallsComplete"),
    ];
    // All sent at once: each answer is found by its ActionID alone.
    let ids: Vec<String> = actions
        .iter()
        .enumerate()
        .map(|(i, (a, extra, _, _))| {
            let mut pairs = vec![("Action", *a)];
            pairs.extend_from_slice(extra);
            let id = format!("list-{i}");
            pairs.push(("ActionID", &id));
            c.send_action(&pairs)
        })
        .collect();
    let mut lists: HashMap<&str, List> = HashMap::new();
    for ((action, _, item, complete), id) in actions.iter().zip(&ids) {
        let l = collect(&mut c, id);
        assert_eq!(
            (field(&l.response, "Response"), field(&l.response, "EventList")),
            ("Success", "start"),
            "{action}: {}",
            l.response
        );
        assert_eq!(field(&l.complete, "Event"), *complete, "{action}");
        assert_eq!(
            field(&l.complete, "ListItems"),
            l.items.len().to_string(),
            "{action}: {}",
            l.complete
        );
        for i in &l.items {
            assert_eq!(field(i, "ActionID"), id.as_str(), "{action}");
            if !item.is_empty() {
                assert_eq!(field(i, "Event"), *item, "{action}: {i}");
            }
        }
        lists.insert(action, l);
    }
    let chans = &lists["CoreShowChannels"].items;
    assert_eq!(chans.len(), 4, "caller, callee, queue caller, parked call");
    let k = keys(&chans[0]);
    assert_eq!(k[..3], ["Event", "ActionID", "Channel"]);
    assert_eq!(k[k.len() - 4..], ["Application", "ApplicationData", "Duration", "BridgeId"]);
    let b = chans.iter().find(|i| field(i, "Uniqueid") == call[1]).expect("caller listed");
    assert_eq!(field(b, "BridgeId"), call[3]);
    assert_eq!(field(b, "Application"), "Dial");

    let bridges = &lists["BridgeList"].items;
    assert!(
        bridges.iter().any(|b| field(b, "BridgeType") == "parking"
            && field(b, "BridgeTechnology") == "holding_bridge")
    );
    assert!(
        bridges
            .iter()
            .any(|b| field(b, "BridgeUniqueid") == call[3] && field(b, "BridgeNumChannels") == "2")
    );
    let info = &lists["BridgeInfo"];
    assert_eq!(info.items.len(), 2);
    assert_eq!(
        field(&info.complete, "BridgeUniqueid"),
        call[3],
        "the Complete event carries the bridge"
    );

    let hints = &lists["ExtensionStateList"].items;
    assert_eq!(hints.len(), 10);
    let h100 = hints.iter().find(|h| field(h, "Exten") == "100").expect("100");
    assert_eq!(
        keys(h100),
        ["Event", "ActionID", "Exten", "Context", "Hint", "Status", "StatusText"]
    );
    assert_eq!(
        (field(h100, "Hint"), field(h100, "Status"), field(h100, "StatusText")),
        ("PJSIP/100", "1", "InUse")
    );

    let devs = &lists["DeviceStateList"].items;
    let d = devs.iter().find(|d| field(d, "Device") == "PJSIP/101").expect("PJSIP/101");
    assert_eq!(keys(d), ["Event", "ActionID", "Device", "State"]);
    assert_eq!(field(d, "State"), "INUSE");
    assert!(
        devs.iter()
            .any(|d| field(d, "Device") == "Queue:support" && field(d, "State") == "RINGING")
    );

    let q = &lists["QueueStatus"].items;
    let params = q.iter().find(|i| field(i, "Event") == "QueueParams").expect("QueueParams");
    assert_eq!(
        (field(params, "Queue"), field(params, "Calls"), field(params, "Strategy")),
        ("support", "1", "ringall")
    );
    assert_eq!(
        keys(params).last().map(String::as_str),
        Some("ActionID"),
        "ActionID last, as app_queue.c"
    );
    let members: Vec<&Value> = q.iter().filter(|i| field(i, "Event") == "QueueMember").collect();
    assert_eq!(members.len(), 4);
    assert_eq!(members.iter().filter(|m| field(m, "Paused") == "1").count(), 1);
    let entry = q.iter().find(|i| field(i, "Event") == "QueueEntry").expect("QueueEntry");
    assert_eq!(field(entry, "Uniqueid"), queued);
    let sum = &lists["QueueSummary"].items[0];
    assert_eq!((field(sum, "Queue"), field(sum, "Callers")), ("support", "1"));

    let lot = &lists["Parkinglots"].items[0];
    assert_eq!(
        (field(lot, "Name"), field(lot, "StartSpace"), field(lot, "StopSpace")),
        ("default", "701", "720")
    );
    let parked = &lists["ParkedCalls"];
    assert_eq!(field(&parked.items[0], "ParkeeUniqueid"), park[1]);
    assert_eq!(field(&parked.complete, "Total"), "1");

    // Errors as Asterisk answers them.
    let id = c.send_action(&[("Action", "BridgeInfo"), ("BridgeUniqueid", "nope")]);
    assert_eq!(
        field(&c.reply(&id, WAIT).expect("reply"), "Message"),
        "Specified BridgeUniqueid not found"
    );
    let id = c.send_action(&[("Action", "ParkedCalls"), ("ParkingLot", "nope")]);
    assert_eq!(
        field(&c.reply(&id, WAIT).expect("reply"), "Message"),
        "Requested parking lot could not be found."
    );

    // world reset ends everything.
    assert!(s.rx("standin world reset").starts_with("reset"));
    let id = c.send_action(&[("Action", "CoreShowChannels")]);
    assert!(collect(&mut c, &id).items.is_empty());
}

#[test]
fn life_cycle_traffic_keeps_the_world_consistent() {
    let (s, mut c) = start();
    assert!(s.rx("traffic rate 1.5").contains("1.5"));
    let mut ev = Vec::new();
    let until = Instant::now() + Duration::from_secs(12);
    while let Some(v) = c.recv_json(until.saturating_duration_since(Instant::now())) {
        if v.get("Event").is_some() {
            ev.push(v);
        }
    }
    s.rx("traffic off");
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.rx("standin world reset").starts_with("reset"));
    while let Some(v) = c.recv_json(Duration::from_secs(2)) {
        if v.get("Event").is_some() {
            ev.push(v);
        }
    }
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for e in &ev {
        *kinds.entry(field(e, "Event")).or_default() += 1;
    }
    println!("events: {kinds:?}");
    assert!(kinds.get("DialBegin").copied().unwrap_or(0) >= 3, "{kinds:?}");
    // Every channel is born once, hangs up once, and says nothing after its Hangup.
    let mut born: HashMap<String, usize> = HashMap::new();
    let mut died: HashMap<String, usize> = HashMap::new();
    for (i, e) in ev.iter().enumerate() {
        let uid = field(e, "Uniqueid").to_string();
        match field(e, "Event") {
            "Newchannel" => *born.entry(uid).or_default() += 1,
            "Hangup" => {
                assert!(!died.contains_key(&uid), "two Hangups for {uid}");
                died.insert(uid, i);
            }
            _ if !uid.is_empty() => {
                if let Some(at) = died.get(&uid) {
                    panic!("{} for {uid} after its Hangup (event {at}): {e}", field(e, "Event"));
                }
            }
            _ => {}
        }
    }
    assert!(born.values().all(|n| *n == 1));
    let born_set: Vec<&String> = born.keys().collect();
    for uid in &born_set {
        assert!(died.contains_key(*uid), "{uid} never hung up");
    }
    // Bridges: every one created is destroyed, entries and leaves balance.
    let mut bridges: HashMap<String, i64> = HashMap::new();
    for e in &ev {
        let id = field(e, "BridgeUniqueid").to_string();
        match field(e, "Event") {
            "BridgeCreate" => assert!(bridges.insert(id, 0).is_none()),
            "BridgeEnter" => *bridges.get_mut(&id).expect("enter a created bridge") += 1,
            "BridgeLeave" => *bridges.get_mut(&id).expect("leave a created bridge") -= 1,
            "BridgeDestroy" => {
                let n = bridges.remove(&id).expect("destroy a created bridge");
                assert_eq!(n, 0, "bridge {id} destroyed with channels");
            }
            _ => {}
        }
    }
    assert!(bridges.is_empty(), "bridges left: {bridges:?}");
    // All lamps idle again, queue empty.
    let id = c.send_action(&[("Action", "ExtensionStateList")]);
    let l = collect(&mut c, &id);
    assert!(l.items.iter().all(|h| field(h, "StatusText") == "Idle"), "{:?}", l.items);
    let world = s.rx("standin show world");
    assert!(
        !world.contains("channel ") && !world.contains("entry ") && !world.contains("parked "),
        "{world}"
    );
}

/// The demo runs at verbosity 3, where Hangup through `ast_hook_send_action` would crash
/// Asterisk; the module's own Hangup (channel API, soft hangup) ends a world call there.
#[test]
fn hangup_at_verbosity_3_as_in_the_demo() {
    let port = common::free_port();
    let conf = common::default_module_conf(port);
    let s = StandIn::start(
        &[("manager.conf", MANAGER), ("ami_websocket.conf", &conf)],
        common::Opts { verbose: 3, ..common::Opts::default() },
    );
    let mut c = login_as(port, "demo", "demo");
    let ans = cmd(&s, "standin call 107 108");
    let (r, ev) =
        run(&mut c, &[("Action", "Hangup"), ("Channel", &ans[2])], |ev| count(ev, "Hangup") == 2);
    assert_eq!(field(&r, "Message"), "Channel Hungup", "{r}");
    assert!(ev.iter().any(|e| is(e, "SoftHangupRequest", "Uniqueid", &ans[2])));
    assert!(!s.log().contains("CRASH"), "{}", s.log());
}
