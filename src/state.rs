//! The one owner of everything a load builds: load builds it step by step, unload shuts it
//! down within a deadline (or refuses), reload swaps in new settings and accounts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ami::accounts::ManagerConf;
use crate::ami::users_conf;
use crate::events::ring::EventLog;
use crate::host;
use crate::nats::{Publisher, Resume};
use crate::rawconf::{Loaded, RawConfig};
use crate::settings::{CONFIG_FILE, Settings};
use crate::ws::listener::{self, Listener};
use crate::ws::shared::{Command, Shared};
use crate::{MODULE_NAME, ast_notice, ast_warning};

pub const MANAGER_CONF: &str = "manager.conf";
/// How long unload waits for our threads before refusing.
const UNLOAD_LIMIT: Duration = Duration::from_secs(10);

/// Everything a load owns, in teardown order (Rust drops fields in declaration order; unload
/// also tears down explicitly in this order).
struct ModuleState {
    nats: Option<Publisher>,
    listener: Option<Listener>,
    hook: Option<host::manager::EventHook>,
    cli: Option<host::cli::CliRegistration>,
    settings: Settings,
}

/// std's Mutex (not parking_lot): load/unload/reload and the CLI run on Asterisk's threads, and
/// parking_lot would leave a thread-local destructor on them when contended.
static STATE: Mutex<Option<ModuleState>> = Mutex::new(None);

/// Errors that stop a load or a reload; shown in the log.
pub type Error = String;

fn state() -> std::sync::MutexGuard<'static, Option<ModuleState>> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running loop's shared state, for the CLI.
pub fn shared() -> Option<Arc<Shared>> {
    state().as_ref()?.listener.as_ref().map(|l| Arc::clone(&l.shared))
}

/// Reads `ami_websocket.conf`: defaults (with a notice) when missing, an error when invalid.
fn read_settings() -> Result<Settings, Error> {
    match host::config::load(CONFIG_FILE, MODULE_NAME) {
        Loaded::Missing => {
            ast_notice!("{CONFIG_FILE} not found; using defaults");
            Ok(Settings::default())
        }
        Loaded::Invalid => Err(format!("{CONFIG_FILE} has a syntax error")),
        Loaded::File(raw) => Settings::from_raw(&raw).map_err(|e| format!("{CONFIG_FILE}: {e}")),
    }
}

/// Reads manager.conf's accounts: no file means no accounts (nobody can log in). Users with
/// `acl =` lines get the core's check of their named ACLs (built afresh on every reload, so a
/// changed manager.conf or acl.conf, after `module reload acl`, takes effect). Problems are
/// logged as warnings, as manager.c logs them.
fn read_accounts() -> Result<Arc<ManagerConf>, Error> {
    let mut conf = match host::config::load(MANAGER_CONF, MODULE_NAME) {
        Loaded::Missing => {
            ast_warning!("{MANAGER_CONF} not found: no account can log in");
            ManagerConf::from_raw(&Default::default())?
        }
        Loaded::Invalid => return Err(format!("{MANAGER_CONF} has a syntax error")),
        Loaded::File(raw) => {
            let users = read_users_conf();
            ManagerConf::from_files(&raw, users.as_ref())
                .map_err(|e| format!("{MANAGER_CONF}: {e}"))?
        }
    };
    let named = host::acl::attach_named_acls(&mut conf);
    for w in conf.warnings.iter().chain(&named) {
        ast_warning!("{MODULE_NAME}: {MANAGER_CONF}: {w}");
    }
    Ok(Arc::new(conf))
}

/// users.conf, when the running core's manager reads its manager users too (Asterisk 20 and
/// 22; 23 does not). Missing or unreadable: none, as manager.c skips it then.
fn read_users_conf() -> Option<RawConfig> {
    let (major, _) =
        crate::compat::running_major(&host::core::version(), &host::core::version_num())?;
    if !users_conf::read_by_major(major) {
        return None;
    }
    match host::config::load(users_conf::FILE, MODULE_NAME) {
        Loaded::File(raw) => Some(raw),
        Loaded::Missing => None,
        Loaded::Invalid => {
            ast_warning!(
                "{MODULE_NAME}: {} has a syntax error: its manager users are not read (Asterisk's \
                 manager skips it too)",
                users_conf::FILE
            );
            None
        }
    }
}

fn start_listener(settings: &Settings, accounts: Arc<ManagerConf>) -> Result<Listener, Error> {
    let tls = listener::tls_config(settings)?;
    let socket = listener::bind(settings)?;
    let ring_size = settings.ring_size;
    let s = settings.clone();
    let l = Listener::start(
        socket,
        settings.clone(),
        tls,
        accounts,
        |waker| {
            EventLog::new(
                ring_size,
                Box::new(move || {
                    let _ = waker.wake();
                }),
            )
        },
        move |notify| crate::actions::start_pool(&s, notify),
    )?;
    let scheme = if settings.tls_enable { "wss" } else { "ws" };
    ast_notice!("{MODULE_NAME}: listening on {scheme}://{}/ami", settings.bind);
    Ok(l)
}

/// Starts the NATS publisher when `[nats] enabled = yes`, on the listener's event ring, and
/// has the network loop wake it for new events.
fn start_publisher(
    settings: &Settings,
    listener: Option<&Listener>,
    resume: Option<Resume>,
) -> Result<Option<Publisher>, Error> {
    if !settings.nats.enabled {
        return Ok(None);
    }
    let Some(l) = listener else {
        return Err("[nats] enabled = yes needs the event ring of the listener: set \
                    [general] enabled = yes"
            .into());
    };
    let p = Publisher::start(&settings.nats, Arc::clone(&l.shared.log), resume)?;
    l.shared.set_tap(Some(p.notifier()));
    Ok(Some(p))
}

/// The running publisher's figures, for the CLI.
pub fn nats_stats() -> Option<(crate::nats::Stats, String)> {
    let guard = state();
    let p = guard.as_ref()?.nats.as_ref()?;
    Some((p.stats(), p.system().to_string()))
}

/// Applies new `[nats]` settings on reload: an unchanged section keeps the publisher running;
/// a changed one is checked first (a bad one keeps the old publisher), then the old publisher
/// stops and the new one continues its stream where it stopped.
fn reload_publisher(s: &mut ModuleState, new: &Settings) -> Result<(), Error> {
    let ring = s.listener.as_ref().map(|l| Arc::clone(&l.shared.log));
    let same_ring = matches!((&s.nats, &ring), (Some(p), Some(r)) if p.uses(r));
    let unchanged = s.nats.as_ref().is_some_and(|p| *p.settings() == new.nats);
    if same_ring && unchanged && new.nats.enabled {
        return Ok(());
    }
    if new.nats.enabled {
        Publisher::check(&new.nats)?;
    }
    let mut resume = None;
    if let Some(p) = s.nats.take() {
        if let Some(l) = &s.listener {
            l.shared.set_tap(None);
        }
        match p.stop(UNLOAD_LIMIT) {
            Ok(r) => resume = same_ring.then_some(r),
            Err(p) => {
                s.nats = Some(*p);
                return Err("the NATS publisher did not stop in time; old one kept".into());
            }
        }
    }
    s.nats = start_publisher(new, s.listener.as_ref(), resume)?;
    Ok(())
}

pub(crate) fn load() -> Result<(), Error> {
    crate::guard::install_panic_hook();
    let line = crate::compat::check(&host::core::version(), &host::core::version_num())?;
    ast_notice!("{MODULE_NAME} {line}");
    let settings = read_settings()?;
    let accounts = read_accounts()?;
    if !host::manager::manager_enabled() {
        ast_warning!(
            "AMI is disabled (manager.conf [general] enabled = no): Asterisk then sends almost no \
             events to {MODULE_NAME}. Set enabled = yes (bindaddr = 127.0.0.1 keeps TCP AMI local)."
        );
    }
    // Built step by step; on failure, what was built is dropped (torn down) by `?`.
    let listener = if settings.enabled { Some(start_listener(&settings, accounts)?) } else { None };
    let mut built = ModuleState { nats: None, listener, hook: None, cli: None, settings };
    match start_publisher(&built.settings, built.listener.as_ref(), None) {
        Ok(p) => built.nats = p,
        Err(e) => {
            let _ = teardown(built);
            return Err(e);
        }
    }
    if let Some(l) = &built.listener {
        let sink: Arc<dyn host::manager::EventSink> = l.shared.log.clone();
        match host::manager::EventHook::register(sink) {
            Ok(h) => built.hook = Some(h),
            Err(e) => {
                let _ = teardown(built);
                return Err(e.to_string());
            }
        }
    }
    match host::cli::CliRegistration::register(crate::ws::cli::COMMANDS) {
        Ok(c) => built.cli = Some(c),
        Err(e) => {
            let _ = teardown(built);
            return Err(e.to_string());
        }
    }
    #[cfg(feature = "unsafe-test-forward-getvar")]
    {
        // Test-only build: proves the stand-in core aborts like Asterisk when Getvar reaches
        // the hook. Never enable this feature for a PBX.
        let _ = host::manager::send_action_text(0, "Action: Getvar\r\nVariable: EPOCH\r\n\r\n");
    }
    *state() = Some(built);
    register_metrics();
    Ok(())
}

/// Our metrics for res_prometheus's callback: the last published snapshot (at most a second
/// old; the callback must not wait for the loop) and the ring's counters.
fn metrics_text() -> Option<String> {
    let shared = shared()?;
    let log = &shared.log;
    let ring = crate::metrics::render::Ring {
        events_in: log.next_seq().saturating_sub(1),
        len: log.len(),
        capacity: log.capacity(),
    };
    Some(crate::metrics::render::render(&shared.last_snapshot().status, ring))
}

/// Registers with res_prometheus when it is loaded (at load, and at reload if it was loaded
/// later). Never called with the state lock held: res_prometheus holds its scrape lock while
/// our callback takes that lock.
fn register_metrics() {
    if !host::prometheus::registered() && host::prometheus::register(metrics_text) {
        ast_notice!("{MODULE_NAME}: metrics registered with res_prometheus");
    }
}

/// Stops the listener first (bounded); only then unregisters the hook and the CLI. On timeout
/// everything is handed back.
fn teardown(mut s: ModuleState) -> Result<(), Box<ModuleState>> {
    if let Some(p) = s.nats.take() {
        if let Err(p) = p.stop(UNLOAD_LIMIT) {
            s.nats = Some(*p);
            return Err(Box::new(s));
        }
    }
    if let Some(l) = s.listener.take() {
        if let Err(l) = l.shutdown(UNLOAD_LIMIT) {
            s.listener = Some(l);
            return Err(Box::new(s));
        }
    }
    drop(s.hook.take());
    drop(s.cli.take());
    Ok(())
}

pub(crate) fn unload() -> Result<(), Error> {
    if crate::actions::on_action_thread() {
        return Err("cannot unload from one of the module's own action threads".into());
    }
    // Take the state out and release the lock before tearing down: unregistering the CLI waits
    // for running handlers, and a handler may be waiting for this lock.
    let Some(s) = state().take() else {
        host::prometheus::unregister();
        return Ok(());
    };
    match teardown(s) {
        Ok(()) => {
            // Process-wide allocations of this image, freed before Asterisk unmaps it (they
            // would leak on every unload/load cycle otherwise; tests/valgrind_module.rs).
            crate::actions::privileges::clear();
            crate::guard::remove_panic_hook();
            host::prometheus::unregister();
            Ok(())
        }
        Err(s) => {
            *state() = Some(*s);
            Err(format!(
                "an action is still running after {} s; the WebSocket listener has stopped. \
                 Run 'module unload' again when it ends, or 'module reload' to listen again",
                UNLOAD_LIMIT.as_secs()
            ))
        }
    }
}

pub(crate) fn reload() -> Result<(), Error> {
    let result = reload_config();
    register_metrics();
    result
}

fn reload_config() -> Result<(), Error> {
    let settings = read_settings()?;
    let accounts = read_accounts()?;
    let mut guard = state();
    let Some(s) = guard.as_mut() else { return Err("not loaded".into()) };
    if s.listener.as_ref().is_some_and(Listener::is_stopping) {
        // A refused unload left the listener stopping: finish that first, then start afresh.
        if !s.listener.as_mut().is_some_and(Listener::try_finish) {
            return Err("the listener is still stopping (a refused unload waits for a running \
                        action); try again when it ends"
                .into());
        }
        s.listener = None;
        drop(s.hook.take());
    }
    match (&s.listener, settings.enabled) {
        (Some(l), true) => {
            let tls = listener::tls_config(&settings)?;
            let rebind = if settings.bind != s.settings.bind {
                Some(listener::bind(&settings)?)
            } else {
                None
            };
            if settings.ring_size != s.settings.ring_size
                || settings.action_threads != s.settings.action_threads
            {
                ast_notice!("ring_size and action_threads take effect at the next module load");
            }
            l.shared.send(Command::Accounts(accounts));
            l.shared.send(Command::Settings(Box::new(settings.clone()), tls, rebind));
        }
        (Some(_), false) if crate::actions::on_action_thread() => {
            return Err("cannot stop the listener from one of its own action threads; \
                        use the CLI (module reload) instead"
                .into());
        }
        (Some(_), false) => {
            drop(s.hook.take());
            if let Some(l) = s.listener.take() {
                if let Err(l) = l.shutdown(UNLOAD_LIMIT) {
                    s.listener = Some(l);
                    return Err("listener did not stop in time".into());
                }
            }
            ast_notice!("{MODULE_NAME}: disabled; listener stopped");
        }
        (None, true) => {
            let l = start_listener(&settings, accounts)?;
            let sink: Arc<dyn host::manager::EventSink> = l.shared.log.clone();
            s.hook = Some(host::manager::EventHook::register(sink)?);
            s.listener = Some(l);
        }
        (None, false) => {}
    }
    reload_publisher(s, &settings)?;
    s.settings = settings;
    Ok(())
}
