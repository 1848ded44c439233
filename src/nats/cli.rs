//! `ws show nats`: the NATS publisher's state and counters.
#![forbid(unsafe_code)]

use std::fmt::Write;

use super::Stats;

/// The text `ws show nats` prints for a running publisher.
pub fn render(stats: &Stats, system: &str) -> String {
    let mut out = String::new();
    let state = if stats.connected { "connected" } else { "not connected" };
    let _ = writeln!(out, "NATS publisher:      {state} ({})", stats.server);
    let _ = writeln!(out, "System name:         {system}");
    let _ = writeln!(out, "Next event:          {}", stats.cursor);
    let _ = writeln!(out, "Published:           {}", stats.published);
    let _ = writeln!(out, "Confirmed:           {}", stats.confirmed);
    let _ = writeln!(out, "In flight:           {}", stats.in_flight);
    let _ = writeln!(out, "Rejected by server:  {}", stats.rejected);
    let _ = writeln!(out, "Lost (ring overrun): {}", stats.lost);
    let _ = writeln!(out, "Reconnects:          {}", stats.reconnects);
    if !stats.last_error.is_empty() {
        let _ = writeln!(out, "Last error:          {}", stats.last_error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_state_and_counters() {
        let s = Stats {
            connected: true,
            server: "nats://127.0.0.1:4222".into(),
            published: 10,
            confirmed: 9,
            last_error: "server closed the connection".into(),
            ..Default::default()
        };
        let text = render(&s, "pbx1");
        assert!(text.contains("connected (nats://127.0.0.1:4222)"), "{text}");
        assert!(text.contains("Published:           10"));
        assert!(text.contains("Last error:          server closed"));
    }
}
