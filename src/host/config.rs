//! Reads Asterisk config files through `ast_config_load2` into a plain [`RawConfig`].

use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

use crate::rawconf::{Loaded, RawConfig, Section};
use crate::sys;

/// An owned `struct ast_config *`, destroyed on drop.
struct ConfigFile(NonNull<sys::ast_config>);

impl Drop for ConfigFile {
    fn drop(&mut self) {
        // SAFETY: the pointer came from ast_config_load2 (not a sentinel) and is destroyed once.
        unsafe { sys::ast_config_destroy(self.0.as_ptr()) }
    }
}

/// Copies a C string the core owns; NULL becomes "".
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string alive for the call.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated per the contract above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Loads `filename` from Asterisk's config directory, as `who` (our module name).
pub fn load(filename: &str, who: &str) -> Loaded {
    let (Ok(file), Ok(who)) = (CString::new(filename), CString::new(who)) else {
        return Loaded::Invalid;
    };
    let flags = sys::ast_flags { flags: sys::AMI_WS_CONFIG_FLAG_NOCACHE as u32 };
    // SAFETY: both strings are valid for the call; the core returns a config, NULL or a sentinel.
    let raw = unsafe { sys::ast_config_load2(file.as_ptr(), who.as_ptr(), flags) };
    let addr = raw as isize;
    if addr == sys::AMI_WS_CONFIG_STATUS_FILEINVALID as isize {
        return Loaded::Invalid;
    }
    if addr == sys::AMI_WS_CONFIG_STATUS_FILEUNCHANGED as isize {
        // We never ask for FILEUNCHANGED; treat it as an unreadable answer.
        return Loaded::Invalid;
    }
    let Some(cfg) = NonNull::new(raw) else {
        return Loaded::Missing;
    };
    let cfg = ConfigFile(cfg);
    let mut out = RawConfig::default();
    let mut prev: *mut c_char = std::ptr::null_mut();
    loop {
        // SAFETY: cfg is a live config; prev is NULL or the name the previous call returned.
        let name = unsafe { sys::ast_category_browse(cfg.0.as_ptr(), prev) };
        if name.is_null() {
            break;
        }
        prev = name;
        // SAFETY: name is a NUL-terminated category name owned by cfg.
        let mut section = Section { name: unsafe { text(name) }, entries: Vec::new() };
        // SAFETY: cfg is live and name is one of its categories.
        let mut var = unsafe { sys::ast_variable_browse(cfg.0.as_ptr(), name) };
        while let Some(v) = NonNull::new(var) {
            // SAFETY: v points at a variable node owned by cfg, alive until cfg is destroyed.
            let v = unsafe { v.as_ref() };
            // SAFETY: name and value are NUL-terminated strings stored in the node.
            section.entries.push(unsafe { (text(v.name), text(v.value)) });
            var = v.next;
        }
        out.sections.push(section);
    }
    Loaded::File(out)
}
