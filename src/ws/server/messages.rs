//! Client messages: reading frames, decoding, the per-client order of actions, and routing replies.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    pub(super) fn drive_ws(&mut self, conn: &mut Conn) -> Ended {
        let id = conn.id;
        let peer = conn.peer;
        let Phase::Ws(w) = &mut conn.phase else { return Ended::Yes };
        w.more_input = false;
        let mut budget = READ_BUDGET;
        // Answer what waits, then read while there is room (edge-triggered: until WouldBlock).
        loop {
            if w.drain_backlog().is_err() {
                return Ended::Yes;
            }
            if self.run_deferred(id, peer, w) == Ended::Yes {
                let _ = w.flush();
                return Ended::Yes;
            }
            w.paused = !self.has_room(id, w);
            if w.paused {
                if w.backlog.is_empty() {
                    break;
                }
                // Output backed up: push it. If the kernel took all of it there is room again,
                // and no writable event would come (none is raised for a write that did not
                // block), so go round again instead of waiting for one.
                match w.flush() {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(_) => return Ended::Yes,
                }
            }
            if budget == 0 {
                // Fair share used: other clients get a turn; frames left inside tungstenite or
                // TLS would get no new readiness event, so the loop comes back by itself.
                w.more_input = true;
                break;
            }
            budget -= 1;
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
                        // As below: replies to the messages before it first, then the Close
                        // (regression test ws_deflate::replies_before_a_refused_compressed_...).
                        let _ = w.flush();
                        w.abort_with(code, reason);
                    }
                    return Ended::Yes;
                }
                Err(e) => {
                    let (code, reason) = close_code_for(&e);
                    crate::ast_debug!(1, "ws: client {id} ({peer}): {e}; closing with {code}");
                    // Replies to the messages before the bad frame go out first, so the Close
                    // lands at a frame boundary (found by the Autobahn cases 3.2-4.2.5, 5.15).
                    let _ = w.flush();
                    w.abort_with(code, reason);
                    return Ended::Yes;
                }
            }
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

    /// Handles one message from the client: control frames here, text in its turn.
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
                if window_exceeded(&mut w.control_frames, now, CONTROL_FRAMES_PER_SECOND) {
                    w.start_close(1008, "too many control frames");
                }
                Ended::No
            }
            Message::Close(_) => Ended::No,
            Message::Frame(_) => Ended::No,
            Message::Binary(_) if crate::ws::echo::ENABLED => {
                if window_exceeded(&mut w.messages, now, self.settings.messages_per_second) {
                    w.start_close(1008, "message rate limit exceeded");
                    return Ended::No;
                }
                crate::ws::echo::echo(w, msg, &mut self.deflater)
            }
            Message::Binary(_) => {
                w.start_close(1003, "binary messages are not accepted");
                Ended::No
            }
            Message::Text(text) => {
                if w.closing {
                    return Ended::No;
                }
                // Before login nothing legitimate sends many messages: a hard limit. After
                // login, flow control paces the client instead.
                if !w.client.has_logged_in()
                    && window_exceeded(&mut w.messages, now, self.settings.messages_per_second)
                {
                    w.start_close(1008, "message rate limit exceeded before login");
                    return Ended::No;
                }
                // Test-only echo (Autobahn): the branch point where the AMI part would start.
                if crate::ws::echo::ENABLED {
                    return crate::ws::echo::echo(w, Message::Text(text), &mut self.deflater);
                }
                let pending = match w.client.decode(text.as_str()) {
                    Ok(msg) => Pending::Action(msg),
                    Err(error) => Pending::Refused(error),
                };
                w.client.deferred.push_back(pending);
                self.run_deferred(id, peer, w)
            }
        }
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

    /// Answers this client's waiting messages in order, as far as they may go now: one action
    /// at a time on the action threads, none while its output is backed up, and none while the
    /// action threads are at `max_actions_total` (then it waits its turn in `pool_waiters`).
    pub(super) fn run_deferred(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn) -> Ended {
        loop {
            if w.closing {
                w.client.deferred.clear();
                return Ended::No;
            }
            if !w.backlog.is_empty() || self.actions.in_flight_for(id) > 0 {
                return Ended::No;
            }
            let Some(front) = w.client.deferred.front() else { return Ended::No };
            if let Pending::Action(msg) = front {
                if !w.client.answered_here(msg) && !self.actions.has_room() {
                    if !self.pool_waiters.contains(&id) {
                        self.pool_waiters.push_back(id);
                    }
                    return Ended::No;
                }
            }
            let ended = match w.client.deferred.pop_front() {
                None => return Ended::No,
                Some(Pending::Action(msg)) => self.handle(id, peer, w, msg),
                Some(Pending::Refused(error)) => self.apply(id, peer, w, vec![error]),
            };
            if ended == Ended::Yes {
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

    /// Hands finished actions' replies to their clients, then lets the clients waiting for room
    /// on the action threads go on first (oldest first), then the clients just answered: their
    /// next action, more reading.
    pub(super) fn route_replies(&mut self) {
        let mut answered = Vec::new();
        for Done { conn_id, frames } in self.actions.take_done() {
            crate::metrics::tally::count_outcome(&mut self.status.tally, &frames);
            let Some(token) = self.token_of(conn_id) else { continue };
            let Some(mut conn) = self.conns.remove(&token) else { continue };
            let mut gone = false;
            if let Phase::Ws(w) = &mut conn.phase {
                for f in frames {
                    let f = w.client.encode_reply(&f);
                    if w.queue_reply(f).is_err() {
                        gone = true;
                        break;
                    }
                }
            }
            if gone {
                self.forget(conn);
                continue;
            }
            self.conns.insert(token, conn);
            answered.push(token);
        }
        self.serve_pool_waiters();
        for token in answered {
            self.on_ready(token);
        }
    }
}
