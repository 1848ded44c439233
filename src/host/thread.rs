//! Starting our first thread from one of Asterisk's threads without leaving anything behind.
//!
//! `std::thread::spawn` touches a thread-local with a destructor on the *spawning* thread (the
//! spawn-hook list). On a thread Asterisk owns (load, reload) that destructor registration makes
//! glibc keep our .so mapped after `dlclose`, so the next `module load` finds no constructor
//! run. The network thread is therefore created with `pthread_create` directly; threads it
//! spawns itself (the action threads) may use std, since their parent is ours and exits before
//! unload returns.

use std::ffi::{CString, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A thread started with [`spawn`].
pub struct RawThread {
    handle: libc::pthread_t,
    done: Arc<AtomicBool>,
    joined: bool,
}

struct Start {
    body: Box<dyn FnOnce() + Send>,
    done: Arc<AtomicBool>,
}

extern "C" fn trampoline(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the Box<Start> leaked by `spawn` for exactly this thread.
    let start = unsafe { Box::from_raw(arg.cast::<Start>()) };
    let Start { body, done } = *start;
    crate::guard::thread_guard("ami-ws", body);
    done.store(true, Ordering::Release);
    std::ptr::null_mut()
}

/// Starts `body` on a new thread called `name` (at most 15 bytes are shown by the kernel).
pub fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<RawThread, String> {
    let done = Arc::new(AtomicBool::new(false));
    let start = Box::new(Start { body: Box::new(body), done: Arc::clone(&done) });
    let arg = Box::into_raw(start).cast::<c_void>();
    let mut handle: libc::pthread_t = 0;
    // SAFETY: trampoline takes ownership of `arg` exactly once; default attributes.
    let rc = unsafe { libc::pthread_create(&mut handle, std::ptr::null(), trampoline, arg) };
    if rc != 0 {
        // SAFETY: the thread was not created, so `arg` is still ours to free.
        drop(unsafe { Box::from_raw(arg.cast::<Start>()) });
        return Err(format!("pthread_create failed: {}", std::io::Error::from_raw_os_error(rc)));
    }
    let short: String = name.chars().take(15).collect();
    if let Ok(c) = CString::new(short) {
        // SAFETY: a live thread handle and a NUL-terminated name of at most 15 bytes.
        unsafe { libc::pthread_setname_np(handle, c.as_ptr()) };
    }
    Ok(RawThread { handle, done, joined: false })
}

impl RawThread {
    /// Whether the body has returned (the thread is about to exit).
    pub fn is_finished(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Waits for the thread to exit. Only call once [`is_finished`](Self::is_finished) is true,
    /// so the wait is a few instructions long.
    pub fn join(mut self) {
        // SAFETY: a joinable thread we created and have not joined yet.
        unsafe { libc::pthread_join(self.handle, std::ptr::null_mut()) };
        self.joined = true;
    }
}

impl Drop for RawThread {
    fn drop(&mut self) {
        if !self.joined {
            // SAFETY: never joined: detach so its resources are freed when it exits.
            unsafe { libc::pthread_detach(self.handle) };
        }
    }
}
