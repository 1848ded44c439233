//! Client messages: reading frames, decoding, the per-client order of actions, and routing replies.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    pub(super) fn drive_ws(&mut self, conn: &mut Conn) -> Ended {
        let id = conn.id;
        let peer = conn.peer;
        let Phase::Ws(w) = &mut conn.phase else { return Ended::Yes };
        // Read every complete message (edge-triggered: until WouldBlock).
        loop {
            match w.ws.read() {
                Ok(msg) => {
                    w.last_heard = Instant::now();
                    w.ping_sent = None;
                    if self.on_message(id, peer, w, msg) == Ended::Yes {
                        let _ = w.flush();
                        return Ended::Yes;
                    }
                }
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(tungstenite::Error::Io(e)) if interrupted(&e) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ended::Yes;
                }
                Err(tungstenite::Error::Io(_)) => {
                    // The deflate filter refused a message (too big inflated, bad data).
                    if let Some((code, reason)) = w.ws.get_ref().deflate_failure() {
                        crate::ast_debug!(1, "ws: client {id} ({peer}): {reason}; closing");
                        w.abort_with(code, reason);
                    }
                    return Ended::Yes;
                }
                Err(e) => {
                    let (code, reason) = close_code_for(&e);
                    crate::ast_debug!(1, "ws: client {id} ({peer}): {e}; closing with {code}");
                    w.abort_with(code, reason);
                    return Ended::Yes;
                }
            }
        }
        if w.drain_backlog().is_err() {
            return Ended::Yes;
        }
        if w.flush().is_err() {
            return Ended::Yes;
        }
        if w.closing && w.flushed && !w.ws.can_write() {
            // Our Close went out and the peer's was read (tungstenite then reports closed).
            return Ended::No;
        }
        self.pump(id, w);
        Ended::No
    }

    /// Handles one message from the client.
    pub(super) fn on_message(
        &mut self,
        id: u64,
        peer: SocketAddr,
        w: &mut WsConn,
        msg: Message,
    ) -> Ended {
        let now = Instant::now();
        match msg {
            Message::Ping(_) | Message::Pong(_) => {
                if window_exceeded(&mut w.control_frames, now, 20) {
                    w.start_close(1008, "too many control frames");
                }
                Ended::No
            }
            Message::Close(_) => Ended::No,
            Message::Frame(_) => Ended::No,
            Message::Binary(_) => {
                w.start_close(1003, "binary messages are not accepted");
                Ended::No
            }
            Message::Text(text) => {
                if w.closing {
                    return Ended::No;
                }
                if window_exceeded(&mut w.messages, now, self.settings.messages_per_second) {
                    w.start_close(1008, "message rate limit exceeded");
                    return Ended::No;
                }
                match w.client.decode(text.as_str()) {
                    Ok(msg) => self.dispatch(id, peer, w, msg),
                    Err(error) => self.apply(id, peer, w, vec![error]),
                }
            }
        }
    }

    /// Handles a decoded message now, or queues it behind this client's running action: AMI
    /// answers one session's actions in order, so nothing may overtake an earlier action.
    pub(super) fn dispatch(
        &mut self,
        id: u64,
        peer: SocketAddr,
        w: &mut WsConn,
        msg: AmiMessage,
    ) -> Ended {
        let running = self.actions.in_flight_for(id);
        if !w.client.deferred.is_empty() || (running > 0 && w.client.answered_here(&msg)) {
            if w.client.deferred.len() + running >= self.settings.max_actions_per_client {
                self.status.tally.actions_refused += 1;
                let refusal = error_reply(&msg, "Too many actions in progress for this client");
                let frame = w.client.encode_reply(&refusal);
                return self.apply(id, peer, w, vec![Outcome::Reply(frame)]);
            }
            w.client.deferred.push_back(msg);
            return Ended::No;
        }
        self.handle(id, peer, w, msg)
    }

    pub(super) fn handle(
        &mut self,
        id: u64,
        peer: SocketAddr,
        w: &mut WsConn,
        msg: AmiMessage,
    ) -> Ended {
        let mut ctx = Ctx {
            accounts: &self.accounts,
            log: &self.shared.log,
            limiter: &mut self.limiter,
            online: &self.online,
            now: Instant::now(),
        };
        let failures_before = w.client.auth_failures;
        let outcomes = w.client.handle(msg, &mut ctx);
        self.status.tally.logins_failed += w.client.auth_failures - failures_before;
        self.apply(id, peer, w, outcomes)
    }

    /// Runs the messages that waited for this client's actions, in order, until one has to wait
    /// again.
    pub(super) fn run_deferred(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn) -> Ended {
        loop {
            let Some(front) = w.client.deferred.front() else { return Ended::No };
            if self.actions.in_flight_for(id) > 0 && w.client.answered_here(front) {
                return Ended::No;
            }
            let Some(msg) = w.client.deferred.pop_front() else { return Ended::No };
            if self.handle(id, peer, w, msg) == Ended::Yes {
                return Ended::Yes;
            }
        }
    }

    pub(super) fn apply(
        &mut self,
        id: u64,
        _peer: SocketAddr,
        w: &mut WsConn,
        outcomes: Vec<Outcome>,
    ) -> Ended {
        for o in outcomes {
            match o {
                Outcome::Reply(text) => {
                    if w.queue_reply(text).is_err() {
                        return Ended::Yes;
                    }
                }
                Outcome::LoggedIn(account) => {
                    self.unauthenticated = self.unauthenticated.saturating_sub(1);
                    self.status.tally.logins_ok += 1;
                    *self.online.entry(account).or_insert(0) += 1;
                }
                Outcome::Run(mut job) => {
                    job.conn_id = id;
                    match self.actions.submit(job) {
                        Ok(()) => self.status.actions += 1,
                        Err(busy) => {
                            self.status.tally.actions_refused += 1;
                            let frame = w.client.encode_reply(&busy);
                            if w.queue_reply(frame).is_err() {
                                return Ended::Yes;
                            }
                        }
                    }
                }
                Outcome::Close(code, reason) => {
                    w.start_close(code, reason);
                }
            }
        }
        Ended::No
    }

    pub(super) fn route_replies(&mut self) {
        for Done { conn_id, frames } in self.actions.take_done() {
            crate::metrics::tally::count_outcome(&mut self.status.tally, &frames);
            let Some(token) = self.conns.iter().find(|(_, c)| c.id == conn_id).map(|(t, _)| *t)
            else {
                continue;
            };
            let Some(mut conn) = self.conns.remove(&token) else { continue };
            let mut ended = Ended::No;
            let (id, peer) = (conn.id, conn.peer);
            if let Phase::Ws(w) = &mut conn.phase {
                for f in frames {
                    let f = w.client.encode_reply(&f);
                    if w.queue_reply(f).is_err() {
                        ended = Ended::Yes;
                        break;
                    }
                }
                if ended == Ended::No {
                    ended = self.run_deferred(id, peer, w);
                }
                if ended == Ended::No && w.flush().is_err() {
                    ended = Ended::Yes;
                }
            }
            if ended == Ended::Yes {
                self.forget(conn);
            } else {
                self.conns.insert(token, conn);
            }
        }
    }
}
