//! Reporting through Asterisk's res_prometheus when it is loaded: one `prometheus_callback`
//! registered with `prometheus_callback_register`, found at run time with dlsym (the module
//! imports nothing of res_prometheus, so it loads without it). res_prometheus runs the callback
//! on its HTTP thread while holding its scrape lock; ours only reads what the network loop
//! published and appends text, never waiting on the loop.

use std::ffi::{CStr, c_char, c_int};
use std::sync::Mutex;

use crate::sys;

/// Unique among callbacks: res_prometheus unregisters by name.
const NAME: &CStr = c"res_ami_websocket";

/// What the callback appends (None: nothing to report now).
pub type Source = fn() -> Option<String>;

struct Registration {
    callback: Box<sys::prometheus_callback>,
    unregister: unsafe extern "C" fn(*mut sys::prometheus_callback),
}

// SAFETY: the callback struct only holds pointers to our static name and function; it is
// touched by res_prometheus under its own lock and by us only at (un)registration.
unsafe impl Send for Registration {}

/// Ours while registered. std Mutex: taken on Asterisk's threads (load/unload/reload) only,
/// never by the callback, and never held by anything the callback waits for.
static REGISTERED: Mutex<Option<Registration>> = Mutex::new(None);
/// Read by the callback (never held while calling into res_prometheus).
static SOURCE: Mutex<Option<Source>> = Mutex::new(None);

fn lookup(symbol: &CStr) -> *mut std::ffi::c_void {
    // SAFETY: RTLD_DEFAULT searches the global scope (where res_prometheus's symbols are, as it
    // is loaded with RTLD_GLOBAL); a NUL-terminated name; NULL when absent.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, symbol.as_ptr()) }
}

/// Registers our callback if res_prometheus is loaded and we are not registered yet. True when
/// registered (now or before).
pub fn register(source: Source) -> bool {
    *SOURCE.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
    let mut reg = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if reg.is_some() {
        return true;
    }
    let (r, u) =
        (lookup(c"prometheus_callback_register"), lookup(c"prometheus_callback_unregister"));
    if r.is_null() || u.is_null() {
        return false;
    }
    // SAFETY: the symbols res_prometheus exports with these signatures (res_prometheus.h:
    // int prometheus_callback_register(struct prometheus_callback *), void
    // prometheus_callback_unregister(struct prometheus_callback *)); both are non-NULL here.
    let (register_fn, unregister) = unsafe {
        (
            std::mem::transmute::<*mut std::ffi::c_void, sys::ami_ws_prometheus_register_fn>(r),
            std::mem::transmute::<*mut std::ffi::c_void, sys::ami_ws_prometheus_unregister_fn>(u),
        )
    };
    let (Some(register_fn), Some(unregister)) = (register_fn, unregister) else {
        return false;
    };
    let mut callback =
        Box::new(sys::prometheus_callback { name: NAME.as_ptr(), callback_fn: Some(scrape) });
    // SAFETY: a valid callback that stays allocated (boxed, kept below) until unregistered.
    if unsafe { register_fn(&mut *callback) } != 0 {
        return false;
    }
    *reg = Some(Registration { callback, unregister });
    true
}

/// Unregisters (before unload: res_prometheus must not call into unmapped code). Returns once
/// no scrape runs our callback any more (unregister takes res_prometheus's scrape lock).
pub fn unregister() {
    let taken = REGISTERED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(mut r) = taken {
        // SAFETY: the same pointer we registered; res_prometheus is still loaded (it is among
        // our optional modules, so the loader keeps it while we are loaded).
        unsafe { (r.unregister)(&mut *r.callback) };
    }
    *SOURCE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Whether our callback is registered with res_prometheus.
pub fn registered() -> bool {
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner()).is_some()
}

/// `callback_fn`: appends our metrics text to res_prometheus's response.
unsafe extern "C" fn scrape(output: *mut *mut sys::ast_str) {
    crate::guard::ffi_guard((), || {
        let source = *SOURCE.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = source.and_then(|f| f()) else { return };
        if output.is_null() || text.len() > c_int::MAX as usize {
            return;
        }
        // SAFETY: `output` is res_prometheus's live response string; "%.*s" reads exactly
        // text.len() bytes of our buffer (no NUL needed) and ast_str_append grows the string.
        unsafe {
            sys::ast_str_append(
                output,
                0,
                c"%.*s".as_ptr() as *const c_char,
                text.len() as c_int,
                text.as_ptr() as *const c_char,
            );
        }
    });
}
