//! Accepting connections: limits at accept, TLS sessions, request heads and upgrades, moving the listener.
#![forbid(unsafe_code)]

use super::*;

impl Server {
    pub(super) fn accept_all(&mut self) {
        if self.accept_paused_until.is_some_and(|t| Instant::now() < t) {
            return;
        }
        self.accept_paused_until = None;
        loop {
            match self.listener.accept() {
                Ok((sock, peer)) => self.admit(sock, peer),
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => continue,
                Err(e) => {
                    // EMFILE/ENFILE and friends: the backlog stays, and edge-triggered mio will
                    // not tell us again, so retry on a timer instead of spinning.
                    let now = Instant::now();
                    if self.accept_warned.is_none_or(|t| now.duration_since(t) >= ACCEPT_WARN_EVERY)
                    {
                        self.accept_warned = Some(now);
                        crate::ast_warning!(
                            "ws: accept failed ({e}); retrying every 100 ms (warned at most \
                             once a minute)"
                        );
                    }
                    self.accept_paused_until = Some(now + Duration::from_millis(100));
                    return;
                }
            }
        }
    }

    pub(super) fn admit(&mut self, mut sock: mio::net::TcpStream, peer: SocketAddr) {
        let ip = peer.ip();
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        // A trusted proxy carries many clients: its per-address limit applies to the client
        // address it forwards, once that is known (see forwarded.rs).
        let from_proxy = proxy::trusted(&self.settings.trusted_proxies, ip);
        let reason = if self.conns.len() >= self.settings.max_clients {
            Some("503 too many clients")
        } else if !from_proxy && from_ip >= self.settings.max_clients_per_ip {
            Some("503 too many clients from this address")
        } else if self.unauthenticated >= self.accounts.general.authlimit as usize {
            Some("503 too many unauthenticated clients")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.status.refused += 1;
            use std::io::Write;
            let _ = sock.write(&http::simple_response(503, "Service Unavailable", &[]));
            crate::ast_debug!(1, "ws: refused {peer}: {reason}");
            return;
        }
        let _ = sock.set_nodelay(true);
        let token = Token(self.next_token);
        self.next_token += 1;
        if let Err(e) =
            self.poll.registry().register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
        {
            crate::ast_warning!("ws: cannot watch {peer}: {e}");
            return;
        }
        let transport = match &self.tls {
            None => Transport::Plain(sock),
            Some(config) => match TlsStream::new(Arc::clone(config), sock) {
                Ok(t) => Transport::Tls(Box::new(t)),
                Err(e) => {
                    // Dropping the stream closes it (and removes it from the poll set).
                    crate::ast_warning!("ws: TLS session for {peer} failed to start: {e}");
                    return;
                }
            },
        };
        let id = self.next_id;
        self.next_id += 1;
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.unauthenticated += 1;
        self.status.accepted += 1;
        let deadline = Instant::now() + self.settings.handshake_timeout;
        let mut conn = Conn::new(id, peer, transport, deadline);
        conn.proxy_pending = from_proxy && self.settings.proxy_protocol;
        self.conns.insert(token, conn);
        self.on_ready(token);
    }

    pub(super) fn drive_head(&mut self, conn: &mut Conn) -> Ended {
        if conn.read_head(MAX_HEAD + 1).is_err() {
            if conn.socket.as_ref().is_some_and(Transport::tls_handshaking) {
                self.status.tally.tls_failures += 1;
            }
            return Ended::Yes;
        }
        let Phase::Head(buf) = &conn.phase else { return Ended::Yes };
        let parsed = http::parse_head(buf);
        let (head, used) = match parsed {
            Ok(None) => return Ended::No,
            Ok(Some(x)) => x,
            Err(HeadError::TooLarge) => {
                self.status.tally.handshake_refused += 1;
                return conn.answer(http::simple_response(
                    431,
                    "Request Header Fields Too Large",
                    &[],
                ));
            }
            Err(HeadError::Malformed) => {
                self.status.tally.handshake_refused += 1;
                return conn.answer(http::simple_response(400, "Bad Request", &[]));
            }
        };
        let leftover = buf[used..].to_vec();
        let forwarded_tls = match self.apply_forwarded(conn, &head) {
            Ok(https) => https,
            Err(ended) => return ended,
        };
        if self.settings.metrics && head.path() == "/metrics" && head.header("Upgrade").is_none() {
            return self.serve_metrics(conn, &head);
        }
        let policy = OriginPolicy {
            allowed: &self.settings.allowed_origins,
            allow_missing: self.settings.allow_missing_origin,
            tls: self.tls.is_some() || forwarded_tls,
        };
        match decide(&head, &policy) {
            Decision::Serve { asset, cors_origin } => conn.answer(http::asset_response(
                asset,
                head.header("If-None-Match"),
                cors_origin.as_deref(),
            )),
            Decision::Refuse(status, reason) => {
                self.status.tally.handshake_refused += 1;
                let extra: &[(&str, &str)] =
                    if status == 426 { &[("Sec-WebSocket-Version", "13")] } else { &[] };
                crate::ast_debug!(1, "ws: {} refused: {status} {reason}", conn.peer);
                conn.answer(http::simple_response(status, reason, extra))
            }
            Decision::Upgrade { accept_key, subprotocol, encoding } => {
                let extension =
                    if self.settings.compression { deflate::response_to(&head) } else { None };
                let deflate = extension.is_some();
                let answer = http::switching_protocols(&accept_key, subprotocol, extension);
                // The 101 answer is small; a fresh socket takes it whole. If not, give up.
                let Some(sock) = conn.socket.as_mut() else { return Ended::Yes };
                use std::io::Write;
                if !matches!(sock.write(&answer), Ok(n) if n == answer.len()) {
                    return Ended::Yes;
                }
                let login_deadline = Instant::now() + self.accounts.general.authtimeout;
                conn.deadline = Some(login_deadline);
                let mut client = Client::new(conn.peer, encoding);
                let local = sock.socket().local_addr().or_else(|_| self.listener.local_addr());
                let local = local.unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                client.set_origin(conn.id, local, sock.is_tls());
                let inflater = deflate.then(|| Arc::clone(&self.inflater));
                let config = self.ws_config();
                if conn.into_websocket(leftover, config, encoding, client, inflater).is_err() {
                    return Ended::Yes;
                }
                self.drive_ws(conn)
            }
        }
    }

    pub(super) fn swap_listener(&mut self, std_listener: std::net::TcpListener) {
        let mut fresh = TcpListener::from_std(std_listener);
        if let Err(e) = self.poll.registry().register(&mut fresh, LISTENER, Interest::READABLE) {
            crate::ast_error!("ws: cannot watch the new listener ({e}); keeping the old one");
            return;
        }
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.listener = fresh;
        self.status.listening =
            self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        crate::ast_notice!("ws: now listening on {}", self.status.listening);
        self.accept_all();
    }
}
