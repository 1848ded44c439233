//! Raw sockets for tests that must misbehave below the WebSocket library: plain HTTP requests,
//! a hand-made handshake, hand-built (masked or not) client frames, and reading server frames.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A parsed HTTP answer.
#[derive(Debug)]
pub struct HttpAnswer {
    /// Status code (0 when the server closed without answering).
    pub status: u16,
    /// The head (status line and headers) as text.
    pub head: String,
    /// The body bytes read until the server closed.
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// A header's value (case-insensitive name), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `request` as is and reads the answer until the server closes (or 5 s pass).
pub fn http(port: u16, request: &str) -> HttpAnswer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).expect("write request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    split_answer(&out)
}

fn split_answer(out: &[u8]) -> HttpAnswer {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    HttpAnswer { status, head, body: out[end..].to_vec() }
}

/// A GET of `path` with extra header lines (each `Name: value`), Host set to the listener.
pub fn get(port: u16, path: &str, extra: &[&str]) -> HttpAnswer {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    http(port, &req)
}

/// The header lines of a valid WebSocket upgrade request.
pub const UPGRADE_HEADERS: &[&str] = &[
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// Upgrades a raw TCP connection to /ami and returns it right after the 101 head.
pub fn handshake(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!("GET /ami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for h in UPGRADE_HEADERS {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write upgrade");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("handshake cut short: {other:?} after {head:?}"),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "no upgrade: {head}");
    s
}

/// A client frame: FIN set, `opcode`, masked with a fixed key when `masked`.
pub fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n < 65536 => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12u8, 0x34, 0x56, 0x78];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// One server frame: (opcode, payload).
pub fn read_frame(s: &mut TcpStream, deadline: Instant) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    read_exact_by(s, &mut head, deadline)?;
    let opcode = head[0] & 0x0f;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            read_exact_by(s, &mut b, deadline)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            read_exact_by(s, &mut b, deadline)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    assert_eq!(head[1] & 0x80, 0, "server frames must not be masked");
    let mut payload = vec![0u8; usize::try_from(len).ok()?];
    read_exact_by(s, &mut payload, deadline)?;
    Some((opcode, payload))
}

fn read_exact_by(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Option<()> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(())
}

/// How the server ended a raw connection.
#[derive(Debug, PartialEq, Eq)]
pub enum RawEnd {
    /// A Close frame with this code (None: a Close without a code).
    Close(Option<u16>),
    /// The TCP connection ended without a Close frame.
    Eof,
    /// Still open at the deadline.
    Timeout,
}

/// Reads server frames (skipping data frames) until a Close frame or the end of the stream.
pub fn read_close(s: &mut TcpStream, timeout: Duration) -> RawEnd {
    let deadline = Instant::now() + timeout;
    loop {
        match read_frame(s, deadline) {
            Some((8, payload)) => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return RawEnd::Close(code);
            }
            Some(_) => continue,
            None if Instant::now() >= deadline => return RawEnd::Timeout,
            None => return RawEnd::Eof,
        }
    }
}

/// Waits until the server closes the TCP connection (read returns 0 or an error); returns how
/// long that took, or None if it stayed open for `timeout`.
pub fn wait_eof(s: &mut TcpStream, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// A TCP connection to 127.0.0.1:`port` whose receive buffer was set to `rcvbuf` bytes before
/// connecting (which also stops the kernel from growing it): a reader that is easy to fill.
pub fn connect_small_rcvbuf(port: u16, rcvbuf: i32) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor we own; every pointer passed points at a live
    // local of the size given, and the descriptor is handed to TcpStream only once, on success.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&rcvbuf as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            panic!("connect: {e}");
        }
        TcpStream::from_raw_fd(fd)
    }
}

/// Raises this process's open-file soft limit to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a pointer to a live local rlimit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    lim.rlim_cur
}
