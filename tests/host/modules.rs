//! The module list, as main/loader.c keeps it: one record per loaded (or declined) module, whose
//! address is the `struct ast_module *` modules get, filled in by `ast_module_register` from the
//! module's constructor and removed by `ast_module_unregister` from its destructor.

use std::ffi::c_void;
use std::sync::Mutex;

use crate::ffi::{self, Ptr, sys};

/// One loaded (or declined) module; its address is the `struct ast_module *` handed out.
pub struct Module {
    pub resource: String,
    pub info: *const sys::ast_module_info,
    pub lib: *mut c_void,
    pub running: bool,
    pub declined: bool,
}

/// The module list (module_list). Held briefly; never across a call into a module.
pub static MODULES: Mutex<Vec<Ptr<Module>>> = Mutex::new(Vec::new());
/// `resource_being_loaded`: set around dlopen so the constructor's registration finds it.
pub static BEING_LOADED: Mutex<Option<Ptr<Module>>> = Mutex::new(None);

pub fn baselen(name: &str) -> usize {
    if name.len() > 3 && name.get(name.len() - 3..).is_some_and(|s| s.eq_ignore_ascii_case(".so")) {
        name.len() - 3
    } else {
        name.len()
    }
}

pub fn name_matches(a: &str, b: &str) -> bool {
    let (la, lb) = (baselen(a), baselen(b));
    la == lb && a.get(..la).zip(b.get(..lb)).is_some_and(|(x, y)| x.eq_ignore_ascii_case(y))
}

pub fn find(resource: &str) -> Option<Ptr<Module>> {
    let list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: entries of MODULES are live until unregistered under this lock.
    list.iter().copied().find(|m| name_matches(resource, unsafe { &(*m.0).resource }))
}

/// Reads fields of a module under the list lock.
pub fn with_module<T>(m: Ptr<Module>, f: impl FnOnce(&mut Module) -> T) -> T {
    let _list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the module stays allocated while it is in MODULES, and the loader lock (held by
    // every caller) keeps it there; fields are only touched under the list lock.
    f(unsafe { &mut *m.0 })
}

/// `ast_module_running_ref` without the reference: is this handle a running module?
pub fn is_running(handle: *mut sys::ast_module) -> bool {
    let list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: as in `find`.
    list.iter().any(|m| m.0.cast() == handle && unsafe { (*m.0).running })
}

/// One line per module whose name contains `like` (case-insensitive), as `module show like`.
pub fn list(like: &str) -> Vec<(String, String, &'static str, &'static str)> {
    let list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    let like = like.to_ascii_lowercase();
    let mut out = Vec::new();
    for m in list.iter() {
        // SAFETY: modules in the list are live; info points into the mapped module.
        let (resource, description, running, level) = unsafe {
            let m = &*m.0;
            (
                m.resource.clone(),
                ffi::text((*m.info).description),
                m.running,
                (*m.info).support_level,
            )
        };
        if !resource.to_ascii_lowercase().contains(&like) {
            continue;
        }
        let status = if running { "Running" } else { "Not Running" };
        let level = match level {
            1 => "core",
            2 => "extended",
            3 => "deprecated",
            _ => "unknown",
        };
        out.push((resource, description, status, level));
    }
    out
}

/// Whether a module of this name is loaded and running (`ast_module_check`).
pub fn check(resource: &str) -> bool {
    find(resource).is_some_and(|m| with_module(m, |m| m.running))
}

/// `ast_module_register`, called by a module's constructor during dlopen.
///
/// # Safety
/// `info` points at the module's static `ast_module_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_module_register(info: *const sys::ast_module_info) {
    let Some(m) = BEING_LOADED.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        // Not opened by the loader: Asterisk ignores such registrations too.
        return;
    };
    let mut list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: m is the Box allocated by load_dlopen, now published in the list.
    unsafe { (*m.0).info = info };
    list.push(m);
    // SAFETY: the loader gives the module its own handle, writing into its static info.
    unsafe { (*info.cast_mut()).self_ = m.0.cast() };
}

/// `ast_module_unregister`, called by a module's destructor at dlclose.
///
/// # Safety
/// `info` is the pointer the module registered (or any pointer: unknown ones are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_module_unregister(info: *const sys::ast_module_info) {
    let mut list = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: entries are live Boxes owned by the list.
    if let Some(pos) = list.iter().position(|m| unsafe { (*m.0).info } == info) {
        let m = list.remove(pos);
        // SAFETY: removed from the list, so no one else can reach it; allocated by Box.
        drop(unsafe { Box::from_raw(m.0) });
    }
}
