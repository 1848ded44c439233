//! `GET /metrics` on our own port (`metrics = yes`), for addresses in `metrics_allowed`.
#![forbid(unsafe_code)]

use super::*;
use crate::metrics::render::{self, CONTENT_TYPE, Ring};
use crate::ws::http::RequestHead;

impl Server {
    /// The loop's figures now, in the Prometheus text format.
    pub(super) fn metrics_text(&self) -> String {
        let log = &self.shared.log;
        let ring = Ring {
            events_in: log.next_seq().saturating_sub(1),
            len: log.len(),
            capacity: log.capacity(),
        };
        render::render(&self.snapshot().status, ring)
    }

    pub(super) fn serve_metrics(&mut self, conn: &mut Conn, head: &RequestHead) -> Ended {
        if !proxy::trusted(&self.settings.metrics_allowed, conn.peer.ip()) {
            self.status.tally.metrics_refused += 1;
            crate::ast_debug!(1, "ws: /metrics refused to {}", conn.peer);
            return conn.answer(http::simple_response(403, "Forbidden", &[]));
        }
        if head.method != "GET" {
            return conn.answer(http::simple_response(405, "Method Not Allowed", &[]));
        }
        let body = self.metrics_text();
        conn.answer(http::ok_response(CONTENT_TYPE, body.as_bytes()))
    }
}
