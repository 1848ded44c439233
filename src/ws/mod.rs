//! The WebSocket side: the mio network loop, connections, handshake, limits.
pub mod cli;
