//! permessage-deflate (RFC 7692): negotiation, and the codec (raw deflate, no context takeover).
//!
//! We only ever agree to `server_no_context_takeover; client_no_context_takeover` with 15-bit
//! windows. Each message is then compressed from an empty window, so an event's compressed bytes
//! depend only on the event and can be computed once and shared by every client (encode once),
//! and one inflater, reset per message, serves every client.
#![forbid(unsafe_code)]

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tungstenite::Bytes;

use super::http::RequestHead;

/// The extension name.
pub const EXTENSION: &str = "permessage-deflate";
/// Our answer to an offer we accept (RFC 7692 7.1.1.1 and 7.1.1.2 let the server add both).
pub const RESPONSE: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
/// Our answer to an accepted offer with `server_max_window_bits=15`: RFC 7692 7.1.2.1 says a
/// server accepts that parameter by returning it (a client checking that fails the handshake
/// without it).
pub const RESPONSE_SERVER_WINDOW: &str = "permessage-deflate; server_no_context_takeover; \
client_no_context_takeover; server_max_window_bits=15";
/// Messages shorter than this go uncompressed (a deflate block costs more than it saves).
pub const MIN_COMPRESS: usize = 64;
/// Compression level: 6 is zlib's default; 9 gains nothing on AMI events (see the design notes).
const LEVEL: u32 = 6;
/// The tail every sync-flushed message ends with; removed on send, appended before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Our `Sec-WebSocket-Extensions` answer when the client offered permessage-deflate in a form
/// we can accept (the first acceptable offer wins; an offer with unknown or repeated parameters,
/// or that limits our window below 15 bits, is declined as RFC 7692 section 5 requires).
pub fn response_to(head: &RequestHead) -> Option<&'static str> {
    head.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .flat_map(|(_, v)| split_outside_quotes(v, ','))
        .find_map(acceptable)
}

/// One offer: `permessage-deflate; param[=value]; ...`; our answer if we accept it.
fn acceptable(offer: &str) -> Option<&'static str> {
    let mut parts = split_outside_quotes(offer, ';').into_iter().map(str::trim);
    if !parts.next().is_some_and(|n| n.eq_ignore_ascii_case(EXTENSION)) {
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    for p in parts {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"'))),
            None => (p.to_ascii_lowercase(), None),
        };
        if seen.contains(&name) {
            return None;
        }
        let ok = match (name.as_str(), value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => true,
            // We never use a window above what the client allows it; only 15 bits is ours.
            ("server_max_window_bits", Some(v)) => v == "15",
            // The client may limit its own window: any 8..=15 inflates with our 15-bit window.
            ("client_max_window_bits", None) => true,
            ("client_max_window_bits", Some(v)) => {
                v.parse::<u8>().is_ok_and(|b| (8..=15).contains(&b)) && !v.starts_with('0')
            }
            _ => false,
        };
        if !ok {
            return None;
        }
        seen.push(name);
    }
    let window = seen.iter().any(|n| n == "server_max_window_bits");
    Some(if window { RESPONSE_SERVER_WINDOW } else { RESPONSE })
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// A reusable raw-deflate compressor (one per network loop; reset for every message).
pub struct Deflater {
    inner: Compress,
}

impl Default for Deflater {
    fn default() -> Self {
        Deflater { inner: Compress::new(Compression::new(LEVEL), false) }
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

impl Deflater {
    /// The message payload compressed from an empty window, tail removed; `None` when it is too
    /// short to bother or would not get smaller (it is then sent as it is, RSV1 clear).
    pub fn compress(&mut self, data: &[u8]) -> Option<Bytes> {
        if data.len() < MIN_COMPRESS {
            return None;
        }
        self.inner.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let consumed = self.inner.total_in() as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let input = data.get(consumed..).unwrap_or_default();
            self.inner.compress_vec(input, &mut out, FlushCompress::Sync).ok()?;
            // Done when all input is in and the flush left room to spare (nothing held back).
            if self.inner.total_in() as usize == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if !out.ends_with(&TAIL) {
            return None;
        }
        out.truncate(out.len() - TAIL.len());
        (out.len() < data.len()).then(|| Bytes::from(out))
    }
}

/// Why an inbound compressed message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates to more than the limit (close 1009).
    TooBig,
    /// Not valid deflate data (close 1007).
    Invalid,
}

/// A reusable raw-deflate decompressor with a hard output bound.
pub struct Inflater {
    inner: Decompress,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater { inner: Decompress::new(false) }
    }
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inflater")
    }
}

impl Inflater {
    /// Inflates one message (its payload without the tail) into at most `limit` bytes. Work
    /// and memory stop at `limit`: a bomb costs no more than an honest message of that size.
    pub fn inflate(&mut self, data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        self.inner.reset(false);
        let mut input = Vec::with_capacity(data.len() + TAIL.len());
        input.extend_from_slice(data);
        input.extend_from_slice(&TAIL);
        let mut out: Vec<u8> = Vec::with_capacity((data.len() * 4).max(256).min(limit + 1));
        loop {
            let consumed = self.inner.total_in() as usize;
            let before = (consumed, self.inner.total_out());
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            if out.capacity() == out.len() {
                let room = (limit + 1 - out.len()).min(out.capacity().max(256));
                out.reserve_exact(room);
            }
            let rest = input.get(consumed..).unwrap_or_default();
            let status = self
                .inner
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let all_in = self.inner.total_in() as usize == input.len();
            match status {
                Status::StreamEnd => return Ok(out),
                _ if all_in && out.len() < out.capacity() => return Ok(out),
                _ => {}
            }
            if (self.inner.total_in() as usize, self.inner.total_out()) == before
                && out.len() < out.capacity()
            {
                // No progress with room to write: truncated or corrupt input.
                return Err(InflateError::Invalid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::http::parse_head;

    fn head(ext: &str) -> RequestHead {
        let text =
            format!("GET /ami HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: {ext}\r\n\r\n");
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    fn accepts_offer(head: &RequestHead) -> bool {
        response_to(head).is_some()
    }

    #[test]
    fn browser_offers_are_accepted() {
        // Chromium (net/websockets/websocket_extension.cc offers exactly this) and Firefox.
        assert!(accepts_offer(&head("permessage-deflate; client_max_window_bits")));
        assert!(accepts_offer(&head("permessage-deflate")));
        // What the Autobahn client offers in 12.x/13.x.
        assert!(accepts_offer(&head("permessage-deflate; client_no_context_takeover")));
        assert!(accepts_offer(&head(
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        )));
        assert!(accepts_offer(&head("permessage-deflate; server_max_window_bits=15")));
        assert!(accepts_offer(&head("x-webkit-deflate-frame, permessage-deflate")));
    }

    #[test]
    fn an_accepted_server_max_window_bits_is_returned() {
        // RFC 7692 7.1.2.1: the server accepts the parameter by including it in the response
        // (the offers of the Autobahn cases 13.4 and 13.6 carry it; kosoku's client
        // accepted our answer without it, a client that checks the RFC's rule would not).
        assert_eq!(
            response_to(&head("permessage-deflate; server_max_window_bits=15")),
            Some(RESPONSE_SERVER_WINDOW)
        );
        assert_eq!(
            response_to(&head(
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover; server_max_window_bits=\"15\""
            )),
            Some(RESPONSE_SERVER_WINDOW)
        );
        assert_eq!(
            response_to(&head("permessage-deflate; client_max_window_bits")),
            Some(RESPONSE)
        );
        // The answer is to the offer accepted, not to a declined one before it.
        assert_eq!(
            response_to(&head(
                "permessage-deflate; server_max_window_bits=9, permessage-deflate; \
                 server_no_context_takeover, permessage-deflate"
            )),
            Some(RESPONSE)
        );
    }

    #[test]
    fn offers_we_cannot_honour_are_declined() {
        for ext in [
            "",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=016",
            "permessage-deflate; unknown_param",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
        ] {
            assert!(!accepts_offer(&head(ext)), "{ext}");
        }
        // A declined first offer does not hide an acceptable second one.
        assert!(accepts_offer(&head(
            "permessage-deflate; server_max_window_bits=9, permessage-deflate"
        )));
    }

    #[test]
    fn rfc7692_example_hello_round_trips() {
        // RFC 7692 section 7.2.3.1: "Hello" compressed with no context takeover.
        let mut inf = Inflater::default();
        let hello = inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100).unwrap();
        assert_eq!(hello, b"Hello");
        let text = "Event: Newexten\r\nChannel: PJSIP/100-00000001\r\n".repeat(10);
        let mut def = Deflater::default();
        let packed = def.compress(text.as_bytes()).unwrap();
        assert!(packed.len() < text.len() / 3, "{} of {}", packed.len(), text.len());
        assert!(!packed.ends_with(&TAIL));
        assert_eq!(inf.inflate(&packed, 1 << 20).unwrap(), text.as_bytes());
        // Same input, same bytes: the compressor keeps no context between messages.
        assert_eq!(def.compress(text.as_bytes()).unwrap(), packed);
    }

    #[test]
    fn rfc7692_payload_forms_inflate() {
        // What other compressors send: RFC 7692 sections 7.2.3.3 (a stored block), 7.2.3.4
        // (BFINAL set: the appended tail lies after the end of the stream), 7.2.3.5 (two blocks,
        // the first one flushed), 7.2.3.6 (an empty message), and an empty payload.
        let mut inf = Inflater::default();
        let hello: [&[u8]; 3] = [
            &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &[0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00],
        ];
        for payload in hello {
            assert_eq!(inf.inflate(payload, 100).unwrap(), b"Hello", "{payload:02x?}");
        }
        assert_eq!(inf.inflate(&[0x00], 100).unwrap(), b"");
        assert_eq!(inf.inflate(&[], 100).unwrap(), b"");
    }

    #[test]
    fn short_or_incompressible_messages_stay_plain() {
        let mut def = Deflater::default();
        assert_eq!(def.compress(b"{\"Response\":\"Success\"}"), None);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(def.compress(&noise), None);
    }

    #[test]
    fn inflation_stops_at_the_limit() {
        // 64 MiB of zeros compresses to about 64 KiB; the limit stops it after 64 KiB + 1.
        let mut def = Deflater::default();
        let zeros = vec![b'0'; 64 << 20];
        let bomb = def.compress(&zeros).unwrap();
        assert!(bomb.len() < 100_000);
        let mut inf = Inflater::default();
        let t = std::time::Instant::now();
        assert_eq!(inf.inflate(&bomb, 65536), Err(InflateError::TooBig));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        // Exactly at the limit is fine.
        let exact = def.compress(&zeros[..65536]).unwrap();
        assert_eq!(inf.inflate(&exact, 65536).unwrap().len(), 65536);
        assert_eq!(inf.inflate(&exact, 65535), Err(InflateError::TooBig));
    }

    #[test]
    fn garbage_is_refused() {
        let mut inf = Inflater::default();
        assert_eq!(inf.inflate(&[0xff, 0xff, 0xff, 0xff, 0x00], 1000), Err(InflateError::Invalid));
        // The inflater is usable again after an error.
        assert_eq!(inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 10).unwrap(), b"Hello");
    }
}
