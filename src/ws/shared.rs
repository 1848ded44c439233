//! What the network loop shares with other threads: the stop flag, commands from the CLI and
//! reload, finished actions, and the snapshot the CLI prints. std primitives only: these are
//! touched from Asterisk's threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::ami::accounts::ManagerConf;
use crate::events::ring::EventLog;
use crate::settings::Settings;

/// A request for the loop, from the CLI or from reload.
pub enum Command {
    /// `ws kick <id>`.
    Kick(u64),
    /// New settings, their TLS config (when TLS is on), and a listener already bound when the
    /// address changed.
    Settings(Box<Settings>, Option<Arc<rustls::ServerConfig>>, Option<std::net::TcpListener>),
    /// New manager.conf accounts.
    Accounts(Arc<ManagerConf>),
}

/// One row of `ws show clients`.
#[derive(Clone, Debug, Default)]
pub struct ClientRow {
    /// Connection id.
    pub id: u64,
    /// Remote address.
    pub peer: String,
    /// Logged-in user, or empty.
    pub user: String,
    /// Unix time of connection.
    pub since: u64,
    /// Subprotocol (ami-json / ami-text) or the HTTP phase.
    pub proto: String,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Events delivered.
    pub events_sent: u64,
    /// Bytes waiting to be written.
    pub queued: u64,
    /// Events lost.
    pub events_lost: u64,
}

/// Listener-wide figures for `ws show status`.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Bound address.
    pub listening: String,
    /// Connections (all phases).
    pub connections: usize,
    /// Logged-in clients.
    pub logged_in: usize,
    /// Events delivered to clients, in total.
    pub delivered: u64,
    /// Events lost by slow clients, in total.
    pub lost: u64,
    /// Connections accepted since load.
    pub accepted: u64,
    /// Connections refused by limits since load.
    pub refused: u64,
    /// Actions run since load.
    pub actions: u64,
    /// Events per second into the ring (last second).
    pub in_per_sec: f64,
    /// Deliveries per second to clients (last second).
    pub out_per_sec: f64,
    /// Message bytes sent to clients before compression (payloads, since load).
    pub bytes_out_raw: u64,
    /// Bytes sent to clients as framed on the wire, after compression (since load).
    pub bytes_out_wire: u64,
    /// Clients that negotiated permessage-deflate (now).
    pub compressing: usize,
    /// Compressed client messages inflated (since load).
    pub inflated_in: u64,
    /// Counters for the metrics.
    pub tally: crate::metrics::tally::Tally,
    /// Connections still in the HTTP phase (request head or plain answer).
    pub in_handshake: usize,
    /// Output bytes queued for clients, in total and for the fullest one.
    pub queued_bytes: u64,
    /// See `queued_bytes`.
    pub queued_bytes_max: u64,
    /// Actions queued or running.
    pub actions_in_flight: usize,
    /// Client messages waiting behind a running action of the same client.
    pub deferred_messages: usize,
}

/// A published picture of the loop.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Per-client rows.
    pub clients: Vec<ClientRow>,
    /// Totals.
    pub status: Status,
}

/// Shared between the loop, the hook, the CLI and the action workers.
pub struct Shared {
    /// The event ring the hook appends to.
    pub log: Arc<EventLog>,
    /// Wakes the loop.
    pub waker: Arc<mio::Waker>,
    /// Set to stop the loop.
    pub stop: AtomicBool,
    commands: Mutex<Vec<Command>>,
    snapshot: Mutex<(u64, Snapshot)>,
    snapshot_ready: Condvar,
    requested: AtomicU64,
    /// Told (by the loop, once per wake-up) that the ring may have new events: the NATS
    /// publisher. Asterisk's threads never call it.
    tap: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl Shared {
    /// New shared state around a ring and a waker.
    pub fn new(log: Arc<EventLog>, waker: Arc<mio::Waker>) -> Self {
        Shared {
            log,
            waker,
            stop: AtomicBool::new(false),
            commands: Mutex::new(Vec::new()),
            snapshot: Mutex::new((0, Snapshot::default())),
            snapshot_ready: Condvar::new(),
            requested: AtomicU64::new(0),
            tap: Mutex::new(None),
        }
    }

    /// Sets (or clears) who is told about new events.
    pub fn set_tap(&self, tap: Option<Arc<dyn Fn() + Send + Sync>>) {
        *self.tap.lock().unwrap_or_else(|e| e.into_inner()) = tap;
    }

    /// Tells the tap, if any, that the ring may have new events (loop side).
    pub fn poke_tap(&self) {
        if let Some(tap) = self.tap.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            tap();
        }
    }

    /// Queues a command and wakes the loop.
    pub fn send(&self, cmd: Command) {
        self.commands.lock().unwrap_or_else(|e| e.into_inner()).push(cmd);
        let _ = self.waker.wake();
    }

    /// Takes every queued command (loop side).
    pub fn take_commands(&self) -> Vec<Command> {
        std::mem::take(&mut *self.commands.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Asks the loop for a fresh snapshot and waits up to `timeout` for it; falls back to the
    /// last one published.
    pub fn fresh_snapshot(&self, timeout: Duration) -> Snapshot {
        let want = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let _ = self.waker.wake();
        let guard = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .snapshot_ready
            .wait_timeout_while(guard, timeout, |(generation, _)| *generation < want)
            .unwrap_or_else(|e| e.into_inner());
        guard.1.clone()
    }

    /// Whether someone waits for a snapshot newer than the last published (loop side).
    pub fn snapshot_wanted(&self) -> Option<u64> {
        let want = self.requested.load(Ordering::Acquire);
        let have = self.snapshot.lock().unwrap_or_else(|e| e.into_inner()).0;
        (want > have).then_some(want)
    }

    /// Publishes a snapshot answering request `generation` (loop side).
    pub fn publish(&self, generation: u64, snap: Snapshot) {
        let mut g = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        *g = (generation.max(g.0), snap);
        self.snapshot_ready.notify_all();
    }

    /// The last snapshot, without waking the loop.
    pub fn last_snapshot(&self) -> Snapshot {
        self.snapshot.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }
}
