//! Connection upkeep over real sockets: keep-alive pings (a peer that never answers is closed,
//! one that reads stays), the pre-login message and control-frame rate limits (close 1008), and
//! connections ending from the client side, politely or abruptly.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::raw::{RawEnd, frame, handshake, read_close, read_frame, wait_eof};
use common::ws::{Recv, field, login_as, wait_clients};
use common::{Opts, StandIn, default_module_conf, free_port};

fn start(extra: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = format!("{}{extra}", default_module_conf(port));
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

/// Logs in on a raw connection (masked JSON text frame) and returns the socket.
fn raw_login(port: u16) -> TcpStream {
    let mut sock = handshake(port);
    let login = br#"{"Action":"Login","Username":"admin","Secret":"adminpw"}"#;
    sock.write_all(&frame(0x1, login, true)).unwrap();
    let (op, payload) = read_frame(&mut sock, Instant::now() + Duration::from_secs(5)).unwrap();
    assert_eq!(op, 0x1);
    assert!(String::from_utf8_lossy(&payload).contains("Authentication accepted"));
    sock
}

#[test]
fn a_peer_that_never_answers_pings_is_closed_one_that_reads_stays() {
    let (s, port) = start("ping_interval = 1\npong_timeout = 1\n");
    let mut mute = raw_login(port);
    let mut alive = login_as(port, "admin", "adminpw");
    let started = Instant::now();
    // The mute peer sees a ping, never answers, and is closed with 1001 about 2 s in.
    let watcher = std::thread::spawn(move || {
        let mut pinged = false;
        let end = loop {
            match read_frame(&mut mute, started + Duration::from_secs(8)) {
                Some((0x9, _)) => pinged = true,
                Some((0x8, p)) => break Some(u16::from_be_bytes([p[0], p[1]])),
                Some(_) => {}
                None => break None,
            }
        };
        (pinged, end, started.elapsed())
    });
    // Meanwhile the tungstenite client reads (and so answers pings): it stays.
    while started.elapsed() < Duration::from_secs(4) {
        let r = alive.recv(Duration::from_millis(200));
        assert!(matches!(r, Recv::Timeout | Recv::Text(_)), "the reading client: {r:?}");
    }
    let (pinged, end, took) = watcher.join().unwrap();
    assert!(pinged, "no ping before the close");
    assert_eq!(end, Some(1001), "closed after {took:?}");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(4), "{took:?}");
    let id = alive.send_action(&[("Action", "Ping")]);
    assert_eq!(field(&alive.response(&id, Duration::from_secs(5)).unwrap(), "Ping"), "Pong");
    assert!(wait_clients(&s, 1, Duration::from_secs(3)));
}

#[test]
fn message_flood_before_login_is_closed_with_1008_after_login_it_is_paced() {
    let (s, port) = start("messages_per_second = 5\n");
    let mut flood = common::ws::connect(port);
    let mut calm = login_as(port, "admin", "adminpw");
    for _ in 0..20 {
        flood.send_action(&[("Action", "Challenge"), ("AuthType", "MD5")]);
    }
    assert_eq!(flood.close_code(Duration::from_secs(5)), Some(1008));
    let id = calm.send_action(&[("Action", "Ping")]);
    assert!(calm.response(&id, Duration::from_secs(5)).is_some(), "the calm client was hit");
    assert!(wait_clients(&s, 1, Duration::from_secs(3)));
    // Logged in, the same client may send far more than the pre-login rate: flow control paces
    // it and every action is answered (before flow control this closed with 1008).
    let ids: Vec<String> = (0..50).map(|_| calm.send_action(&[("Action", "Ping")])).collect();
    for id in ids {
        let r = calm.reply(&id, Duration::from_secs(10)).expect("a paced Ping");
        assert_eq!(field(&r, "Ping"), "Pong");
    }
}

#[test]
fn ping_flood_is_closed_with_1008() {
    let (_s, port) = start("");
    let mut sock = handshake(port);
    let mut burst = Vec::new();
    for _ in 0..100 {
        burst.extend(frame(0x9, b"p", true));
    }
    sock.write_all(&burst).unwrap();
    // Pongs may come first (at most one per ping), then the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pongs = 0;
    let code = loop {
        match read_frame(&mut sock, deadline) {
            Some((0xA, _)) => pongs += 1,
            Some((0x8, p)) => break Some(u16::from_be_bytes([p[0], p[1]])),
            Some(_) => {}
            None => break None,
        }
    };
    assert_eq!(code, Some(1008), "after {pongs} pongs");
    assert!(pongs <= 21, "{pongs} pongs for 100 pings: the control-frame limit is 20 a second");
}

#[test]
fn client_side_close_and_reset_free_the_connection() {
    let (s, port) = start("");
    let polite = login_as(port, "admin", "adminpw");
    let mut raw = raw_login(port);
    let rude = raw_login(port);
    assert!(wait_clients(&s, 3, Duration::from_secs(3)));
    polite.close();
    raw.write_all(&frame(0x8, &1000u16.to_be_bytes(), true)).unwrap();
    assert_eq!(read_close(&mut raw, Duration::from_secs(5)), RawEnd::Close(Some(1000)));
    assert!(wait_eof(&mut raw, Duration::from_secs(5)).is_some(), "not closed after the echo");
    // An abrupt reset (SO_LINGER 0, then close).
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on an open socket with a pointer to a live local of the given size.
    let rc = unsafe {
        libc::setsockopt(
            rude.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(rude);
    assert!(wait_clients(&s, 0, Duration::from_secs(3)), "{}", s.rx("ws show clients"));
    // The listener is unharmed.
    let mut again = login_as(port, "admin", "adminpw");
    let id = again.send_action(&[("Action", "Ping")]);
    assert!(again.response(&id, Duration::from_secs(5)).is_some());
}
