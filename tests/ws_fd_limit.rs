//! Accepting at the open-file limit (EMFILE): the stand-in runs with `--maxfiles 64`; once its
//! descriptors are used up, a new connection waits in the backlog, and it is served as soon as
//! others close, without any further connection arriving to prompt the listener.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::raw::UPGRADE_HEADERS;
use common::ws::login_as;
use common::{DEFAULT_MANAGER_CONF, Opts, StandIn, default_module_conf, free_port};

/// Connects and sends an upgrade request; returns the socket and whether the 101 came within
/// `wait`.
fn upgrade(port: u16, wait: Duration) -> (TcpStream, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut req = format!("GET /ami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for h in UPGRADE_HEADERS {
        req.push_str(h);
        req.push_str("\r\n");
    }
    s.write_all(format!("{req}\r\n").as_bytes()).expect("write");
    let ok = answered(&mut s, wait);
    (s, ok)
}

fn answered(s: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
    }
    got.starts_with(b"HTTP/1.1 101")
}

#[test]
fn backlog_is_served_once_descriptors_free_up() {
    let port = free_port();
    let manager = DEFAULT_MANAGER_CONF.replacen("[general]\n", "[general]\nauthlimit = 500\n", 1);
    let opts = Opts { extra_args: vec!["--maxfiles".into(), "64".into()], ..Opts::default() };
    let s = StandIn::start(
        &[("ami_websocket.conf", &default_module_conf(port)), ("manager.conf", &manager)],
        opts,
    );
    let mut open = Vec::new();
    let pending = loop {
        let (sock, ok) = upgrade(port, Duration::from_millis(700));
        if !ok {
            break sock;
        }
        open.push(sock);
        assert!(open.len() < 64, "the descriptor limit was never reached");
    };
    assert!(open.len() > 10, "only {} connections before the limit", open.len());
    s.expect_log("accept failed");
    // Free some descriptors; nothing else connects.
    for sock in open.drain(..5) {
        drop(sock);
    }
    let mut pending = pending;
    assert!(
        answered(&mut pending, Duration::from_secs(3)),
        "the waiting connection was never served"
    );
    // The listener works normally again.
    drop(pending);
    drop(open);
    let mut c = login_as(port, "admin", "adminpw");
    let id = c.send_action(&[("Action", "Ping")]);
    assert!(c.response(&id, Duration::from_secs(5)).is_some());
    let warnings = s.log().matches("accept failed").count();
    assert!(warnings <= 3, "{warnings} accept warnings: not rate-limited");
}
