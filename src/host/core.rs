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

/// Seconds since the core started and since its last reload, as AMI's FullyBooted reports them
/// (0 when the core has not set the time).
pub fn uptime_and_last_reload() -> (u64, u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // SAFETY: plain timeval globals exported by the core; a racy read of a time the core
    // updates on reload is what manager.c itself does.
    let (start, reload) = unsafe {
        (
            std::ptr::addr_of!(sys::ast_startuptime).read_volatile().tv_sec,
            std::ptr::addr_of!(sys::ast_lastreloadtime).read_volatile().tv_sec,
        )
    };
    let since = |t: i64| if t > 0 { now.saturating_sub(t).max(0) as u64 } else { 0 };
    (since(start), since(reload))
}

/// Asterisk's system name (asterisk.conf `systemname`), empty when unset.
pub fn system_name() -> String {
    // SAFETY: a pointer global exported by the core, set once at startup to a static string
    // (or "", never NULL in Asterisk; checked anyway).
    let p = unsafe { std::ptr::addr_of!(sys::ast_config_AST_SYSTEM_NAME).read_volatile() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated, alive for the life of the process.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The machine's host name (`gethostname`), or `asterisk` when it cannot be read.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: a writable buffer of the given length; gethostname NUL-terminates within it
    // when the name fits (we also cut at the first NUL ourselves).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "asterisk".into(),
    }
}
