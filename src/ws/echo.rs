//! Test-only (feature `test-echo`, never for a PBX): echoes data messages for the Autobahn cases.
//!
//! Without the feature [`ENABLED`] is false and the branches that call [`echo`] compile away.
//! A message reaches [`echo`] only after everything a real client message goes through: the
//! handshake and Origin checks, tungstenite's framing with the configured frame and message
//! limits, UTF-8 validation, the close-code mapping and the per-client message rate. The echo
//! replaces only the AMI part (no login, no decoding, no actions) and goes out through the same
//! output queue and cap as any reply. Two differences from the real protocol, both needed by the
//! Autobahn cases: the WebSocket is also served on `/` (the runner always asks for `/`), and a
//! binary message is echoed instead of being closed with 1003.
#![forbid(unsafe_code)]

use tungstenite::Message;

use super::conn::{Ended, WsConn};

/// Whether this build echoes (feature `test-echo`).
pub const ENABLED: bool = cfg!(feature = "test-echo");

/// Close code when the echo cannot be queued because the client's output cap is reached (the
/// cases never read that slowly with the test limits; if one does, the failure shows).
pub const CLOSE_ECHO_FULL: u16 = 1008;

/// Sends `msg` back unchanged (text as text, binary as binary).
pub fn echo(w: &mut WsConn, msg: Message) -> Ended {
    if w.closing {
        return Ended::No;
    }
    let len = msg.len();
    let queued = match msg {
        Message::Text(text) => {
            return if w.queue_reply(text).is_err() { Ended::Yes } else { Ended::No };
        }
        Message::Binary(_) if !w.backlog.is_empty() => Ok(false),
        Message::Binary(_) => w.queue_message(msg, len),
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
