//! The publisher's connection to one NATS server: a non-blocking mio socket, plain or TLS
//! (rustls client, driven by hand as `ws::tls` drives the server side).
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// Plaintext rustls may hold for the wire before writes report `WouldBlock`.
const TLS_BUFFER: usize = 256 * 1024;

/// A connected (or connecting) socket to a NATS server.
pub enum Link {
    /// `nats://`.
    Plain(TcpStream),
    /// `tls://`: TLS from the first byte.
    Tls(Box<ClientConnection>, TcpStream),
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Link {
    /// Switches a plain link to TLS (NATS sends its INFO in plaintext, then the client
    /// starts TLS when the server requires it or the URL asks for it).
    pub fn start_tls(self, config: Arc<ClientConfig>, host: &str) -> io::Result<Link> {
        let sock = match self {
            Link::Plain(s) => s,
            tls @ Link::Tls(..) => return Ok(tls),
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut conn = ClientConnection::new(config, name).map_err(tls_error)?;
        conn.set_buffer_limit(Some(TLS_BUFFER));
        Ok(Link::Tls(Box::new(conn), sock))
    }

    /// The socket, for mio registration.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Link::Plain(s) => s,
            Link::Tls(_, s) => s,
        }
    }

    /// Reads everything available into `into`, at most `limit` bytes held there. `Ok(false)`:
    /// the server closed the connection.
    pub fn read_available(&mut self, into: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if into.len() >= limit {
                return Ok(true);
            }
            let got = match self {
                Link::Plain(s) => s.read(&mut chunk),
                Link::Tls(conn, s) => {
                    let mut socket_empty = false;
                    match conn.read_tls(s) {
                        Ok(0) => return Ok(false),
                        Ok(_) => {}
                        Err(e) if would_block(&e) => socket_empty = true,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                    let state = conn.process_new_packets().map_err(tls_error)?;
                    // Handshake answers and key updates go out at once.
                    Self::push_tls(conn, s)?;
                    if state.plaintext_bytes_to_read() > 0 {
                        conn.reader().read(&mut chunk)
                    } else if state.peer_has_closed() {
                        return Ok(false);
                    } else if socket_empty {
                        return Ok(true);
                    } else {
                        continue;
                    }
                }
            };
            match got {
                Ok(0) => return Ok(false),
                Ok(n) => into.extend_from_slice(&chunk[..n]),
                Err(e) if would_block(&e) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn push_tls(conn: &mut ClientConnection, s: &mut TcpStream) -> io::Result<()> {
        while conn.wants_write() {
            match conn.write_tls(s) {
                Ok(_) => {}
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes as much of `data` as the socket (and TLS) takes now; returns how much.
    pub fn write_some(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Link::Plain(s) => {
                let mut done = 0;
                while done < data.len() {
                    match s.write(&data[done..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => done += n,
                        Err(e) if would_block(&e) => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(done)
            }
            Link::Tls(conn, s) => {
                Self::push_tls(conn, s)?;
                if conn.is_handshaking() {
                    return Ok(0);
                }
                let n = match conn.writer().write(data) {
                    Ok(n) => n,
                    Err(e) if would_block(&e) => 0,
                    Err(e) => return Err(e),
                };
                Self::push_tls(conn, s)?;
                Ok(n)
            }
        }
    }

    /// Whether TLS still holds bytes for the wire (the socket was full).
    pub fn has_tls_backlog(&self) -> bool {
        matches!(self, Link::Tls(conn, _) if conn.wants_write())
    }

    /// Closes the connection (a TLS close_notify first, when it fits).
    pub fn shutdown(&mut self) {
        if let Link::Tls(conn, s) = self {
            conn.send_close_notify();
            let _ = Self::push_tls(conn, s);
        }
        let _ = self.socket().shutdown(std::net::Shutdown::Both);
    }
}

/// A TLS client config trusting the PEM certificates in `ca_file`.
pub fn client_config(ca_file: &str) -> Result<Arc<ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if ca_file.is_empty() {
        return Err("tls:// needs tls_ca_file (the CA that signed the server's certificate)".into());
    }
    for cert in
        CertificateDer::pem_file_iter(ca_file).map_err(|e| format!("tls_ca_file {ca_file}: {e}"))?
    {
        let cert = cert.map_err(|e| format!("tls_ca_file {ca_file}: {e}"))?;
        roots.add(cert).map_err(|e| format!("tls_ca_file {ca_file}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("tls_ca_file {ca_file}: no certificate in it"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
