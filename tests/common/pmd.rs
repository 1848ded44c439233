//! A test-side permessage-deflate client (RFC 7692) over a raw socket: handshake with an offer,
//! compressed client messages, and server frames inflated by the test itself (flate2 raw
//! inflate with the `00 00 ff ff` tail put back), so tests see exactly what was on the wire.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// One message from the server as it came off the wire.
#[derive(Debug, Clone)]
pub struct WireMsg {
    /// Opcode of the (first) frame.
    pub opcode: u8,
    /// RSV1 was set: the payload was compressed.
    pub compressed: bool,
    /// The payload as sent (compressed when `compressed`).
    pub wire: Vec<u8>,
    /// Bytes on the wire including frame headers.
    pub wire_len: usize,
    /// The message after inflating.
    pub data: Vec<u8>,
}

impl WireMsg {
    /// The message as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.data.clone()).expect("text message is UTF-8")
    }
}

/// A raw client that offered permessage-deflate.
pub struct PmdClient {
    /// The socket.
    pub s: TcpStream,
    /// The server's `Sec-WebSocket-Extensions` answer, if any.
    pub extensions: Option<String>,
    buf: Vec<u8>,
}

/// Upgrades to /ami offering `offer` (e.g. Chromium's `permessage-deflate; client_max_window_bits`).
pub fn connect(port: u16, offer: &str) -> PmdClient {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    let req = format!(
        "GET /ami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {offer}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).expect("read 101"), 1, "closed during handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let extensions = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("Sec-WebSocket-Extensions").then(|| v.trim().to_string())
    });
    PmdClient { s, extensions, buf: Vec::new() }
}

/// Raw deflate of one message from an empty window, sync flush, tail removed (RFC 7692 7.2.1).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        out.reserve(data.len() + 64);
        let at = c.total_in() as usize;
        c.compress_vec(&data[at..], &mut out, FlushCompress::Sync).unwrap();
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// Raw inflate of one message payload (tail appended), at most `limit` bytes out.
pub fn inflate(payload: &[u8], limit: usize) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity(payload.len() * 4 + 64);
    loop {
        let at = d.total_in() as usize;
        if out.len() == out.capacity() {
            out.reserve(out.len());
        }
        let st = d.decompress_vec(&input[at..], &mut out, FlushDecompress::Sync).expect("inflate");
        assert!(out.len() <= limit, "inflates past {limit}");
        if st == flate2::Status::StreamEnd
            || (d.total_in() as usize == input.len() && out.len() < out.capacity())
        {
            return out;
        }
    }
}

/// A masked client frame; `rsv1` marks it compressed.
pub fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0xa1u8, 0x5e, 0x07, 0xc3];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

impl PmdClient {
    /// Sends a text message compressed (one frame, RSV1).
    pub fn send_compressed(&mut self, text: &str) {
        let f = frame(true, true, 1, &deflate(text.as_bytes()));
        self.s.write_all(&f).unwrap();
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.s.write_all(bytes);
    }

    /// The next complete message (fragments joined), or None at the deadline or end.
    pub fn recv(&mut self, timeout: Duration) -> Option<WireMsg> {
        let deadline = Instant::now() + timeout;
        let mut msg: Option<WireMsg> = None;
        loop {
            let (fin, rsv1, opcode, payload, used) = loop {
                if let Some(f) = parse(&self.buf) {
                    break f;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                self.s.set_read_timeout(Some(left)).ok()?;
                let mut chunk = [0u8; 65536];
                match self.s.read(&mut chunk) {
                    Ok(0) => return None,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return None,
                }
            };
            self.buf.drain(..used);
            if opcode & 0x08 != 0 {
                assert!(!rsv1, "RSV1 on a control frame");
                if opcode == 0x8 {
                    return Some(WireMsg {
                        opcode,
                        compressed: false,
                        wire: payload.clone(),
                        wire_len: used,
                        data: payload,
                    });
                }
                continue;
            }
            let m = msg.get_or_insert_with(|| WireMsg {
                opcode,
                compressed: rsv1,
                wire: Vec::new(),
                wire_len: 0,
                data: Vec::new(),
            });
            if opcode == 0 {
                assert!(!rsv1, "RSV1 on a continuation frame");
            }
            m.wire.extend_from_slice(&payload);
            m.wire_len += used;
            if fin {
                let mut m = msg.take().unwrap();
                m.data = if m.compressed { inflate(&m.wire, 64 << 20) } else { m.wire.clone() };
                return Some(m);
            }
        }
    }

    /// The close code of the server's Close frame, skipping messages, or None.
    pub fn close_code(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = Instant::now() + timeout;
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now())) {
            if m.opcode == 0x8 {
                return m.data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            }
        }
        None
    }
}

/// One server frame from the front of `b`: (fin, rsv1, opcode, payload, bytes used).
fn parse(b: &[u8]) -> Option<(bool, bool, u8, Vec<u8>, usize)> {
    let (b0, b1) = (*b.first()?, *b.get(1)?);
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    assert_eq!(b0 & 0x30, 0, "RSV2/RSV3 set");
    let (len, at) = match b1 & 0x7f {
        126 => (u16::from_be_bytes(b.get(2..4)?.try_into().ok()?) as usize, 4),
        127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?) as usize, 10),
        n => (n as usize, 2),
    };
    let payload = b.get(at..at + len)?.to_vec();
    Some((b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f, payload, at + len))
}
