//! The Asterisk ABI as the module sees it (bindgen over `asterisk-headers/`) and small C helpers.

use std::ffi::{CStr, c_char, c_int};

/// The generated declarations: struct layouts and constants shared with the module.
#[allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]
#[allow(clippy::all, clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn, missing_docs)]
pub mod sys {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

unsafe extern "C" {
    /// Defined in c/exports.c: writes all bytes to fd as `ast_carefulwrite` does.
    fn standin_fd_write(fd: c_int, buf: *const c_char, len: usize);
    /// Defined in c/exports.c: sets ast_startuptime and ast_lastreloadtime (seconds).
    fn standin_set_times(start: std::ffi::c_long, reload: std::ffi::c_long);
}

/// Records the core's start (and last reload) time where modules read it.
pub fn set_start_time() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as std::ffi::c_long)
        .unwrap_or(0);
    // SAFETY: plain stores into two C globals, before any module is loaded.
    unsafe { standin_set_times(now, now) }
}

/// Writes text to a file descriptor (a CLI fd, a socket, stdout), retrying short writes.
pub fn fd_write(fd: i32, text: &str) {
    if text.is_empty() {
        return;
    }
    // SAFETY: the pointer and length describe the live bytes of `text` for the duration of the call.
    unsafe { standin_fd_write(fd, text.as_ptr().cast(), text.len()) }
}

/// Copies a C string owned by someone else; NULL becomes "".
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string alive for the call.
pub unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated per the contract above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A raw pointer that may cross threads; every use is guarded by the owner's lock.
#[derive(PartialEq, Eq, Debug)]
pub struct Ptr<T>(pub *mut T);

impl<T> Clone for Ptr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ptr<T> {}

// SAFETY: the pointee is C data owned by the module or by the stand-in; every access happens
// under the lock of the registry that holds the pointer, as Asterisk's own lists do.
unsafe impl<T> Send for Ptr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Ptr<T> {}

/// glibc's allocator counters (`mallinfo2`), read once: bytes handed out and not yet had back
/// (arena chunks in use plus mmapped chunks), what the process really holds, unlike RSS; and
/// bytes freed but kept in its arenas for reuse, part of RSS once touched but not in use.
pub fn heap_in_use_and_kept_free() -> (usize, usize) {
    // SAFETY: mallinfo2 has no preconditions; it only reads the allocator's counters.
    let m = unsafe { libc::mallinfo2() };
    (m.uordblks + m.hblkhd, m.fordblks)
}

/// The calling thread's kernel id, as Asterisk prints it in log lines (`ast_get_tid`).
pub fn tid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}
