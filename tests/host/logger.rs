//! The core logger: `ast_log` lines in Asterisk's console format, written to stdout and kept in a
//! bounded in-memory log that `standin log` (and so the tests) can read. Also owns the exported
//! `option_verbose` / `option_debug` ints.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int};
use std::sync::Mutex;

use crate::ffi::{self, sys};

/// `__LOG_DEBUG`
pub const DEBUG: i32 = 0;
/// `__LOG_NOTICE`
pub const NOTICE: i32 = 2;
/// `__LOG_WARNING`
pub const WARNING: i32 = 3;
/// `__LOG_ERROR`
pub const ERROR: i32 = 4;
/// `__LOG_VERBOSE`
pub const VERBOSE: i32 = 5;
/// The `SECURITY` level res_security_log registers (a dynamic level, after the fixed ones).
pub const SECURITY: i32 = 32;

/// Lines kept for `standin log`.
const KEEP: usize = 20_000;

static RECENT: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
/// The same lines of levels NOTICE, WARNING, ERROR and SECURITY in the format of a file log
/// channel (the `messages` file fail2ban reads).
static MESSAGES: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

fn level_name(level: i32) -> &'static str {
    match level {
        0 => "DEBUG",
        1 => "TRACE",
        2 => "NOTICE",
        3 => "WARNING",
        4 => "ERROR",
        5 => "VERBOSE",
        6 => "DTMF",
        SECURITY => "SECURITY",
        _ => "UNKNOWN",
    }
}

/// The local date as Asterisk's default `dateformat` (`%b %e %T`) prints it.
fn date() -> String {
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime with valid pointers into locals; strftime writes at most
    // buf.len() bytes and returns how many.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%b %e %T".as_ptr(), &tm)
    };
    String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
}

/// The core verbosity (`option_verbose`).
pub fn verbose() -> i32 {
    // SAFETY: option_verbose is a plain int defined in c/exports.c; racy reads of it are what
    // Asterisk modules do too.
    unsafe { std::ptr::addr_of!(sys::option_verbose).read_volatile() }
}

/// Sets `option_verbose`.
pub fn set_verbose(n: i32) {
    // SAFETY: as above; single aligned int stores. With one console, the system verbosity
    // (ast_verb_sys_level) equals the root console's.
    unsafe {
        std::ptr::addr_of_mut!(sys::option_verbose).write_volatile(n);
        std::ptr::addr_of_mut!(sys::ast_verb_sys_level).write_volatile(n);
    }
}

/// The core debug level (`option_debug`).
pub fn debug() -> i32 {
    // SAFETY: as for option_verbose.
    unsafe { std::ptr::addr_of!(sys::option_debug).read_volatile() }
}

/// Sets `option_debug`.
pub fn set_debug(n: i32) {
    // SAFETY: as above.
    unsafe { std::ptr::addr_of_mut!(sys::option_debug).write_volatile(n) }
}

/// Logs one message. Debug messages need `option_debug` > 0, as on a console.
pub fn log(level: i32, file: &str, line: i32, func: &str, msg: &str) {
    if level == DEBUG && debug() <= 0 {
        return;
    }
    let msg = msg.trim_end_matches(['\n', '\r']);
    let (date, tid) = (date(), ffi::tid());
    if matches!(level, NOTICE | WARNING | ERROR | SECURITY) {
        // logger.c format_log_default, LOGTYPE_FILE: "[%s] %s[%d]%s %s: %s" (date, level,
        // thread id, call id, file, message): no line and no function in file logs.
        let line = format!("[{date}] {}[{tid}] {file}: {msg}", level_name(level));
        let mut m = MESSAGES.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= KEEP {
            m.pop_front();
        }
        m.push_back(line);
    }
    let mut text = format!("[{}] {}[{}]: ", date, level_name(level), tid);
    if !file.is_empty() {
        text.push_str(file);
        text.push(':');
    }
    if line > 0 {
        text.push_str(&line.to_string());
    }
    if !func.is_empty() {
        text.push(' ');
        text.push_str(func);
        text.push(':');
    }
    text.push(' ');
    text.push_str(msg);
    let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    // Written under the lock so stdout shows lines in the same order as the in-memory log.
    ffi::fd_write(1, &format!("{text}\n"));
    if recent.len() >= KEEP {
        recent.pop_front();
    }
    recent.push_back(text);
}

/// The last `n` lines of the log, oldest first, each ending in a newline.
pub fn recent(n: usize) -> String {
    let recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    let skip = recent.len().saturating_sub(n);
    recent.iter().skip(skip).fold(String::new(), |mut out, l| {
        out.push_str(l);
        out.push('\n');
        out
    })
}

/// The last `n` lines of the messages log, oldest first, each ending in a newline.
pub fn recent_messages(n: usize) -> String {
    let m = MESSAGES.lock().unwrap_or_else(|e| e.into_inner());
    let skip = m.len().saturating_sub(n);
    m.iter().skip(skip).fold(String::new(), |mut out, l| {
        out.push_str(l);
        out.push('\n');
        out
    })
}

/// Logs from the stand-in itself with this file, line and module path.
#[macro_export]
macro_rules! slog {
    ($level:expr, $($arg:tt)*) => {
        $crate::logger::log($level, file!(), line!() as i32, module_path!(), &format!($($arg)*))
    };
}

/// `ast_verb(n, ...)`: logged when the core verbosity is at least `n`.
#[macro_export]
macro_rules! verb {
    ($n:expr, $($arg:tt)*) => {
        if $crate::logger::verbose() >= $n {
            $crate::slog!($crate::logger::VERBOSE, $($arg)*)
        }
    };
}

/// Called by `ast_log` in c/exports.c with the message already formatted.
///
/// # Safety
/// Every pointer is NULL or a NUL-terminated string valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_log(
    level: c_int,
    file: *const c_char,
    line: c_int,
    function: *const c_char,
    msg: *const c_char,
) {
    // SAFETY: the caller (ast_log) passes valid strings or NULL.
    let (file, function, msg) = unsafe { (ffi::text(file), ffi::text(function), ffi::text(msg)) };
    log(level, &file, line, &function, &msg);
}
