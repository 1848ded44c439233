//! The Prometheus text exposition format (version 0.0.4) of the module's metrics. Names follow
//! Prometheus conventions: prefix `asterisk_ami_ws_`, base units, `_total` on counters.
#![forbid(unsafe_code)]

use std::fmt::Write;

use crate::ws::shared::Status;

/// What the renderer reads besides the loop's status.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ring {
    /// Events appended since load.
    pub events_in: u64,
    /// Events held now.
    pub len: usize,
    /// Capacity (`ring_size`).
    pub capacity: usize,
}

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP asterisk_ami_ws_{name} {help}");
        let _ = writeln!(self.0, "# TYPE asterisk_ami_ws_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "asterisk_ami_ws_{name} {value}");
        } else {
            let _ = writeln!(self.0, "asterisk_ami_ws_{name}{{{labels}}} {value}");
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, "", value);
    }
}

/// Every metric, as text.
pub fn render(s: &Status, ring: Ring) -> String {
    let mut o = Out(String::with_capacity(4096));
    let t = &s.tally;
    let websocket = s.connections.saturating_sub(s.in_handshake);
    o.family("clients", "gauge", "Connections by state.");
    o.sample("clients", "state=\"handshake\"", s.in_handshake);
    o.sample("clients", "state=\"connected\"", websocket.saturating_sub(s.logged_in));
    o.sample("clients", "state=\"logged_in\"", s.logged_in);
    o.one(
        "compressing_clients",
        "gauge",
        "Clients that negotiated permessage-deflate.",
        s.compressing,
    );
    o.one("connections_accepted_total", "counter", "TCP connections accepted.", s.accepted);
    o.one(
        "connections_refused_total",
        "counter",
        "Connections refused by max_clients, max_clients_per_ip or authlimit.",
        s.refused,
    );
    o.family("handshake_failures_total", "counter", "Connections that never became a WebSocket.");
    o.sample("handshake_failures_total", "reason=\"timeout\"", t.handshake_timeouts);
    o.sample("handshake_failures_total", "reason=\"http_error\"", t.handshake_refused);
    o.sample("handshake_failures_total", "reason=\"tls\"", t.tls_failures);
    o.sample("handshake_failures_total", "reason=\"proxy_header\"", t.proxy_header_failures);
    o.family("logins_total", "counter", "Login attempts by result.");
    o.sample("logins_total", "result=\"success\"", t.logins_ok);
    o.sample("logins_total", "result=\"failure\"", t.logins_failed);
    o.one("events_total", "counter", "Events raised by Asterisk into the ring.", ring.events_in);
    o.one("events_delivered_total", "counter", "Event deliveries to clients.", s.delivered);
    o.one("events_lost_total", "counter", "Events clients lost to ring overwrite.", s.lost);
    o.one("event_ring_events", "gauge", "Events held in the ring.", ring.len);
    o.one("event_ring_capacity", "gauge", "Events the ring holds (ring_size).", ring.capacity);
    o.one(
        "events_in_per_second",
        "gauge",
        "Events into the ring in the last second.",
        s.in_per_sec,
    );
    o.one(
        "deliveries_per_second",
        "gauge",
        "Event deliveries to clients in the last second.",
        s.out_per_sec,
    );
    o.one(
        "sent_payload_bytes_total",
        "counter",
        "Message bytes sent to clients before compression.",
        s.bytes_out_raw,
    );
    o.one(
        "sent_wire_bytes_total",
        "counter",
        "Bytes sent to clients as framed on the wire, after compression.",
        s.bytes_out_wire,
    );
    o.one(
        "inflated_messages_total",
        "counter",
        "Compressed client messages inflated.",
        s.inflated_in,
    );
    o.family("actions_total", "counter", "Actions by outcome.");
    o.sample("actions_total", "outcome=\"success\"", t.actions_success);
    o.sample("actions_total", "outcome=\"error\"", t.actions_error);
    o.sample("actions_total", "outcome=\"refused\"", t.actions_refused);
    o.one("actions_in_flight", "gauge", "Actions queued or running.", s.actions_in_flight);
    o.one(
        "deferred_messages",
        "gauge",
        "Client messages waiting behind the same client's running action.",
        s.deferred_messages,
    );
    o.one("queued_bytes", "gauge", "Output bytes waiting for clients, in total.", s.queued_bytes);
    o.one(
        "queued_bytes_max",
        "gauge",
        "Output bytes waiting for the most backlogged client.",
        s.queued_bytes_max,
    );
    o.one(
        "slow_client_disconnects_total",
        "counter",
        "Clients closed with 4001 after losing events.",
        t.slow_disconnects,
    );
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_is_well_formed_and_complete() {
        let mut s = Status { connections: 5, logged_in: 2, in_handshake: 1, ..Status::default() };
        s.tally.logins_failed = 3;
        s.tally.actions_refused = 4;
        let text = render(&s, Ring { events_in: 42, len: 42, capacity: 64 });
        assert!(text.contains("asterisk_ami_ws_clients{state=\"handshake\"} 1\n"));
        assert!(text.contains("asterisk_ami_ws_clients{state=\"connected\"} 2\n"));
        assert!(text.contains("asterisk_ami_ws_clients{state=\"logged_in\"} 2\n"));
        assert!(text.contains("asterisk_ami_ws_logins_total{result=\"failure\"} 3\n"));
        assert!(text.contains("asterisk_ami_ws_actions_total{outcome=\"refused\"} 4\n"));
        assert!(text.contains("asterisk_ami_ws_events_total 42\n"));
        // Every sample belongs to a family announced by HELP and TYPE just before it; counters
        // end in _total; names are [a-z_]; values are numbers.
        let mut family = String::new();
        let mut families = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                family = rest.split(' ').next().unwrap().to_string();
                assert!(!families.contains(&family), "{family} twice");
                families.push(family.clone());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(name, family);
                assert!(kind == "gauge" || (kind == "counter" && name.ends_with("_total")));
            } else {
                let (name, value) = line.rsplit_once(' ').unwrap();
                assert_eq!(name.split('{').next().unwrap(), family, "{line}");
                assert!(value.parse::<f64>().is_ok(), "{line}");
                assert!(family.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            }
        }
        assert!(families.len() >= 20, "{families:?}");
    }
}
