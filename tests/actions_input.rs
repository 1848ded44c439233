//! Hostile action input (ROBUSTNESS.md rows 21-24): header smuggling through CR, LF or NUL,
//! too many headers, oversized actions, invalid names, non-string and nested values, duplicate
//! keys, over JSON and over the `ami-text` subprotocol. Each gets an AMI error naming the
//! problem, the connection stays usable, and the core's record shows nothing reached
//! `ast_hook_send_action` and nothing ran.

mod common;

use std::time::Duration;

use common::record::{executed, hook_count, hook_texts};
use common::ws::{WsClient, ami_field, field, try_connect};
use common::{Opts, StandIn, free_port};
use serde_json::{Value, json};

const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = pw\nread =\nwrite = all\n";

const WAIT: Duration = Duration::from_secs(10);
const SMUGGLE: &str = "x\r\nAction: Originate\r\nApplication: System\r\nData: id";
const CTRL: &str = "(CR, LF, NUL and control characters other than TAB are not allowed)";

/// A stand-in whose WebSocket limits let a 1 MB message through to the action parser.
fn start_big_messages() -> (StandIn, u16) {
    let port = free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nmax_message_size = 2097152\n\
         max_frame_size = 2097152\n"
    );
    let s = StandIn::start(
        &[("manager.conf", MANAGER_CONF), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    (s, port)
}

fn login(port: u16) -> WsClient {
    let mut c = try_connect(port, None, None).expect("connect");
    let r = c.login("admin", "pw");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{r}");
    c
}

/// A UserEvent with `extra` headers after Action, ActionID and UserEvent.
fn user_event(id: &str, extra: &[(String, Value)]) -> String {
    let mut text = format!(r#"{{"Action":"UserEvent","ActionID":"{id}","UserEvent":"Inj""#);
    for (k, v) in extra {
        text.push_str(&format!(",{}:{}", Value::String(k.clone()), v));
    }
    text.push('}');
    text
}

fn kv(k: &str, v: Value) -> Vec<(String, Value)> {
    vec![(k.to_string(), v)]
}

/// The JSON cases: (label, raw message, ActionID in it, expected Message).
fn json_cases() -> Vec<(&'static str, String, &'static str, String)> {
    let many: Vec<(String, Value)> = (0..126).map(|i| (format!("H{i}"), json!("v"))).collect();
    let big = user_event("j10", &kv("Foo", json!("x".repeat(1 << 20))));
    let big_len = big.len();
    vec![
        (
            "CRLF smuggling a second action",
            user_event("j1", &kv("Foo", json!(SMUGGLE))),
            "j1",
            format!("Invalid value for 'Foo': contains CR {CTRL}"),
        ),
        (
            "bare LF",
            user_event("j2", &kv("Foo", json!("a\nAction: Originate"))),
            "j2",
            format!("Invalid value for 'Foo': contains LF {CTRL}"),
        ),
        (
            "bare CR",
            user_event("j3", &kv("Foo", json!("a\rb"))),
            "j3",
            format!("Invalid value for 'Foo': contains CR {CTRL}"),
        ),
        (
            "NUL",
            user_event("j4", &kv("Foo", json!("a\u{0}Action: Originate"))),
            "j4",
            format!("Invalid value for 'Foo': contains NUL {CTRL}"),
        ),
        (
            "other control character",
            user_event("j5", &kv("Foo", json!("a\u{1b}[2Jb"))),
            "j5",
            format!("Invalid value for 'Foo': contains a control character {CTRL}"),
        ),
        (
            "CRLF in the action name",
            format!(r#"{{"Action":{},"ActionID":"j6"}}"#, json!(format!("Ping{SMUGGLE}"))),
            "j6",
            format!("Invalid value for 'Action': contains CR {CTRL}"),
        ),
        (
            "CR in an array element",
            user_event("j7", &kv("Foo", json!(["ok", SMUGGLE]))),
            "j7",
            format!("Invalid value for 'Foo': contains CR {CTRL}"),
        ),
        ("129 headers", user_event("j8", &many), "j8", "Too many headers (limit 128)".into()),
        (
            "129 headers through an array",
            user_event("j9", &kv("H", json!(vec!["v"; 126]))),
            "j9",
            "Too many headers (limit 128)".into(),
        ),
        ("1 MB action", big, "j10", format!("Message too large ({big_len} bytes, limit 131072)")),
        (
            "value over 1000 bytes",
            user_event("j11", &kv("Foo", json!("y".repeat(1001)))),
            "j11",
            "Value of 'Foo' too long (1001 bytes, limit 1000)".into(),
        ),
        (
            "key containing ':'",
            user_event("j12", &kv("Data: id\r\nFoo", json!("x"))),
            "j12",
            r"Invalid header name 'Data: id\r\nFoo': use only letters, digits, '_' and '-'".into(),
        ),
        (
            "key containing a space",
            user_event("j13", &kv("Fo o", json!("x"))),
            "j13",
            "Invalid header name 'Fo o': use only letters, digits, '_' and '-'".into(),
        ),
        (
            "empty key",
            user_event("j14", &kv("", json!("x"))),
            "j14",
            "Invalid header name '': use only letters, digits, '_' and '-'".into(),
        ),
        (
            "number value",
            user_event("j15", &kv("Foo", json!(1))),
            "j15",
            "Invalid value for 'Foo': expected a string or an array of strings, found a number"
                .into(),
        ),
        (
            "boolean value",
            user_event("j16", &kv("Foo", json!(true))),
            "j16",
            "Invalid value for 'Foo': expected a string or an array of strings, found a boolean"
                .into(),
        ),
        (
            "null value",
            user_event("j17", &kv("Foo", Value::Null)),
            "j17",
            "Invalid value for 'Foo': expected a string or an array of strings, found null".into(),
        ),
        (
            "nested object",
            user_event("j18", &kv("Foo", json!({"Action": "Originate"}))),
            "j18",
            "Invalid value for 'Foo': expected a string or an array of strings, found an object"
                .into(),
        ),
        (
            "nested array",
            user_event("j19", &kv("Foo", json!([["a"]]))),
            "j19",
            "Invalid value for 'Foo': expected a string or an array of strings, found a nested \
             array"
                .into(),
        ),
        (
            "number in an array",
            user_event("j20", &kv("Foo", json!(["a", 2]))),
            "j20",
            "Invalid value for 'Foo': expected a string or an array of strings, found a number"
                .into(),
        ),
        (
            "empty array",
            user_event("j21", &kv("Foo", json!([]))),
            "j21",
            "Invalid value for 'Foo': empty array".into(),
        ),
        (
            "duplicate key",
            r#"{"Action":"UserEvent","ActionID":"j22","Foo":"a","foo":"b"}"#.into(),
            "j22",
            "Duplicate key 'foo': send a repeated header as an array of strings".into(),
        ),
        (
            "duplicate Action",
            r#"{"Action":"Ping","ActionID":"j23","Action":"Originate","Application":"System"}"#
                .into(),
            "j23",
            "Duplicate key 'Action': send a repeated header as an array of strings".into(),
        ),
        (
            "Action as an array",
            r#"{"Action":["Ping","Originate"],"ActionID":"j24"}"#.into(),
            "j24",
            "More than one Action header".into(),
        ),
        (
            "no Action",
            r#"{"ActionID":"j25","Application":"System","Data":"id"}"#.into(),
            "j25",
            "Missing action in request".into(),
        ),
        (
            "invalid action name",
            r#"{"Action":"Ping Originate","ActionID":"j26"}"#.into(),
            "j26",
            "Invalid action name 'Ping Originate'".into(),
        ),
    ]
}

/// Nothing reached the core since `before` texts, nothing ran, and a Ping still works.
fn assert_clean_and_usable(s: &StandIn, c: &mut WsClient, before: usize, label: &str) {
    assert_eq!(hook_count(s), before, "{label}: reached the core: {:?}", hook_texts(s));
    assert!(executed(s).is_empty(), "{label}: executed {:?}", executed(s));
    let id = c.send_action(&[("Action", "Ping")]);
    let r = c.reply(&id, WAIT).unwrap_or_else(|| panic!("{label}: no Ping reply afterwards"));
    assert_eq!(field(&r, "Ping"), "Pong", "{label}: {r}");
}

#[test]
fn hostile_json_actions_are_refused_with_a_named_error() {
    let (mut s, port) = start_big_messages();
    let mut c = login(port);
    let cases = json_cases();
    for (label, text, id, message) in &cases {
        let before = hook_count(&s);
        c.send_text(text);
        let r = c.reply(id, WAIT).unwrap_or_else(|| panic!("{label}: no reply"));
        assert_eq!(field(&r, "Response"), "Error", "{label}: {r}");
        assert_eq!(field(&r, "Message"), message, "{label}: {r}");
        assert_clean_and_usable(&s, &mut c, before, label);
    }
    println!("{} hostile JSON actions refused", cases.len());
    // Every text that reached the core is one of our Pings.
    let texts = hook_texts(&s);
    assert_eq!(texts.len(), cases.len());
    assert!(texts.iter().all(|t| t.action() == "Ping" && t.headers == 2), "{texts:?}");
    assert_eq!(s.exit_signal(), None);
}

#[test]
fn allowed_edge_values_pass_byte_exact_and_128_headers_reach_the_core_whole() {
    let (s, port) = start_big_messages();
    let mut c = login(port);
    // 128 headers: Action, ActionID, UserEvent and 125 more; the core keeps all of them.
    let many: Vec<(String, Value)> = (0..125).map(|i| (format!("H{i}"), json!("v"))).collect();
    c.send_text(&user_event("e1", &many));
    let r = c.reply("e1", WAIT).expect("reply to 128 headers");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    // TAB, U+2028 and non-ASCII are allowed and reach the core unchanged.
    let odd = "tab\there \u{2028} \u{0085} é ✓";
    c.send_text(&user_event("e2", &kv("Foo", json!(odd))));
    let r = c.reply("e2", WAIT).expect("reply to odd value");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    // A repeated header as an array, in order.
    c.send_text(&user_event("e3", &kv("Foo", json!(["a", "b", "c"]))));
    assert_eq!(field(&c.reply("e3", WAIT).expect("e3"), "Response"), "Success");
    let texts = hook_texts(&s);
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert_eq!(texts[0].headers, 128, "{:?}", texts[0]);
    assert!(texts[0].text.ends_with("H124: v\r\n\r\n"), "{:?}", texts[0]);
    assert_eq!(texts[1].header("Foo").as_deref(), Some(odd));
    assert!(texts[2].text.contains("Foo: a\r\nFoo: b\r\nFoo: c\r\n"), "{:?}", texts[2]);
}

#[test]
fn hostile_ami_text_actions_are_refused_with_a_named_error() {
    let (mut s, port) = start_big_messages();
    let mut c = try_connect(port, Some("ami-text"), None).expect("connect");
    c.send_text("Action: Login\r\nUsername: admin\r\nSecret: pw\r\n\r\n");
    let r = c.recv_text(WAIT).expect("login reply");
    assert_eq!(ami_field(&r, "Message"), "Authentication accepted", "{r:?}");
    let many: String = (0..128).map(|i| format!("H{i}: v\r\n")).collect();
    let big = format!("Action: UserEvent\r\nFoo: {}\r\n\r\n", "x".repeat(1 << 20));
    let big_len = big.len();
    let cases: Vec<(&str, String, String)> = vec![
        (
            "CR inside a line",
            "Action: UserEvent\r\nUserEvent: x\r\nFoo: a\rAction: Originate\r\n\r\n".into(),
            format!("Invalid value for 'Foo': contains CR {CTRL}"),
        ),
        (
            "bare LF starting a second Action",
            "Action: UserEvent\r\nFoo: x\nAction: Originate\nApplication: System\nData: id\r\n\r\n"
                .into(),
            "More than one Action header".into(),
        ),
        (
            "NUL",
            "Action: UserEvent\r\nFoo: a\u{0}b\r\n\r\n".into(),
            format!("Invalid value for 'Foo': contains NUL {CTRL}"),
        ),
        (
            "129 headers",
            format!("Action: UserEvent\r\n{many}\r\n"),
            "Too many headers (limit 128)".into(),
        ),
        (
            "header name with a space",
            "Action: UserEvent\r\nFo o: x\r\n\r\n".into(),
            "Invalid header name 'Fo o': use only letters, digits, '_' and '-'".into(),
        ),
        (
            "line without a colon",
            "Action: UserEvent\r\nApplication System\r\n\r\n".into(),
            "Invalid line 2: expected 'Name: value'".into(),
        ),
        (
            "a second action after a blank line",
            "Action: Ping\r\n\r\nAction: Originate\r\nApplication: System\r\nData: id\r\n\r\n"
                .into(),
            "Only one action per message".into(),
        ),
        ("1 MB action", big, format!("Message too large ({big_len} bytes, limit 131072)")),
        (
            "value over 1000 bytes",
            format!("Action: UserEvent\r\nFoo: {}\r\n\r\n", "y".repeat(1001)),
            "Value of 'Foo' too long (1001 bytes, limit 1000)".into(),
        ),
    ];
    for (label, text, message) in &cases {
        let before = hook_count(&s);
        c.send_text(text);
        let r = c.recv_text(WAIT).unwrap_or_else(|| panic!("{label}: no reply"));
        assert_eq!(ami_field(&r, "Response"), "Error", "{label}: {r:?}");
        assert_eq!(ami_field(&r, "Message"), *message, "{label}: {r:?}");
        assert!(r.ends_with("\r\n\r\n"), "{label}: {r:?}");
        assert_eq!(hook_count(&s), before, "{label}: reached the core: {:?}", hook_texts(&s));
        assert!(executed(&s).is_empty(), "{label}: executed {:?}", executed(&s));
        c.send_text("Action: Ping\r\nActionID: tp\r\n\r\n");
        let r = c.recv_text(WAIT).unwrap_or_else(|| panic!("{label}: no Ping reply"));
        assert_eq!(ami_field(&r, "Ping"), "Pong", "{label}: {r:?}");
        assert_eq!(ami_field(&r, "ActionID"), "tp", "{label}: {r:?}");
    }
    println!("{} hostile ami-text actions refused", cases.len());
    let texts = hook_texts(&s);
    assert_eq!(texts.len(), cases.len());
    assert!(texts.iter().all(|t| t.text == "Action: Ping\r\nActionID: tp\r\n\r\n"), "{texts:?}");
    assert_eq!(s.exit_signal(), None);
}

#[test]
fn a_1mb_message_over_the_default_limit_closes_with_1009_and_nothing_else() {
    let mut s = StandIn::start(&[("manager.conf", MANAGER_CONF)], Opts::default());
    let port = s.ws_port().unwrap();
    let mut other = login(port);
    let mut c = login(port);
    // The server may close while the client still writes (then the write fails): the close
    // frame it sent first is still there to read.
    let big = user_event("big", &kv("Foo", json!("x".repeat(1 << 20))));
    let sent = c.ws.send(tungstenite::Message::Text(big.into()));
    assert_eq!(c.close_code(WAIT), Some(1009), "send: {sent:?}");
    let id = other.send_action(&[("Action", "Ping")]);
    assert_eq!(field(&other.reply(&id, WAIT).expect("Ping"), "Ping"), "Pong");
    let texts = hook_texts(&s);
    assert!(texts.iter().all(|t| t.action() == "Ping"), "{texts:?}");
    assert_eq!(s.exit_signal(), None);
}
