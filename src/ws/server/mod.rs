//! The network loop: one mio thread owning the listener and every connection. It accepts,
//! reads request heads, upgrades, reads client messages, pumps events from the ring to each
//! client's cursor, routes action replies, and enforces every deadline and limit.
#![forbid(unsafe_code)]

mod accept;
mod compress;
mod flow;
mod forwarded;
mod housekeeping;
mod messages;
mod metrics;
mod pump;
mod revoke;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use tungstenite::Message;
use tungstenite::protocol::WebSocketConfig;

use super::client::{Client, Ctx, Outcome, Pending};
use super::conn::{Conn, Ended, Phase, WsConn, close_code_for};
use super::deflate::{self, Deflater, Inflater};
use super::http::{self, HeadError, MAX_HEAD};
use super::proxy;
use super::shared::{ClientRow, Command, Shared, Snapshot, Status};
use super::stream::{interrupted, would_block};
use super::tls::TlsStream;
use super::transport::Transport;
use super::upgrade::{Decision, OriginPolicy, decide};
use crate::actions::pool::{ActionPool, Done};
use crate::ami::accounts::ManagerConf;
use crate::ami::login::{LoginRateLimiter, RateLimitConfig};
use crate::ami::message::Message as AmiMessage;
use crate::settings::{Settings, SlowClientPolicy};

/// Token of the listening socket.
pub const LISTENER: Token = Token(0);
/// Token of the waker.
pub const WAKER: Token = Token(1);
/// Close code we use when a client lost events and the policy is to disconnect.
pub const CLOSE_EVENTS_LOST: u16 = 4001;
/// Close code for `ws kick`.
pub const CLOSE_KICKED: u16 = 4002;
/// Accept failures (EMFILE) are logged at most this often.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(60);
/// How long a peer has to read our Close and answer before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// The snapshot is published at least this often.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// Events read from the ring per batch.
const BATCH: usize = 512;
/// Bytes handed to one client per pump before giving others a turn.
const PUMP_BYTES: usize = 256 * 1024;
/// Messages read from one client per drive before giving others a turn.
const READ_BUDGET: usize = 64;
/// Pings and pongs a client may send per second (close 1008 above): flow control cannot pace
/// them, since tungstenite answers a ping as it reads it.
pub const CONTROL_FRAMES_PER_SECOND: u32 = 20;

/// Everything the loop owns.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    settings: Settings,
    tls: Option<Arc<rustls::ServerConfig>>,
    accounts: Arc<ManagerConf>,
    actions: ActionPool,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    next_id: u64,
    per_ip: HashMap<IpAddr, usize>,
    unauthenticated: usize,
    accept_paused_until: Option<Instant>,
    /// When the last accept failure was logged (they are logged at most once a minute).
    accept_warned: Option<Instant>,
    status: Status,
    limiter: LoginRateLimiter,
    recent: super::recent::RecentEvents,
    rates: super::rates::Rates,
    online: HashMap<String, usize>,
    /// Some client stopped at its fair share with events left: poll without waiting.
    more_work: bool,
    /// The ring's oldest sequence number at the start of this loop pass.
    ring_first: u64,
    /// permessage-deflate: one compressor for events (each compressed once per encoding).
    deflater: Deflater,
    /// When the snapshot was last published.
    published: Instant,
    /// One inflater shared by every compressing client (reset per message).
    inflater: Arc<std::sync::Mutex<Inflater>>,
    /// Connections whose read budget ran out: driven again next pass without a readiness event.
    again: Vec<Token>,
    /// Clients (ids) whose next action waits for room on the action threads, oldest first.
    pool_waiters: VecDeque<u64>,
}

impl Server {
    /// A loop around a bound listener; `poll` already has the waker registered.
    pub fn new(
        poll: Poll,
        mut listener: TcpListener,
        shared: Arc<Shared>,
        settings: Settings,
        tls: Option<Arc<rustls::ServerConfig>>,
        accounts: Arc<ManagerConf>,
        actions: ActionPool,
    ) -> io::Result<Self> {
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let listening = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        Ok(Server {
            poll,
            listener,
            shared,
            settings,
            tls,
            accounts,
            actions,
            conns: HashMap::new(),
            next_token: 2,
            next_id: 1,
            per_ip: HashMap::new(),
            unauthenticated: 0,
            accept_paused_until: None,
            accept_warned: None,
            status: Status { listening, ..Status::default() },
            limiter: LoginRateLimiter::new(RateLimitConfig::default()),
            recent: Default::default(),
            rates: super::rates::Rates::new(Instant::now()),
            online: HashMap::new(),
            more_work: false,
            ring_first: 0,
            deflater: Deflater::default(),
            published: Instant::now(),
            inflater: Arc::default(),
            again: Vec::new(),
            pool_waiters: VecDeque::new(),
        })
    }

    /// Runs until the stop flag is set, then closes every client with 1001.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            let timeout = self.next_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if !interrupted(&e) {
                    crate::ast_error!("ws loop: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
            // Re-arm the ring's wake before draining it: the ring wakes the loop only once until
            // this is taken, so without it events would wait for the next poll timeout.
            self.shared.log.take_wake();
            self.ring_first = self.shared.log.first_seq();
            self.more_work = false;
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.shared.poke_tap(),
                    t => self.on_ready(t),
                }
            }
            self.drive_again();
            if self.accept_paused_until.is_some_and(|t| Instant::now() >= t) {
                // The backlog gives no new readiness edge: retry on the timer.
                self.accept_all();
            }
            self.run_commands();
            self.route_replies();
            self.pump_all();
            self.check_deadlines();
            if let Some(generation) = self.shared.snapshot_wanted() {
                self.shared.publish(generation, self.snapshot());
                self.published = Instant::now();
            } else if self.published.elapsed() >= PUBLISH_EVERY {
                // Kept fresh for readers that must not wake the loop (res_prometheus scrapes).
                self.shared.publish(0, self.snapshot());
                self.published = Instant::now();
            }
        }
        self.close_all(1001, "server shutting down");
        self.actions.shutdown();
    }

    pub(super) fn next_timeout(&self) -> Duration {
        // Deadlines are checked at least every 250 ms; precise enough for second-scale limits.
        if self.more_work {
            Duration::ZERO
        } else if self.accept_paused_until.is_some() {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(250)
        }
    }

    pub(super) fn ws_config(&self) -> WebSocketConfig {
        super::conn::ws_config(&self.settings)
    }

    pub(super) fn on_ready(&mut self, token: Token) {
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let Some(ended) = crate::guard::catch(|| self.drive(&mut conn)) else {
            self.end_after_panic(conn);
            return;
        };
        if ended == Ended::Yes || matches!(conn.phase, Phase::Done) {
            self.forget(conn);
        } else {
            self.sync_interest(token, &mut conn);
            self.conns.insert(token, conn);
        }
    }

    /// A bug panicked while handling this connection: it alone ends, with close 1011.
    pub(super) fn end_after_panic(&mut self, mut conn: Conn) {
        crate::ast_error!("ws: client {} ({}) closed after an internal error", conn.id, conn.peer);
        if let Phase::Ws(w) = &mut conn.phase {
            w.abort_with(1011, "internal error");
        }
        self.forget(conn);
    }

    /// Advances one connection as far as its socket allows.
    pub(super) fn drive(&mut self, conn: &mut Conn) -> Ended {
        match &mut conn.phase {
            Phase::Head(_) if conn.proxy_pending => match self.drive_proxy(conn) {
                Ended::No if !conn.proxy_pending => self.drive_head(conn),
                ended => ended,
            },
            Phase::Head(_) => self.drive_head(conn),
            Phase::Answer { .. } => conn.write_answer(),
            Phase::Ws(_) => self.drive_ws(conn),
            Phase::Done => Ended::Yes,
        }
    }
}

/// Counts one item in a one-second window; true when the count goes over `limit`.
fn window_exceeded(window: &mut (u32, Instant), now: Instant, limit: u32) -> bool {
    if now.duration_since(window.1) >= Duration::from_secs(1) {
        *window = (0, now);
    }
    window.0 += 1;
    window.0 > limit
}
