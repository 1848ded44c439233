//! The client's real address behind a trusted reverse proxy: the PROXY protocol header before
//! anything else, or the forwarded header of the request; per-address limits follow it.
#![forbid(unsafe_code)]

use std::io::Read;

use super::*;
use crate::ws::http::RequestHead;
use crate::ws::proxy::{self, ForwardedHeader, ProxyHeader};

impl Server {
    /// Reads the PROXY v1/v2 header a trusted peer must send first. Peeks, so nothing after the
    /// header (a TLS ClientHello, the HTTP request) is taken from the socket; an incomplete header
    /// waits for more bytes within the handshake deadline; anything else drops the connection.
    pub(super) fn drive_proxy(&mut self, conn: &mut Conn) -> Ended {
        let Some(transport) = conn.socket.as_mut() else { return Ended::Yes };
        let sock = transport.socket();
        let mut buf = vec![0u8; proxy::V2_MAX];
        let n = loop {
            match sock.peek(&mut buf) {
                Ok(0) => return Ended::Yes,
                Ok(n) => break n,
                Err(e) if would_block(&e) => return Ended::No,
                Err(e) if interrupted(&e) => continue,
                Err(_) => return Ended::Yes,
            }
        };
        match proxy::parse_proxy(&buf[..n]) {
            Ok(None) => Ended::No,
            Err(e) => {
                crate::ast_notice!(
                    "ws: {} sent no valid PROXY header ({}); dropped",
                    conn.peer,
                    e.0
                );
                self.status.tally.proxy_header_failures += 1;
                Ended::Yes
            }
            Ok(Some((header, used))) => {
                // The bytes were peeked, so they are in the socket buffer: this read takes them.
                let mut taken = 0;
                while taken < used {
                    match sock.read(&mut buf[taken..used]) {
                        Ok(0) => return Ended::Yes,
                        Ok(k) => taken += k,
                        Err(e) if interrupted(&e) => {}
                        Err(_) => return Ended::Yes,
                    }
                }
                conn.proxy_pending = false;
                match header {
                    ProxyHeader::Client(client) if self.rekey(conn, client).is_err() => Ended::Yes,
                    _ => Ended::No,
                }
            }
        }
    }

    /// Applies the forwarded header of a request from a trusted peer (from any other peer it is
    /// ignored). `Ok(true)` when the proxy says the browser came over https (for the Origin
    /// check); `Err` when the client address is over its per-address limit (answered 503).
    pub(super) fn apply_forwarded(
        &mut self,
        conn: &mut Conn,
        head: &RequestHead,
    ) -> Result<bool, Ended> {
        let trusted = &self.settings.trusted_proxies;
        let peer = conn.peer.ip();
        if !proxy::trusted(trusted, peer) {
            return Ok(false);
        }
        let header = self.settings.forwarded_header;
        let name = match header {
            ForwardedHeader::XForwardedFor => "X-Forwarded-For",
            ForwardedHeader::Forwarded => "Forwarded",
        };
        let values: Vec<&str> = head
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        let client = proxy::client_addr(peer, trusted, header, &values);
        let https = forwarded_https(head, header);
        if client != peer && self.rekey(conn, SocketAddr::new(client, 0)).is_err() {
            self.status.tally.handshake_refused += 1;
            let answer = http::simple_response(503, "Service Unavailable", &[]);
            return Err(conn.answer(answer));
        }
        Ok(https)
    }

    /// The connection's client address becomes `client` (the per-address count moves with it).
    /// `Err` when that address already has `max_clients_per_ip` connections.
    fn rekey(&mut self, conn: &mut Conn, client: SocketAddr) -> Result<(), ()> {
        let old = conn.peer;
        self.per_ip_release(old.ip());
        let n = self.per_ip.entry(client.ip()).or_insert(0);
        *n += 1;
        let over = *n > self.settings.max_clients_per_ip;
        conn.via.get_or_insert(old);
        conn.peer = client;
        crate::ast_debug!(1, "ws: client {} is {client} (via {old})", conn.id);
        if over {
            self.status.refused += 1;
            crate::ast_debug!(1, "ws: refused {client}: too many clients from this address");
            return Err(());
        }
        Ok(())
    }
}

/// Whether the trusted proxy says the browser used https (`X-Forwarded-Proto`, or `proto=` of
/// the last `Forwarded` element, the one the nearest proxy added).
fn forwarded_https(head: &RequestHead, header: ForwardedHeader) -> bool {
    let last = |name: &str| {
        head.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .next_back()
            .map(|v| v.trim().to_string())
    };
    if last("X-Forwarded-Proto").is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        return true;
    }
    header == ForwardedHeader::Forwarded
        && last("Forwarded").is_some_and(|e| {
            e.split(';').any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("proto")
                        && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        })
}
