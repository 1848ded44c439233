//! The C face of the config API: `ast_config_load2` returning a handle (or NULL / the
//! FILEUNCHANGED / FILEINVALID sentinels), `ast_category_browse` and `ast_variable_browse` over
//! real `struct ast_variable` lists, `ast_config_destroy`. Misuse that would crash Asterisk
//! (destroying a sentinel, a double destroy, browsing a destroyed config) aborts.

use std::collections::{HashMap, HashSet};
use std::ffi::{CString, c_char, c_uint};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::config::{self, Config};
use crate::ffi::{self, sys};
use crate::hook;
use crate::logger::WARNING;

static DIR: OnceLock<PathBuf> = OnceLock::new();
/// Handles given out and not yet destroyed.
static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);
/// (file, who) -> modification time seen at the last load, for CONFIG_FLAG_FILEUNCHANGED.
static SEEN: Mutex<Option<HashMap<(String, String), SystemTime>>> = Mutex::new(None);

/// The stand-in's `struct ast_config`.
struct CConfig {
    cats: Vec<CCat>,
}

struct CCat {
    name: CString,
    template: bool,
    root: *mut sys::ast_variable,
}

/// Sets the config directory (`astetcdir`) once at startup.
pub fn set_dir(dir: PathBuf) {
    let _ = DIR.set(dir);
}

/// The config directory.
pub fn dir() -> PathBuf {
    DIR.get().cloned().unwrap_or_else(|| PathBuf::from("."))
}

/// Asterisk's `ast_true`.
pub fn ast_true(v: &str) -> bool {
    ["yes", "true", "y", "t", "1", "on"].iter().any(|t| v.trim().eq_ignore_ascii_case(t))
}

/// Re-reads manager.conf `[general]`: `enabled` and `timestampevents`.
pub fn read_manager_conf() {
    let mut enabled = false;
    let mut stamps = false;
    let loaded = config::load(&dir(), "manager.conf", &mut |w| crate::slog!(WARNING, "{w}"));
    if let Ok(cfg) = loaded {
        for cat in cfg.categories.iter().filter(|c| c.name.eq_ignore_ascii_case("general")) {
            for v in &cat.vars {
                if v.name.eq_ignore_ascii_case("enabled") {
                    enabled = ast_true(&v.value);
                } else if v.name.eq_ignore_ascii_case("timestampevents") {
                    stamps = ast_true(&v.value);
                }
            }
        }
    }
    hook::ENABLED.store(enabled, std::sync::atomic::Ordering::Relaxed);
    hook::TIMESTAMPS.store(stamps, std::sync::atomic::Ordering::Relaxed);
}

/// Allocates a variable node as Asterisk does: one block with the strings after the struct.
fn new_variable(v: &config::Variable) -> *mut sys::ast_variable {
    let strings = [v.name.as_bytes(), v.value.as_bytes(), v.file.as_bytes()];
    let extra: usize = strings.iter().map(|s| s.len() + 1).sum();
    let size = std::mem::size_of::<sys::ast_variable>() + extra;
    // SAFETY: calloc of a non-zero size; the block is laid out and freed by this file only.
    unsafe {
        let node = libc::calloc(1, size).cast::<sys::ast_variable>();
        if node.is_null() {
            return node;
        }
        let mut p = std::ptr::addr_of_mut!((*node).stuff).cast::<u8>();
        let mut ptrs = [std::ptr::null::<c_char>(); 3];
        for (i, s) in strings.iter().enumerate() {
            std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
            *p.add(s.len()) = 0;
            ptrs[i] = p.cast();
            p = p.add(s.len() + 1);
        }
        (*node).name = ptrs[0];
        (*node).value = ptrs[1];
        (*node).file = ptrs[2];
        (*node).lineno = v.lineno;
        (*node).object = i32::from(v.object);
        (*node).inherited = i32::from(v.inherited);
        node
    }
}

fn to_c(cfg: &Config) -> CConfig {
    let cats = cfg
        .categories
        .iter()
        .map(|c| {
            let mut root: *mut sys::ast_variable = std::ptr::null_mut();
            for v in c.vars.iter().rev() {
                let node = new_variable(v);
                if !node.is_null() {
                    // SAFETY: node is a fresh allocation owned by this list.
                    unsafe { (*node).next = root };
                    root = node;
                }
            }
            CCat {
                name: CString::new(c.name.clone()).unwrap_or_default(),
                template: c.template,
                root,
            }
        })
        .collect();
    CConfig { cats }
}

/// Checks a handle is one we gave out and have not destroyed, aborting like a crash otherwise.
fn live(cfg: *const sys::ast_config, what: &str) -> &'static CConfig {
    let addr = cfg as usize;
    if addr == usize::MAX || addr == usize::MAX - 1 {
        hook::crash(&format!("{what} on a CONFIG_STATUS sentinel would crash Asterisk"));
    }
    let ok = LIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .contains(&addr);
    if !ok {
        hook::crash(&format!(
            "{what} on a config that is not loaded (freed?) would crash Asterisk"
        ));
    }
    // SAFETY: the address is a live Box<CConfig> leaked by load2 and not yet destroyed.
    unsafe { &*(addr as *const CConfig) }
}

/// `ast_config_load2`
///
/// # Safety
/// Both strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_config_load2(
    filename: *const c_char,
    who_asked: *const c_char,
    flags: c_uint,
) -> *mut sys::ast_config {
    // SAFETY: per the contract.
    let (file, who) = unsafe { (ffi::text(filename), ffi::text(who_asked)) };
    let path = if file.starts_with('/') { PathBuf::from(&file) } else { dir().join(&file) };
    let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let key = (file.clone(), who);
    if flags & sys::AMI_WS_CONFIG_FLAG_FILEUNCHANGED as c_uint != 0 {
        let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if mtime.is_some() && seen.as_ref().and_then(|s| s.get(&key)).copied() == mtime {
            return std::ptr::without_provenance_mut(usize::MAX);
        }
    }
    let loaded = config::load(&dir(), &file, &mut |w| crate::slog!(WARNING, "{w}"));
    let cfg = match loaded {
        Err(config::LoadError::Missing) => return std::ptr::null_mut(),
        Err(config::LoadError::Invalid) => return std::ptr::without_provenance_mut(usize::MAX - 1),
        Ok(cfg) => cfg,
    };
    if flags & sys::AMI_WS_CONFIG_FLAG_NOCACHE as c_uint == 0
        && let Some(m) = mtime
    {
        SEEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(key, m);
    }
    let handle = Box::into_raw(Box::new(to_c(&cfg)));
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(handle as usize);
    handle.cast()
}

/// `ast_config_destroy`: NULL is ignored, as in Asterisk.
///
/// # Safety
/// `cfg` is NULL or a handle from `standin_config_load2` (anything else aborts).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_config_destroy(cfg: *mut sys::ast_config) {
    if cfg.is_null() {
        return;
    }
    live(cfg, "ast_config_destroy");
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .remove(&(cfg as usize));
    // SAFETY: a live handle from Box::into_raw, now removed from LIVE so freed exactly once.
    let owned = unsafe { Box::from_raw(cfg.cast::<CConfig>()) };
    for cat in &owned.cats {
        let mut v = cat.root;
        while !v.is_null() {
            // SAFETY: nodes were calloc'd by new_variable and linked only in this list.
            unsafe {
                let next = (*v).next;
                libc::free(v.cast());
                v = next;
            }
        }
    }
}

/// `ast_category_browse`: the next non-template category after `prev` (NULL: the first).
///
/// # Safety
/// `config` is a live handle; `prev` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_category_browse(
    config: *mut sys::ast_config,
    prev: *const c_char,
) -> *mut c_char {
    let cfg = live(config, "ast_category_browse");
    let start = if prev.is_null() {
        0
    } else if let Some(i) = cfg.cats.iter().position(|c| c.name.as_ptr() == prev) {
        i + 1
    } else {
        // SAFETY: non-NULL NUL-terminated per the contract.
        let name = unsafe { ffi::text(prev) };
        match cfg.cats.iter().position(|c| c.name.to_string_lossy().eq_ignore_ascii_case(&name)) {
            Some(i) => i + 1,
            None => return std::ptr::null_mut(),
        }
    };
    cfg.cats
        .iter()
        .skip(start)
        .find(|c| !c.template)
        .map_or(std::ptr::null_mut(), |c| c.name.as_ptr().cast_mut())
}

/// `ast_variable_browse`: the variables of a category (by the pointer browse returned or by
/// name; NULL picks the first category).
///
/// # Safety
/// `config` is a live handle; `category` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_variable_browse(
    config: *const sys::ast_config,
    category: *const c_char,
) -> *mut sys::ast_variable {
    let cfg = live(config, "ast_variable_browse");
    let found = if category.is_null() {
        cfg.cats.iter().find(|c| !c.template)
    } else if let Some(c) = cfg.cats.iter().find(|c| c.name.as_ptr() == category && !c.template) {
        Some(c)
    } else {
        // SAFETY: non-NULL NUL-terminated per the contract.
        let name = unsafe { ffi::text(category) };
        cfg.cats
            .iter()
            .find(|c| !c.template && c.name.to_string_lossy().eq_ignore_ascii_case(&name))
    };
    found.map_or(std::ptr::null_mut(), |c| c.root)
}
