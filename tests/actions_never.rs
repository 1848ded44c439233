//! The never-list: actions that crash Asterisk when run through `ast_hook_send_action` (Getvar,
//! Status, ListCommands, Events, Challenge, Filter, WaitEvent, Hangup and PJSIPHangup at
//! verbosity 3, ...) get their AMI answer from the module at core verbosity 0 and 3, the core
//! survives (the stand-in aborts where Asterisk would crash), and none of them reaches the hook.

mod common;

use std::time::{Duration, Instant};

use common::record::{executed, hook_texts};
use common::ws::{WsClient, connect, field};
use common::{Opts, StandIn};
use serde_json::{Value, json};

const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = pw\nread =\nwrite = all\n\n\
[caller]\nsecret = pw\nread =\nwrite = call,reporting\n";

/// Actions that must never reach `ast_hook_send_action`.
const NEVER: &[&str] = &[
    "Login",
    "Challenge",
    "Logoff",
    "Events",
    "Filter",
    "WaitEvent",
    "ListCommands",
    "Getvar",
    "Status",
    "Hangup",
    "PJSIPHangup",
];

const WAIT: Duration = Duration::from_secs(10);

fn login(port: u16, user: &str) -> WsClient {
    let mut c = connect(port);
    let r = c.login(user, "pw");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{user}: {r}");
    c
}

/// Sends an action and returns its response.
fn run(c: &mut WsClient, pairs: &[(&str, &str)]) -> Value {
    let id = c.send_action(pairs);
    c.reply(&id, WAIT).unwrap_or_else(|| panic!("no reply to {pairs:?}"))
}

fn assert_error(r: &Value, message: &str) {
    assert_eq!(field(r, "Response"), "Error", "{r}");
    assert_eq!(field(r, "Message"), message, "{r}");
}

/// The live channels whose name starts with `prefix` (CoreShowChannels, through the hook).
fn channels(c: &mut WsClient, prefix: &str) -> Vec<String> {
    let id = c.send_action(&[("Action", "CoreShowChannels")]);
    let mut names = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = c.wait_for(left, |v| field(v, "ActionID") == id).expect("CoreShowChannels");
        match field(&v, "Event") {
            "CoreShowChannel" => names.push(field(&v, "Channel").to_string()),
            "CoreShowChannelsComplete" => break,
            _ => {}
        }
    }
    names.retain(|n| n.starts_with(prefix));
    names
}

/// Originates a Local channel pair that stays up for a minute; returns their names.
fn originate(c: &mut WsClient, exten: &str) -> Vec<String> {
    let chan = format!("Local/{exten}@default");
    let r = run(
        c,
        &[
            ("Action", "Originate"),
            ("Channel", &chan),
            ("Application", "Wait"),
            ("Data", "60"),
            ("Variable", "STANDIN_DURATION=60"),
        ],
    );
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let names = channels(c, &format!("{chan}-"));
    assert_eq!(names.len(), 2, "{names:?}");
    names
}

/// Waits until no live channel starts with `prefix`.
fn wait_gone(c: &mut WsClient, prefix: &str) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if channels(c, prefix).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Runs every never-list action once, checking AMI's answers.
fn round(s: &StandIn, port: u16, tag: &str) {
    let mut admin = login(port, "admin");
    let mut caller = login(port, "caller");

    // Login again, Challenge, Events.
    let r = run(&mut admin, &[("Action", "Login"), ("Username", "admin"), ("Secret", "pw")]);
    assert_eq!(field(&r, "Message"), "Already authenticated", "{r}");
    let r = run(&mut admin, &[("Action", "Challenge"), ("AuthType", "MD5")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    assert!(field(&r, "Challenge").bytes().all(|b| b.is_ascii_digit()), "{r}");
    assert!(!field(&r, "Challenge").is_empty(), "{r}");
    let r = run(&mut admin, &[("Action", "Challenge")]);
    assert_error(&r, "Must specify AuthType");
    let r = run(&mut caller, &[("Action", "Events"), ("EventMask", "off")]);
    assert_eq!((field(&r, "Response"), field(&r, "Events")), ("Success", "Off"), "{r}");
    let r = run(&mut caller, &[("Action", "Events"), ("EventMask", "on")]);
    assert_eq!((field(&r, "Response"), field(&r, "Events")), ("Success", "On"), "{r}");

    // Filter needs system, like AMI's.
    let filter = [("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Newchannel")];
    let r = run(&mut admin, &filter);
    assert_eq!((field(&r, "Response"), field(&r, "Message")), ("Success", "Success"), "{r}");
    assert_error(&run(&mut caller, &filter), "Permission denied");

    // WaitEvent answers at once, with its Complete event.
    let id = admin.send_action(&[("Action", "WaitEvent"), ("Timeout", "30")]);
    let started = Instant::now();
    let r = admin.reply(&id, WAIT).expect("WaitEvent reply");
    assert_eq!(field(&r, "Message"), "Waiting for Event completed.", "{r}");
    let done = admin.response(&id, WAIT).expect("WaitEventComplete");
    assert_eq!(field(&done, "Event"), "WaitEventComplete", "{done}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // ListCommands lists what this user may run.
    let r = run(&mut admin, &[("Action", "ListCommands")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    for name in ["Ping", "Originate", "Command", "DBPut", "Setvar"] {
        assert!(r.get(name).is_some(), "admin's ListCommands lacks {name}: {r}");
    }
    let r = run(&mut caller, &[("Action", "ListCommands")]);
    for name in ["Ping", "Setvar", "CoreStatus", "Hangup"] {
        assert!(r.get(name).is_some(), "caller's ListCommands lacks {name}: {r}");
    }
    for name in ["Originate", "Command", "DBPut", "UserEvent"] {
        assert!(r.get(name).is_none(), "caller may not run {name}: {r}");
    }
    assert!(field(&r, "Setvar").ends_with("(Priv: call,all)"), "{r}");

    // Getvar: global variable, channel variable, functions, and the SHELL/EVAL rule.
    let value = format!("g-{tag}");
    let r = run(&mut admin, &[("Action", "Setvar"), ("Variable", "WSGLOBAL"), ("Value", &value)]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let r = run(&mut caller, &[("Action", "Getvar"), ("Variable", "WSGLOBAL")]);
    assert_eq!((field(&r, "Variable"), field(&r, "Value")), ("WSGLOBAL", value.as_str()), "{r}");
    let live = originate(&mut admin, &format!("g{tag}"));
    let r =
        run(&mut caller, &[("Action", "Getvar"), ("Channel", &live[0]), ("Variable", "CHANNEL")]);
    assert_eq!(field(&r, "Value"), live[0], "{r}");
    let get = [("Action", "Getvar"), ("Channel", &live[1]), ("Variable", "CHANNEL(name)")];
    let r = run(&mut caller, &get);
    assert_eq!(field(&r, "Value"), live[1], "{r}");
    let r = run(&mut caller, &[("Action", "Getvar"), ("Variable", "LEN(abc)")]);
    assert_eq!((field(&r, "Response"), field(&r, "Value")), ("Success", "3"), "{r}");
    let get = [("Action", "Getvar"), ("Channel", "PJSIP/nobody-1"), ("Variable", "CHANNEL")];
    assert_error(&run(&mut caller, &get), "No such channel");
    assert_error(&run(&mut caller, &[("Action", "Getvar")]), "No variable specified");
    let shell = [("Action", "Getvar"), ("Variable", "SHELL(id)")];
    assert_error(&run(&mut caller, &shell), "GetVar Access Forbidden: Variable");
    let eval = [("Action", "Getvar"), ("Variable", "EVAL(${X})")];
    assert_error(&run(&mut caller, &eval), "GetVar Access Forbidden: Variable");
    // A system user passes AMI's check, but the core refuses the escalating function on an
    // action thread (escalations inhibited): nothing runs.
    let r = run(&mut admin, &shell);
    assert_eq!((field(&r, "Response"), field(&r, "Value")), ("Success", ""), "{r}");
    s.expect_log("Dangerous function SHELL read from a thread that inhibited escalations: refused");
    assert!(executed(s).is_empty(), "{:?}", executed(s));

    // Status is answered by the module (details in actions_status.rs).
    let id = caller.send_action(&[("Action", "Status"), ("Channel", &live[0])]);
    let r = caller.reply(&id, WAIT).expect("Status reply");
    assert_eq!((field(&r, "Response"), field(&r, "EventList")), ("Success", "start"), "{r}");
    let ev = caller.response(&id, WAIT).expect("Status event");
    assert_eq!((field(&ev, "Event"), field(&ev, "Channel")), ("Status", live[0].as_str()), "{ev}");
    let done = caller.response(&id, WAIT).expect("StatusComplete");
    assert_eq!((field(&done, "Event"), field(&done, "Items")), ("StatusComplete", "1"), "{done}");

    // PJSIPHangup is refused; the channel stays up.
    let r = run(&mut admin, &[("Action", "PJSIPHangup"), ("Channel", &live[0])]);
    assert_eq!(field(&r, "Response"), "Error", "{r}");
    assert!(field(&r, "Message").contains("PJSIPHangup"), "{r}");
    assert_eq!(channels(&mut admin, &live[0]), [live[0].clone()]);

    // Hangup by name.
    let r = run(&mut caller, &[("Action", "Hangup"), ("Channel", &live[0])]);
    assert_eq!((field(&r, "Response"), field(&r, "Message")), ("Success", "Channel Hungup"), "{r}");
    let prefix = format!("Local/g{tag}@default-");
    assert!(wait_gone(&mut admin, &prefix), "channels of {prefix} still up");
    // Logged with the user's name at verbosity 3, as AMI logs it.
    let logged = format!("WebSocket Manager 'caller' hanging up channel: {}", live[0]);
    if tag == "v3" {
        s.expect_log(&logged);
    } else {
        assert!(!s.core_log().contains(&logged), "logged at verbosity 0");
    }
    let r = run(&mut caller, &[("Action", "Hangup"), ("Channel", &live[0])]);
    assert_error(&r, "No such channel");
    s.expect_log(&format!("Request to hangup non-existent channel: {}", live[0]));

    // Hangup /regex/: a list with the ActionID, every matched channel hung up.
    let regex_chans = originate(&mut admin, &format!("rx{tag}"));
    let id =
        caller.send_action(&[("Action", "Hangup"), ("Channel", &format!("/^Local.rx{tag}@/"))]);
    let start = caller.reply(&id, WAIT).expect("regex Hangup reply");
    assert_eq!(field(&start, "EventList"), "start", "{start}");
    assert_eq!(field(&start, "Message"), "Channels hung up will follow", "{start}");
    let mut hung = Vec::new();
    let complete = loop {
        let v = caller.response(&id, WAIT).expect("regex Hangup list");
        match field(&v, "Event") {
            "ChannelHungup" => hung.push(field(&v, "Channel").to_string()),
            "ChannelsHungupListComplete" => break v,
            _ => panic!("unexpected {v}"),
        }
    };
    assert!(!hung.is_empty() && hung.iter().all(|h| regex_chans.contains(h)), "{hung:?}");
    assert_eq!(field(&complete, "ListItems"), hung.len().to_string(), "{complete}");
    assert!(wait_gone(&mut admin, &format!("Local/rx{tag}@")), "regex channels still up");
    let r = run(&mut caller, &[("Action", "Hangup"), ("Channel", "/unterminated")]);
    assert_error(&r, "Regex format invalid, Channel param should be /regex/");
    assert_error(&run(&mut caller, &[("Action", "Hangup")]), "No channel specified");

    // AMI matches action names ignoring case, and so does the never-list.
    let live = originate(&mut admin, &format!("case{tag}"));
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("Action", "GETVAR"), ("Channel", &live[0]), ("Variable", "CHANNEL")],
        vec![("Action", "status"), ("Channel", &live[0])],
        vec![("Action", "listcommands")],
        vec![("Action", "EVENTS"), ("EventMask", "on")],
        vec![("Action", "waitevent")],
        vec![("Action", "FILTER"), ("Operation", "add"), ("Filter", "Event: X")],
        vec![("Action", "challenge"), ("AuthType", "md5")],
        vec![("Action", "pjsipHangup"), ("Channel", &live[0])],
        vec![("Action", "LOGIN"), ("Username", "admin"), ("Secret", "pw")],
    ];
    for pairs in &cases {
        let r = run(&mut admin, pairs);
        assert!(matches!(field(&r, "Response"), "Success" | "Error"), "{pairs:?}: {r}");
    }
    let r = run(&mut admin, &[("Action", "hANGUP"), ("Channel", &live[0])]);
    assert_eq!(field(&r, "Message"), "Channel Hungup", "{r}");
    assert!(wait_gone(&mut admin, &format!("Local/case{tag}@")));

    // Logoff ends this connection only.
    let r = run(&mut caller, &[("Action", "Logoff")]);
    assert_eq!(
        (field(&r, "Response"), field(&r, "Message")),
        ("Goodbye", "Thanks for all the fish.")
    );
    assert_eq!(caller.close_code(WAIT), Some(1000));
    assert_eq!(field(&run(&mut admin, &[("Action", "Ping")]), "Ping"), "Pong");
    admin.close();
}

#[test]
fn never_list_is_answered_by_the_module_at_verbosity_0_and_3() {
    let mut s = StandIn::start(&[("manager.conf", MANAGER_CONF)], Opts::default());
    let port = s.ws_port().unwrap();
    round(&s, port, "v0");
    assert_eq!(s.exit_signal(), None, "stand-in aborted at verbosity 0:\n{}", s.log());
    let out = s.rx("core set verbose 3");
    assert!(out.contains("Console verbose was OFF and is now 3."), "{out}");
    round(&s, port, "v3");
    assert_eq!(s.exit_signal(), None, "stand-in aborted at verbosity 3:\n{}", s.log());
    assert!(!s.log().contains("CRASH"), "{}", s.log());
    // The core's record: none of them was ever passed to ast_hook_send_action, while the
    // helpers' own actions (Originate, CoreShowChannels, Setvar) were.
    let texts = hook_texts(&s);
    let bad: Vec<_> =
        texts.iter().filter(|t| NEVER.iter().any(|n| t.action().eq_ignore_ascii_case(n))).collect();
    assert!(bad.is_empty(), "reached the hook: {bad:?}");
    for used in ["Originate", "CoreShowChannels", "Setvar"] {
        assert!(texts.iter().any(|t| t.action() == used), "{used} never reached the hook");
    }
}

/// Sends a raw JSON object and returns the reply with a `Response` (ActionID not used).
fn run_raw(c: &mut WsClient, v: Value) -> Value {
    c.send_json(&v);
    c.wait_for(WAIT, |v| v.get("Response").is_some()).expect("reply")
}

#[test]
fn module_answers_read_headers_and_echo_actionid_like_ami() {
    let s =
        StandIn::start(&[("manager.conf", MANAGER_CONF)], Opts { verbose: 3, ..Opts::default() });
    let mut c = login(s.ws_port().unwrap(), "admin");
    let r = run(&mut c, &[("Action", "Setvar"), ("Variable", "WSX"), ("Value", "v")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    // astman_get_header skips leading blanks of a value, whoever answers the action.
    let r = run_raw(&mut c, json!({"Action":"Getvar","ActionID":" 7","Variable":" \tWSX"}));
    assert_eq!((field(&r, "Variable"), field(&r, "Value")), ("WSX", "v"), "{r}");
    assert_eq!(field(&r, "ActionID"), "7", "{r}");
    for action in ["Ping", "Status", "NoSuchAction", "Getvar", "Events", "Hangup"] {
        let r = run_raw(&mut c, json!({"Action": action, "ActionID": "  42"}));
        assert_eq!(r.get("ActionID"), Some(&json!("42")), "{action}: {r}");
        // An empty ActionID is not echoed (astman_send_response_full).
        let r = run_raw(&mut c, json!({"Action": action, "ActionID": ""}));
        assert_eq!(r.get("ActionID"), None, "{action}: {r}");
    }
    let live = originate(&mut c, "blank");
    let r = run_raw(&mut c, json!({"Action":"Hangup","Channel": format!(" {}", live[0])}));
    assert_eq!(field(&r, "Message"), "Channel Hungup", "{r}");
    assert!(wait_gone(&mut c, "Local/blank@"));
    let r = run_raw(&mut c, json!({"Action":"Getvar","Channel":" PJSIP/none-1","Variable":"X"}));
    assert_eq!(field(&r, "Message"), "No such channel", "{r}");
}

#[test]
fn events_and_filter_actions_change_what_this_connection_receives() {
    let conf = format!("{MANAGER_CONF}\n[watcher]\nsecret = pw\nread = all\nwrite = all\n");
    let s = StandIn::start(&[("manager.conf", &conf)], Opts::default());
    let port = s.ws_port().unwrap();
    let mut admin = login(port, "admin");
    let mut w = login(port, "watcher");
    let mut other = login(port, "watcher");
    let raise = |c: &mut WsClient, name: &str| {
        let r = run(c, &[("Action", "UserEvent"), ("UserEvent", name)]);
        assert_eq!(field(&r, "Response"), "Success", "{r}");
    };
    // The UserEvents names `w` receives up to and including `last`.
    let seen_until = |c: &mut WsClient, last: &str| -> Vec<String> {
        let mut names = Vec::new();
        while let Some(v) = c.wait_for(WAIT, |v| field(v, "Event") == "UserEvent") {
            names.push(field(&v, "UserEvent").to_string());
            if names.last().map(String::as_str) == Some(last) {
                return names;
            }
        }
        panic!("never saw {last}; saw {names:?}");
    };
    raise(&mut admin, "First");
    assert_eq!(seen_until(&mut w, "First"), ["First"]);
    let r = run(&mut w, &[("Action", "Events"), ("EventMask", "off")]);
    assert_eq!(field(&r, "Events"), "Off", "{r}");
    raise(&mut admin, "WhileOff");
    let r = run(&mut w, &[("Action", "Events"), ("EventMask", "user")]);
    assert_eq!(field(&r, "Events"), "On", "{r}");
    raise(&mut admin, "On");
    assert_eq!(seen_until(&mut w, "On"), ["On"], "Events off must stop delivery");
    let filter = [("Action", "Filter"), ("Operation", "Add"), ("Filter", "UserEvent: Shown")];
    assert_eq!(field(&run(&mut w, &filter), "Response"), "Success");
    for name in ["Hidden", "Shown"] {
        raise(&mut admin, name);
    }
    assert_eq!(seen_until(&mut w, "Shown"), ["Shown"], "the filter must hide Hidden");
    // Another connection of the same user is not affected.
    assert_eq!(seen_until(&mut other, "Shown"), ["First", "WhileOff", "On", "Hidden", "Shown"]);
}

#[test]
fn the_module_cannot_be_unloaded_through_its_own_actions() {
    let mut s = StandIn::start(&[("manager.conf", MANAGER_CONF)], Opts::default());
    let port = s.ws_port().unwrap();
    let mut c = login(port, "admin");
    // An unload would run on the module's own action thread, which the unload must stop first:
    // refused at once, the service keeps running, nothing reaches the core.
    let refused: &[&[(&str, &str)]] = &[
        &[("Action", "ModuleLoad"), ("LoadType", "unload"), ("Module", "res_ami_websocket.so")],
        &[("Action", "ModuleLoad"), ("LoadType", "Refresh"), ("Module", " RES_AMI_WEBSOCKET")],
        &[("Action", "ModuleLoad"), ("LoadType", "unload"), ("Module", "./res_ami_websocket.so")],
        &[("Action", "Command"), ("Command", "module refresh res_ami_websocket.so")],
        &[("Action", "Command"), ("Command", "  Module   Unload  res_ami_websocket")],
        &[("Action", "Command"), ("Command", "module unload -h res_x.so res_ami_websocket.so")],
    ];
    for pairs in refused {
        let started = Instant::now();
        let r = run(&mut c, pairs);
        assert_eq!(field(&r, "Response"), "Error", "{pairs:?}: {r}");
        assert!(field(&r, "Message").contains("own action"), "{pairs:?}: {r}");
        assert!(started.elapsed() < Duration::from_secs(2), "{pairs:?}");
    }
    assert!(hook_texts(&s).is_empty(), "{:?}", hook_texts(&s));
    // Reloading it, or unloading another module, is the core's business as usual.
    let r = run(
        &mut c,
        &[("Action", "ModuleLoad"), ("LoadType", "reload"), ("Module", "res_ami_websocket.so")],
    );
    assert_eq!(field(&r, "Message"), "Module reloaded.", "{r}");
    let r = run(&mut c, &[("Action", "Command"), ("Command", "module refresh res_other.so")]);
    let out = r["Output"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
    let out: Vec<&str> = out.unwrap_or_default();
    assert!(out.contains(&"Unable to unload resource res_other.so"), "{r}");
    let r = run(
        &mut c,
        &[("Action", "ModuleLoad"), ("LoadType", "unload"), ("Module", "res_other.so")],
    );
    assert_eq!(field(&r, "Message"), "Module not found.", "{r}");
    assert_eq!(field(&run(&mut c, &[("Action", "Ping")]), "Ping"), "Pong");
    let mut fresh = login(port, "admin");
    assert_eq!(field(&run(&mut fresh, &[("Action", "Ping")]), "Ping"), "Pong");
    assert!(s.rx("module show like res_ami").contains("Running"));
    assert_eq!(s.exit_signal(), None);
}
