//! Socket hygiene over real sockets: Origin checks and unknown paths answered before any
//! upgrade, the page, close codes for bad client frames (too big, invalid UTF-8, binary,
//! unmasked), the handshake deadline, and `ws kick`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::raw::{RawEnd, UPGRADE_HEADERS, frame, get, handshake, read_close, wait_eof};
use common::ws::{clients, field, login_as, try_connect};
use common::{Opts, StandIn, default_module_conf, free_port};

fn start() -> (StandIn, u16) {
    let port = free_port();
    let conf = format!(
        "{}allowed_origins = https://pbx.example.com\nhandshake_timeout = 1\n",
        default_module_conf(port)
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

fn upgrade_with(extra: &[&str]) -> Vec<String> {
    UPGRADE_HEADERS.iter().chain(extra).map(|h| h.to_string()).collect()
}

#[test]
fn origin_is_checked_before_the_upgrade() {
    let (s, port) = start();
    for origin in [
        "https://evil.example",
        "null",
        "https://pbx.example.com.evil.com",
        "http://pbx.example.com",
        &format!("http://127.0.0.1:{}", port + 1),
    ] {
        let h = upgrade_with(&[&format!("Origin: {origin}")]);
        let refs: Vec<&str> = h.iter().map(String::as_str).collect();
        let a = get(port, "/ami", &refs);
        assert_eq!(a.status, 403, "Origin {origin}: {}", a.head);
        assert!(a.header("Upgrade").is_none() && a.header("Sec-WebSocket-Accept").is_none());
        // The Origin is refused before any WebSocket state exists.
        assert_eq!(clients(&s).1, 0);
    }
    // The page's own origin, a listed origin (any case) and no Origin at all are allowed.
    for origin in
        [Some(format!("http://127.0.0.1:{port}")), Some("HTTPS://PBX.example.com".into()), None]
    {
        let mut c = try_connect(port, None, origin.as_deref())
            .unwrap_or_else(|e| panic!("Origin {origin:?} refused: {e}"));
        assert_eq!(field(&c.login("admin", "adminpw"), "Response"), "Success");
    }
}

#[test]
fn paths_and_the_page() {
    let (_s, port) = start();
    let upgrade: Vec<&str> = UPGRADE_HEADERS.to_vec();
    for path in ["/nope", "/ami/", "/ami?resume=1", "/index.php"] {
        assert_eq!(get(port, path, &upgrade).status, 404, "{path} with upgrade");
        assert_eq!(get(port, path, &[]).status, 404, "{path}");
    }
    let page = get(port, "/", &[]);
    assert_eq!(page.status, 200, "{}", page.head);
    assert!(page.header("Content-Type").unwrap_or("").starts_with("text/html"), "{}", page.head);
    let len: usize = page.header("Content-Length").and_then(|v| v.parse().ok()).unwrap();
    assert_eq!(len, page.body.len());
    let body = String::from_utf8_lossy(&page.body).to_ascii_lowercase();
    assert!(body.contains("<html") && body.contains("/ami"), "not the page: {body:.200}");
    // /ami without an upgrade is not served as a page.
    let plain = get(port, "/ami", &[]);
    assert!(plain.status >= 400, "{}", plain.head);
}

#[test]
fn bad_frames_get_their_close_codes() {
    let (s, port) = start();
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("invalid UTF-8", frame(0x1, b"{\"Action\":\"\xff\xfe\"}", true), 1007),
        ("binary", frame(0x2, b"{\"Action\":\"Ping\"}", true), 1003),
        ("unmasked", frame(0x1, b"{\"Action\":\"Ping\"}", false), 1002),
        ("too big", frame(0x1, &vec![b'a'; 70_000], true), 1009),
    ];
    for (what, bytes, code) in cases {
        let mut sock = handshake(port);
        sock.write_all(&bytes).expect("send frame");
        assert_eq!(
            read_close(&mut sock, Duration::from_secs(5)),
            RawEnd::Close(Some(code)),
            "{what}"
        );
        // Answer the Close as a client should; the server then ends the TCP connection.
        let _ = sock.write_all(&frame(0x8, &code.to_be_bytes(), true));
        assert!(wait_eof(&mut sock, Duration::from_secs(5)).is_some(), "{what}: not closed");
    }
    // Through the WebSocket library too: a message over max_message_size.
    let mut c = login_as(port, "admin", "adminpw");
    c.send_text(&format!("{{\"Action\":\"Ping\",\"X\":\"{}\"}}", "y".repeat(70_000)));
    assert_eq!(c.close_code(Duration::from_secs(5)), Some(1009));
    assert!(common::ws::wait_clients(&s, 0, Duration::from_secs(3)));
}

#[test]
fn silent_tcp_connection_is_closed_at_the_handshake_deadline() {
    let (s, port) = start();
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut partial = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    partial.write_all(b"GET /ami HTTP/1.1\r\nHost: x\r\n").unwrap();
    for (what, sock) in [("idle", &mut idle), ("partial head", &mut partial)] {
        let took = wait_eof(sock, Duration::from_secs(5)).unwrap_or_else(|| panic!("{what} open"));
        assert!(took <= Duration::from_millis(2500), "{what}: closed only after {took:?}");
    }
    assert_eq!(clients(&s).1, 0);
    // The deadline is the handshake's only: an upgraded client stays.
    let mut c = login_as(port, "admin", "adminpw");
    std::thread::sleep(Duration::from_millis(1500));
    let id = c.send_action(&[("Action", "Ping")]);
    assert!(c.response(&id, Duration::from_secs(5)).is_some());
}

#[test]
fn kick_closes_only_that_client_with_4002() {
    let (s, port) = start();
    let mut victim = login_as(port, "admin", "adminpw");
    let mut bystander = login_as(port, "admin", "adminpw");
    let victim_addr = victim.ws.get_ref().local_addr().unwrap().to_string();
    let (rows, n) = clients(&s);
    assert_eq!(n, 2);
    let id = rows.iter().find(|r| r.peer == victim_addr).expect("victim row").id;
    let out = s.rx(&format!("ws kick {id}"));
    assert!(out.contains(&format!("Client {id} disconnected")), "{out}");
    assert_eq!(victim.close_code(Duration::from_secs(5)), Some(4002));
    let ping = bystander.send_action(&[("Action", "Ping")]);
    let r = bystander.response(&ping, Duration::from_secs(5)).expect("bystander lost");
    assert_eq!(field(&r, "Ping"), "Pong");
    let (rows, n) = clients(&s);
    assert_eq!(n, 1);
    assert_ne!(rows[0].id, id);
    assert!(s.rx(&format!("ws kick {id}")).contains("No client with id"));
}

#[test]
fn a_peer_that_never_answers_our_close_is_dropped() {
    let (s, port) = start();
    let mut sock = handshake(port);
    sock.write_all(&frame(0x2, b"binary", true)).expect("send frame");
    assert_eq!(read_close(&mut sock, Duration::from_secs(5)), RawEnd::Close(Some(1003)));
    // No Close answer: the server waits a grace period (10 s), then drops the connection.
    let took = wait_eof(&mut sock, Duration::from_secs(20)).expect("never dropped");
    assert!(took >= Duration::from_secs(5), "dropped after {took:?}: no time to answer");
    assert!(common::ws::wait_clients(&s, 0, Duration::from_secs(2)));
}

/// A valid message followed by a bad frame in the same TCP segment: the reply to the valid one
/// still goes out, then the Close with the bad frame's code (before the fix the reply and the
/// Close were dropped and the TCP connection just ended; Autobahn cases 3.2-3.4, 4.x, 5.15).
#[test]
fn replies_before_a_bad_frame_go_out_then_its_close() {
    let (_s, port) = start();
    let cases: [(&str, Vec<u8>, u16); 3] = [
        (
            "RSV bits",
            {
                let mut f = frame(0x1, b"{}", true);
                f[0] |= 0x20;
                f
            },
            1002,
        ),
        ("reserved opcode", frame(0x3, b"", true), 1002),
        ("unmasked", frame(0x1, b"{}", false), 1002),
    ];
    for (what, bad, code) in cases {
        let mut sock = handshake(port);
        let mut bytes =
            frame(0x1, br#"{"Action":"Challenge","AuthType":"MD5","ActionID":"c1"}"#, true);
        bytes.extend_from_slice(&bad);
        sock.write_all(&bytes).expect("send frames");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let (op, reply) = common::raw::read_frame(&mut sock, deadline)
            .unwrap_or_else(|| panic!("{what}: the reply to the valid message was dropped"));
        assert_eq!(op, 1, "{what}");
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.contains("\"Challenge\"") && reply.contains("\"c1\""), "{what}: {reply}");
        assert_eq!(
            read_close(&mut sock, Duration::from_secs(5)),
            RawEnd::Close(Some(code)),
            "{what}"
        );
    }
}
