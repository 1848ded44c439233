//! Starts the network loop thread and stops it within a deadline: the thread must be gone
//! before unload may return 0, or Asterisk would unmap code that still runs.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Poll, Waker};

use super::server::{Server, WAKER};
use super::shared::Shared;
use crate::actions::pool::ActionPool;
use crate::ami::accounts::ManagerConf;
use crate::events::ring::EventLog;
use crate::settings::Settings;

/// The running loop thread and what is shared with it.
pub struct Listener {
    /// Shared with the hook, the CLI and the workers.
    pub shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Binds a listening socket (on the caller's thread, so errors reach load/reload directly).
pub fn bind(settings: &Settings) -> Result<std::net::TcpListener, String> {
    let l = std::net::TcpListener::bind(settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    l.set_nonblocking(true).map_err(|e| format!("cannot make the listener non-blocking: {e}"))?;
    Ok(l)
}

impl Listener {
    /// Starts the loop on an already bound socket. The returned waker belongs in the ring.
    pub fn start(
        listener: std::net::TcpListener,
        settings: Settings,
        accounts: Arc<ManagerConf>,
        make_log: impl FnOnce(Arc<Waker>) -> Arc<EventLog>,
        make_pool: impl FnOnce(Box<dyn Fn() + Send + Sync>) -> std::io::Result<ActionPool>,
    ) -> Result<Listener, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create a poll instance: {e}"))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|e| format!("cannot create a waker: {e}"))?,
        );
        let log = make_log(Arc::clone(&waker));
        let shared = Arc::new(Shared::new(log, Arc::clone(&waker)));
        let notify_waker = Arc::clone(&waker);
        let pool = make_pool(Box::new(move || {
            let _ = notify_waker.wake();
        }))
        .map_err(|e| format!("cannot start action threads: {e}"))?;
        let server = Server::new(
            poll,
            mio::net::TcpListener::from_std(listener),
            Arc::clone(&shared),
            settings,
            accounts,
            pool,
        )
        .map_err(|e| format!("cannot watch the listener: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("ami-ws-loop".into())
            .spawn(move || crate::guard::thread_guard("ami-ws-loop", || server.run()))
            .map_err(|e| format!("cannot start the network thread: {e}"))?;
        Ok(Listener { shared, thread: Some(thread) })
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
        let _ = thread.join();
        Ok(())
    }
}
