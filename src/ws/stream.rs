//! The stream under a WebSocket: the transport (plain or TLS) with a count of the bytes it
//! accepted, so the loop can report how much output is still queued for a client.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};

/// A non-blocking transport with a write counter.
pub struct CountingStream {
    /// The transport (for TLS the count is of plaintext rustls accepted).
    pub inner: super::transport::Transport,
    /// Bytes written to the socket so far.
    pub written: u64,
    /// With permessage-deflate: inflates compressed client messages before tungstenite.
    pub inflating: Option<Box<super::inflating::Inflating>>,
}

impl CountingStream {
    /// Why the deflate filter failed the connection (close code and reason), if it did.
    pub fn deflate_failure(&self) -> Option<(u16, &'static str)> {
        self.inflating.as_ref().and_then(|i| i.failure)
    }

    /// Compressed messages the client sent (and we inflated) so far.
    pub fn inflated(&self) -> u64 {
        self.inflating.as_ref().map_or(0, |i| i.inflated)
    }
}

impl Read for CountingStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inflating {
            Some(filter) => filter.read(&mut self.inner, buf),
            None => self.inner.read(buf),
        }
    }
}

impl Write for CountingStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes of a server (unmasked) frame header for a payload of `len` bytes.
pub fn frame_overhead(len: usize) -> u64 {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// A complete server Close frame (unmasked), for when tungstenite cannot send one itself (after a
/// protocol error its state machine refuses further writes).
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let reason = &reason.as_bytes()[..reason.len().min(123)];
    let mut f = Vec::with_capacity(4 + reason.len());
    f.push(0x88);
    f.push((2 + reason.len()) as u8);
    f.extend_from_slice(&code.to_be_bytes());
    f.extend_from_slice(reason);
    f
}

/// Whether an I/O error only means "try again later".
pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Whether an I/O error only means "interrupted, retry now".
pub fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frames_are_well_formed() {
        assert_eq!(close_frame(1002, "x"), [0x88, 3, 0x03, 0xea, b'x']);
        let long = "a".repeat(300);
        let f = close_frame(1009, &long);
        assert_eq!(f[1] as usize, f.len() - 2);
        assert!(f.len() <= 127);
    }

    #[test]
    fn overhead_matches_rfc6455_lengths() {
        assert_eq!(frame_overhead(125), 2);
        assert_eq!(frame_overhead(126), 4);
        assert_eq!(frame_overhead(70000), 10);
    }
}
