//! The CLI core, as main/cli.c: `ast_cli_entry` structs registered by address (the core writes
//! `command`, `cmda`, `_full_cmd`, `cmdlen`, `args`, `module` into them), word matching, and
//! `ast_cli_command_full` running a line with its output on a file descriptor.

use std::ffi::{CString, c_char, c_int};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::cliwords::{self, CLI_RSVD};
use crate::ffi::{self, Ptr, sys};
use crate::logger::{ERROR, WARNING};
use crate::slog;

/// `CLI_HANDLER` of enum ast_cli_command.
const CLI_HANDLER: c_int = -4;
/// `RESULT_SUCCESS` / `RESULT_FAILURE`, what ast_cli_command_full returns.
pub const RESULT_SUCCESS: i32 = 0;
pub const RESULT_FAILURE: i32 = 2;

/// Registered entries in `_full_cmd` order (the `helpers` list).
static HELPERS: RwLock<Vec<Ptr<sys::ast_cli_entry>>> = RwLock::new(Vec::new());

/// Set by `core stop now`: only commands allowed at shutdown run afterwards.
pub static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// The words an entry was registered with, read from its `cmda` (module memory).
///
/// # Safety
/// `e` points at a live, registered entry.
unsafe fn entry_words(e: *const sys::ast_cli_entry) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: per the contract `e` is live; cmda holds NUL-terminated words up to a NULL.
    for &w in unsafe { (*e).cmda.iter() } {
        if w.is_null() {
            break;
        }
        // SAFETY: non-NULL word written by the registration below, valid while registered.
        out.push(unsafe { ffi::text(w) });
    }
    out
}

fn snapshot(list: &[Ptr<sys::ast_cli_entry>]) -> Vec<Vec<String>> {
    // SAFETY: every pointer in HELPERS is a registered entry; the caller holds the lock.
    list.iter().map(|e| unsafe { entry_words(e.0) }).collect()
}

/// The full command text of an entry (`_full_cmd`, else `command`).
///
/// # Safety
/// `e` points at a live entry.
unsafe fn full_cmd(e: *const sys::ast_cli_entry) -> String {
    // SAFETY: live entry; the fields are NULL or NUL-terminated strings.
    unsafe {
        if (*e)._full_cmd.is_null() { ffi::text((*e).command) } else { ffi::text((*e)._full_cmd) }
    }
}

/// `__ast_cli_register`: CLI_INIT, split `command` into `cmda`, refuse near-duplicates, insert.
///
/// # Safety
/// `e` points at a writable entry with a handler that stays valid while registered.
unsafe fn register(e: *mut sys::ast_cli_entry, module: *mut sys::ast_module) -> i32 {
    let mut list = HELPERS.write().unwrap_or_else(|p| p.into_inner());
    if list.iter().any(|x| x.0 == e) {
        // SAFETY: e is registered, so live.
        let name = unsafe { full_cmd(e) };
        slog!(WARNING, "Command '{name}' already registered (the same ast_cli_entry)");
        return 0;
    }
    // SAFETY: the caller guarantees e is writable; the handler fills command and usage.
    let words = unsafe {
        (*e).module = module;
        let Some(handler) = (*e).handler else {
            slog!(WARNING, "CLI entry without a handler");
            return -1;
        };
        let mut a: sys::ast_cli_args = std::mem::zeroed();
        handler(e, sys::AMI_WS_CLI_INIT, &mut a);
        let command = ffi::text((*e).command);
        let trimmed = command.trim_start();
        let words = cliwords::command_words(trimmed);
        if words.is_empty() {
            slog!(WARNING, "CLI entry without a command after CLI_INIT; not registered");
            (*e).command = std::ptr::null_mut();
            return -1;
        }
        // Asterisk stores a copy of the command split in place; the words point into it.
        let mut joined = Vec::new();
        for w in &words {
            joined.extend_from_slice(w.as_bytes());
            joined.push(0);
        }
        joined.push(0);
        let copy = libc::malloc(joined.len()).cast::<c_char>();
        if copy.is_null() {
            return -1;
        }
        std::ptr::copy_nonoverlapping(joined.as_ptr().cast::<c_char>(), copy, joined.len());
        (*e).command = copy;
        let cmda = std::ptr::addr_of_mut!((*e).cmda).cast::<*const c_char>();
        let mut off = 0;
        for (i, w) in words.iter().enumerate() {
            *cmda.add(i) = copy.add(off);
            off += w.len() + 1;
        }
        for i in words.len()..16 {
            *cmda.add(i) = std::ptr::null();
        }
        words
    };
    if cliwords::find_cli(&snapshot(&list), &words, 1).is_some() {
        let name = words.join(" ");
        slog!(WARNING, "Command '{name}' already registered (or something close enough)");
        // SAFETY: command is the copy malloc'd above; the entry is not registered.
        unsafe {
            libc::free((*e).command.cast());
            (*e).command = std::ptr::null_mut();
        }
        return -1;
    }
    let full = words.join(" ");
    let cmdlen = full.bytes().position(|b| CLI_RSVD.contains(&b)).unwrap_or(full.len());
    let Ok(c_full) = CString::new(full.clone()) else { return -1 };
    // SAFETY: e is writable; strdup gives a heap copy the core frees at unregistration.
    unsafe {
        (*e)._full_cmd = libc::strdup(c_full.as_ptr());
        (*e).cmdlen = cmdlen as c_int;
        (*e).args = words.len() as c_int;
    }
    let pos = list.iter().position(|cur| {
        // SAFETY: registered entries are live.
        let other = unsafe { full_cmd(cur.0) };
        let n =
            cmdlen.min(other.bytes().position(|b| CLI_RSVD.contains(&b)).unwrap_or(other.len()));
        let a = full.as_bytes().iter().take(n).map(u8::to_ascii_lowercase);
        let b = other.as_bytes().iter().take(n).map(u8::to_ascii_lowercase);
        a.lt(b)
    });
    let at = pos.unwrap_or(list.len());
    list.insert(at, Ptr(e));
    0
}

/// `ast_cli_unregister`: refuses (with a warning) while the command runs, else removes the entry
/// and frees what registration allocated.
///
/// # Safety
/// `e` points at a writable entry.
unsafe fn unregister(e: *mut sys::ast_cli_entry) -> i32 {
    // SAFETY: the caller guarantees e is valid; inuse is an int the dispatcher updates atomically.
    let inuse = unsafe { AtomicI32::from_ptr(std::ptr::addr_of_mut!((*e).inuse)) };
    if inuse.load(Ordering::SeqCst) != 0 {
        slog!(WARNING, "Can't remove command that is in use");
        return 0;
    }
    HELPERS.write().unwrap_or_else(|p| p.into_inner()).retain(|x| x.0 != e);
    // SAFETY: as Asterisk does: free the copies made at registration (NULL when none) and reset
    // the words; `command` of a never-registered entry is freed too, as in the real core.
    unsafe {
        libc::free((*e)._full_cmd.cast());
        (*e)._full_cmd = std::ptr::null_mut();
        if (*e).handler.is_some() {
            let cmda = std::ptr::addr_of_mut!((*e).cmda).cast::<*const c_char>();
            for i in 0..16 {
                *cmda.add(i) = std::ptr::null();
            }
            libc::free((*e).command.cast());
            (*e).command = std::ptr::null_mut();
            (*e).usage = std::ptr::null();
        }
    }
    0
}

/// Whether a command line is one of the few allowed once shutdown began.
fn allowed_on_shutdown(words: &[String]) -> bool {
    let line = words.join(" ").to_ascii_lowercase();
    line.starts_with("core stop") || line.starts_with("standin log")
}

/// `ast_cli_command_full`: runs one command line, writing its output to `fd`.
pub fn command_full(fd: i32, line: &str) -> i32 {
    let (words, cut) = cliwords::parse_args(line);
    if let Some(cut) = cut {
        slog!(WARNING, "Too many arguments, truncating at {cut}");
    }
    if words.is_empty() {
        return RESULT_FAILURE;
    }
    let found = {
        let list = HELPERS.read().unwrap_or_else(|p| p.into_inner());
        let all = snapshot(&list);
        match cliwords::find_cli(&all, &words, 0).and_then(|i| list.get(i).copied()) {
            Some(e) => {
                // SAFETY: registered entries are live; inuse is updated atomically as in Asterisk.
                unsafe { AtomicI32::from_ptr(std::ptr::addr_of_mut!((*e.0).inuse)) }
                    .fetch_add(1, Ordering::SeqCst);
                Ok(e)
            }
            None => Err(cliwords::find_best(&all, &words)),
        }
    };
    let e = match found {
        Ok(e) => e.0,
        Err(best) => {
            ffi::fd_write(
                fd,
                &format!(
                    "No such command '{line}' (type 'core show help {best}' for other possible commands)\n"
                ),
            );
            return RESULT_FAILURE;
        }
    };
    let retval = if SHUTTING_DOWN.load(Ordering::SeqCst) && !allowed_on_shutdown(&words) {
        ffi::fd_write(fd, &format!("Command '{line}' cannot be run during shutdown\n"));
        None
    } else {
        // SAFETY: e stays registered while inuse > 0 (unregister refuses meanwhile).
        let module = unsafe { (*e).module };
        if module.is_null() || crate::modules::is_running(module) {
            // SAFETY: e is live and its handler valid while registered.
            Some(unsafe { call_handler(e, fd, &words) })
        } else {
            Some(sys::AMI_WS_CLI_FAILURE as usize)
        }
    };
    if retval == Some(sys::AMI_WS_CLI_SHOWUSAGE as usize) {
        // SAFETY: e is live; usage is NULL or a string the entry's owner keeps.
        let usage = unsafe { ffi::text((*e).usage) };
        let usage = if usage.is_empty() {
            "Invalid usage, but no usage information available.\n".to_string()
        } else {
            usage
        };
        ffi::fd_write(fd, &usage);
    } else if retval == Some(sys::AMI_WS_CLI_FAILURE as usize) {
        ffi::fd_write(fd, &format!("Command '{line}' failed.\n"));
    }
    // SAFETY: as above.
    unsafe { AtomicI32::from_ptr(std::ptr::addr_of_mut!((*e).inuse)) }
        .fetch_sub(1, Ordering::SeqCst);
    if retval == Some(sys::AMI_WS_CLI_SUCCESS as usize) { RESULT_SUCCESS } else { RESULT_FAILURE }
}

/// Calls an entry's handler with argv as Asterisk builds it (argv[-1] is the entry).
///
/// # Safety
/// `e` is a live registered entry.
unsafe fn call_handler(e: *mut sys::ast_cli_entry, fd: i32, words: &[String]) -> usize {
    let owned: Vec<CString> =
        words.iter().map(|w| CString::new(w.replace('\0', "")).unwrap_or_default()).collect();
    let mut argv: Vec<*const c_char> = Vec::with_capacity(owned.len() + 2);
    argv.push(e.cast_const().cast());
    argv.extend(owned.iter().map(|c| c.as_ptr()));
    argv.push(std::ptr::null());
    let mut a = sys::ast_cli_args {
        fd,
        argc: owned.len() as c_int,
        // SAFETY: argv has at least two elements; +1 skips the entry pointer.
        argv: unsafe { argv.as_ptr().add(1) },
        line: std::ptr::null(),
        word: std::ptr::null(),
        pos: 0,
        n: 0,
    };
    // SAFETY: the entry is live; its handler is read from it as the core does.
    let Some(h) = (unsafe { (*e).handler }) else { return sys::AMI_WS_CLI_FAILURE as usize };
    // SAFETY: the handler follows the CLI handler contract; `a` and argv live across the call.
    (unsafe { h(e, CLI_HANDLER, &mut a) }) as usize
}

/// Lists registered commands whose text starts with `prefix` (`core show help`).
pub fn help(fd: i32, prefix: &str) {
    let list = HELPERS.read().unwrap_or_else(|p| p.into_inner());
    let mut found = 0;
    for e in list.iter() {
        // SAFETY: registered entries are live; summary is NULL or a static string.
        let (full, summary) = unsafe { (full_cmd(e.0), ffi::text((*e.0).summary)) };
        if full.starts_with('_')
            || !full.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase())
        {
            continue;
        }
        let summary = if summary.is_empty() { "<no description available>" } else { &summary };
        ffi::fd_write(fd, &format!("{full:<30} -- {summary}\n"));
        found += 1;
    }
    if found == 0 && !prefix.is_empty() {
        ffi::fd_write(fd, &format!("No such command '{prefix}'.\n"));
    }
}

/// Runs a line and returns its output (for `Command` actions and the control socket).
pub fn run_captured(line: &str) -> (i32, String) {
    // SAFETY: memfd_create with a static name; the fd is owned and closed below.
    let fd = unsafe { libc::memfd_create(c"standin-cli".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        slog!(ERROR, "memfd_create failed: {}", std::io::Error::last_os_error());
        return (RESULT_FAILURE, String::new());
    }
    let rc = command_full(fd, line);
    let mut out = Vec::new();
    // SAFETY: fd is our memfd; lseek/read with a valid buffer; closed exactly once.
    unsafe {
        libc::lseek(fd, 0, libc::SEEK_SET);
        let mut buf = [0u8; 8192];
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            out.extend_from_slice(buf.get(..n as usize).unwrap_or_default());
        }
        libc::close(fd);
    }
    (rc, String::from_utf8_lossy(&out).into_owned())
}

/// `__ast_cli_register_multiple`, called from c/exports.c.
///
/// # Safety
/// `e` points at `len` writable entries that stay at a fixed address while registered.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_cli_register_multiple(
    e: *mut sys::ast_cli_entry,
    len: c_int,
    module: *mut sys::ast_module,
) -> c_int {
    let mut res = 0;
    for i in 0..len.max(0) as usize {
        // SAFETY: per the contract e..e+len are valid entries.
        res |= unsafe { register(e.add(i), module) };
    }
    res
}

/// `ast_cli_unregister_multiple`, called from c/exports.c.
///
/// # Safety
/// `e` points at `len` writable entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_cli_unregister_multiple(
    e: *mut sys::ast_cli_entry,
    len: c_int,
) -> c_int {
    let mut res = 0;
    for i in 0..len.max(0) as usize {
        // SAFETY: per the contract e..e+len are valid entries.
        res |= unsafe { unregister(e.add(i)) };
    }
    res
}

/// `ast_cli_command_full`, called from c/exports.c. Permissions are not checked (as with
/// `CLI_NO_PERMS`, and as the stand-in has no cli_permissions.conf).
///
/// # Safety
/// `s` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_cli_command_full(
    _uid: c_int,
    _gid: c_int,
    fd: c_int,
    s: *const c_char,
) -> c_int {
    if s.is_null() {
        return RESULT_FAILURE;
    }
    // SAFETY: non-NULL NUL-terminated per the contract.
    let line = unsafe { ffi::text(s) };
    command_full(fd, &line)
}
