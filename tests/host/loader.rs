//! The module loader, as main/loader.c: dlopen (RTLD_NOW|RTLD_LOCAL, again with RTLD_GLOBAL
//! when the module asks), the constructor's `ast_module_register` during dlopen, key and
//! build-options checks, load/reload/unload with Asterisk's results and messages, dlclose and
//! the RTLD_NOLOAD check that the module really left.

use std::cell::Cell;
use std::ffi::{CString, c_void};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use md5::{Digest, Md5};

use crate::ffi::{self, Ptr, sys};
use crate::logger::{ERROR, NOTICE, WARNING};
use crate::modules::{BEING_LOADED, MODULES, Module, baselen, find, name_matches, with_module};
use crate::{hook, slog, verb};

/// MD5 of ASTERISK_GPL_KEY, as loader.c's `expected_key`.
const EXPECTED_KEY: [u8; 16] = [
    0x87, 0x76, 0x79, 0x35, 0x23, 0xea, 0x3a, 0xd3, 0x25, 0x2a, 0xbb, 0x35, 0x87, 0xe4, 0x22, 0x24,
];

/// The stand-in's own build-options sum; a module built with another non-empty sum is refused.
pub const BUILDOPT_SUM: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// enum ast_module_load_result
pub const LOAD_SUCCESS: i32 = 0;
pub const LOAD_DECLINE: i32 = 1;
const LOAD_SKIP: i32 = 2;
const LOAD_PRIORITY: i32 = 3;
const LOAD_FAILURE: i32 = -1;

/// enum ast_module_reload_result
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    Success = 0,
    InProgress = 4,
    NotFound = 2,
    Error = 3,
    Uninitialized = 5,
    NotImplemented = 6,
}

/// Serializes load/unload/reload (what holding the module_list lock does in Asterisk).
static LOADER: Mutex<()> = Mutex::new(());
/// `reloadlock`
static RELOADING: Mutex<()> = Mutex::new(());
/// The module directory (`astmoddir`).
static MODDIR: OnceLock<PathBuf> = OnceLock::new();

thread_local! {
    /// Whether this thread already holds LOADER (Asterisk's lock is recursive).
    static IN_LOADER: Cell<bool> = const { Cell::new(false) };
}

/// Sets the module directory once at startup.
pub fn set_moddir(dir: PathBuf) {
    let _ = MODDIR.set(dir);
}

/// The module directory.
pub fn moddir() -> PathBuf {
    MODDIR.get().cloned().unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `f` holding the loader lock, re-entrantly for the owning thread.
fn with_loader<T>(f: impl FnOnce() -> T) -> T {
    if IN_LOADER.with(Cell::get) {
        return f();
    }
    let _guard = LOADER.lock().unwrap_or_else(|e| e.into_inner());
    IN_LOADER.with(|c| c.set(true));
    let out = f();
    IN_LOADER.with(|c| c.set(false));
    out
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a thread-local message string.
    unsafe { ffi::text(libc::dlerror()) }
}

fn logged_dlclose(name: &str, lib: *mut c_void) {
    if lib.is_null() {
        return;
    }
    // SAFETY: lib is a handle dlopen returned; clearing the error first as loader.c does.
    let rc = unsafe {
        libc::dlerror();
        libc::dlclose(lib)
    };
    if rc != 0 {
        let err = dlerror();
        slog!(ERROR, "Failure in dlclose for module '{name}': {err}");
    }
}

fn path_of(resource: &str) -> CString {
    let p = moddir().join(resource);
    CString::new(p.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `unload_dynamic_module`: dlclose, then warn when RTLD_NOLOAD still finds the object.
fn unload_dynamic(resource: &str, lib: *mut c_void) {
    logged_dlclose(resource, lib);
    let path = path_of(resource);
    // SAFETY: valid path; RTLD_NOLOAD only looks up an already loaded object.
    let again = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
    if !again.is_null() {
        logged_dlclose(resource, again);
        slog!(WARNING, "Module '{resource}' could not be completely unloaded");
    }
}

/// `load_dlopen`: dlopen with the module expected to register itself from its constructor.
fn load_dlopen(resource: &str, flags: i32) -> Option<Ptr<Module>> {
    let m = Ptr(Box::into_raw(Box::new(Module {
        resource: resource.to_string(),
        info: std::ptr::null(),
        lib: std::ptr::null_mut(),
        running: false,
        declined: false,
    })));
    *BEING_LOADED.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
    let path = path_of(resource);
    // SAFETY: valid path; the module's constructor calls back into standin_module_register.
    let lib = unsafe { libc::dlopen(path.as_ptr(), flags) };
    let unregistered = BEING_LOADED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if unregistered.is_some() {
        let err = dlerror();
        if lib.is_null() {
            slog!(ERROR, "Error loading module '{resource}': {err}");
        } else {
            slog!(ERROR, "Module '{resource}' did not register itself during load");
            logged_dlclose(resource, lib);
        }
        // SAFETY: m came from Box::into_raw above and was never published.
        drop(unsafe { Box::from_raw(m.0) });
        return None;
    }
    with_module(m, |m| m.lib = lib);
    Some(m)
}

/// `load_dynamic_module`: local first; reopened global when the module asks for it.
fn load_dynamic(resource: &str) -> Option<Ptr<Module>> {
    let m = load_dlopen(resource, libc::RTLD_NOW | libc::RTLD_LOCAL)?;
    // SAFETY: info was set by the module's registration and points into the mapped module.
    let global =
        with_module(m, |m| unsafe { (*m.info).flags } & sys::AMI_WS_MODFLAG_GLOBAL_SYMBOLS as u32);
    if global == 0 {
        return Some(m);
    }
    let lib = with_module(m, |m| m.lib);
    logged_dlclose(resource, lib);
    load_dlopen(resource, libc::RTLD_NOW | libc::RTLD_GLOBAL)
}

/// `inspect_module`: description, key and build-options checks.
fn inspect(m: Ptr<Module>) -> bool {
    let (resource, info) = with_module(m, |m| (m.resource.clone(), m.info));
    // SAFETY: info points at the module's static info while it is mapped.
    let (description, key, sum) = unsafe {
        let sum_ptr = (*info).buildopt_sum.as_ptr();
        ((*info).description, (*info).key, ffi::text(sum_ptr))
    };
    if description.is_null() {
        slog!(ERROR, "Module '{resource}' does not provide a description.");
        return false;
    }
    if key.is_null() {
        slog!(ERROR, "Module '{resource}' does not provide a license key.");
        return false;
    }
    // SAFETY: key is a NUL-terminated string in the module.
    let key = unsafe { std::ffi::CStr::from_ptr(key) }.to_bytes();
    if Md5::digest(key).as_slice() != EXPECTED_KEY {
        slog!(ERROR, "Module '{resource}' did not provide a valid license key.");
        return false;
    }
    if !sum.is_empty() && sum != BUILDOPT_SUM {
        slog!(
            ERROR,
            "Module '{resource}' was not compiled with the same compile-time options as this version of Asterisk."
        );
        slog!(ERROR, "Module '{resource}' will not be initialized as it may cause instability.");
        return false;
    }
    true
}

fn load_result_str(res: i32) -> &'static str {
    match res {
        LOAD_SUCCESS => "Success",
        LOAD_DECLINE => "Decline",
        LOAD_SKIP => "Skip",
        LOAD_PRIORITY => "Priority",
        LOAD_FAILURE => "Failure",
        _ => "Unknown",
    }
}

/// `start_resource`: calls the module's load and records the result.
fn start(m: Ptr<Module>) -> i32 {
    let (running, info, resource) = with_module(m, |m| (m.running, m.info, m.resource.clone()));
    if running {
        return LOAD_SUCCESS;
    }
    // SAFETY: info is the module's static info, valid while mapped.
    let (load, description) = unsafe { ((*info).load, ffi::text((*info).description)) };
    let Some(load) = load else {
        with_module(m, |m| m.declined = true);
        return LOAD_DECLINE;
    };
    // SAFETY: the module's load callback, called as the loader does (no list lock held).
    let res = unsafe { load() };
    match res {
        LOAD_SUCCESS => {
            verb!(4, "Loaded {resource} => ({description})");
            with_module(m, |m| m.running = true);
        }
        LOAD_DECLINE | LOAD_FAILURE => with_module(m, |m| m.declined = true),
        _ => {}
    }
    res
}

/// `ast_load_resource`: the result of the module's load (0 success).
pub fn load(resource: &str) -> i32 {
    with_loader(|| {
        if find(resource).is_some_and(|m| with_module(m, |m| m.declined)) {
            unload_locked(resource, false);
        }
        let m = match find(resource) {
            Some(m) if with_module(m, |m| m.running) => {
                slog!(WARNING, "Module '{resource}' already loaded and running.");
                return LOAD_DECLINE;
            }
            Some(m) => m,
            None => match load_dynamic(&with_so(resource)) {
                Some(m) => m,
                None => return LOAD_DECLINE,
            },
        };
        if !inspect(m) {
            slog!(ERROR, "Module '{resource}' could not be loaded.");
            let (name, lib) = with_module(m, |m| (m.resource.clone(), m.lib));
            unload_dynamic(&name, lib);
            hook::post_loader_event("Load", resource, load_result_str(LOAD_DECLINE));
            return LOAD_DECLINE;
        }
        with_module(m, |m| m.declined = false);
        let res = start(m);
        hook::post_loader_event("Load", resource, load_result_str(res));
        res
    })
}

fn with_so(resource: &str) -> String {
    if baselen(resource) == resource.len() {
        format!("{resource}.so")
    } else {
        resource.to_string()
    }
}

/// `ast_unload_resource`: 0 when unloaded (the .so is dlclosed), else the module's refusal.
pub fn unload(resource: &str, hard: bool) -> i32 {
    with_loader(|| unload_locked(resource, hard))
}

fn unload_locked(resource: &str, hard: bool) -> i32 {
    let Some(m) = find(resource) else {
        slog!(WARNING, "Unload failed, '{resource}' could not be found");
        return -1;
    };
    let (running, declined, info, name) =
        with_module(m, |m| (m.running, m.declined, m.info, m.resource.clone()));
    let mut res = 0;
    if !running || declined {
        slog!(NOTICE, "Unloading module '{resource}' that previously declined to load");
    } else {
        verb!(4, "Unloading {name}");
        // SAFETY: info is the module's static info; unload is its callback (or absent).
        if let Some(unload) = unsafe { (*info).unload } {
            // SAFETY: called as loader.c does, with the loader lock held.
            res = unsafe { unload() };
        }
        if res != 0 {
            slog!(WARNING, "Firm unload failed for {resource}");
            if !hard {
                return res;
            }
            slog!(WARNING, "** Dangerous **: Unloading resource anyway, at user request");
        }
        with_module(m, |m| {
            m.running = false;
            m.declined = false;
        });
    }
    let lib = with_module(m, |m| m.lib);
    unload_dynamic(&name, lib);
    hook::post_loader_event("Unload", resource, "Success");
    res
}

/// `ast_module_reload`: reloads one module (or all with `None`).
pub fn reload(name: Option<&str>) -> Reload {
    let Ok(_reloading) = RELOADING.try_lock() else {
        verb!(3, "The previous reload command didn't finish yet");
        return Reload::InProgress;
    };
    let res = with_loader(|| {
        let mut res = Reload::NotFound;
        let list: Vec<Ptr<Module>> = MODULES.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for m in list {
            let (resource, running, declined, info) =
                with_module(m, |m| (m.resource.clone(), m.running, m.declined, m.info));
            if name.is_some_and(|n| !name_matches(n, &resource)) {
                continue;
            }
            if !running || declined {
                if res == Reload::NotFound {
                    res = Reload::Uninitialized;
                }
                if name.is_some() {
                    break;
                }
                continue;
            }
            // SAFETY: info is the running module's static info.
            let (cb, description) = unsafe { ((*info).reload, ffi::text((*info).description)) };
            let Some(cb) = cb else {
                if res == Reload::NotFound {
                    res = Reload::NotImplemented;
                }
                if name.is_some() {
                    break;
                }
                continue;
            };
            verb!(3, "Reloading module '{resource}' ({description})");
            // SAFETY: the module's reload callback, called with the loader lock held.
            if unsafe { cb() } == LOAD_SUCCESS {
                res = Reload::Success;
            } else if res == Reload::NotFound {
                res = Reload::Error;
            }
            if name.is_some() {
                break;
            }
        }
        res
    });
    hook::post_loader_event("Reload", name.unwrap_or("All"), &(res as i32).to_string());
    res
}

/// `modules_shutdown`: unloads every running module (no dlclose), newest first.
pub fn shutdown() {
    with_loader(|| {
        let list: Vec<Ptr<Module>> = MODULES.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for m in list.into_iter().rev() {
            let (running, declined, info, name) =
                with_module(m, |m| (m.running, m.declined, m.info, m.resource.clone()));
            if running && !declined {
                verb!(4, "Unloading {name}");
                // SAFETY: the running module's unload callback.
                if let Some(unload) = unsafe { (*info).unload } {
                    // SAFETY: as in unload_locked.
                    unsafe { unload() };
                }
                with_module(m, |m| m.running = false);
            }
        }
    });
}
