//! Panic guard for every `extern "C"` entry and every module thread body.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `f`, turning a panic into `on_panic`: a panic must never unwind into Asterisk.
pub fn ffi_guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        crate::ast_error!("bug: panic caught at an FFI boundary; see the message logged before");
        on_panic
    })
}

/// Runs a thread body; a panic is logged and ends the thread quietly instead of the process.
pub fn thread_guard(name: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        crate::ast_error!("bug: thread {name} panicked and stopped; see the message logged before");
    }
}

/// Our panic hook is installed (a load installs it, a successful unload removes it).
static HOOK: AtomicBool = AtomicBool::new(false);

/// Removes our panic hook (at a successful unload, before the .so is unmapped): the hook is a
/// heap closure owned by this image's copy of std, so leaving it would leak it on every
/// unload/load cycle (found by valgrind, tests/valgrind_module.rs).
pub fn remove_panic_hook() {
    if HOOK.swap(false, Ordering::AcqRel) {
        drop(std::panic::take_hook());
    }
}

/// Installs (once per load) a panic hook that sends message and location to the log.
pub fn install_panic_hook() {
    if HOOK.swap(true, Ordering::AcqRel) {
        return;
    }
    {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = &previous;
            {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_else(|| "unknown location".into());
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".into());
                crate::ast_error!("panic at {at}: {msg}");
            }
        }));
    }
}

/// Runs `f`; a panic becomes `None` (used per connection and per action, so one bad input
/// ends one connection or one action, never the loop).
pub fn catch<R>(f: impl FnOnce() -> R) -> Option<R> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_the_fallback() {
        assert_eq!(ffi_guard(-1, || panic!("boom")), -1);
        assert_eq!(ffi_guard(-1, || 7), 7);
    }
}
