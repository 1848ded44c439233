//! Logging through `ast_log` with a fixed `"%s"` format, behind `ast_error!`-style macros.

/// Log levels, as `__LOG_*` in asterisk/logger.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `__LOG_DEBUG`
    Debug = crate::sys::AMI_WS_LOG_DEBUG as isize,
    /// `__LOG_NOTICE`
    Notice = crate::sys::AMI_WS_LOG_NOTICE as isize,
    /// `__LOG_WARNING`
    Warning = crate::sys::AMI_WS_LOG_WARNING as isize,
    /// `__LOG_ERROR`
    Error = crate::sys::AMI_WS_LOG_ERROR as isize,
    /// `__LOG_VERBOSE`
    Verbose = crate::sys::AMI_WS_LOG_VERBOSE as isize,
}

#[cfg(not(test))]
/// Turns text into a C string, replacing interior NULs so nothing is lost silently.
fn c_text(text: &str) -> std::ffi::CString {
    std::ffi::CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// Sends one message to Asterisk's logger. `file` and `function` need no NUL terminator.
pub fn write(level: Level, file: &str, line: u32, function: &str, msg: &str) {
    #[cfg(test)]
    {
        let _ = (function, line);
        eprintln!("[{level:?}] {file}: {msg}");
    }
    #[cfg(not(test))]
    {
        let file = c_text(file);
        let function = c_text(function);
        let msg = c_text(msg);
        // SAFETY: ast_log is variadic; we pass a constant "%s" format and exactly one NUL-terminated
        // string argument, so no text of ours is ever interpreted as a format. All pointers live
        // until the call returns.
        unsafe {
            crate::sys::ast_log(
                level as i32,
                file.as_ptr(),
                line as i32,
                function.as_ptr(),
                c"%s".as_ptr(),
                msg.as_ptr(),
            );
        }
    }
}

/// True when the core debug level is at least `n` (`DEBUG_ATLEAST`-like, global level only).
pub fn debug_at_least(n: i32) -> bool {
    #[cfg(test)]
    {
        let _ = n;
        false
    }
    #[cfg(not(test))]
    {
        // SAFETY: option_debug is a plain int exported by the core; a racy read of an int that the
        // core changes from the CLI is what Asterisk's own DEBUG_ATLEAST does.
        unsafe { std::ptr::addr_of!(crate::sys::option_debug).read_volatile() >= n }
    }
}

/// The core's system verbosity: what Asterisk's own `ast_verb(n, ...)` compares with
/// (`VERBOSITY_ATLEAST`), i.e. `ast_verb_sys_level`, the highest of the root console, every
/// remote console (`asterisk -rvvv`, `core set verbose 3` typed there) and every logger channel
/// with a verbose level. `option_verbose` alone is only the root console's level: with a
/// foreground-less PBX it stays 0 while an admin watches at `-rvvv`.
pub fn core_verbosity() -> i32 {
    #[cfg(test)]
    {
        0
    }
    #[cfg(not(test))]
    {
        // SAFETY: ast_verb_sys_level is a plain int exported by the core; racy reads of it are
        // what VERBOSITY_ATLEAST does.
        unsafe { std::ptr::addr_of!(crate::sys::ast_verb_sys_level).read_volatile() }
    }
}

/// Logs at a level with this file, line and module path.
#[macro_export]
macro_rules! ast_log_at {
    ($level:expr, $($arg:tt)*) => {
        $crate::host::log::write($level, file!(), line!(), module_path!(), &format!($($arg)*))
    };
}

/// `ast_log(LOG_ERROR, ...)`
#[macro_export]
macro_rules! ast_error { ($($arg:tt)*) => { $crate::ast_log_at!($crate::host::log::Level::Error, $($arg)*) }; }
/// `ast_log(LOG_WARNING, ...)`
#[macro_export]
macro_rules! ast_warning { ($($arg:tt)*) => { $crate::ast_log_at!($crate::host::log::Level::Warning, $($arg)*) }; }
/// `ast_log(LOG_NOTICE, ...)`
#[macro_export]
macro_rules! ast_notice { ($($arg:tt)*) => { $crate::ast_log_at!($crate::host::log::Level::Notice, $($arg)*) }; }
/// `ast_verb(n, ...)`: logged at verbose level when the core's system verbosity is at least `n`.
#[macro_export]
macro_rules! ast_verb {
    ($n:expr, $($arg:tt)*) => {
        if $crate::host::log::core_verbosity() >= $n {
            $crate::ast_log_at!($crate::host::log::Level::Verbose, $($arg)*)
        }
    };
}
/// `ast_debug(n, ...)`: checked before formatting.
#[macro_export]
macro_rules! ast_debug {
    ($n:expr, $($arg:tt)*) => {
        if $crate::host::log::debug_at_least($n) {
            $crate::ast_log_at!($crate::host::log::Level::Debug, $($arg)*)
        }
    };
}
