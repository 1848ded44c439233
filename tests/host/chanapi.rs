//! The channel and dialplan-variable API a module may call directly (what res_ami_websocket
//! uses to answer Getvar and Hangup without the hook): referenced channel handles over the
//! simulated channels, ao2 reference counting that aborts on misuse like a crash would,
//! channel iteration, soft hangup, variables and a few dialplan functions. Dangerous functions
//! (SHELL, EVAL, ...) are refused on threads that inhibited escalations, as Asterisk does with
//! `live_dangerously = no`, and otherwise only recorded, never run.

use std::collections::HashSet;
use std::ffi::{CString, c_char, c_int};
use std::sync::Mutex;

use crate::ffi::{sys, text};
use crate::logger::{NOTICE, WARNING};
use crate::{hook, slog, world};

/// A referenced channel as the module sees it (`struct ast_channel *`).
struct Handle {
    name: CString,
    uniqueid: String,
    dummy: bool,
    refs: i32,
}

/// Every live handle, to catch a double unref or a foreign pointer (a crash in Asterisk).
static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn live<T>(f: impl FnOnce(&mut HashSet<usize>) -> T) -> T {
    f(LIVE.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new))
}

/// Whether `c` is a channel handle the module still holds.
pub fn is_live(c: usize) -> bool {
    live(|l| l.contains(&c))
}

/// Handles the module still holds (a leak if it grows).
pub fn live_handles() -> usize {
    live(|l| l.len())
}

fn new_handle(name: &str, uniqueid: &str, dummy: bool) -> *mut sys::ast_channel {
    let h = Box::new(Handle {
        name: CString::new(name).unwrap_or_default(),
        uniqueid: uniqueid.to_string(),
        dummy,
        refs: 1,
    });
    let p = Box::into_raw(h);
    live(|l| l.insert(p as usize));
    p.cast()
}

/// The handle behind a pointer, or a crash for a pointer that is not a live channel.
fn handle<'a>(c: *const sys::ast_channel, what: &str) -> &'a mut Handle {
    if !live(|l| l.contains(&(c as usize))) {
        hook::crash(&format!("{what} on a channel pointer that is not referenced"));
    }
    // SAFETY: the pointer is in LIVE, so it came from Box::into_raw in new_handle and has not
    // been freed; the module uses a handle from one thread at a time.
    unsafe { &mut *(c as *mut Handle) }
}

/// The name and uniqueid behind a referenced channel pointer (a crash for anything else), and
/// whether it is a dummy channel.
pub fn ids(c: *const sys::ast_channel, what: &str) -> (String, String, bool) {
    let h = handle(c, what);
    (h.name.to_string_lossy().into_owned(), h.uniqueid.clone(), h.dummy)
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_ao2_ref(o: *mut std::ffi::c_void, delta: c_int) -> c_int {
    let h = handle(o.cast(), "__ao2_ref");
    let before = h.refs;
    h.refs += delta;
    if h.refs < 0 {
        hook::crash("__ao2_ref below zero");
    }
    if h.refs == 0 {
        live(|l| l.remove(&(o as usize)));
        // SAFETY: the last reference: reclaim the Box made in new_handle, once.
        drop(unsafe { Box::from_raw(o as *mut Handle) });
    }
    before
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_get_by_name(search: *const c_char) -> *mut sys::ast_channel {
    // SAFETY: the caller passes a NUL-terminated string.
    let search = unsafe { text(search) };
    let found = world::with(|w| {
        w.channels
            .values()
            .find(|c| c.name.eq_ignore_ascii_case(&search) || c.uniqueid == search)
            .map(|c| (c.name.clone(), c.uniqueid.clone()))
    });
    match found {
        Some((name, uid)) => new_handle(&name, &uid, false),
        None => std::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_dummy_channel_alloc() -> *mut sys::ast_channel {
    new_handle("", "", true)
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_name(c: *const sys::ast_channel) -> *const c_char {
    handle(c, "ast_channel_name").name.as_ptr()
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_softhangup_withcause_locked(
    c: *mut sys::ast_channel,
    cause: c_int,
) {
    let h = handle(c, "ast_channel_softhangup_withcause_locked");
    let name = h.name.to_string_lossy().into_owned();
    if !h.dummy {
        crate::actions::channels::request_hangup(&name, if cause > 0 { cause } else { 16 });
    }
}

/// An iterator over the channels that existed when it was made.
struct Iter {
    names: Vec<(String, String)>,
    next: usize,
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_iterator_all_new() -> *mut std::ffi::c_void {
    let names = world::with(|w| {
        w.channels.values().map(|c| (c.name.clone(), c.uniqueid.clone())).collect()
    });
    Box::into_raw(Box::new(Iter { names, next: 0 })).cast()
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_iterator_next(i: *mut std::ffi::c_void) -> *mut sys::ast_channel {
    // SAFETY: the pointer came from standin_channel_iterator_all_new and is not destroyed yet.
    let it = unsafe { &mut *(i as *mut Iter) };
    while let Some((name, uid)) = it.names.get(it.next).cloned() {
        it.next += 1;
        if world::with(|w| w.channels.contains_key(&name)) {
            return new_handle(&name, &uid, false);
        }
    }
    std::ptr::null_mut()
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_channel_iterator_destroy(i: *mut std::ffi::c_void) {
    if !i.is_null() {
        // SAFETY: made by standin_channel_iterator_all_new; destroyed once.
        drop(unsafe { Box::from_raw(i as *mut Iter) });
    }
}

/// Copies `value` into the caller's workspace (truncated, NUL-terminated).
fn fill(workspace: *mut c_char, len: usize, value: &str) {
    if workspace.is_null() || len == 0 {
        return;
    }
    let n = value.len().min(len - 1);
    // SAFETY: the caller's workspace holds `len` bytes; we write n + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(value.as_ptr().cast::<c_char>(), workspace, n);
        *workspace.add(n) = 0;
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn standin_pbx_retrieve_variable(
    c: *mut sys::ast_channel,
    var: *const c_char,
    ret: *mut *mut c_char,
    workspace: *mut c_char,
    len: c_int,
) {
    // SAFETY: NUL-terminated per the API.
    let var = unsafe { text(var) };
    let value = if c.is_null() {
        world::with(|w| w.globals.get(&var).cloned())
    } else {
        let h = handle(c, "pbx_retrieve_variable");
        match var.as_str() {
            "CHANNEL" => Some(h.name.to_string_lossy().into_owned()),
            "UNIQUEID" => Some(h.uniqueid.clone()),
            // ast_str_retrieve_variable: the channel's own variables first, then globals.
            _ => crate::chanvars::get(&h.uniqueid, &var)
                .or_else(|| world::with(|w| w.globals.get(&var).cloned())),
        }
    };
    if ret.is_null() {
        return;
    }
    match value {
        Some(v) => {
            fill(workspace, len.max(0) as usize, &v);
            // SAFETY: ret is the caller's out pointer.
            unsafe { *ret = workspace };
        }
        // SAFETY: as above.
        None => unsafe { *ret = std::ptr::null_mut() },
    }
}

/// Functions Asterisk marks dangerous: refused on inhibited threads (live_dangerously = no).
const DANGEROUS: &[&str] = &["SHELL", "EVAL", "FILE", "DB", "ODBC", "CURL", "REALTIME"];

#[unsafe(no_mangle)]
pub extern "C" fn standin_func_read(
    c: *mut sys::ast_channel,
    function: *const c_char,
    workspace: *mut c_char,
    len: usize,
) -> c_int {
    // SAFETY: NUL-terminated per the API.
    let expr = unsafe { text(function) };
    let (name, args) = match expr.split_once('(') {
        Some((n, rest)) => (n.to_string(), rest.strip_suffix(')').unwrap_or(rest).to_string()),
        None => (expr.clone(), String::new()),
    };
    if DANGEROUS.iter().any(|d| name.eq_ignore_ascii_case(d)) {
        if hook::escalations_inhibited() {
            slog!(
                WARNING,
                "Dangerous function {name} read from a thread that inhibited escalations: refused"
            );
            fill(workspace, len, "");
            return -1;
        }
        slog!(NOTICE, "standin: {name}({args}) evaluated (recorded, not run)");
        world::with(|w| w.executed.push(format!("{name}({args})")));
        fill(workspace, len, "");
        return 0;
    }
    let chan_name = if c.is_null() {
        String::new()
    } else {
        handle(c, "ast_func_read").name.to_string_lossy().into_owned()
    };
    let value = match name.to_ascii_uppercase().as_str() {
        "GLOBAL" => world::with(|w| w.globals.get(&args).cloned().unwrap_or_default()),
        "LEN" => args.chars().count().to_string(),
        "CHANNEL" if args == "name" => chan_name,
        _ => {
            slog!(WARNING, "Function {name} not registered");
            fill(workspace, len, "");
            return -1;
        }
    };
    fill(workspace, len, &value);
    0
}
