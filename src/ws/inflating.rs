//! The inbound half of permessage-deflate, beneath tungstenite: a frame-level filter on the
//! bytes read from a client that inflates compressed (RSV1) messages and hands tungstenite plain
//! frames, so its own checks (UTF-8, sizes, control frames) see the inflated message.
//!
//! Limits apply to the inflated size: a message that would inflate past `max_message_size`
//! stops the inflater there and fails the connection with 1009. Compressed frames are held whole
//! (at most `max_frame_size`, checked from the header before anything is buffered).
#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::sync::Arc;

use std::sync::Mutex;

use super::deflate::{InflateError, Inflater};

/// Why the filter failed the connection: the close code and reason to send.
pub type Failure = (u16, &'static str);

/// Per-connection state of the filter.
pub struct Inflating {
    /// Bytes from the socket not parsed yet (`raw[pos..]`).
    raw: Vec<u8>,
    pos: usize,
    /// Bytes ready for tungstenite (`out[out_pos..]`).
    out: Vec<u8>,
    out_pos: usize,
    /// Payload bytes of a plain frame still to pass through unchanged.
    passthrough: u64,
    /// The compressed message being collected (unmasked payloads), with its opcode.
    collecting: Option<(u8, Vec<u8>)>,
    /// A plain fragmented message is in progress.
    plain_fragmented: bool,
    max_frame: usize,
    max_message: usize,
    /// Shared by every connection of the loop (reset per message: no context takeover).
    inflater: Arc<Mutex<Inflater>>,
    /// Set when the connection must fail; reads then return an error.
    pub failure: Option<Failure>,
    /// Compressed messages inflated so far.
    pub inflated: u64,
}

impl Inflating {
    /// A filter for one connection; `leftover` are bytes read after the request head.
    pub fn new(
        leftover: Vec<u8>,
        max_frame: usize,
        max_message: usize,
        inflater: Arc<Mutex<Inflater>>,
    ) -> Self {
        Inflating {
            raw: leftover,
            pos: 0,
            out: Vec::new(),
            out_pos: 0,
            passthrough: 0,
            collecting: None,
            plain_fragmented: false,
            max_frame,
            max_message,
            inflater,
            failure: None,
            inflated: 0,
        }
    }

    /// Reads from `inner` through the filter.
    pub fn read(&mut self, inner: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.failure.is_some() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "permessage-deflate"));
            }
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                if self.out_pos == self.out.len() {
                    self.out.clear();
                    self.out_pos = 0;
                }
                return Ok(n);
            }
            if self.step() {
                continue;
            }
            // Need more bytes from the socket.
            if self.pos > 0 {
                self.raw.drain(..self.pos);
                self.pos = 0;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.raw.extend_from_slice(&chunk[..n]);
        }
    }

    /// Parses what `raw` holds as far as possible; true when it produced output or progress.
    fn step(&mut self) -> bool {
        let avail = &self.raw[self.pos..];
        if avail.is_empty() {
            return false;
        }
        if self.passthrough > 0 {
            let n = (avail.len() as u64).min(self.passthrough) as usize;
            self.out.extend_from_slice(&avail[..n]);
            self.pos += n;
            self.passthrough -= n as u64;
            return true;
        }
        let Some(h) = Header::parse(avail) else { return false };
        let control = h.opcode & 0x08 != 0;
        let compressed_start = !control && h.rsv1 && matches!(h.opcode, 1 | 2);
        let continues_compressed = h.opcode == 0 && self.collecting.is_some();
        if control || !(compressed_start || continues_compressed) {
            // Plain frame: tungstenite judges it (including any RSV bit we do not own).
            if !control {
                if self.collecting.is_some() && h.opcode != 0 {
                    return self.fail(1002, "new message inside a fragmented one");
                }
                if h.opcode == 0 && h.fin {
                    self.plain_fragmented = false;
                } else if matches!(h.opcode, 1 | 2) {
                    self.plain_fragmented = !h.fin;
                }
            }
            self.out.extend_from_slice(&avail[..h.header_len]);
            self.pos += h.header_len;
            self.passthrough = h.len;
            return true;
        }
        // A frame of a compressed message.
        if compressed_start && (self.plain_fragmented || self.collecting.is_some()) {
            return self.fail(1002, "new message inside a fragmented one");
        }
        if (continues_compressed && h.rsv1) || h.rsv2 || h.rsv3 {
            return self.fail(1002, "reserved bits set");
        }
        if h.mask.is_none() {
            return self.fail(1002, "unmasked client frame");
        }
        if h.len > self.max_frame as u64 {
            return self.fail(1009, "message too big");
        }
        let len = h.len as usize;
        let held = self.collecting.as_ref().map_or(0, |(_, d)| d.len());
        if held + len > self.max_message {
            return self.fail(1009, "message too big");
        }
        if avail.len() < h.header_len + len {
            return false;
        }
        let mask = h.mask.unwrap_or_default();
        let payload = &avail[h.header_len..h.header_len + len];
        let (_, data) = self.collecting.get_or_insert_with(|| (h.opcode, Vec::new()));
        data.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.pos += h.header_len + len;
        if h.fin {
            let (opcode, data) = self.collecting.take().unwrap_or_default();
            let inflated = self
                .inflater
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .inflate(&data, self.max_message);
            match inflated {
                Ok(message) => {
                    self.inflated += 1;
                    self.emit(opcode, &message)
                }
                Err(InflateError::TooBig) => return self.fail(1009, "message too big"),
                Err(InflateError::Invalid) => return self.fail(1007, "invalid compressed data"),
            }
        }
        true
    }

    /// Writes an inflated message as plain masked frames (zero mask key: the payload reads as
    /// is), split at `max_frame` so tungstenite's frame limit holds.
    fn emit(&mut self, opcode: u8, message: &[u8]) {
        let mut chunks = message.chunks(self.max_frame.max(1)).peekable();
        let mut first = true;
        if message.is_empty() {
            push_header(&mut self.out, true, opcode, 0);
            return;
        }
        while let Some(chunk) = chunks.next() {
            let fin = chunks.peek().is_none();
            push_header(&mut self.out, fin, if first { opcode } else { 0 }, chunk.len());
            self.out.extend_from_slice(chunk);
            first = false;
        }
    }

    fn fail(&mut self, code: u16, reason: &'static str) -> bool {
        self.failure = Some((code, reason));
        true
    }
}

/// A client frame header with a zero mask key.
fn push_header(out: &mut Vec<u8>, fin: bool, opcode: u8, len: usize) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
}

/// A parsed frame header (RFC 6455 section 5.2).
#[derive(Debug, PartialEq, Eq)]
struct Header {
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    header_len: usize,
}

impl Header {
    /// `None` until the whole header is there.
    fn parse(b: &[u8]) -> Option<Header> {
        let (b0, b1) = (*b.first()?, *b.get(1)?);
        let (len, mut at) = match b1 & 0x7f {
            126 => (u64::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?)), 4),
            127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
            n => (u64::from(n), 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let m: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(m)
        } else {
            None
        };
        Some(Header {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: b0 & 0x0f,
            mask,
            len,
            header_len: at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::deflate::Deflater;

    /// A masked client frame.
    fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut f = vec![(if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | opcode];
        match payload.len() {
            n @ 0..=125 => f.push(0x80 | n as u8),
            n @ 126..=65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    }

    /// Reads everything the filter gives for `input`, feeding it `step` bytes at a time.
    fn run(
        input: &[u8],
        step: usize,
        max_frame: usize,
        max_message: usize,
    ) -> (Vec<u8>, Option<Failure>) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut f = Inflating::new(Vec::new(), max_frame, max_message, Default::default());
        let mut src = Trickle(input, step);
        let mut out = Vec::new();
        let mut buf = [0u8; 100];
        loop {
            match f.read(&mut src, &mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        (out, f.failure)
    }

    /// Parses the plain frames the filter produced: (fin, opcode, payload) per frame.
    fn frames(mut b: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
        let mut v = Vec::new();
        while let Some(h) = Header::parse(b) {
            assert!(!h.rsv1);
            let end = h.header_len + h.len as usize;
            let m = h.mask.unwrap();
            let p = b[h.header_len..end].iter().enumerate().map(|(i, x)| x ^ m[i % 4]).collect();
            v.push((h.fin, h.opcode, p));
            b = &b[end..];
        }
        v
    }

    #[test]
    fn compressed_messages_come_out_plain_and_plain_ones_unchanged() {
        let text = "{\"Action\":\"Ping\",\"ActionID\":\"1\"}".repeat(5);
        let packed = Deflater::default().compress(text.as_bytes()).unwrap();
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut input = frame(true, true, 1, &packed);
        input.extend(frame(true, false, 9, b"ping"));
        input.extend(frame(true, false, 1, b"plain"));
        // RFC 7692 7.2.3.1 "Hello" split over two frames, a ping between them.
        input.extend(frame(false, true, 1, &hello[..3]));
        input.extend(frame(true, false, 9, b""));
        input.extend(frame(true, false, 0, &hello[3..]));
        for step in [1, 7, 4096] {
            let (out, failure) = run(&input, step, 65536, 65536);
            assert_eq!(failure, None);
            let got = frames(&out);
            let want: Vec<(bool, u8, Vec<u8>)> = vec![
                (true, 1, text.as_bytes().to_vec()),
                (true, 9, b"ping".to_vec()),
                (true, 1, b"plain".to_vec()),
                (true, 9, Vec::new()),
                (true, 1, b"Hello".to_vec()),
            ];
            assert_eq!(got, want, "step {step}");
        }
    }

    #[test]
    fn inflated_messages_are_refragmented_to_the_frame_limit() {
        let text = "x".repeat(5000);
        let packed = Deflater::default().compress(text.as_bytes()).unwrap();
        let (out, failure) = run(&frame(true, true, 1, &packed), 512, 2048, 8192);
        assert_eq!(failure, None);
        let got = frames(&out);
        assert_eq!(
            got.iter().map(|f| (f.0, f.1, f.2.len())).collect::<Vec<_>>(),
            [(false, 1, 2048), (false, 0, 2048), (true, 0, 904)]
        );
    }

    #[test]
    fn a_bomb_fails_with_1009_at_the_inflated_limit() {
        let zeros = vec![b'0'; 4 << 20];
        let bomb = Deflater::default().compress(&zeros).unwrap();
        assert!(bomb.len() < 65536);
        let (out, failure) = run(&frame(true, true, 1, &bomb), 65536, 65536, 65536);
        assert_eq!(failure, Some((1009, "message too big")));
        assert!(out.is_empty());
        // A compressed frame over the frame limit is refused from its header alone.
        let big = frame(true, true, 1, &vec![0u8; 70000]);
        let (_, failure) = run(&big[..20], 20, 65536, 65536);
        assert_eq!(failure, Some((1009, "message too big")));
    }

    #[test]
    fn protocol_violations_fail() {
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let cases: Vec<(Vec<u8>, u16)> = vec![
            // RSV1 on a continuation frame.
            (
                [frame(false, true, 1, &hello[..3]), frame(true, true, 0, &hello[3..])].concat(),
                1002,
            ),
            // A new data message inside a compressed fragmented one.
            ([frame(false, true, 1, &hello[..3]), frame(true, false, 1, b"x")].concat(), 1002),
            // A compressed message inside a plain fragmented one.
            ([frame(false, false, 1, b"ab"), frame(true, true, 1, &hello)].concat(), 1002),
            // Not deflate data.
            (frame(true, true, 1, &[0xff; 8]), 1007),
        ];
        for (input, code) in cases {
            let (_, failure) = run(&input, 4096, 65536, 65536);
            assert_eq!(failure.map(|f| f.0), Some(code));
        }
    }
}
