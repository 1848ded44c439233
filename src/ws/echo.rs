//! Test-only (feature `test-echo`, never for a PBX): echoes data messages for the Autobahn cases.
//!
//! Without the feature [`ENABLED`] is false and the branches that call [`echo`] compile away.
//! A message reaches [`echo`] only after everything a real client message goes through: the
//! handshake and Origin checks, tungstenite's framing with the configured frame and message
//! limits, UTF-8 validation, the close-code mapping and the per-client message rate. The echo
//! replaces only the AMI part (no login, no decoding, no actions) and goes out through the same
//! output queue and cap as any reply. With permessage-deflate negotiated, the echo is compressed
//! the way events are (the same [`Deflater`]: from an empty window, plain when under 64 bytes or
//! when it would not shrink), so the Autobahn compression cases check our outbound deflate too.
//! Two differences from the real protocol, both needed by the Autobahn cases: the WebSocket is
//! also served on `/` (the runner always asks for `/`), and a binary message is echoed instead of
//! being closed with 1003.
#![forbid(unsafe_code)]

use tungstenite::Message;
use tungstenite::protocol::frame::coding::Data;

use super::conn::{Ended, WsConn};
use super::deflate::Deflater;

/// Whether this build echoes (feature `test-echo`).
pub const ENABLED: bool = cfg!(feature = "test-echo");

/// Close code when the echo cannot be queued because the client's output cap is reached (the
/// cases never read that slowly with the test limits; if one does, the failure shows).
pub const CLOSE_ECHO_FULL: u16 = 1008;

/// Sends `msg` back (text as text, binary as binary), compressed with `deflater` when the client
/// negotiated permessage-deflate and the message is worth it.
pub fn echo(w: &mut WsConn, msg: Message, deflater: &mut Deflater) -> Ended {
    if w.closing {
        return Ended::No;
    }
    let len = msg.len();
    let packed = match &msg {
        Message::Text(t) if w.deflate => deflater.compress(t.as_bytes()),
        Message::Binary(b) if w.deflate => deflater.compress(b),
        _ => None,
    };
    let queued = match (msg, packed) {
        // Text keeps the order of replies: compressed only when nothing waits before it, and
        // into the backlog (plain) when tungstenite has no room.
        (Message::Text(text), Some(p)) if w.backlog.is_empty() => {
            match w.queue_deflated(p, Data::Text, len) {
                Ok(true) => return Ended::No,
                Ok(false) => return queue_text(w, text),
                Err(_) => return Ended::Yes,
            }
        }
        (Message::Text(text), _) => return queue_text(w, text),
        (Message::Binary(_), _) if !w.backlog.is_empty() => Ok(false),
        (Message::Binary(_), Some(p)) => w.queue_deflated(p, Data::Binary, len),
        (msg @ Message::Binary(_), None) => w.queue_message(msg, len),
        _ => return Ended::No,
    };
    match queued {
        Ok(true) => Ended::No,
        Ok(false) => {
            w.start_close(CLOSE_ECHO_FULL, "echo output full");
            Ended::No
        }
        Err(_) => Ended::Yes,
    }
}

fn queue_text(w: &mut WsConn, text: tungstenite::Utf8Bytes) -> Ended {
    if w.queue_reply(text).is_err() { Ended::Yes } else { Ended::No }
}
