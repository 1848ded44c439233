//! permessage-deflate (RFC 7692) end to end against the stand-in: negotiation as browsers offer
//! it, compressed client messages, the recorded fixture delivered compressed and identical to
//! what a plain client gets, one shared payload per event, and the inflated-size limit (1009).

mod common;

use std::time::Duration;

use common::pmd::{self, PmdClient};
use common::ws::{field, login_as};
use common::{Opts, StandIn, fixture};
use serde_json::Value;

const CHROMIUM_OFFER: &str = "permessage-deflate; client_max_window_bits";
const ANSWER: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

fn start(compression: &str) -> (StandIn, u16) {
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\ncompression = {compression}\n"
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

/// Logs in with a compressed Login message and returns the reply.
fn login(c: &mut PmdClient) -> Value {
    c.send_compressed(r#"{"Action":"Login","Username":"admin","Secret":"adminpw","ActionID":"l"}"#);
    loop {
        let m = c.recv(Duration::from_secs(10)).expect("no login reply");
        let v: Value = serde_json::from_str(&m.text()).unwrap();
        if v.get("ActionID").and_then(Value::as_str) == Some("l") {
            return v;
        }
    }
}

/// Every event message until `n` events arrived.
fn events(c: &mut PmdClient, n: usize) -> Vec<pmd::WireMsg> {
    let mut out = Vec::new();
    while out.len() < n {
        let Some(m) = c.recv(Duration::from_secs(20)) else { break };
        let v: Value = serde_json::from_str(&m.text()).unwrap();
        if v.get("WsSeq").is_some() {
            out.push(m);
        }
    }
    out
}

#[test]
fn browsers_offer_is_answered_and_the_fixture_arrives_compressed_and_identical() {
    let (s, port) = start("yes");
    let mut a = pmd::connect(port, CHROMIUM_OFFER);
    assert_eq!(a.extensions.as_deref(), Some(ANSWER));
    // Firefox's plain offer.
    let mut b = pmd::connect(port, "permessage-deflate");
    assert_eq!(b.extensions.as_deref(), Some(ANSWER));
    for c in [&mut a, &mut b] {
        let r = login(c);
        assert_eq!(field(&r, "Response"), "Success", "{r}");
    }
    let mut plain = login_as(port, "admin", "adminpw");
    // Let the FullyBooted and login events pass.
    std::thread::sleep(Duration::from_millis(300));
    while plain.recv_json(Duration::from_millis(100)).is_some() {}
    while a.recv(Duration::from_millis(100)).is_some() {}
    while b.recv(Duration::from_millis(100)).is_some() {}

    s.rx("traffic replay");
    let n = fixture::replayed().len();
    let want = plain.events(n, Duration::from_secs(20));
    let got_a = events(&mut a, n);
    let got_b = events(&mut b, n);
    assert_eq!((want.len(), got_a.len(), got_b.len()), (n, n, n));
    let (mut compressed, mut raw, mut wire) = (0, 0, 0);
    for ((w, x), y) in want.iter().zip(&got_a).zip(&got_b) {
        let xv: Value = serde_json::from_str(&x.text()).unwrap();
        assert_eq!(&xv, w, "deflate client's event differs from the plain client's");
        // Same event, same bytes on the wire for both compressing clients (one shared payload).
        assert_eq!((x.compressed, &x.wire), (y.compressed, &y.wire));
        compressed += usize::from(x.compressed);
        raw += x.data.len();
        wire += x.wire_len;
    }
    println!("{n} events: {raw} bytes raw, {wire} bytes on the wire ({compressed} compressed)");
    assert!(compressed > n * 9 / 10, "only {compressed} of {n} events compressed");
    assert!(wire * 10 < raw * 7, "wire {wire} vs raw {raw}: under 1.4x saved");
    let status = s.rx("ws show status");
    assert!(status.contains("Compressing:         2 "), "{status}");
}

#[test]
fn compressed_actions_work_and_a_bomb_closes_1009_only_that_client() {
    let (s, port) = start("yes");
    let mut c = pmd::connect(port, CHROMIUM_OFFER);
    assert_eq!(field(&login(&mut c), "Response"), "Success");
    // A compressed action split over two frames with a ping between them.
    let action = pmd::deflate(br#"{"Action":"Ping","ActionID":"p1"}"#);
    let (x, y) = action.split_at(action.len() / 2);
    c.send_raw(&pmd::frame(false, true, 1, x));
    c.send_raw(&pmd::frame(true, false, 9, b"hi"));
    c.send_raw(&pmd::frame(true, false, 0, y));
    let pong = loop {
        let m = c.recv(Duration::from_secs(10)).expect("no Ping reply");
        let v: Value = serde_json::from_str(&m.text()).unwrap();
        if v.get("ActionID").and_then(Value::as_str) == Some("p1") {
            break v;
        }
    };
    assert_eq!(field(&pong, "Ping"), "Pong", "{pong}");

    // 16 MiB of one byte: a few KiB compressed, far over max_message_size (64 KiB) inflated.
    let bomb = pmd::deflate(&vec![b'a'; 16 << 20]);
    assert!(bomb.len() < 65536, "{}", bomb.len());
    let mut victim = pmd::connect(port, CHROMIUM_OFFER);
    assert_eq!(field(&login(&mut victim), "Response"), "Success");
    victim.send_raw(&pmd::frame(true, true, 1, &bomb));
    assert_eq!(victim.close_code(Duration::from_secs(10)), Some(1009));
    // The other client and the PBX carry on.
    c.send_compressed(r#"{"Action":"Ping","ActionID":"p2"}"#);
    let after = loop {
        let m = c.recv(Duration::from_secs(10)).expect("no reply after the bomb");
        let v: Value = serde_json::from_str(&m.text()).unwrap();
        if v.get("ActionID").and_then(Value::as_str) == Some("p2") {
            break v;
        }
    };
    assert_eq!(field(&after, "Response"), "Success");
    assert!(s.rx("core show uptime").contains("uptime"));
}

#[test]
fn off_by_default_and_when_off_no_extension_is_answered() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let c = pmd::connect(port, CHROMIUM_OFFER);
    assert_eq!(c.extensions, None);
    let (_s2, port2) = start("no");
    let c = pmd::connect(port2, CHROMIUM_OFFER);
    assert_eq!(c.extensions, None);
    // Offers we cannot honour are declined even when compression is on.
    let (_s3, port3) = start("yes");
    let c = pmd::connect(port3, "permessage-deflate; server_max_window_bits=10");
    assert_eq!(c.extensions, None);
    // An accepted server_max_window_bits is returned (RFC 7692 7.1.2.1).
    let c = pmd::connect(port3, "permessage-deflate; server_max_window_bits=15");
    assert_eq!(c.extensions.as_deref(), Some(&*format!("{ANSWER}; server_max_window_bits=15")));
}

/// A valid compressed message followed, in the same TCP segment, by a compressed one the filter
/// refuses: the reply to the first still goes out, then the Close with the refusal's code
/// (before the fix both were dropped and the connection just ended, as ws_hygiene's
/// `replies_before_a_bad_frame_go_out_then_its_close` once found for plain frames).
#[test]
fn replies_before_a_refused_compressed_message_go_out_then_its_close() {
    let (_s, port) = start("yes");
    let bomb = pmd::deflate(&vec![b'a'; 1 << 20]);
    let cases: [(&str, Vec<u8>, u16); 3] = [
        ("inflates past max_message_size", pmd::frame(true, true, 1, &bomb), 1009),
        ("not deflate data", pmd::frame(true, true, 1, &[0xff; 8]), 1007),
        (
            "RSV1 on a continuation",
            [pmd::frame(false, true, 1, b"\xf2\x48"), pmd::frame(true, true, 0, b"\x00")].concat(),
            1002,
        ),
    ];
    for (what, bad, code) in cases {
        let mut c = pmd::connect(port, CHROMIUM_OFFER);
        let challenge = r#"{"Action":"Challenge","AuthType":"MD5","ActionID":"c1"}"#;
        let mut bytes = pmd::frame(true, true, 1, &pmd::deflate(challenge.as_bytes()));
        bytes.extend_from_slice(&bad);
        c.send_raw(&bytes);
        let reply = c
            .recv(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{what}: the reply to the valid message was dropped"));
        assert_eq!(reply.opcode, 1, "{what}: {reply:?}");
        let v: Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(field(&v, "ActionID"), "c1", "{what}: {v}");
        assert_eq!(c.close_code(Duration::from_secs(5)), Some(code), "{what}");
    }
}
