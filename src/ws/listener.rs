//! Starts the network loop thread and stops it within a deadline: the thread must be gone
//! before unload may return 0, or Asterisk would unmap code that still runs.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Poll, Waker};

use super::server::{Server, WAKER};
use super::shared::Shared;
use crate::actions::pool::ActionPool;
use crate::ami::accounts::ManagerConf;
use crate::events::ring::EventLog;
use crate::settings::Settings;

/// How long load waits for the network thread to report that it runs.
const START_LIMIT: Duration = Duration::from_secs(5);

/// The running loop thread and what is shared with it.
pub struct Listener {
    /// Shared with the hook, the CLI and the workers.
    pub shared: Arc<Shared>,
    thread: Option<crate::host::thread::RawThread>,
}

/// The TLS config the settings ask for (None when TLS is off), loaded from the PEM files.
pub fn tls_config(settings: &Settings) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if !settings.tls_enable {
        return Ok(None);
    }
    super::tls::server_config(&settings.tls_cert_file, &settings.tls_private_key).map(Some)
}

/// Binds a listening socket (on the caller's thread, so errors reach load/reload directly).
pub fn bind(settings: &Settings) -> Result<std::net::TcpListener, String> {
    let l = std::net::TcpListener::bind(settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    l.set_nonblocking(true).map_err(|e| format!("cannot make the listener non-blocking: {e}"))?;
    Ok(l)
}

impl Listener {
    /// Starts the loop on an already bound socket. `make_log` gets the loop's waker (the ring
    /// wakes the loop); `make_pool` runs on the loop thread (std may spawn there, see
    /// `host::thread`). Returns once the loop runs, or with the reason it could not start.
    pub fn start(
        listener: std::net::TcpListener,
        settings: Settings,
        tls: Option<Arc<rustls::ServerConfig>>,
        accounts: Arc<ManagerConf>,
        make_log: impl FnOnce(Arc<Waker>) -> Arc<EventLog>,
        make_pool: impl FnOnce(Box<dyn Fn() + Send + Sync>) -> std::io::Result<ActionPool>
        + Send
        + 'static,
    ) -> Result<Listener, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create a poll instance: {e}"))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|e| format!("cannot create a waker: {e}"))?,
        );
        let log = make_log(Arc::clone(&waker));
        let shared = Arc::new(Shared::new(log, Arc::clone(&waker)));
        let started: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
        let report = Arc::clone(&started);
        let loop_shared = Arc::clone(&shared);
        let body = move || {
            let notify_waker = Arc::clone(&loop_shared.waker);
            let server = make_pool(Box::new(move || {
                let _ = notify_waker.wake();
            }))
            .map_err(|e| format!("cannot start action threads: {e}"))
            .and_then(|pool| {
                let l = mio::net::TcpListener::from_std(listener);
                Server::new(poll, l, loop_shared, settings, tls, accounts, pool)
                    .map_err(|e| format!("cannot watch the listener: {e}"))
            });
            let server = match server {
                Ok(s) => {
                    *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(()));
                    s
                }
                Err(e) => {
                    *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(Err(e));
                    return;
                }
            };
            server.run();
        };
        let thread = crate::host::thread::spawn("ami-ws-loop", body)?;
        let deadline = Instant::now() + START_LIMIT;
        loop {
            // Polled, not waited on a channel: blocking std channels leave a thread-local
            // destructor on this (Asterisk's) thread.
            if let Some(result) = started.lock().unwrap_or_else(|e| e.into_inner()).take() {
                result?;
                break;
            }
            if thread.is_finished() || Instant::now() >= deadline {
                return Err("the network thread did not start".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Listener { shared, thread: Some(thread) })
    }

    /// Whether a stop was asked for (the loop may still be finishing).
    pub fn is_stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    /// After a stop: joins the thread if it has finished. True when nothing of ours runs.
    pub fn try_finish(&mut self) -> bool {
        match self.thread.take() {
            Some(t) if t.is_finished() => {
                t.join();
                true
            }
            Some(t) => {
                self.thread = Some(t);
                false
            }
            None => true,
        }
    }

    /// Stops the loop (clients get Close 1001) and joins it, waiting at most `limit`. On timeout
    /// the listener is handed back so the caller can keep it (and refuse to unload).
    pub fn shutdown(mut self, limit: Duration) -> Result<(), Listener> {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
        let deadline = Instant::now() + limit;
        let Some(thread) = self.thread.take() else { return Ok(()) };
        // Poll instead of a blocking join: this runs on Asterisk's thread, and a join that can
        // hang would hang the module loader.
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                self.thread = Some(thread);
                return Err(self);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join();
        Ok(())
    }
}
