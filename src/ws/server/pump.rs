//! Moving events from the ring to each client as its socket allows, and accounting for lost ones.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    /// Counts the events the ring overwrote before this client got them, even while its socket
    /// is blocked (a client that stops reading would otherwise show no loss and, with
    /// `slow_client = disconnect`, never be closed). Report: the range is kept for the notice
    /// sent once the client can take it, and the cursor moves to the oldest event kept.
    pub(super) fn note_loss(&mut self, w: &mut WsConn, lost: Option<(u64, u64)>) {
        let Some((first, last)) = lost else { return };
        let n = last - first + 1;
        w.client.counters.events_lost += n;
        self.status.lost += n;
        match self.settings.slow_client {
            SlowClientPolicy::Disconnect => {
                if !w.closing {
                    self.status.tally.slow_disconnects += 1;
                }
                w.start_close(CLOSE_EVENTS_LOST, "events lost")
            }
            SlowClientPolicy::Report => {
                w.client.pending_lost = match w.client.pending_lost {
                    Some((a, _)) => Some((a, last)),
                    None => Some((first, last)),
                };
                w.client.cursor = w.client.cursor.max(last + 1);
            }
        }
    }

    /// The range a client's cursor has fallen out of the ring, if any, as of the start of this
    /// loop pass (one ring lock per pass, not one per client; `read` catches anything newer).
    pub(super) fn overwritten(&self, w: &WsConn) -> Option<(u64, u64)> {
        let first = self.ring_first;
        (w.client.cursor < first).then(|| (w.client.cursor, first - 1))
    }

    /// Moves events from the ring to one client, as far as its socket allows.
    pub(super) fn pump(&mut self, id: u64, w: &mut WsConn) {
        if !w.client.receives_events() || w.closing {
            return;
        }
        let lost = self.overwritten(w);
        self.note_loss(w, lost);
        if w.closing || !w.flushed || !w.backlog.is_empty() {
            return;
        }
        let log = Arc::clone(&self.shared.log);
        let mut batch = Vec::with_capacity(BATCH);
        let mut handed = 0usize;
        loop {
            batch.clear();
            let outcome = self.recent.read(&log, w.client.cursor, BATCH, &mut batch);
            self.note_loss(w, outcome.lost);
            if w.closing {
                return;
            }
            if let Some((first, last)) = w.client.pending_lost.take() {
                let notice = w.client.lost_notice(first, last);
                if w.queue_reply(notice).is_err() {
                    return;
                }
                if !w.backlog.is_empty() {
                    // The notice must go before any later event: wait for the socket. The
                    // events read stay in the ring (the cursor has not passed them).
                    let _ = w.flush();
                    return;
                }
            }
            for ev in &batch {
                if ev.origin() == id && self.actions.in_flight_for(id) > 0 {
                    // Raised by this client's running action: AMI sends the action's response
                    // first, so wait here until it is routed (microseconds later).
                    w.client.cursor = ev.seq();
                    let _ = w.flush();
                    return;
                }
                w.client.cursor = ev.seq() + 1;
                if !w.client.wants(ev) {
                    continue;
                }
                let frame = w.client.frame_for(ev);
                let deflated = self.deflated(w, ev);
                handed += deflated.as_ref().map_or(frame.len(), |d| d.len());
                match w.queue_maybe_deflated(frame, deflated) {
                    Ok(true) => {
                        w.client.counters.events_sent += 1;
                        self.status.delivered += 1;
                    }
                    Ok(false) => {
                        // tungstenite's buffer is full: retry this event when the socket drains.
                        w.client.cursor = ev.seq();
                        let _ = w.flush();
                        return;
                    }
                    Err(_) => return,
                }
            }
            w.client.cursor = w.client.cursor.max(outcome.next);
            if batch.is_empty() {
                break;
            }
            if handed >= PUMP_BYTES {
                // Fair share used; come back at once rather than at the next poll timeout.
                self.more_work = true;
                break;
            }
        }
        let _ = w.flush();
    }

    pub(super) fn pump_all(&mut self) {
        // One fetch of the new events for every up-to-date client (the wake was re-armed at
        // the top of the iteration, so events appended from then on wake us again).
        self.recent.refresh(&self.shared.log);
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            let Some(mut conn) = self.conns.remove(&t) else { continue };
            let mut panicked = false;
            if let Phase::Ws(w) = &mut conn.phase {
                let id = conn.id;
                panicked = crate::guard::catch(|| self.pump(id, w)).is_none();
            }
            if panicked {
                self.end_after_panic(conn);
            } else {
                self.conns.insert(t, conn);
            }
        }
    }
}
