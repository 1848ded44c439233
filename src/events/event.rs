//! One manager event as the log keeps it: its bytes, sequence number and cached encodings.
#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tungstenite::{Bytes, Utf8Bytes};

use super::encode::{ami_to_json, ami_to_text, lossy};

/// One event, shared (as `Arc<Event>`) by the log and every client that still has to send it.
///
/// The name and the full AMI text live in one buffer. The JSON and text encodings are made on
/// first use and kept: encode once, send to many.
#[derive(Debug)]
pub struct Event {
    /// Set once by the log under its lock, before the event is visible to any reader.
    seq: AtomicU64,
    category: u32,
    /// The connection whose action raised it (0: raised by Asterisk on its own).
    origin: u64,
    name_len: usize,
    /// The event name followed by the body as the hook gave it, made valid UTF-8 once here
    /// (invalid sequences become U+FFFD, as every encoding would show them anyway).
    bytes: Box<str>,
    received: Instant,
    json: OnceLock<Utf8Bytes>,
    text: OnceLock<Utf8Bytes>,
    /// The encodings compressed for permessage-deflate (`None`: sent plain), made on first use.
    json_deflated: OnceLock<Option<Bytes>>,
    text_deflated: OnceLock<Option<Bytes>>,
}

impl Event {
    /// An event with sequence number `seq`; name and body are made valid UTF-8.
    pub fn new(seq: u64, category: u32, name: &[u8], body: &[u8]) -> Event {
        let name = lossy(name);
        let body = lossy(body);
        let mut bytes = String::with_capacity(name.len() + body.len());
        bytes.push_str(&name);
        bytes.push_str(&body);
        Event {
            seq: AtomicU64::new(seq),
            category,
            origin: 0,
            name_len: name.len(),
            bytes: bytes.into_boxed_str(),
            received: Instant::now(),
            json: OnceLock::new(),
            text: OnceLock::new(),
            json_deflated: OnceLock::new(),
            text_deflated: OnceLock::new(),
        }
    }

    /// Gives the event its number; only the log calls this, before publishing it.
    pub(super) fn set_seq(&self, seq: u64) {
        self.seq.store(seq, Ordering::Relaxed);
    }

    /// Marks the event as raised by an action of connection `origin`.
    pub fn set_origin(&mut self, origin: u64) {
        self.origin = origin;
    }

    /// The connection whose action raised the event, or 0.
    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// The sequence number (from 1, one per appended event).
    pub fn seq(&self) -> u64 {
        // Relaxed is enough: readers get the event through the log's mutex, after set_seq.
        self.seq.load(Ordering::Relaxed)
    }

    /// The EVENT_FLAG_* bit set the event was raised with.
    pub fn category(&self) -> u32 {
        self.category
    }

    /// The event name as the hook gave it (e.g. `Newchannel`).
    pub fn name(&self) -> &str {
        self.bytes.get(..self.name_len).unwrap_or_default()
    }

    /// The full AMI text as a str (for eventfilters).
    pub fn body_str(&self) -> &str {
        self.bytes.get(self.name_len..).unwrap_or_default()
    }

    /// The full AMI text (`Event: X\r\nPrivilege: ...\r\n...\r\n\r\n`), bytes as received.
    pub fn body(&self) -> &[u8] {
        self.body_str().as_bytes()
    }

    /// When the hook handed the event over.
    pub fn received(&self) -> Instant {
        self.received
    }

    /// Bytes held for the name and body (not counting the cached encodings).
    pub fn raw_len(&self) -> usize {
        self.bytes.len()
    }

    /// The JSON object for this event with `"WsSeq":"<seq>"` last; computed once, then cached.
    pub fn json(&self) -> &[u8] {
        self.json_frame_ref().as_str().as_bytes()
    }

    /// The JSON encoding as a frame payload; cloning it shares the bytes (no copy per client).
    pub fn json_frame(&self) -> Utf8Bytes {
        self.json_frame_ref().clone()
    }

    fn json_frame_ref(&self) -> &Utf8Bytes {
        self.json.get_or_init(|| {
            let seq = self.seq().to_string();
            Utf8Bytes::from(ami_to_json(self.body(), &[("WsSeq", &seq)]))
        })
    }

    /// The AMI text with `WsSeq: <seq>` as its last header, CRLF lines, valid UTF-8; cached.
    pub fn text(&self) -> &[u8] {
        self.text_frame_ref().as_str().as_bytes()
    }

    /// The AMI-text encoding as a frame payload; cloning it shares the bytes.
    pub fn text_frame(&self) -> Utf8Bytes {
        self.text_frame_ref().clone()
    }

    fn text_frame_ref(&self) -> &Utf8Bytes {
        self.text.get_or_init(|| {
            let seq = self.seq().to_string();
            Utf8Bytes::from(ami_to_text(self.body(), &[("WsSeq", &seq)]))
        })
    }
}

impl Event {
    /// The JSON (`json = true`) or text encoding as compressed by `compress`, computed on first
    /// use and shared by every client afterwards (the compressor keeps no context between
    /// messages, so the bytes depend only on the event). `None`: this event goes uncompressed.
    pub fn deflated(
        &self,
        json: bool,
        compress: impl FnOnce(&[u8]) -> Option<Bytes>,
    ) -> Option<Bytes> {
        let (cell, plain) = if json {
            (&self.json_deflated, self.json_frame_ref())
        } else {
            (&self.text_deflated, self.text_frame_ref())
        };
        cell.get_or_init(|| compress(plain.as_str().as_bytes())).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"Event: UserEvent\r\nPrivilege: user,all\r\nFoo: a\r\nFoo: b\r\n\r\n";

    #[test]
    fn accessors_return_what_was_given() {
        let e = Event::new(12, 64, b"UserEvent", BODY);
        assert_eq!((e.seq(), e.category(), e.name(), e.body()), (12, 64, "UserEvent", BODY));
        assert_eq!(e.raw_len(), "UserEvent".len() + BODY.len());
    }

    #[test]
    fn invalid_bytes_are_replaced_once_at_append() {
        let e = Event::new(1, 1, b"Bad\xff", b"X: \xff\r\n\r\n");
        assert_eq!(e.name(), "Bad\u{fffd}");
        assert_eq!(e.body_str(), "X: \u{fffd}\r\n\r\n");
    }

    #[test]
    fn encodings_carry_the_sequence_number_and_are_cached() {
        let e = Event::new(0, 64, b"UserEvent", BODY);
        e.set_seq(7);
        let json = e.json();
        assert_eq!(
            json,
            br#"{"Event":"UserEvent","Privilege":"user,all","Foo":["a","b"],"WsSeq":"7"}"#
        );
        assert_eq!(
            e.text(),
            b"Event: UserEvent\r\nPrivilege: user,all\r\nFoo: a\r\nFoo: b\r\nWsSeq: 7\r\n\r\n"
        );
        assert!(std::ptr::eq(json, e.json()), "second call must return the cached encoding");
        assert!(std::ptr::eq(e.text(), e.text()));
    }

    #[test]
    fn compressed_encodings_are_made_once_per_encoding() {
        let e = Event::new(3, 64, b"UserEvent", BODY);
        let calls = std::cell::Cell::new(0);
        let fake = |b: &[u8]| {
            calls.set(calls.get() + 1);
            Some(Bytes::copy_from_slice(&b[..4]))
        };
        assert_eq!(e.deflated(true, fake).unwrap(), &b"{\"Ev"[..]);
        assert_eq!(e.deflated(true, fake).unwrap(), &b"{\"Ev"[..]);
        assert_eq!(e.deflated(false, fake).unwrap(), &b"Even"[..]);
        assert_eq!(e.deflated(false, |_| unreachable!()).unwrap(), &b"Even"[..]);
        assert_eq!(calls.get(), 2);
    }
}
