//! Opt-in (AMI_WS_ASTERISK): the same actions for the same manager.conf user over AMI TCP and
//! over the module's WebSocket against one real Asterisk, replies compared field by field apart
//! from volatile fields; the actions that crash Asterisk through the hook, at `core set verbose
//! 3`, with the PBX checked alive afterwards; and events raised in Asterisk reaching a WebSocket
//! client with the same keys and values as on AMI TCP.

mod common;
mod real_asterisk_pbx;

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use common::ws::{self, WsClient};
use real_asterisk_pbx::{Ami, Msg, Pbx, Setup, get, prefix_or_skip, to_json};

const T: Duration = Duration::from_secs(10);

/// `admin` may do everything; `nosys` may originate but lacks `system`.
const USERS: &str = "[admin]\nsecret = adminpw\nread = all\nwrite = all\n\n\
[nosys]\nsecret = nosyspw\nread = all\n\
write = call,originate,user,command,reporting,config,dialplan,agent\n";

const EXTENSIONS: &str = "[general]\nstatic = yes\n\n[globals]\nAMIWS_GLOBAL = from-globals\n\n\
[amiws]\nexten => 100,1,NoOp(plain)\n same => n,Hangup()\n\
exten => 200,hint,Custom:amiws-lamp\nexten => 200,1,NoOp(hinted)\n\
exten => ev,1,UserEvent(AmiWsDialplan,Step: one,Other: two)\n same => n,Hangup()\n\
exten => wait,1,Wait(30)\n\
exten => ans,1,Answer()\n same => n,Wait(0.2)\n same => n,Hangup()\n";

const PRELOAD: &[&str] = &[
    "pbx_config.so",
    "app_userevent.so",
    "func_devstate.so",
    "res_clioriginate.so",
    "func_channel.so",
    "func_shell.so",
    "func_db.so",
    "app_system.so",
];

fn start(prefix: &std::path::Path) -> Pbx {
    let setup = Setup { users: USERS, files: &[("extensions.conf", EXTENSIONS)], preload: PRELOAD };
    let pbx = Pbx::start(prefix, &setup);
    pbx.load_module();
    pbx
}

/// Everything a WebSocket client received for ActionID `id`: the response, list items up to
/// `EventList: Complete`, and `raised` events named in `raised` that carry the ActionID (as
/// UserEvent's event does). Other messages are skipped.
fn ws_reply(c: &mut WsClient, id: &str, raised: &[&str]) -> (Vec<Value>, Vec<Value>) {
    let deadline = Instant::now() + T;
    let (mut reply, mut events) = (Vec::new(), Vec::new());
    let mut done = false;
    while !(done && events.len() >= raised.len()) {
        let Some(v) = c.recv_json(deadline.saturating_duration_since(Instant::now())) else {
            break;
        };
        if ws::field(&v, "ActionID") != id {
            continue;
        }
        if raised.contains(&ws::field(&v, "Event")) && !list_item(&v) {
            events.push(v);
            continue;
        }
        if ws::field(&v, "Response").is_empty() && reply.is_empty() {
            continue;
        }
        if reply.is_empty() {
            done = !ws::field(&v, "EventList").eq_ignore_ascii_case("start");
        } else if ws::field(&v, "EventList").eq_ignore_ascii_case("Complete") {
            done = true;
        }
        reply.push(v);
    }
    (reply, events)
}

fn list_item(v: &Value) -> bool {
    !ws::field(v, "EventList").is_empty()
}

/// AMI TCP's counterpart of [`ws_reply`].
fn tcp_reply(a: &mut Ami, id: &str, raised: &[&str]) -> (Vec<Msg>, Vec<Msg>) {
    let reply = a.reply(id, T);
    let mut events = Vec::new();
    for name in raised {
        let ev = a.wait_for(T, |m| get(m, "Event") == *name && get(m, "ActionID") == id);
        events.extend(ev);
    }
    (reply, events)
}

/// Keys whose values legitimately differ between two runs of the same action.
fn volatile(action: &str, key: &str) -> bool {
    key == "Timestamp"
        || (action == "Challenge" && key == "Challenge")
        // Status: seconds since the channel was created, read at two moments.
        || (action == "Status" && key == "Seconds")
        // Each run makes its own channels.
        || (action.starts_with("Originate") && matches!(key, "Channel" | "Uniqueid"))
}

/// The WebSocket message without the module's own `WsSeq`, which broadcast events carry (as
/// their last key) and action replies (responses and list items) do not.
fn strip_ws(v: &Value, broadcast: bool, problems: &mut Vec<String>) -> Map<String, Value> {
    let mut m = v.as_object().cloned().unwrap_or_default();
    let last = m.keys().next_back().cloned();
    match (broadcast, m.shift_remove("WsSeq")) {
        (true, None) => problems.push(format!("event without WsSeq: {v}")),
        (true, Some(_)) if last.as_deref() != Some("WsSeq") => {
            problems.push(format!("WsSeq not the last key: {v}"))
        }
        (false, Some(_)) => problems.push(format!("action reply with WsSeq: {v}")),
        _ => {}
    }
    m
}

/// How a compared set of messages came.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// An action's reply (response and list items): no WsSeq; volatile fields ignored.
    Reply,
    /// Events raised by two runs of an action: WsSeq; volatile fields ignored.
    Raised,
    /// One and the same event seen by both clients: WsSeq; every field must match.
    Same,
}

/// Field-by-field differences between the AMI TCP messages and the WebSocket ones.
fn compare(action: &str, tcp: &[Msg], wsv: &[Value], kind: Kind) -> Vec<String> {
    let mut problems = Vec::new();
    if tcp.len() != wsv.len() {
        problems.push(format!("{action}: {} messages over TCP, {} over WS", tcp.len(), wsv.len()));
    }
    for (i, (t, w)) in tcp.iter().zip(wsv).enumerate() {
        let t = to_json(t);
        let w = strip_ws(w, kind != Kind::Reply, &mut problems);
        let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        if keys(&t) != keys(&w) {
            problems.push(format!(
                "{action} #{i}: keys differ\n   tcp {:?}\n    ws {:?}",
                keys(&t),
                keys(&w)
            ));
        }
        for (k, tv) in &t {
            if kind != Kind::Same && volatile(action, k) {
                continue;
            }
            match w.get(k) {
                Some(wv) if wv == tv => {}
                other => problems.push(format!("{action} #{i} {k}: tcp {tv} ws {other:?}")),
            }
        }
    }
    problems
}

/// One logged-in client of each kind for the same user.
struct Pair {
    tcp: Ami,
    ws: WsClient,
    n: usize,
    problems: Vec<String>,
}

impl Pair {
    fn login(pbx: &Pbx, user: &str, secret: &str) -> Pair {
        let mut tcp = Ami::connect(pbx.ami_port);
        tcp.login(user, secret);
        let mut wsc = ws::connect(pbx.ws_port);
        let r = wsc.login(user, secret);
        assert_eq!(ws::field(&r, "Message"), "Authentication accepted", "{r}");
        Pair { tcp, ws: wsc, n: 0, problems: Vec::new() }
    }

    /// Runs the action on both sides (TCP first) and records the differences; returns both
    /// replies for further checks.
    fn same(&mut self, pairs: &[(&str, &str)], raised: &[&str]) -> (Vec<Msg>, Vec<Value>) {
        self.both(pairs, pairs, raised)
    }

    /// `same` for an action whose extra events (`local`, e.g. WaitEventComplete) go to the
    /// asking session only: they are compared like the reply.
    fn same_local(&mut self, pairs: &[(&str, &str)], local: &[&str]) {
        self.n += 1;
        let action = pairs.iter().find(|(k, _)| *k == "Action").map_or("?", |(_, v)| *v);
        let id = format!("cmp{}-{action}", self.n);
        let mut with_id = pairs.to_vec();
        with_id.push(("ActionID", &id));
        self.tcp.send(&with_id);
        let (mut tr, te) = tcp_reply(&mut self.tcp, &id, local);
        tr.extend(te);
        self.ws.send_text(&Value::Object(ws_object(&with_id)).to_string());
        let (mut wr, we) = ws_reply(&mut self.ws, &id, local);
        wr.extend(we);
        println!("--- {action}\n  tcp: {}\n   ws: {}", show_tcp(&tr, &[]), show_ws(&wr, &[]));
        self.problems.extend(compare(action, &tr, &wr, Kind::Reply));
    }

    /// Runs the action on both sides and returns the replies without comparing them.
    fn both_unchecked(&mut self, pairs: &[(&str, &str)]) -> (Vec<Msg>, Vec<Value>) {
        self.n += 1;
        let id = format!("raw{}", self.n);
        let mut with_id = pairs.to_vec();
        with_id.push(("ActionID", &id));
        self.tcp.send(&with_id);
        let tr = self.tcp.reply(&id, T);
        self.ws.send_text(&Value::Object(ws_object(&with_id)).to_string());
        let (wr, _) = ws_reply(&mut self.ws, &id, &[]);
        (tr, wr)
    }

    /// `same` with different headers for each side (e.g. a channel each to hang up).
    fn both(
        &mut self,
        tcp_pairs: &[(&str, &str)],
        pairs: &[(&str, &str)],
        raised: &[&str],
    ) -> (Vec<Msg>, Vec<Value>) {
        self.n += 1;
        let action = pairs.iter().find(|(k, _)| *k == "Action").map_or("?", |(_, v)| *v);
        let id = format!("cmp{}-{action}", self.n);
        let mut tcp_with_id = tcp_pairs.to_vec();
        tcp_with_id.push(("ActionID", &id));
        let mut with_id = pairs.to_vec();
        with_id.push(("ActionID", &id));
        self.tcp.send(&tcp_with_id);
        let (tr, te) = tcp_reply(&mut self.tcp, &id, raised);
        // Events raised by the TCP action reach the WebSocket client too: take them first, so
        // the ones raised by the WebSocket action are told apart (same ActionID).
        for (i, t) in te.iter().enumerate() {
            let name = get(t, "Event").to_string();
            let seen = self
                .ws
                .wait_for(T, |v| ws::field(v, "Event") == name && ws::field(v, "ActionID") == id);
            match seen {
                Some(v) => {
                    // One and the same event: even the Timestamp must match.
                    let what = format!("{action} event {i} raised over TCP, seen over WS");
                    self.problems.extend(compare(&what, std::slice::from_ref(t), &[v], Kind::Same));
                }
                None => self.problems.push(format!("{action}: TCP-raised {name} never reached WS")),
            }
        }
        self.ws.send_text(&Value::Object(ws_object(&with_id)).to_string());
        let (wr, we) = ws_reply(&mut self.ws, &id, raised);
        println!("--- {action}\n  tcp: {}\n   ws: {}", show_tcp(&tr, &te), show_ws(&wr, &we));
        if tr.is_empty() {
            self.problems.push(format!("{action}: no reply over TCP"));
        }
        self.problems.extend(compare(action, &tr, &wr, Kind::Reply));
        self.problems.extend(compare(&format!("{action} raised events"), &te, &we, Kind::Raised));
        (tr, wr)
    }
}

/// Names of the current channels (`core show channels concise`).
fn channels(pbx: &Pbx) -> Vec<String> {
    let out = pbx.rx("core show channels concise");
    out.lines()
        .filter_map(|l| l.split('!').next())
        .filter(|n| n.contains('/'))
        .map(String::from)
        .collect()
}

fn ws_object(pairs: &[(&str, &str)]) -> Map<String, Value> {
    let msg: Msg = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    to_json(&msg)
}

fn show_tcp(r: &[Msg], e: &[Msg]) -> String {
    r.iter().chain(e).map(|m| Value::Object(to_json(m)).to_string()).collect::<Vec<_>>().join(" ")
}

fn show_ws(r: &[Value], e: &[Value]) -> String {
    r.iter().chain(e).map(Value::to_string).collect::<Vec<_>>().join(" ")
}

#[test]
fn actions_answer_alike_over_tcp_and_websocket() {
    let Some(prefix) = prefix_or_skip("actions_answer_alike_over_tcp_and_websocket") else {
        return;
    };
    let mut pbx = start(&prefix);
    let mut p = Pair::login(&pbx, "admin", "adminpw");
    p.same(&[("Action", "Ping")], &[]);
    p.same(&[("Action", "CoreSettings")], &[]);
    p.same(&[("Action", "CoreStatus")], &[]);
    p.same(&[("Action", "NoSuchActionHere")], &[]);
    p.same(
        &[("Action", "UserEvent"), ("UserEvent", "AmiWsCmp"), ("Foo", "bar"), ("Foo", "baz")],
        &["UserEvent"],
    );
    p.same(&[("Action", "Command"), ("Command", "core show version")], &[]);
    p.same(&[("Action", "Setvar"), ("Variable", "AMIWS_CMP"), ("Value", "v1")], &[]);
    p.same(&[("Action", "Getvar"), ("Variable", "AMIWS_CMP")], &[]);
    p.same(&[("Action", "Getvar"), ("Variable", "AMIWS_GLOBAL")], &[]);
    p.same(&[("Action", "ListCategories"), ("Filename", "extensions.conf")], &[]);
    p.same(&[("Action", "CoreShowChannels")], &[]);
    p.same(&[("Action", "ExtensionState"), ("Exten", "100"), ("Context", "amiws")], &[]);
    p.same(&[("Action", "ExtensionState"), ("Exten", "200"), ("Context", "amiws")], &[]);
    p.same(&[("Action", "DBPut"), ("Family", "amiws"), ("Key", "k1"), ("Val", "v1")], &[]);
    p.same(&[("Action", "DBGet"), ("Family", "amiws"), ("Key", "k1")], &[]);
    p.same(&[("Action", "DBGet"), ("Family", "amiws"), ("Key", "missing")], &[]);
    p.same(&[("Action", "ModuleCheck"), ("Module", "app_userevent")], &[]);
    p.same(&[("Action", "ModuleCheck"), ("Module", "res_ami_websocket")], &[]);
    p.same(&[("Action", "ModuleCheck"), ("Module", "app_nonexistent")], &[]);
    p.same(
        &[
            ("Action", "Originate"),
            ("Channel", "Local/ans@amiws"),
            ("Application", "Wait"),
            ("Data", "0.1"),
            ("Async", "true"),
            ("Variable", "AMIWS_A=1"),
            ("Variable", "AMIWS_B=2"),
        ],
        &["OriginateResponse"],
    );

    let mut n = Pair::login(&pbx, "nosys", "nosyspw");
    let (tr, _) = n.same(
        &[
            ("Action", "Originate"),
            ("Channel", "Local/100@amiws"),
            ("Application", "System"),
            ("Data", "touch /tmp/amiws-must-not-exist"),
        ],
        &[],
    );
    assert_eq!(tr.first().map(|m| get(m, "Response")), Some("Error"), "TCP Originate: {tr:?}");
    n.same(&[("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Foo")], &[]);
    n.same(
        &[
            ("Action", "Originate"),
            ("Channel", "Local/100@amiws"),
            ("Application", "NoOp"),
            ("Data", "${DB(amiws/k1)}"),
        ],
        &[],
    );
    n.same(&[("Action", "Getvar"), ("Variable", "SHELL(echo amiws)")], &[]);
    n.same(&[("Action", "Getvar"), ("Variable", "DB(amiws/k1)")], &[]);
    n.same(
        &[("Action", "ModuleLoad"), ("Module", "app_nonexistent.so"), ("LoadType", "load")],
        &[],
    );
    n.same(&[("Action", "DBPut"), ("Family", "amiws"), ("Key", "k2"), ("Val", "v2")], &[]);
    // admin has system: the function check passes, and the action thread's escalation inhibit
    // (like AMI's session threads) still refuses SHELL with live_dangerously = no.
    p.same(&[("Action", "Getvar"), ("Variable", "SHELL(echo amiws)")], &[]);
    p.same(&[("Action", "Getvar"), ("Variable", "DB(amiws/k1)")], &[]);
    assert!(!std::path::Path::new("/tmp/amiws-must-not-exist").exists(), "System ran");

    // Each side refused SHELL once (admin) and DB twice (nosys, admin): escalation inhibited.
    let blocked =
        |f: &str| pbx.log().matches(&format!("Dangerous function {f} read blocked")).count();
    let deadline = Instant::now() + T;
    while (blocked("SHELL"), blocked("DB")) != (2, 4) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((blocked("SHELL"), blocked("DB")), (2, 4), "escalation refusals:\n{}", pbx.log());
    let problems: Vec<String> = p.problems.into_iter().chain(n.problems).collect();
    pbx.assert_alive("the compared actions");
    println!("module log lines:\n{}", pbx.module_log_lines());
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

/// The actions that crash Asterisk when they reach `ast_hook_send_action` (NULL session) at
/// verbosity 3, sent over the WebSocket while a remote console holds `core set verbose 3`:
/// the PBX must survive each, and where AMI's answer is reproducible it must be identical.
#[test]
fn never_list_at_verbose_3_leaves_the_pbx_alive() {
    let Some(prefix) = prefix_or_skip("never_list_at_verbose_3_leaves_the_pbx_alive") else {
        return;
    };
    let mut pbx = start(&prefix);
    let console = pbx.verbose_console(3);
    for _ in 0..2 {
        pbx.rx("channel originate Local/wait@amiws application Wait 30");
    }
    let deadline = Instant::now() + T;
    while channels(&pbx).len() < 4 {
        assert!(Instant::now() < deadline, "channels never came up: {:?}", channels(&pbx));
        std::thread::sleep(Duration::from_millis(100));
    }
    let waiting: Vec<String> = channels(&pbx).into_iter().filter(|c| c.ends_with(";2")).collect();
    println!("channels: {:?}", channels(&pbx));
    let mut p = Pair::login(&pbx, "admin", "adminpw");

    p.same(&[("Action", "Getvar"), ("Variable", "AMIWS_GLOBAL")], &[]);
    pbx.assert_alive("Getvar (global)");
    p.same(&[("Action", "Getvar"), ("Channel", &waiting[0]), ("Variable", "CHANNEL(state)")], &[]);
    p.same(&[("Action", "Getvar"), ("Channel", &waiting[0]), ("Variable", "EXTEN")], &[]);
    p.same(&[("Action", "Getvar"), ("Channel", "Local/none-00000099;1"), ("Variable", "X")], &[]);
    pbx.assert_alive("Getvar (channel)");
    // Status: answered by the module, equal to AMI's field by field (but Seconds).
    let (tr, _) = p.same(&[("Action", "Status")], &[]);
    assert_eq!(tr.iter().filter(|m| get(m, "Event") == "Status").count(), 4, "{tr:?}");
    p.same(&[("Action", "Status"), ("Channel", &waiting[0])], &[]);
    let vars = [
        ("Action", "Status"),
        ("Channel", &waiting[1]),
        ("Variables", "CHANNEL(state),EXTEN,AMIWS_GLOBAL,NOSUCH,CUT(EXTEN,a,1)"),
        ("AllVariables", "yes"),
    ];
    p.same(&vars, &[]);
    p.same(&[("Action", "Status"), ("Channel", "Local/none@amiws-00000099;1")], &[]);
    pbx.assert_alive("Status");
    // The values are compared by list_commands_reply_matches_ami; here the action names.
    let (tr, wr) = p.both_unchecked(&[("Action", "ListCommands")]);
    let tcp_keys: Vec<String> =
        tr.first().map(|m| to_json(m).keys().cloned().collect()).unwrap_or_default();
    let ws_keys: Vec<String> = wr
        .first()
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert!(tcp_keys.len() > 50, "ListCommands over TCP: {tcp_keys:?}");
    assert_eq!(tcp_keys, ws_keys, "ListCommands: the actions listed differ");
    pbx.assert_alive("ListCommands");
    p.same(&[("Action", "Events"), ("EventMask", "on")], &[]);
    pbx.assert_alive("Events");
    p.same(&[("Action", "Challenge"), ("AuthType", "MD5")], &[]);
    pbx.assert_alive("Challenge");
    p.same(&[("Action", "Filter"), ("Operation", "Add"), ("Filter", "!Event: AmiWsNever")], &[]);
    pbx.assert_alive("Filter");
    p.same_local(&[("Action", "WaitEvent"), ("Timeout", "1")], &["WaitEventComplete"]);
    pbx.assert_alive("WaitEvent");
    p.same(&[("Action", "Hangup"), ("Channel", "Local/none@amiws-00000099;1")], &[]);
    p.same(&[("Action", "Hangup"), ("Channel", "/^NoSuchTech//")], &[]);
    pbx.assert_alive("Hangup of a nonexistent channel");
    p.both(
        &[("Action", "Hangup"), ("Channel", &waiting[0])],
        &[("Action", "Hangup"), ("Channel", &waiting[1])],
        &[],
    );
    pbx.assert_alive("Hangup of an existing channel");
    let deadline = Instant::now() + T;
    while !channels(&pbx).is_empty() {
        assert!(Instant::now() < deadline, "not hung up: {:?}", channels(&pbx));
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = pbx.log();
    assert!(log.contains("hanging up channel"), "verbosity 3 was not in effect:\n{log}");
    assert!(
        log.contains("logged on from 127.0.0.1 (WebSocket)"),
        "the module's ast_verb(2) line is missing at system verbosity 3:\n{log}"
    );
    println!("module log lines:\n{}", pbx.module_log_lines());
    println!("console:\n{}", console.output());
    drop(console);
    pbx.assert_alive("the never-list");
    assert!(p.problems.is_empty(), "{} differences:\n{}", p.problems.len(), p.problems.join("\n"));
}

/// ListCommands, answered by the module itself: the same actions with the same
/// `synopsis (Priv: classes)` values as AMI, for a full user and for one without system.
#[test]
fn list_commands_reply_matches_ami() {
    let Some(prefix) = prefix_or_skip("list_commands_reply_matches_ami") else {
        return;
    };
    let mut pbx = start(&prefix);
    let mut problems = Vec::new();
    for (user, secret) in [("admin", "adminpw"), ("nosys", "nosyspw")] {
        let mut p = Pair::login(&pbx, user, secret);
        p.same(&[("Action", "ListCommands")], &[]);
        problems.extend(p.problems.into_iter().map(|d| format!("{user}: {d}")));
    }
    pbx.assert_alive("ListCommands");
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

/// An `ami-text` message as header pairs.
fn parse_text(text: &str) -> Msg {
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (k.to_string(), v.trim_start_matches(' ').to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// The events between the two marker UserEvents (exclusive), as a client saw them.
fn between<T>(all: Vec<T>, is_marker: impl Fn(&T, &str) -> bool) -> Vec<T> {
    all.into_iter()
        .skip_while(|m| !is_marker(m, "AmiWsMarkStart"))
        .skip(1)
        .take_while(|m| !is_marker(m, "AmiWsMarkEnd"))
        .collect()
}

/// Events raised inside Asterisk (a UserEvent over AMI TCP, then a dialplan call through Local
/// channels with a UserEvent carrying a repeated header) reach WebSocket clients exactly as
/// they reach an AMI TCP session: same events, same order, same keys and values (Timestamp
/// included: it is the same event), `WsSeq` last and consecutive; `ami-text` carries the same
/// headers with `WsSeq` as the last line.
#[test]
fn events_reach_websocket_clients_as_on_ami_tcp() {
    let Some(prefix) = prefix_or_skip("events_reach_websocket_clients_as_on_ami_tcp") else {
        return;
    };
    let mut pbx = start(&prefix);
    let mut tcp = Ami::connect(pbx.ami_port);
    tcp.login("admin", "adminpw");
    let mut json = ws::connect(pbx.ws_port);
    json.login("admin", "adminpw");
    let mut text = ws::try_connect(pbx.ws_port, Some("ami-text"), None).expect("ami-text");
    text.send_text("Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\nActionID: l\r\n\r\n");
    let login = loop {
        match text.recv(T) {
            ws::Recv::Text(t) if t.contains("ActionID: l\r\n") => break t,
            ws::Recv::Text(_) => continue,
            other => panic!("ami-text login: {other:?}"),
        }
    };
    assert!(login.contains("Authentication accepted"), "{login}");

    let mark = |tcp: &mut Ami, name: &str| {
        tcp.send(&[("Action", "UserEvent"), ("UserEvent", name), ("ActionID", name)]);
        tcp.reply(name, T);
    };
    mark(&mut tcp, "AmiWsMarkStart");
    tcp.send(&[
        ("Action", "UserEvent"),
        ("UserEvent", "AmiWsFromTcp"),
        ("Foo", "bar"),
        ("Foo", "baz"),
        ("ActionID", "ue"),
    ]);
    tcp.reply("ue", T);
    pbx.rx("channel originate Local/ev@amiws application Wait 2");
    let deadline = Instant::now() + T;
    std::thread::sleep(Duration::from_millis(300));
    while !channels(&pbx).is_empty() {
        assert!(Instant::now() < deadline, "call never ended: {:?}", channels(&pbx));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    mark(&mut tcp, "AmiWsMarkEnd");

    let is_end = |m: &Msg| get(m, "UserEvent") == "AmiWsMarkEnd";
    let mut tcp_all: Vec<Msg> = Vec::new();
    while let Some(m) = tcp.next(T) {
        let end = is_end(&m);
        tcp_all.push(m);
        if end {
            break;
        }
    }
    let mut json_all = Vec::new();
    while let Some(v) = json.recv_json(T) {
        let end = ws::field(&v, "UserEvent") == "AmiWsMarkEnd";
        json_all.push(v);
        if end {
            break;
        }
    }
    let mut text_all = Vec::new();
    while let ws::Recv::Text(t) = text.recv(T) {
        let end = t.contains("UserEvent: AmiWsMarkEnd\r\n");
        text_all.push(t);
        if end {
            break;
        }
    }
    let marker = |m: &Msg, name: &str| get(m, "UserEvent") == name;
    let tcp_ev: Vec<Msg> =
        between(tcp_all, marker).into_iter().filter(|m| !get(m, "Event").is_empty()).collect();
    let json_ev = between(json_all, |v: &Value, n: &str| ws::field(v, "UserEvent") == n);
    let text_ev =
        between(text_all, |t: &String, n: &str| t.contains(&format!("UserEvent: {n}\r\n")));
    let names = |v: &[Msg]| v.iter().map(|m| get(m, "Event").to_string()).collect::<Vec<_>>();
    println!("{} events over TCP: {:?}", tcp_ev.len(), names(&tcp_ev));
    for (t, w) in tcp_ev.iter().zip(&json_ev) {
        println!("  tcp: {}\n   ws: {w}", Value::Object(to_json(t)));
    }
    assert!(tcp_ev.len() >= 8, "too few events to compare: {:?}", names(&tcp_ev));
    assert!(names(&tcp_ev).iter().any(|n| n == "Newchannel"), "{:?}", names(&tcp_ev));
    assert!(names(&tcp_ev).iter().any(|n| n == "Hangup"), "{:?}", names(&tcp_ev));
    let tcp_ue = tcp_ev.iter().find(|m| get(m, "UserEvent") == "AmiWsFromTcp");
    let tcp_ue = tcp_ue.expect("the UserEvent sent over AMI TCP");
    assert_eq!(to_json(tcp_ue)["Foo"], serde_json::json!(["bar", "baz"]), "{tcp_ue:?}");
    assert!(tcp_ev.iter().any(|m| get(m, "UserEvent") == "AmiWsDialplan"), "dialplan UserEvent");

    let mut problems = compare("event stream (ami-json)", &tcp_ev, &json_ev, Kind::Same);
    let seqs: Vec<u64> =
        json_ev.iter().filter_map(|v| ws::field(v, "WsSeq").parse().ok()).collect();
    if seqs.windows(2).any(|w| w[1] != w[0] + 1) {
        problems.push(format!("WsSeq not consecutive: {seqs:?}"));
    }
    let text_msgs: Vec<Msg> = text_ev.iter().map(|t| parse_text(t)).collect();
    for (i, (t, raw)) in text_msgs.iter().zip(&text_ev).enumerate() {
        let want = format!("WsSeq: {}\r\n\r\n", seqs.get(i).copied().unwrap_or(0));
        if !raw.ends_with(&want) {
            problems.push(format!("ami-text #{i} does not end with {want:?}: {raw:?}"));
        }
        let without: Msg = t.iter().filter(|(k, _)| k != "WsSeq").cloned().collect();
        if tcp_ev.get(i) != Some(&without) {
            problems.push(format!("ami-text #{i}: {without:?}\n   tcp: {:?}", tcp_ev.get(i)));
        }
    }
    if text_msgs.len() != tcp_ev.len() {
        problems.push(format!(
            "{} events over ami-text, {} over TCP",
            text_msgs.len(),
            tcp_ev.len()
        ));
    }
    pbx.assert_alive("the event stream");
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}
