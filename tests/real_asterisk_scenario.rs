//! Opt-in (AMI_WS_ASTERISK): a scripted call scenario on a real Asterisk (Local channels
//! originated and bridged by Dial, a blind transfer, hangups; Status, CoreShowChannels and
//! BridgeList while the calls are up) watched by four users with different read classes, write
//! classes and eventfilters (legacy regex and advanced forms), each logged in once over AMI TCP
//! and once over the WebSocket. Each user's WebSocket event stream and action replies must
//! equal that user's AMI TCP ones field by field (WsSeq aside; time-varying fields of replies
//! aside: Status `Seconds`, CoreShowChannel `Duration`).

mod common;
mod real_asterisk_pbx;

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use common::ws::{self, WsClient};
use real_asterisk_pbx::{Ami, Msg, Pbx, Setup, get, prefix_or_skip, to_json};

const T: Duration = Duration::from_secs(10);

/// The driver (reads nothing, compared with nobody) and the four compared users.
const USERS: &str = "[driver]\nsecret = drvpw\nread =\nwrite = all\n\n\
[full]\nsecret = fullpw\nread = all\nwrite = all\n\n\
[callonly]\nsecret = callpw\nread = call\nwrite = call\n\n\
[filtered]\nsecret = filtpw\nread = call,dialplan\nwrite = reporting\n\
eventfilter = Event: (Newchannel|Hangup|BridgeEnter|BridgeLeave|BlindTransfer)\n\n\
[advanced]\nsecret = advpw\nread = call,dialplan,user\nwrite = system,call,reporting\n\
eventfilter(action(exclude),name(VarSet)) =\n\
eventfilter(action(exclude),header(Channel),method(starts_with)) = Local/bob\n";

const COMPARED: &[(&str, &str)] =
    &[("full", "fullpw"), ("callonly", "callpw"), ("filtered", "filtpw"), ("advanced", "advpw")];

/// alice dials bob (Local channels kept, /n); carol is where the blind transfer sends bob.
const EXTENSIONS: &str = "[general]\nstatic = yes\n\n[scen]\n\
exten => alice,1,Answer()\n same => n,Set(SCEN_ROLE=alice)\n same => n,Dial(Local/bob@scen/n,,g)\n same => n,Wait(60)\n same => n,Hangup()\n\
exten => bob,1,Answer()\n same => n,Set(SCEN_ROLE=bob)\n same => n,Wait(60)\n same => n,Hangup()\n\
exten => carol,1,Answer()\n same => n,Set(SCEN_ROLE=carol)\n same => n,Wait(60)\n same => n,Hangup()\n";

const PRELOAD: &[&str] = &[
    "pbx_config.so",
    "app_dial.so",
    "app_stack.so",
    "func_channel.so",
    "bridge_simple.so",
    "bridge_native_rtp.so",
    "bridge_builtin_features.so",
];

/// One user's two sessions, with everything they received that is not a reply of theirs.
struct User {
    name: &'static str,
    tcp: Ami,
    ws: WsClient,
    tcp_events: Vec<Msg>,
    ws_events: Vec<Value>,
    n: usize,
}

impl User {
    fn login(pbx: &Pbx, name: &'static str, secret: &str) -> User {
        let mut tcp = Ami::connect(pbx.ami_port);
        tcp.login(name, secret);
        let mut wsc = ws::connect(pbx.ws_port);
        let r = wsc.login(name, secret);
        assert_eq!(ws::field(&r, "Message"), "Authentication accepted", "{name}: {r}");
        User { name, tcp, ws: wsc, tcp_events: Vec::new(), ws_events: Vec::new(), n: 0 }
    }

    /// Reads whatever arrives until both sessions were quiet for `quiet`.
    fn drain(&mut self, quiet: Duration) {
        loop {
            let mut got = false;
            while let Some(m) = self.tcp.next(quiet) {
                self.tcp_events.push(m);
                got = true;
            }
            while let Some(v) = self.ws.recv_json(quiet) {
                self.ws_events.push(v);
                got = true;
            }
            if !got {
                return;
            }
        }
    }

    /// Runs one action on both sessions; returns (TCP reply, WebSocket reply). Broadcast
    /// messages met meanwhile are kept as events, in order.
    fn action(&mut self, pairs: &[(&str, &str)]) -> (Vec<Msg>, Vec<Value>) {
        self.n += 1;
        let id = format!("{}-{}", self.name, self.n);
        let mut with_id = pairs.to_vec();
        with_id.push(("ActionID", &id));
        self.tcp.send(&with_id);
        let tr = self.tcp.reply(&id, T);
        // What reply() skipped is the events that arrived meanwhile, in order.
        self.tcp_events.extend(self.tcp.backlog.drain(..));
        let obj: Map<String, Value> =
            with_id.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        self.ws.send_text(&Value::Object(obj).to_string());
        let mut wr = Vec::new();
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(v) = self.ws.recv_json(left) else { break };
            if v.get("WsSeq").is_some() {
                self.ws_events.push(v);
                continue;
            }
            if ws::field(&v, "ActionID") != id {
                self.ws_events.push(v);
                continue;
            }
            let end = if wr.is_empty() {
                !ws::field(&v, "EventList").eq_ignore_ascii_case("start")
            } else {
                ws::field(&v, "EventList").eq_ignore_ascii_case("Complete")
            };
            wr.push(v);
            if end {
                break;
            }
        }
        (tr, wr)
    }
}

/// Keys of action replies that differ between two moments.
fn volatile(key: &str) -> bool {
    matches!(key, "Seconds" | "Duration" | "Timestamp")
}

fn keys(m: &Map<String, Value>) -> Vec<String> {
    m.keys().cloned().collect()
}

/// Differences between the TCP and WebSocket messages; `events`: WsSeq expected and removed,
/// every field compared; otherwise replies: no WsSeq, volatile fields skipped.
fn compare(what: &str, tcp: &[Msg], wsv: &[Value], events: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if tcp.len() != wsv.len() {
        problems.push(format!("{what}: {} messages over TCP, {} over WS", tcp.len(), wsv.len()));
    }
    for (i, (t, w)) in tcp.iter().zip(wsv).enumerate() {
        let t = to_json(t);
        let mut w = w.as_object().cloned().unwrap_or_default();
        let last = w.keys().next_back().cloned();
        match (events, w.shift_remove("WsSeq")) {
            (true, None) => problems.push(format!("{what} #{i}: event without WsSeq")),
            (true, Some(_)) if last.as_deref() != Some("WsSeq") => {
                problems.push(format!("{what} #{i}: WsSeq not last"))
            }
            (false, Some(_)) => problems.push(format!("{what} #{i}: reply with WsSeq")),
            _ => {}
        }
        if keys(&t) != keys(&w) {
            problems.push(format!(
                "{what} #{i}: keys differ\n   tcp {:?}\n    ws {:?}",
                keys(&t),
                keys(&w)
            ));
            continue;
        }
        for (k, tv) in &t {
            if !events && volatile(k) {
                continue;
            }
            if w.get(k) != Some(tv) {
                problems.push(format!("{what} #{i} {k}: tcp {tv} ws {:?}", w.get(k)));
            }
        }
    }
    problems
}

/// Names of the live channels (CLI), for waiting.
fn channels(pbx: &Pbx) -> Vec<String> {
    pbx.rx("core show channels concise")
        .lines()
        .filter_map(|l| l.split('!').next())
        .filter(|n| n.starts_with("Local/"))
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn driver_action(d: &mut Ami, n: &mut usize, pairs: &[(&str, &str)]) -> Vec<Msg> {
    *n += 1;
    let id = format!("drv-{n}");
    let mut with_id = pairs.to_vec();
    with_id.push(("ActionID", &id));
    d.send(&with_id);
    let r = d.reply(&id, T);
    d.backlog.clear();
    r
}

#[test]
fn four_users_see_the_same_call_scenario_over_ami_tcp_and_websocket() {
    let Some(prefix) = prefix_or_skip("four_users_see_the_same_call_scenario") else { return };
    let setup = Setup { users: USERS, files: &[("extensions.conf", EXTENSIONS)], preload: PRELOAD };
    let mut pbx = Pbx::start(&prefix, &setup);
    pbx.load_module();
    let mut driver = Ami::connect(pbx.ami_port);
    driver.login("driver", "drvpw");
    let mut dn = 0;
    let mut users: Vec<User> = COMPARED.iter().map(|(u, s)| User::login(&pbx, u, s)).collect();
    // Logins and their own events (FullyBooted, security events) end here.
    std::thread::sleep(Duration::from_millis(500));
    for u in &mut users {
        u.drain(Duration::from_millis(300));
        u.tcp_events.clear();
        u.ws_events.clear();
    }

    // 1. alice calls bob: Local/alice;1 waits, alice;2 dials Local/bob;1, bob;2 waits.
    let r = driver_action(
        &mut driver,
        &mut dn,
        &[
            ("Action", "Originate"),
            ("Channel", "Local/alice@scen/n"),
            ("Application", "Wait"),
            ("Data", "60"),
            ("Async", "true"),
        ],
    );
    assert_eq!(get(&r[0], "Response"), "Success", "{r:?}");
    wait_until("four channels, two bridged", || {
        let out = pbx.rx("bridge show all");
        channels(&pbx).len() == 4 && out.lines().any(|l| l.contains("simple_bridge"))
    });
    std::thread::sleep(Duration::from_millis(500));

    // 2. Every user asks for Status, CoreShowChannels and BridgeList on both sessions.
    let mut problems = Vec::new();
    let mut replies = 0;
    for u in &mut users {
        for action in ["Status", "CoreShowChannels", "BridgeList"] {
            let (tr, wr) = u.action(&[("Action", action)]);
            assert!(!tr.is_empty(), "{}: no TCP reply to {action}", u.name);
            replies += tr.len();
            println!("{} {action}: {} over TCP, first {:?}", u.name, tr.len(), tr[0]);
            problems.extend(compare(&format!("{} {action}", u.name), &tr, &wr, false));
        }
        let chan = channels(&pbx).into_iter().find(|c| c.ends_with(";2")).unwrap_or_default();
        let (tr, wr) = u.action(&[
            ("Action", "Status"),
            ("Channel", &chan),
            ("Variables", "SCEN_ROLE,CHANNEL(state),BRIDGEPEER"),
            ("AllVariables", "true"),
        ]);
        problems.extend(compare(&format!("{} Status {chan}", u.name), &tr, &wr, false));
    }

    // 3. Blind transfer: alice;2 (in the bridge with bob;1) transfers bob;1 to carol.
    let alice2 = channels(&pbx)
        .into_iter()
        .find(|c| c.starts_with("Local/alice@scen-") && c.ends_with(";2"));
    let alice2 = alice2.expect("Local/alice;2");
    let r = driver_action(
        &mut driver,
        &mut dn,
        &[
            ("Action", "BlindTransfer"),
            ("Channel", &alice2),
            ("Context", "scen"),
            ("Exten", "carol"),
        ],
    );
    println!("BlindTransfer: {r:?}");
    assert_eq!(get(&r[0], "Response"), "Success", "{r:?}");
    std::thread::sleep(Duration::from_millis(1500));
    for u in &mut users {
        let (tr, wr) = u.action(&[("Action", "CoreShowChannels")]);
        problems.extend(compare(
            &format!("{} CoreShowChannels after transfer", u.name),
            &tr,
            &wr,
            false,
        ));
    }

    // 4. Hang everything up and wait for quiet.
    let r = driver_action(&mut driver, &mut dn, &[("Action", "Hangup"), ("Channel", "/^Local//")]);
    assert_eq!(get(&r[0], "Response"), "Success", "{r:?}");
    wait_until("no channels", || channels(&pbx).is_empty());
    std::thread::sleep(Duration::from_millis(1000));

    let mut counts = Vec::new();
    for u in &mut users {
        u.drain(Duration::from_millis(500));
        counts.push(format!("{}: {} events", u.name, u.tcp_events.len()));
        let names = |v: &[Msg]| v.iter().map(|m| get(m, "Event").to_string()).collect::<Vec<_>>();
        println!("{} TCP events: {:?}", u.name, names(&u.tcp_events));
        problems.extend(compare(&format!("{} events", u.name), &u.tcp_events, &u.ws_events, true));
    }
    println!("{}; {replies} reply messages compared", counts.join(", "));
    for p in &problems {
        println!("DIFF {p}");
    }
    // The users really differ: full sees the most, filtered only its five event names.
    let full = users[0].tcp_events.len();
    assert!(full > 20, "full saw only {full} events");
    for u in &users[1..] {
        assert!(u.tcp_events.len() < full, "{} saw as much as full", u.name);
    }
    // AMI's legacy filter is a regex search in the event text: HangupRequest matches too.
    let wanted = ["Newchannel", "Hangup", "BridgeEnter", "BridgeLeave", "BlindTransfer"];
    let filtered_names = users[2].tcp_events.iter().map(|m| get(m, "Event"));
    assert!(filtered_names.clone().all(|e| wanted.iter().any(|w| e.starts_with(w))));
    assert!(filtered_names.clone().any(|e| e == "BlindTransfer"));
    assert!(users[3].tcp_events.iter().all(|m| get(m, "Event") != "VarSet"));
    assert!(users[3].tcp_events.iter().all(|m| !get(m, "Channel").starts_with("Local/bob")));
    assert!(users[0].tcp_events.iter().any(|m| get(m, "Channel").starts_with("Local/bob")));
    assert!(users[0].tcp_events.iter().any(|m| get(m, "Event") == "BlindTransfer"));
    pbx.assert_alive("the scenario");
    println!("{} differences", problems.len());
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}
