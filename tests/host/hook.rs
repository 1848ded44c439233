//! The manager hooks, as main/manager.c: registered `manager_custom_hook`s in a list under a
//! read/write lock, events delivered synchronously to every hook on the raising thread while
//! the list is read-locked, and `ast_hook_send_action` running an action on the caller's thread.

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, RwLock};

use crate::amimsg::{self, Message};
use crate::ffi::{self, Ptr, sys};
use crate::logger::{ERROR, WARNING};
use crate::{actions, slog};

/// EVENT_FLAG_SYSTEM
pub const SYSTEM: i32 = 1 << 0;
/// EVENT_FLAG_CALL
pub const CALL: i32 = 1 << 1;
/// EVENT_FLAG_AGENT
pub const AGENT: i32 = 1 << 5;
/// EVENT_FLAG_USER
pub const USER: i32 = 1 << 6;
/// EVENT_FLAG_DIALPLAN
pub const DIALPLAN: i32 = 1 << 11;
/// EVENT_FLAG_HOOKRESPONSE
pub const HOOKRESPONSE: i32 = 1 << 14;

/// `manager_hooks`
static HOOKS: RwLock<Vec<Ptr<sys::manager_custom_hook>>> = RwLock::new(Vec::new());

/// manager.conf `[general] enabled`: without it the manager subscribes to no event sources.
pub static ENABLED: AtomicBool = AtomicBool::new(false);
/// manager.conf `[general] timestampevents`
pub static TIMESTAMPS: AtomicBool = AtomicBool::new(false);

/// The "stasis" thread that delivers asynchronous core events (loader events, ...).
static STASIS: Mutex<Option<Sender<(i32, String, String)>>> = Mutex::new(None);

thread_local! {
    /// While this thread is inside hook helpers with the list read-locked: the list it holds.
    /// (glibc lets a thread take the read lock again; std's lock may not, so nested deliveries
    /// on this thread reuse the outer frame's view instead of locking twice.)
    static HELD: Cell<*const Vec<Ptr<sys::manager_custom_hook>>> =
        const { Cell::new(std::ptr::null()) };
    /// Set by ast_thread_inhibit_escalations.
    static INHIBITED: Cell<bool> = const { Cell::new(false) };
}

/// Logs a crash message, flushes, and aborts the process (what Asterisk would do, less kindly).
pub fn crash(what: &str) -> ! {
    slog!(ERROR, "standin: CRASH: {what}");
    std::process::abort()
}

/// The `Timestamp:` header value: seconds and microseconds since the epoch.
pub fn timestamp() -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", now.as_secs(), now.subsec_micros())
}

/// The full text of an event: `Event`, `Privilege`, optional `Timestamp`, `fields` (each line
/// ending in CRLF), and the final blank line.
pub fn event_text(category: i32, name: &str, fields: &str) -> String {
    let mut text =
        format!("Event: {name}\r\nPrivilege: {}\r\n", amimsg::authority_to_str(category));
    if TIMESTAMPS.load(Ordering::Relaxed) {
        text.push_str(&format!("Timestamp: {}\r\n", timestamp()));
    }
    text.push_str(fields);
    text.push_str("\r\n");
    text
}

/// Delivers finished event text to every registered hook, on this thread, under the read lock.
pub fn deliver(category: i32, name: &str, text: &str) {
    let c_name = CString::new(name).unwrap_or_default();
    let mut body = text.as_bytes().iter().copied().filter(|b| *b != 0).collect::<Vec<u8>>();
    body.push(0);
    let held = HELD.with(Cell::get);
    if !held.is_null() {
        // SAFETY: set by an outer `deliver` frame on this thread that still holds the read lock
        // and keeps the Vec alive until it returns.
        let hooks = unsafe { &*held };
        call_helpers(hooks, category, &c_name, &mut body);
        return;
    }
    let guard = HOOKS.read().unwrap_or_else(|e| e.into_inner());
    if guard.is_empty() {
        return;
    }
    let hooks: Vec<Ptr<sys::manager_custom_hook>> = guard.clone();
    HELD.with(|c| c.set(&hooks));
    call_helpers(&hooks, category, &c_name, &mut body);
    HELD.with(|c| c.set(std::ptr::null()));
    drop(guard);
}

fn in_helpers() -> bool {
    !HELD.with(Cell::get).is_null()
}

fn call_helpers(
    hooks: &[Ptr<sys::manager_custom_hook>],
    category: i32,
    name: &CStr,
    body: &mut [u8],
) {
    for h in hooks {
        // SAFETY: registered hooks stay valid until unregistered, which needs the write lock we
        // exclude by holding the read lock; the helper is read from the hook as Asterisk does.
        if let Some(helper) = unsafe { (*h.0).helper } {
            let started = std::time::Instant::now();
            // SAFETY: helper contract: category, NUL-terminated name and writable body.
            unsafe { helper(category, name.as_ptr(), body.as_mut_ptr().cast::<c_char>()) };
            crate::hookstats::record(started.elapsed());
        }
    }
}

/// `manager_event`: raises an event now, on this thread (as UserEvent from an action does).
pub fn manager_event(category: i32, name: &str, fields: &str) {
    deliver(category, name, &event_text(category, name, fields));
}

/// An event that reaches the manager through the event bus: only when AMI is enabled (the
/// manager subscribes to the bus only then), raised on this thread.
pub fn bus_event(category: i32, name: &str, fields: &str) {
    if ENABLED.load(Ordering::Relaxed) {
        manager_event(category, name, fields);
    }
}

/// Starts the stasis thread (persistent, like Asterisk's; events it raises are asynchronous).
pub fn start_stasis() {
    let (tx, rx) = channel::<(i32, String, String)>();
    let spawned = std::thread::Builder::new().name("stasis".into()).spawn(move || {
        for (category, name, fields) in rx {
            bus_event(category, &name, &fields);
        }
    });
    if spawned.is_ok() {
        *STASIS.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}

/// Queues an event for the stasis thread.
pub fn post(category: i32, name: &str, fields: String) {
    if let Some(tx) = STASIS.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        let _ = tx.send((category, name.to_string(), fields));
    }
}

/// The loader's Load / Unload / Reload events.
pub fn post_loader_event(kind: &str, module: &str, status: &str) {
    post(SYSTEM, kind, format!("Module: {module}\r\nStatus: {status}\r\n"));
}

/// `ast_manager_register_hook`: appends to the list. The same struct twice corrupts Asterisk's
/// intrusive list (a loop or a lost hook), so the stand-in aborts.
///
/// # Safety
/// `hook` points at a hook that stays valid until unregistered.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_manager_register_hook(hook: *mut sys::manager_custom_hook) {
    if in_helpers() {
        crash("ast_manager_register_hook called from inside a hook helper deadlocks Asterisk");
    }
    let mut hooks = HOOKS.write().unwrap_or_else(|e| e.into_inner());
    if hooks.iter().any(|h| h.0 == hook) {
        drop(hooks);
        crash("the same manager_custom_hook registered twice corrupts Asterisk's hook list");
    }
    hooks.push(Ptr(hook));
}

/// `ast_manager_unregister_hook`: removes it (an unknown hook is ignored, as in Asterisk).
///
/// # Safety
/// `hook` is any pointer; it is only compared.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_manager_unregister_hook(hook: *mut sys::manager_custom_hook) {
    if in_helpers() {
        crash("ast_manager_unregister_hook called from inside a hook helper deadlocks Asterisk");
    }
    HOOKS.write().unwrap_or_else(|e| e.into_inner()).retain(|h| h.0 != hook);
}

/// `ast_manager_check_enabled`
#[unsafe(no_mangle)]
pub extern "C" fn standin_manager_check_enabled() -> c_int {
    c_int::from(ENABLED.load(Ordering::Relaxed))
}

/// `ast_hook_send_action`: parses the text as Asterisk does and runs the action on this thread,
/// responses going to `hook->helper` piece by piece. No permission check of any kind.
///
/// # Safety
/// `hook` is NULL or a valid hook; `msg` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_hook_send_action(
    hook: *mut sys::manager_custom_hook,
    msg: *const c_char,
) -> c_int {
    if hook.is_null() || msg.is_null() {
        return -1;
    }
    if in_helpers() {
        slog!(
            WARNING,
            "standin: ast_hook_send_action called from inside a hook helper: the action runs on \
             the thread that raised the event, blocking it"
        );
    }
    // SAFETY: msg is a NUL-terminated string per the contract.
    let bytes = unsafe { std::ffi::CStr::from_ptr(msg) }.to_bytes();
    let m: Message = amimsg::parse(bytes);
    let text = String::from_utf8_lossy(bytes).into_owned();
    crate::world::with(|w| w.sent_actions.push((text, m.headers.len())));
    actions::dispatch(Ptr(hook), &m)
}

/// `ast_get_version`
#[unsafe(no_mangle)]
pub extern "C" fn standin_get_version() -> *const c_char {
    crate::version_cstr().as_ptr()
}

/// `ast_thread_inhibit_escalations`: marks this thread (a const thread-local, no destructor).
#[unsafe(no_mangle)]
pub extern "C" fn standin_thread_inhibit_escalations() -> c_int {
    if !INHIBITED.with(|c| c.replace(true)) {
        slog!(crate::logger::DEBUG, "standin: thread {} inhibited escalations", ffi::tid());
    }
    0
}

/// Whether the calling thread called `ast_thread_inhibit_escalations`.
pub fn escalations_inhibited() -> bool {
    INHIBITED.with(|c| c.get())
}

/// Sends one response piece to a hook's helper (`send_string` for a hook session).
pub fn send_piece(hook: Ptr<sys::manager_custom_hook>, text: &str) {
    let mut body: Vec<u8> = text.bytes().filter(|b| *b != 0).collect();
    body.push(0);
    // SAFETY: the hook passed to ast_hook_send_action is valid for the call (caller's contract).
    if let Some(helper) = unsafe { (*hook.0).helper } {
        // SAFETY: helper contract as for events; the name is a static C string.
        unsafe { helper(HOOKRESPONSE, c"HookResponse".as_ptr(), body.as_mut_ptr().cast()) };
    }
}

/// How many hooks are registered (for `standin show hooks`).
pub fn count() -> usize {
    HOOKS.read().unwrap_or_else(|e| e.into_inner()).len()
}

/// Text for logs: `ffi::text` of a hook's file field.
pub fn describe() -> Vec<String> {
    let hooks = HOOKS.read().unwrap_or_else(|e| e.into_inner());
    // SAFETY: registered hooks are valid; file is NULL or a string the hook's owner keeps.
    hooks.iter().map(|h| unsafe { ffi::text((*h.0).file) }).collect()
}
