//! Counters the network loop keeps for the metrics (since load; only the loop writes them).
#![forbid(unsafe_code)]

/// Event counts that have no other home in the loop's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Successful logins.
    pub logins_ok: u64,
    /// Failed logins (wrong secret, ACL, unknown user, rate limited).
    pub logins_failed: u64,
    /// Actions answered `Response: Success` (or `Follows`, list starts).
    pub actions_success: u64,
    /// Actions answered `Response: Error` (permission, unknown action, failures).
    pub actions_error: u64,
    /// Actions refused before running (action queue full, too many for one client).
    pub actions_refused: u64,
    /// Clients closed with 4001 because they lost events (`slow_client = disconnect`).
    pub slow_disconnects: u64,
    /// Connections that ended before the upgrade: deadline passed.
    pub handshake_timeouts: u64,
    /// Requests answered with an HTTP error instead of an upgrade (bad request, Origin, path,
    /// version, size, per-address limit behind a proxy).
    pub handshake_refused: u64,
    /// Connections whose TLS handshake failed.
    pub tls_failures: u64,
    /// Trusted peers that sent no valid PROXY protocol header.
    pub proxy_header_failures: u64,
    /// Scrapes of our own `/metrics` refused by `metrics_allowed`.
    pub metrics_refused: u64,
}

/// Counts one finished action by its first reply's `Response` header.
pub fn count_outcome(t: &mut Tally, frames: &[crate::ami::message::Message]) {
    let response = frames.first().and_then(|m| m.get("Response")).unwrap_or("");
    if response.eq_ignore_ascii_case("Error") {
        t.actions_error += 1;
    } else {
        t.actions_success += 1;
    }
}
