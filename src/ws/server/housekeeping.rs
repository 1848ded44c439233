//! Commands from the CLI and reload, deadlines and keep-alive, closing, and the CLI snapshot.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    pub(super) fn run_commands(&mut self) {
        for cmd in self.shared.take_commands() {
            match cmd {
                Command::Kick(id) => {
                    if let Some(t) = self.conns.iter().find(|(_, c)| c.id == id).map(|(t, _)| *t) {
                        if let Some(mut conn) = self.conns.remove(&t) {
                            if let Phase::Ws(w) = &mut conn.phase {
                                w.start_close(CLOSE_KICKED, "kicked by administrator");
                            }
                            crate::ast_notice!("ws: client {id} ({}) kicked", conn.peer);
                            self.forget(conn);
                        }
                    }
                }
                Command::Settings(settings, tls, listener) => {
                    if let Some(l) = listener {
                        self.swap_listener(l);
                    }
                    self.settings = *settings;
                    // New connections use the new TLS config; open ones keep their session.
                    self.tls = tls;
                }
                Command::Accounts(accounts) => self.apply_accounts(accounts),
            }
        }
    }

    pub(super) fn check_deadlines(&mut self) {
        let now = Instant::now();
        let events_in = self.shared.log.next_seq().saturating_sub(1);
        self.rates.update(now, events_in, self.status.delivered);
        let ping_interval = self.settings.ping_interval;
        let pong_timeout = self.settings.pong_timeout;
        let mut expired = Vec::new();
        for (t, conn) in self.conns.iter_mut() {
            let logged_in = matches!(&conn.phase, Phase::Ws(w) if w.client.logged_in());
            let closing = matches!(&conn.phase, Phase::Ws(w) if w.closing);
            if closing {
                // A Close we started (events lost, logoff, ...): a peer that does not read it
                // and answer within the grace period is dropped.
                let grace = now + CLOSE_GRACE;
                conn.deadline = Some(conn.deadline.map_or(grace, |d| d.min(grace)));
            } else if logged_in {
                conn.deadline = None;
            }
            if conn.deadline.is_some_and(|d| now >= d) {
                if let Phase::Ws(w) = &mut conn.phase {
                    if !w.closing {
                        w.start_close(1008, "login timeout");
                        // Give the Close frame a moment to leave, then drop.
                        conn.deadline = Some(now + Duration::from_secs(1));
                        continue;
                    }
                }
                if matches!(conn.phase, Phase::Head(_)) {
                    self.status.tally.handshake_timeouts += 1;
                }
                expired.push(*t);
                continue;
            }
            if let Phase::Ws(w) = &mut conn.phase {
                if w.paused {
                    // Not read (flow control), so its pongs would go unseen: a client waiting on
                    // its own actions, or whose output moves, is alive. One whose output has not
                    // moved is pinged as usual and closed if that goes nowhere either.
                    let written = w.ws.get_ref().written;
                    if w.backlog.is_empty() || written != w.written_seen {
                        w.last_heard = now;
                        w.ping_sent = None;
                    }
                    w.written_seen = written;
                }
                if let Some((frames, close)) = w.client.take_due(now) {
                    for f in frames {
                        let _ = w.queue_reply(f);
                    }
                    if close {
                        w.start_close(1008, "authentication failed");
                    }
                    let _ = w.flush();
                }
                match w.ping_sent {
                    Some(sent) if now.duration_since(sent) >= pong_timeout => {
                        w.abort_with(1001, "ping timeout");
                        expired.push(*t);
                    }
                    None if now.duration_since(w.last_heard) >= ping_interval => {
                        if w.ws.write(Message::Ping(Default::default())).is_ok() {
                            let _ = w.flush();
                        }
                        w.ping_sent = Some(now);
                    }
                    _ => {}
                }
            }
        }
        for t in expired {
            if let Some(conn) = self.conns.remove(&t) {
                self.forget(conn);
            }
        }
    }

    /// One connection from `ip` fewer.
    pub(super) fn per_ip_release(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Drops a connection and its bookkeeping.
    pub(super) fn forget(&mut self, mut conn: Conn) {
        if let Some(src) = conn.source() {
            let _ = self.poll.registry().deregister(src);
        }
        self.per_ip_release(conn.peer.ip());
        // Counted as unauthenticated until its login; a Logoff does not make it so again.
        let logged_in = matches!(&conn.phase, Phase::Ws(w) if w.client.has_logged_in());
        if !logged_in {
            self.unauthenticated = self.unauthenticated.saturating_sub(1);
        }
        if let Phase::Ws(w) = &mut conn.phase {
            if let Some(key) = w.client.account_key() {
                if let Some(n) = self.online.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.online.remove(&key);
                    }
                }
            }
            w.client.on_disconnect();
            self.status.bytes_out_raw += w.bytes_raw;
            self.status.bytes_out_wire += w.bytes_wire;
            self.status.inflated_in += w.ws.get_ref().inflated();
        }
        self.actions.forget_client(conn.id);
    }

    pub(super) fn close_all(&mut self, code: u16, reason: &str) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            if let Some(mut conn) = self.conns.remove(&t) {
                if let Phase::Ws(w) = &mut conn.phase {
                    w.start_close(code, reason);
                    let _ = w.flush();
                }
                self.forget(conn);
            }
        }
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let mut clients: Vec<ClientRow> = self
            .conns
            .values()
            .map(|c| {
                let since =
                    c.since.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let mut row = ClientRow {
                    id: c.id,
                    peer: match c.via {
                        Some(via) => format!("{},via={via}", c.peer),
                        None => c.peer.to_string(),
                    },
                    since,
                    proto: "http".into(),
                    ..ClientRow::default()
                };
                if let Phase::Ws(w) = &c.phase {
                    row.tls = w.ws.get_ref().inner.is_tls();
                    row.user = w.client.user().unwrap_or_default().to_string();
                    row.proto = w.encoding.name().into();
                    row.events_sent = w.client.counters.events_sent;
                    row.events_lost = w.client.counters.events_lost;
                    row.queued = w.waiting_output();
                }
                row
            })
            .collect();
        clients.sort_by_key(|r| r.id);
        let mut status = self.status.clone();
        status.in_per_sec = self.rates.in_per_sec;
        status.out_per_sec = self.rates.out_per_sec;
        status.connections = self.conns.len();
        status.actions_in_flight = self.actions.in_flight();
        for c in self.conns.values() {
            status.in_handshake +=
                usize::from(matches!(c.phase, Phase::Head(_) | Phase::Answer { .. }));
            if let Phase::Ws(w) = &c.phase {
                let queued = w.queued();
                status.queued_bytes += queued;
                status.queued_bytes_max = status.queued_bytes_max.max(queued);
                status.deferred_messages += w.client.deferred.len();
                status.bytes_out_raw += w.bytes_raw;
                status.bytes_out_wire += w.bytes_wire;
                status.compressing += usize::from(w.deflate);
                status.inflated_in += w.ws.get_ref().inflated();
            }
        }
        status.logged_in = self
            .conns
            .values()
            .filter(|c| matches!(&c.phase, Phase::Ws(w) if w.client.logged_in()))
            .count();
        Snapshot { clients, status }
    }
}
