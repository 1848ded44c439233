//! permessage-deflate on the loop: each event's compressed payload, made once per encoding.
#![forbid(unsafe_code)]

use super::*;
use crate::events::event::Event;
use crate::ws::upgrade::Encoding;

impl Server {
    /// The shared compressed payload of `ev` in this client's encoding, when the client
    /// negotiated permessage-deflate and the event is worth compressing.
    pub(super) fn deflated(&mut self, w: &WsConn, ev: &Event) -> Option<tungstenite::Bytes> {
        if !w.deflate {
            return None;
        }
        let deflater = &mut self.deflater;
        ev.deflated(w.encoding == Encoding::Json, |plain| deflater.compress(plain))
    }
}
