//! Flow control: a client whose queue of actions is full, or whose output is backed up, is not
//! read until there is room again (TCP then pushes back on the sender); nothing is refused.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    /// Whether the loop may read another message from this client now: its queue of waiting
    /// and running actions is under `max_actions_per_client` and its output is not backed up
    /// (replies beyond `max_queued_bytes` wait in its backlog). A closing client is always read,
    /// for the peer's Close.
    pub(super) fn has_room(&self, id: u64, w: &WsConn) -> bool {
        if w.closing {
            return true;
        }
        let pending = w.client.deferred.len() + self.actions.in_flight_for(id);
        pending < self.settings.max_actions_per_client && w.backlog.is_empty()
    }

    /// After a connection was driven: watch its socket for reading only while it has room
    /// (deregistering readable interest while paused), and come back next pass to one whose
    /// read budget ran out.
    pub(super) fn sync_interest(&mut self, token: Token, conn: &mut Conn) {
        let Phase::Ws(w) = &mut conn.phase else { return };
        if w.more_input {
            self.again.push(token);
            self.more_work = true;
        }
        let want =
            if w.paused { Interest::WRITABLE } else { Interest::READABLE | Interest::WRITABLE };
        if w.paused == w.read_off {
            return;
        }
        w.read_off = w.paused;
        if !w.paused {
            // Resumed: the peer was waiting on us, not idle.
            w.last_heard = Instant::now();
            w.ping_sent = None;
        }
        let sock = w.ws.get_mut().inner.socket();
        if let Err(e) = self.poll.registry().reregister(sock, token, want) {
            crate::ast_debug!(1, "ws: client {}: cannot change its poll interest: {e}", conn.id);
        }
    }

    /// Drives again the connections whose read budget ran out last pass: their input may sit
    /// in tungstenite's or TLS's buffers, which no readiness event announces.
    pub(super) fn drive_again(&mut self) {
        for t in std::mem::take(&mut self.again) {
            self.on_ready(t);
        }
    }

    /// Lets clients that waited for room on the action threads go on, oldest first, while
    /// there is room.
    pub(super) fn serve_pool_waiters(&mut self) {
        let mut turns = self.pool_waiters.len();
        while turns > 0 && self.actions.has_room() {
            turns -= 1;
            let Some(id) = self.pool_waiters.pop_front() else { break };
            if let Some(token) = self.token_of(id) {
                self.on_ready(token);
            }
        }
    }

    /// The loop token of connection `id`.
    pub(super) fn token_of(&self, id: u64) -> Option<Token> {
        self.conns.iter().find(|(_, c)| c.id == id).map(|(t, _)| *t)
    }
}
