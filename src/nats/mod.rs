//! The optional NATS publisher (`[nats]` in ami_websocket.conf): every event, already encoded
//! once as JSON, published to `<prefix>.<system>.<category>.<Event>` by a thread of its own
//! that reads the event ring like one more client. A slow or unreachable server never holds
//! up Asterisk or the WebSocket clients: the publisher's cursor just falls behind, and what
//! the ring overwrote meanwhile is counted and announced as a `WsEventsLost` gap.

pub mod auth;
pub mod cli;
pub mod link;
pub mod nkey;
pub mod payload;
pub mod proto;
pub mod session;
pub mod settings;
pub mod subject;
pub mod window;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::events::ring::EventLog;
use crate::host::thread::RawThread;
use settings::NatsSettings;

/// The publisher's figures, for `ws show nats` and tests.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Connected and publishing.
    pub connected: bool,
    /// The server in use (or last tried), without credentials.
    pub server: String,
    /// Events handed to the connection.
    pub published: u64,
    /// Events confirmed: written to the socket, or acknowledged by JetStream.
    pub confirmed: u64,
    /// Events JetStream refused to store (no stream for the subject, or an error).
    pub rejected: u64,
    /// Events the ring overwrote before they could be published.
    pub lost: u64,
    /// Connection attempts that failed or connections that ended.
    pub reconnects: u64,
    /// Events sent and not yet confirmed.
    pub in_flight: u64,
    /// Next sequence number to publish.
    pub cursor: u64,
    /// Why the last connection ended or failed.
    pub last_error: String,
}

/// What the publisher thread shares with the module.
pub struct PubShared {
    /// Set to stop the thread.
    pub stop: AtomicBool,
    /// Wakes the thread (new events, or stop).
    pub waker: mio::Waker,
    /// The latest figures.
    pub stats: Mutex<Stats>,
    /// Where the thread stopped (for a successor after a reload).
    pub cursor: AtomicU64,
}

/// A running publisher.
pub struct Publisher {
    shared: Arc<PubShared>,
    log: Arc<EventLog>,
    thread: Option<RawThread>,
    settings: NatsSettings,
    system: String,
    instance: u64,
}

/// Where a new publisher starts: the instance (unique per module load, part of every message
/// id) and the next sequence number.
#[derive(Clone, Copy, Debug)]
pub struct Resume {
    /// Module-load instance.
    pub instance: u64,
    /// Next event to publish.
    pub cursor: u64,
}

/// The system name used in subjects and payloads: the setting, else Asterisk's `systemname`,
/// else the host name.
pub fn system_name(settings: &NatsSettings) -> String {
    if !settings.system_name.is_empty() {
        return settings.system_name.clone();
    }
    let asterisk = crate::host::core::system_name();
    if !asterisk.is_empty() {
        return asterisk;
    }
    crate::host::core::host_name()
}

/// The TLS client config when a `tls://` server is listed or a CA file is given.
fn tls_config(settings: &NatsSettings) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    if settings.servers.iter().any(|s| s.tls) || !settings.tls_ca_file.is_empty() {
        link::client_config(&settings.tls_ca_file).map(Some)
    } else {
        Ok(None)
    }
}

impl Publisher {
    /// Checks what a start would check (credential files, TLS CA file) without starting.
    pub fn check(settings: &NatsSettings) -> Result<(), String> {
        auth::Auth::from_settings(settings)?;
        tls_config(settings).map(|_| ())
    }

    /// Whether it publishes from `log`.
    pub fn uses(&self, log: &Arc<EventLog>) -> bool {
        Arc::ptr_eq(&self.log, log)
    }

    /// Checks the settings (files, TLS) and starts the thread. `resume` continues a previous
    /// publisher's stream; otherwise publishing starts with the next event raised.
    pub fn start(
        settings: &NatsSettings,
        log: Arc<EventLog>,
        resume: Option<Resume>,
    ) -> Result<Publisher, String> {
        let auth = auth::Auth::from_settings(settings)?;
        let tls = tls_config(settings)?;
        let system = system_name(settings);
        let resume = resume.unwrap_or_else(|| Resume {
            instance: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            cursor: log.next_seq(),
        });
        let poll = mio::Poll::new().map_err(|e| format!("nats: cannot create a poll: {e}"))?;
        let waker = mio::Waker::new(poll.registry(), session::WAKE)
            .map_err(|e| format!("nats: cannot create a waker: {e}"))?;
        let shared = Arc::new(PubShared {
            stop: AtomicBool::new(false),
            waker,
            stats: Mutex::new(Stats::default()),
            cursor: AtomicU64::new(resume.cursor),
        });
        let setup = session::Setup {
            settings: settings.clone(),
            auth,
            tls,
            system: system.clone(),
            resume,
        };
        let session = session::Session::new(setup, Arc::clone(&log), Arc::clone(&shared), poll);
        let thread = crate::host::thread::spawn("ami-ws-nats", move || session.run())?;
        crate::ast_notice!(
            "nats: publishing events as system '{system}' to {}",
            settings.servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        );
        Ok(Publisher {
            shared,
            log,
            thread: Some(thread),
            settings: settings.clone(),
            system,
            instance: resume.instance,
        })
    }

    /// Tells the thread there may be new events (called by the network loop once per wake-up,
    /// never by Asterisk's threads).
    pub fn notifier(&self) -> Arc<dyn Fn() + Send + Sync> {
        let shared = Arc::clone(&self.shared);
        Arc::new(move || {
            let _ = shared.waker.wake();
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &NatsSettings {
        &self.settings
    }

    /// The system name in use.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The latest figures.
    pub fn stats(&self) -> Stats {
        self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops the thread within `limit`; returns where a successor should resume. When the
    /// thread does not stop in time (a blocking name lookup of a `url` host), the publisher is
    /// handed back: the module must not be unmapped while it runs.
    pub fn stop(mut self, limit: Duration) -> Result<Resume, Box<Publisher>> {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
        let deadline = Instant::now() + limit;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !t.is_finished() {
                self.thread = Some(t);
                return Err(Box::new(self));
            }
            t.join();
        }
        Ok(Resume { instance: self.instance, cursor: self.shared.cursor.load(Ordering::Acquire) })
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shared.stop.store(true, Ordering::Release);
            let _ = self.shared.waker.wake();
        }
    }
}
