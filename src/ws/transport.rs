//! The byte stream under a connection: the plain socket, or TLS over it.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};

use super::tls::TlsStream;

/// Plain TCP or TLS.
pub enum Transport {
    /// `ws://`
    Plain(mio::net::TcpStream),
    /// `wss://`
    Tls(Box<TlsStream>),
}

impl Transport {
    /// The socket (for mio registration and shutdown).
    pub fn socket(&mut self) -> &mut mio::net::TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => t.socket(),
        }
    }

    /// Whether this is TLS still in its handshake.
    pub fn tls_handshaking(&self) -> bool {
        matches!(self, Transport::Tls(t) if t.handshaking())
    }

    /// Whether this connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Ends the connection: TLS close_notify (best effort), then shut the socket down.
    pub fn shutdown(&mut self) {
        if let Transport::Tls(t) = self {
            t.close_notify();
        }
        let _ = self.socket().shutdown(std::net::Shutdown::Both);
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(t) => t.flush(),
        }
    }
}
