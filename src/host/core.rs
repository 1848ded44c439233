//! Small core services: the running version and the escalation inhibit of action threads.

use std::ffi::CStr;

use crate::sys;

/// The running Asterisk's version text, e.g. "22.10.1".
pub fn version() -> String {
    // SAFETY: ast_get_version returns a static NUL-terminated string (or NULL on a broken core).
    let p = unsafe { sys::ast_get_version() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL, static and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Marks the calling thread as one that must not run dangerous dialplan functions
/// (`live_dangerously = no`), as Asterisk's own network threads do. Returns false on failure.
pub fn inhibit_escalations() -> bool {
    // SAFETY: no arguments; affects only the calling thread's state in the core.
    unsafe { sys::ast_thread_inhibit_escalations() == 0 }
}

/// The loader's handle for this module (`AST_MODULE_SELF`).
pub(crate) fn module_self() -> *mut sys::ast_module {
    // SAFETY: returns a field of our static module info, set by the loader before load.
    unsafe { sys::res_ami_websocket_helper_self() }
}
