//! TLS for `wss://`: the server config from PEM files, and a non-blocking stream that drives a
//! rustls `ServerConnection` over the mio socket directly (rustls's own `Stream` types expect a
//! blocking transport).
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// Plaintext rustls may buffer for one client; counted as queued output.
pub const TLS_BUFFER: usize = 64 * 1024;

/// Builds the server config from a PEM certificate chain and a PEM private key.
pub fn server_config(cert_file: &str, key_file: &str) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("tls_cert_file {cert_file}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_cert_file {cert_file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("tls_cert_file {cert_file}: no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("tls_private_key {key_file}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key do not fit together: {e}"))?;
    Ok(Arc::new(config))
}

/// A TLS session over a non-blocking socket, readable and writable like the socket itself.
pub struct TlsStream {
    conn: ServerConnection,
    sock: mio::net::TcpStream,
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Starts a server-side TLS session on an accepted socket.
    pub fn new(config: Arc<ServerConfig>, sock: mio::net::TcpStream) -> io::Result<Self> {
        let mut conn = ServerConnection::new(config).map_err(tls_error)?;
        conn.set_buffer_limit(Some(TLS_BUFFER));
        Ok(TlsStream { conn, sock })
    }

    /// Whether the TLS handshake has not finished yet.
    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The socket, for mio registration and shutdown.
    pub fn socket(&mut self) -> &mut mio::net::TcpStream {
        &mut self.sock
    }

    /// Sends what rustls has for the wire. `Err(WouldBlock)` when the socket is full.
    fn push_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends a close_notify alert, best effort.
    pub fn close_notify(&mut self) {
        self.conn.send_close_notify();
        let _ = self.push_tls();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext buffered: take more records from the socket.
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    let state = self.conn.process_new_packets();
                    // Handshake answers and alerts go out now (a full socket retries later).
                    match self.push_tls() {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                    state.map_err(tls_error)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        match self.push_tls() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if n == 0 && !buf.is_empty() {
            // rustls's plaintext buffer is full until the socket drains.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push_tls()?;
        self.sock.flush()
    }
}
