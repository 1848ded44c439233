//! Opt-in benchmark in a real Asterisk: event raised -> client has it, raw AMI TCP vs the module's
//! WebSocket (JSON) side by side in one run, plus 100 WebSocket clients at once for reference.
//!
//! `AMI_WS_ASTERISK=/opt/asterisk-22 cargo bench --bench real_latency` (without the variable it
//! prints "skipped: ..." and exits 0). A private PBX (tests/real_asterisk_pbx) loads the module; a
//! sender on its own AMI TCP connection sends `Action: UserEvent` every 5 ms with a header
//! `SentNs: <CLOCK_REALTIME ns>` stamped just before the write. Receivers (raw sockets, blocking
//! reads on dedicated threads, or epoll for the 100 clients) stamp each read as it returns and
//! look for nothing but the SentNs value, so latency = receipt - SentNs on one clock. The per-event
//! difference WebSocket minus TCP cancels the common part (send, action processing in Asterisk)
//! and leaves the module's own added cost.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/real_asterisk_pbx/mod.rs"]
mod real_asterisk_pbx;

use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use real_asterisk_pbx::{Pbx, Setup};

/// Measured events per phase, sent after `WARMUP` unmeasured ones.
const EVENTS: usize = 1000;
const WARMUP: usize = 50;
const GAP: Duration = Duration::from_millis(5);
/// WebSocket clients in the reference phase, read by `POLL_THREADS` epoll threads.
const CLIENTS: usize = 100;
const POLL_THREADS: usize = 2;

const USERS: &str = "[sender]\nsecret = senderpw\nread = all\nwrite = all\n\n\
                     [lat]\nsecret = latpw\nread = user\nwrite = user\n";

/// One receipt: (SentNs carried by the event, CLOCK_REALTIME ns when the read returned).
type Sample = (u64, u64);

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The decimal number right after `key` in `msg`.
fn number_after(msg: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(msg, key)? + key.len();
    let digits = msg.get(at..)?.iter().take_while(|b| b.is_ascii_digit());
    digits.fold(None, |acc, b| Some(acc.unwrap_or(0) * 10 + u64::from(b - b'0')))
}

// ---------------------------------------------------------------- AMI over TCP

/// Connects to AMI and logs in; returns the socket and any bytes read past the login response.
fn ami_login(port: u16, user: &str, secret: &str, events: &str) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to AMI");
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let login = format!(
        "Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: {events}\r\n\r\n"
    );
    s.write_all(login.as_bytes()).expect("send AMI login");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // The banner is one line; the login response is the first blank-line-ended message.
        let body = find(&buf, b"\r\n").map(|i| i + 2);
        if let Some(end) = body.and_then(|b| find(&buf[b..], b"\r\n\r\n").map(|e| b + e + 4)) {
            let msg = String::from_utf8_lossy(&buf[..end]).into_owned();
            assert!(msg.contains("Authentication accepted"), "AMI login as {user}: {msg}");
            s.set_read_timeout(None).ok();
            return (s, buf.split_off(end));
        }
        let n = s.read(&mut chunk).expect("read AMI login response");
        assert!(n > 0, "AMI closed during login as {user}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Takes every complete AMI message out of `buf`, recording the SentNs of those that have one.
fn ami_messages(buf: &mut Vec<u8>, t: u64, out: &mut Vec<Sample>) {
    let mut start = 0;
    while let Some(end) = find(&buf[start..], b"\r\n\r\n").map(|e| start + e + 4) {
        if let Some(sent) = number_after(&buf[start..end], b"\nSentNs: ") {
            out.push((sent, t));
        }
        start = end;
    }
    buf.drain(..start);
}

/// Blocking reader of one AMI TCP session until the socket is shut down.
fn tcp_reader(s: TcpStream, mut buf: Vec<u8>) -> Vec<Sample> {
    let mut out = Vec::with_capacity(EVENTS + WARMUP);
    let mut chunk = vec![0u8; 65536];
    ami_messages(&mut buf, 0, &mut out);
    while let Ok(n @ 1..) = (&s).read(&mut chunk) {
        let t = now_ns();
        buf.extend_from_slice(&chunk[..n]);
        ami_messages(&mut buf, t, &mut out);
    }
    out
}

// ---------------------------------------------------------------- WebSocket, raw frames

/// Takes every complete frame out of `buf` (server frames are unmasked), calling `frame` with
/// the opcode and payload. Returns false once a close frame was seen.
fn ws_frames(buf: &mut Vec<u8>, mut frame: impl FnMut(u8, &[u8])) -> bool {
    let mut start = 0;
    let mut open = true;
    loop {
        let b = &buf[start..];
        let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else { break };
        let (len, mut head) = match b1 & 0x7f {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            126 | 127 => break,
            n => (u64::from(n), 2),
        };
        if b1 & 0x80 != 0 {
            head += 4;
        }
        let end = head + len as usize;
        let Some(payload) = b.get(head..end) else { break };
        let opcode = b0 & 0x0f;
        open &= opcode != 8;
        frame(opcode, payload);
        start += end;
    }
    buf.drain(..start);
    open
}

/// A masked client frame (zero mask key) carrying `payload`.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Handles one frame for a reader: records the SentNs of text frames, answers pings.
fn ws_frame(s: &mut impl Write, t: u64, opcode: u8, payload: &[u8], out: &mut Vec<Sample>) {
    match opcode {
        1 => {
            if let Some(sent) = number_after(payload, b"\"SentNs\":\"") {
                out.push((sent, t));
            }
        }
        9 => {
            let _ = s.write_all(&client_frame(10, payload));
        }
        _ => {}
    }
}

/// Upgrades a raw socket to ws://127.0.0.1:port/ami (JSON, the default subprotocol) and logs in
/// as `lat`; returns the socket and any bytes read past the login response.
fn ws_login(port: u16) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the WebSocket");
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "GET /ami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send upgrade");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(e) = find(&buf, b"\r\n\r\n") {
            break e + 4;
        }
        let n = s.read(&mut chunk).expect("read upgrade response");
        assert!(n > 0, "WebSocket closed during the upgrade");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
    buf.drain(..head_end);
    let login = r#"{"Action":"Login","Username":"lat","Secret":"latpw","ActionID":"l"}"#;
    s.write_all(&client_frame(1, login.as_bytes())).expect("send login");
    let mut answer = None;
    while answer.is_none() {
        let open = ws_frames(&mut buf, |op, p| {
            if op == 1 && answer.is_none() {
                answer = Some(String::from_utf8_lossy(p).into_owned());
            }
        });
        assert!(open, "closed during login");
        if answer.is_none() {
            let n = s.read(&mut chunk).expect("read login response");
            assert!(n > 0, "WebSocket closed during login");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    let answer = answer.unwrap_or_default();
    assert!(answer.contains("Authentication accepted"), "WebSocket login: {answer}");
    s.set_read_timeout(None).ok();
    (s, buf)
}

/// Blocking reader of one WebSocket until the socket is shut down or closed.
fn ws_reader(mut s: TcpStream, mut buf: Vec<u8>) -> Vec<Sample> {
    let mut out = Vec::with_capacity(EVENTS + WARMUP);
    let mut chunk = vec![0u8; 65536];
    let mut w = s.try_clone().expect("clone socket");
    let mut t = 0;
    while ws_frames(&mut buf, |op, p| ws_frame(&mut w, t, op, p, &mut out)) {
        match s.read(&mut chunk) {
            Ok(n @ 1..) => {
                t = now_ns();
                buf.extend_from_slice(&chunk[..n]);
            }
            _ => break,
        }
    }
    out
}

/// One epoll (mio) thread reading many WebSockets until all are shut down or closed.
fn ws_poll_reader(conns: Vec<(TcpStream, Vec<u8>)>) -> Vec<Sample> {
    use mio::{Events, Interest, Poll, Token};
    let mut poll = Poll::new().expect("epoll");
    let mut events = Events::with_capacity(256);
    let mut socks: Vec<(mio::net::TcpStream, Vec<u8>, bool)> = Vec::new();
    for (i, (s, buf)) in conns.into_iter().enumerate() {
        s.set_nonblocking(true).expect("nonblocking");
        let mut m = mio::net::TcpStream::from_std(s);
        poll.registry().register(&mut m, Token(i), Interest::READABLE).expect("register");
        socks.push((m, buf, true));
    }
    let mut out = Vec::with_capacity(socks.len() * (EVENTS + WARMUP));
    let mut chunk = vec![0u8; 65536];
    let mut open = socks.len();
    while open > 0 {
        if poll.poll(&mut events, None).is_err() {
            continue;
        }
        for ev in events.iter() {
            let Some((s, buf, alive)) = socks.get_mut(ev.token().0) else { continue };
            while *alive {
                match s.read(&mut chunk) {
                    Ok(n @ 1..) => {
                        let t = now_ns();
                        buf.extend_from_slice(&chunk[..n]);
                        *alive = ws_frames(buf, |op, p| ws_frame(s, t, op, p, &mut out));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    _ => *alive = false,
                }
            }
            if !*alive {
                let _ = poll.registry().deregister(s);
                open -= 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------- sender and phases

/// Sends `WARMUP + EVENTS` UserEvents `GAP` apart; returns the SentNs of the measured ones.
/// Responses are read after the last send, so the sender never wakes while events travel
/// (they fit the socket buffer: ~50 bytes each).
fn send_events(s: &mut TcpStream) -> HashSet<u64> {
    let total = WARMUP + EVENTS;
    let mut measured = HashSet::with_capacity(EVENTS);
    let start = Instant::now() + GAP;
    for i in 0..total {
        let due = start + GAP * i as u32;
        let left = due.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
        let sent = now_ns();
        let msg = format!("Action: UserEvent\r\nUserEvent: Lat\r\nSentNs: {sent}\r\n\r\n");
        s.write_all(msg.as_bytes()).expect("send UserEvent");
        if i >= WARMUP {
            measured.insert(sent);
        }
    }
    let mut acks = 0;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    while acks < total {
        let n = s.read(&mut chunk).expect("read UserEvent responses");
        assert!(n > 0, "AMI closed the sender");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(e) = find(&buf, b"\r\n\r\n") {
            let msg = String::from_utf8_lossy(&buf[..e]).into_owned();
            assert!(msg.contains("Response: Success"), "UserEvent refused: {msg}");
            acks += 1;
            buf.drain(..e + 4);
        }
    }
    measured
}

/// Receivers of one phase: sockets to shut down and the threads returning their samples.
struct Receivers {
    sockets: Vec<TcpStream>,
    threads: Vec<JoinHandle<Vec<Sample>>>,
}

impl Receivers {
    fn spawn<F>(&mut self, name: &str, socket: TcpStream, f: F)
    where
        F: FnOnce(TcpStream) -> Vec<Sample> + Send + 'static,
    {
        self.sockets.push(socket.try_clone().expect("clone socket"));
        let t = std::thread::Builder::new().name(name.into()).spawn(move || f(socket));
        let t = t.expect("spawn reader");
        self.threads.push(t);
    }

    /// Waits for stragglers, stops every reader and returns the samples in spawn order.
    fn finish(self) -> Vec<Vec<Sample>> {
        std::thread::sleep(Duration::from_millis(500));
        for s in &self.sockets {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.threads.into_iter().map(|t| t.join().unwrap_or_default()).collect()
    }
}

/// Latencies (ns) of the measured samples.
fn latencies(samples: &[Sample], measured: &HashSet<u64>) -> Vec<i64> {
    let keep = samples.iter().filter(|(s, _)| measured.contains(s));
    keep.map(|&(s, r)| r as i64 - s as i64).collect()
}

/// Per-delivery difference: WebSocket receipt minus TCP receipt of the same event.
fn differences(ws: &[Sample], tcp: &[Sample], measured: &HashSet<u64>) -> Vec<i64> {
    let tcp: HashMap<u64, u64> = tcp.iter().copied().collect();
    let keep = ws.iter().filter(|(s, _)| measured.contains(s));
    keep.filter_map(|(s, r)| tcp.get(s).map(|t| *r as i64 - *t as i64)).collect()
}

fn row(label: &str, mut v: Vec<i64>) {
    v.sort_unstable();
    let at = |p: f64| {
        let i = ((v.len().max(1) - 1) as f64 * p).round() as usize;
        v.get(i).map(|ns| format!("{:.1}", *ns as f64 / 1000.0)).unwrap_or("-".into())
    };
    let max = v.last().map(|ns| format!("{:.1}", *ns as f64 / 1000.0)).unwrap_or("-".into());
    println!("{label:<40} {:>8} {:>9} {:>9} {:>9} {max:>9}", v.len(), at(0.5), at(0.9), at(0.99));
}

fn main() {
    let Some(prefix) = std::env::var_os("AMI_WS_ASTERISK") else {
        println!(
            "skipped: set AMI_WS_ASTERISK=/path/to/asterisk/prefix (holding sbin/asterisk) to \
             measure event latency in a real Asterisk"
        );
        return;
    };
    let setup = Setup { users: USERS, files: &[], preload: &[] };
    let pbx = Pbx::start(std::path::Path::new(&prefix), &setup);
    // Keep-alive pings off the path: the run is far shorter than an hour.
    pbx.write_config(
        "ami_websocket.conf",
        &format!(
            "[general]\nbindaddr = 127.0.0.1\nbindport = {}\nping_interval = 3600\n",
            pbx.ws_port
        ),
    );
    pbx.load_module();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "res_ami_websocket in {} - event raised -> client has it, {EVENTS} UserEvents {} ms apart \
         (after {WARMUP} warm-up), loopback, {} CPUs (shared), loadavg {}\n",
        pbx.rx("core show version").trim(),
        GAP.as_millis(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    println!(
        "{:<40} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "latency (us)", "samples", "p50", "p90", "p99", "max"
    );
    let (mut sender, _) = ami_login(pbx.ami_port, "sender", "senderpw", "off");

    // Phase 1: one raw AMI TCP client and one WebSocket client, the same events.
    let mut r = Receivers { sockets: Vec::new(), threads: Vec::new() };
    let (tcp, rest) = ami_login(pbx.ami_port, "lat", "latpw", "on");
    r.spawn("tcp-reader", tcp, move |s| tcp_reader(s, rest));
    let (ws, rest) = ws_login(pbx.ws_port);
    r.spawn("ws-reader", ws, move |s| ws_reader(s, rest));
    std::thread::sleep(Duration::from_millis(200));
    let measured = send_events(&mut sender);
    let got = r.finish();
    let (tcp, ws) = (&got[0], &got[1]);
    row("(a) raw AMI TCP", latencies(tcp, &measured));
    row("(b) WebSocket JSON", latencies(ws, &measured));
    row("(b) - (a) per event", differences(ws, tcp, &measured));

    // Phase 2: 100 WebSocket clients at once (epoll readers), a TCP client alongside.
    println!("with {CLIENTS} WebSocket clients at once:");
    let mut r = Receivers { sockets: Vec::new(), threads: Vec::new() };
    let (tcp, rest) = ami_login(pbx.ami_port, "lat", "latpw", "on");
    r.spawn("tcp-reader", tcp, move |s| tcp_reader(s, rest));
    let mut groups: Vec<Vec<(TcpStream, Vec<u8>)>> = (0..POLL_THREADS).map(|_| vec![]).collect();
    for i in 0..CLIENTS {
        let (ws, rest) = ws_login(pbx.ws_port);
        r.sockets.push(ws.try_clone().expect("clone socket"));
        groups[i % POLL_THREADS].push((ws, rest));
    }
    for (i, g) in groups.into_iter().enumerate() {
        let t = std::thread::Builder::new().name(format!("ws-poll-{i}"));
        r.threads.push(t.spawn(move || ws_poll_reader(g)).expect("spawn reader"));
    }
    std::thread::sleep(Duration::from_millis(200));
    let measured = send_events(&mut sender);
    let mut got = r.finish().into_iter();
    let tcp = got.next().unwrap_or_default();
    let ws: Vec<Sample> = got.flatten().collect();
    let mut last: HashMap<u64, (usize, u64)> = HashMap::new();
    for &(s, t) in ws.iter().filter(|(s, _)| measured.contains(s)) {
        let e = last.entry(s).or_insert((0, 0));
        *e = (e.0 + 1, e.1.max(t));
    }
    let all: Vec<Sample> =
        last.iter().filter(|(_, c)| c.0 == CLIENTS).map(|(s, c)| (*s, c.1)).collect();
    row("(a) raw AMI TCP alongside", latencies(&tcp, &measured));
    row(&format!("(c) WebSocket JSON, {CLIENTS} clients"), latencies(&ws, &measured));
    row(&format!("(c) last of the {CLIENTS}, per event"), latencies(&all, &measured));
    row("(c) - (a) per delivery", differences(&ws, &tcp, &measured));
    drop(pbx);
}
