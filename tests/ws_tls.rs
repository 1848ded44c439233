//! wss://: TLS on the module's port (self-signed certificate made with openssl at test time),
//! login and events over it, `ws show clients` says TLS, and plaintext to the TLS port (or TLS
//! to a plain port) fails fast without hurting the listener, and actions pipelined over TLS
//! are all answered in order.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::tls::{test_pki, tls_client};
use common::{Opts, StandIn};
use tungstenite::Message;

#[test]
fn wss_login_events_and_hygiene() {
    let dir = common::temp_dir("tls");
    let Some((ca, crt, key)) = test_pki(&dir) else {
        eprintln!("skipped: openssl is needed to make a test certificate");
        return;
    };
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\ntls_enable = yes\n\
         tls_cert_file = {crt}\ntls_private_key = {key}\nhandshake_timeout = 2\n"
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    assert!(s.log().contains(&format!("listening on wss://127.0.0.1:{port}/ami")), "{}", s.log());

    let mut ws = tls_client(port, &ca);
    ws.send(Message::Text(
        r#"{"Action":"Login","Username":"admin","Secret":"adminpw","ActionID":"l"}"#.into(),
    ))
    .unwrap();
    let login = ws.read().unwrap().into_text().unwrap();
    assert!(login.contains("Authentication accepted"), "{login}");
    ws.send(Message::Text(r#"{"Action":"UserEvent","UserEvent":"OverTls","ActionID":"u"}"#.into()))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        if let Ok(Message::Text(t)) = ws.read() {
            seen = t.contains("\"UserEvent\":\"OverTls\"") && t.contains("WsSeq");
        }
    }
    assert!(seen, "the UserEvent did not arrive over TLS");
    let clients = s.rx("ws show clients");
    let row = clients.lines().find(|l| l.contains("admin")).expect("client row");
    assert!(row.contains(" Yes "), "TLS column: {clients}");
    // The login's security event names the TLS transport (AST_TRANSPORT_WSS).
    let events = s.rx("standin show security");
    let ok = events.lines().find(|l| l.contains("SecurityEvent=\"SuccessfulAuth\""));
    let want = format!("LocalAddress=\"IPV4/WSS/127.0.0.1/{port}\"");
    assert!(
        ok.is_some_and(|l| l.contains(&want) && l.contains("RemoteAddress=\"IPV4/WSS/")),
        "{events}"
    );

    // Plain HTTP to the TLS port: no answer in plaintext, closed quickly.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    plain.write_all(b"GET /ami HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = plain.read(&mut buf).unwrap_or(0);
    assert!(
        !String::from_utf8_lossy(&buf[..n]).contains("HTTP/1.1"),
        "plaintext answer on the TLS port"
    );
    assert!(started.elapsed() < Duration::from_secs(4), "plaintext client not dropped quickly");

    // A stalled TLS handshake (connect, send nothing) is dropped at handshake_timeout.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let started = Instant::now();
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected the server to close the idle connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle TLS connection kept {:?}",
        started.elapsed()
    );

    // The TLS client is unaffected by all that.
    ws.send(Message::Text(r#"{"Action":"Ping","ActionID":"p"}"#.into())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pong = false;
    while Instant::now() < deadline && !pong {
        if let Ok(Message::Text(t)) = ws.read() {
            pong = t.contains("\"Ping\":\"Pong\"");
        }
    }
    assert!(pong, "no Pong over TLS");

    // 500 actions pipelined in one flush: TLS hands the module far more than its window of
    // actions at once, so it pauses with messages left inside TLS and tungstenite, and must
    // come back to them without a new readiness event. Every answer arrives, in order.
    for k in 0..500 {
        let text = format!(r#"{{"Action":"Ping","ActionID":"tls{k}"}}"#);
        ws.write(Message::Text(text.into())).unwrap();
    }
    ws.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answers = Vec::new();
    while Instant::now() < deadline && answers.len() < 500 {
        if let Ok(Message::Text(t)) = ws.read() {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            if v.get("Response").is_some() {
                answers.push(v["ActionID"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    let want: Vec<String> = (0..500).map(|k| format!("tls{k}")).collect();
    assert_eq!(answers, want, "pipelined answers over TLS missing or out of order");

    // Reload with a missing certificate: refused, old TLS config kept, client untouched.
    let bad = conf.replace(&crt, "/nonexistent/ws.crt");
    std::fs::write(s.config_dir().join("ami_websocket.conf"), bad).unwrap();
    let out = s.rx("module reload res_ami_websocket.so");
    assert!(!out.contains("reloaded successfully"), "{out}");
    s.expect_log("/nonexistent/ws.crt");
    ws.send(Message::Text(r#"{"Action":"Ping","ActionID":"p2"}"#.into())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pong = false;
    while Instant::now() < deadline && !pong {
        if let Ok(Message::Text(t)) = ws.read() {
            pong = t.contains("\"ActionID\":\"p2\"");
        }
    }
    assert!(pong, "client hurt by a failed reload");
    let again = tls_client(port, &ca);
    drop(again);
}
