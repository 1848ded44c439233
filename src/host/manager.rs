//! The manager hook: events in (on Asterisk's threads), actions out (on our action threads).
//!
//! The event helper runs on whichever Asterisk thread raised the event, with the hook list
//! read-locked. It only hands the bytes to the registered [`EventSink`]; the sink must copy and
//! return without blocking. Nothing here leaves thread-local destructors on Asterisk's threads:
//! the only thread-local is a const-initialised `Cell` of a raw pointer.

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::sys;

/// Receives every manager event, on the thread that raised it.
pub trait EventSink: Send + Sync {
    /// `category` is the EVENT_FLAG_* set, `name` the event name, `body` the full AMI text;
    /// `origin` is the connection whose action runs on this thread right now (0: none).
    fn event(&self, origin: u64, category: i32, name: &[u8], body: &[u8]);
}

/// The one registered sink; the helper has no context argument, so it lives in a static.
static SINK: AtomicPtr<Arc<dyn EventSink>> = AtomicPtr::new(std::ptr::null_mut());

/// Identifier Asterisk stores in the hook (`file`); also shown by nothing else.
const HOOK_FILE: &CStr = c"res_ami_websocket";

/// The event hook while it is registered; unregisters on drop.
pub struct EventHook {
    hook: Box<sys::manager_custom_hook>,
}

/// Whether AMI is enabled in manager.conf; without it hooks get almost no events.
pub fn manager_enabled() -> bool {
    // SAFETY: no arguments; reads a core flag.
    unsafe { sys::ast_manager_check_enabled() != 0 }
}

unsafe extern "C" fn event_helper(
    category: c_int,
    event: *const c_char,
    body: *mut c_char,
) -> c_int {
    crate::guard::ffi_guard(0, || {
        let sink = SINK.load(Ordering::Acquire);
        if sink.is_null() || body.is_null() {
            return 0;
        }
        let name = if event.is_null() {
            &[][..]
        } else {
            // SAFETY: the core passes NUL-terminated strings valid for this call.
            unsafe { CStr::from_ptr(event) }.to_bytes()
        };
        // SAFETY: as above; body is non-NULL.
        let body = unsafe { CStr::from_ptr(body) }.to_bytes();
        // SAFETY: SINK is set before registration and freed only after unregistration, and the
        // core does not call a hook after ast_manager_unregister_hook returns (write lock).
        let sink = unsafe { &*sink };
        sink.event(ORIGIN.with(Cell::get), category, name, body);
        0
    })
}

// SAFETY: the hook struct is only read by the core under its hook-list lock and unregistered by
// Drop; its pointers are a static string and a function.
unsafe impl Send for EventHook {}

impl EventHook {
    /// Registers the event hook, feeding `sink`. Only one may exist at a time.
    pub fn register(sink: Arc<dyn EventSink>) -> Result<Self, &'static str> {
        let boxed = Box::into_raw(Box::new(sink));
        if SINK
            .compare_exchange(std::ptr::null_mut(), boxed, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: boxed came from Box::into_raw just above and was never shared.
            drop(unsafe { Box::from_raw(boxed) });
            return Err("the manager hook is already registered");
        }
        let mut hook = Box::new(sys::manager_custom_hook {
            file: HOOK_FILE.as_ptr().cast_mut(),
            helper: Some(event_helper),
            ..Default::default()
        });
        // SAFETY: the hook lives in a Box at a fixed address until Drop unregisters it, and it is
        // registered exactly once.
        unsafe { sys::ast_manager_register_hook(&mut *hook) };
        Ok(EventHook { hook })
    }
}

impl Drop for EventHook {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; after this returns the core calls the helper no more.
        unsafe { sys::ast_manager_unregister_hook(&mut *self.hook) };
        let sink = SINK.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !sink.is_null() {
            // SAFETY: the pointer came from Box::into_raw in `register`; no helper can run now.
            drop(unsafe { Box::from_raw(sink) });
        }
    }
}

thread_local! {
    /// The connection whose action this thread runs now (0: none), so events the action raises
    /// can be told apart. Const-initialised `Cell<u64>`: no destructor on any thread.
    static ORIGIN: Cell<u64> = const { Cell::new(0) };
    /// Where the response helper appends pieces while this thread runs an action.
    /// Const-initialised raw pointer: no destructor is ever registered for it.
    static CAPTURE: Cell<*mut Vec<u8>> = const { Cell::new(std::ptr::null_mut()) };
}

unsafe extern "C" fn response_helper(
    _category: c_int,
    _event: *const c_char,
    body: *mut c_char,
) -> c_int {
    crate::guard::ffi_guard(0, || {
        let target = CAPTURE.with(|c| c.get());
        if target.is_null() || body.is_null() {
            return 0;
        }
        // SAFETY: body is a NUL-terminated string valid for this call.
        let piece = unsafe { CStr::from_ptr(body) }.to_bytes();
        // SAFETY: target points at the Vec owned by `send_action`'s frame on this same thread,
        // set for exactly the duration of ast_hook_send_action.
        unsafe { (*target).extend_from_slice(piece) };
        0
    })
}

/// The text an action produced through the hook, and the core's return code.
#[derive(Debug, Default)]
pub struct ActionOutput {
    /// Every response piece concatenated, in order (AMI text, messages separated by blank lines).
    pub text: Vec<u8>,
    /// What `ast_hook_send_action` returned.
    pub ret: i32,
}

/// Runs one action synchronously on this thread through `ast_hook_send_action`.
///
/// The caller must have validated `action` (no CR/LF/NUL inside values, at most 128 headers) and
/// must never pass an action that crashes the core through the hook (see ASTERISK-HOST.md).
/// Never call this from an Asterisk thread or the network loop.
pub fn send_action(origin: u64, action: &CStr) -> ActionOutput {
    let mut text = Vec::new();
    let mut hook = sys::manager_custom_hook {
        file: HOOK_FILE.as_ptr().cast_mut(),
        helper: Some(response_helper),
        ..Default::default()
    };
    CAPTURE.with(|c| c.set(&mut text));
    ORIGIN.with(|c| c.set(origin));
    // SAFETY: the hook is valid for the call (responses go to the hook passed; it need not be
    // registered), and `action` is a NUL-terminated string.
    let ret = unsafe { sys::ast_hook_send_action(&mut hook, action.as_ptr()) };
    CAPTURE.with(|c| c.set(std::ptr::null_mut()));
    ORIGIN.with(|c| c.set(0));
    ActionOutput { text, ret }
}

/// Convenience for callers holding a Rust string; fails on an interior NUL.
pub fn send_action_text(origin: u64, action: &str) -> Result<ActionOutput, &'static str> {
    let c = CString::new(action).map_err(|_| "action text contains NUL")?;
    Ok(send_action(origin, &c))
}
