//! The WebSocket side: the mio network loop, connections, handshake, limits, CLI.

pub mod cli;
pub mod client;
pub mod conn;
pub mod deflate;
pub mod echo;
pub mod http;
pub mod inflating;
pub mod listener;
pub mod page;
pub mod proxy;
pub mod rates;
pub mod recent;
pub mod server;
pub mod shared;
pub mod stream;
pub mod tls;
pub mod transport;
pub mod upgrade;
