//! Channels and dialplan variables: what Getvar, Hangup and Status need, answered by the module
//! itself because through the hook they dereference the missing session and crash the PBX.

use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

use crate::sys;

/// A channel reference; the reference is dropped (`ast_channel_unref`) on drop.
pub struct Channel(NonNull<sys::ast_channel>);

impl Drop for Channel {
    fn drop(&mut self) {
        // SAFETY: we hold exactly one reference, taken by get_by_name, the iterator or the
        // dummy allocation; this gives it back once.
        unsafe {
            sys::__ao2_ref(
                self.0.as_ptr().cast(),
                -1,
                std::ptr::null(),
                c"res_ami_websocket".as_ptr(),
                0,
                c"Channel::drop".as_ptr(),
            )
        };
    }
}

impl Channel {
    /// The channel called `name` (exact name or unique id, as AMI looks it up).
    pub fn by_name(name: &str) -> Option<Channel> {
        let c = CString::new(name).ok()?;
        // SAFETY: valid string; returns a referenced channel or NULL.
        NonNull::new(unsafe { sys::ast_channel_get_by_name(c.as_ptr()) }).map(Channel)
    }

    /// A dummy channel for evaluating functions without a real one (as manager.c does).
    pub fn dummy() -> Option<Channel> {
        // SAFETY: static strings; returns a referenced channel or NULL.
        let c = unsafe {
            sys::__ast_dummy_channel_alloc(
                c"res_ami_websocket".as_ptr(),
                0,
                c"Channel::dummy".as_ptr(),
            )
        };
        NonNull::new(c).map(Channel)
    }

    /// The channel's name.
    pub fn name(&self) -> String {
        // SAFETY: the channel is referenced; the name is a NUL-terminated string it owns.
        let p = unsafe { sys::ast_channel_name(self.0.as_ptr()) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: non-NULL and NUL-terminated, read while we hold the reference.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// Soft-hangs up the channel with a cause code (0 = leave the cause alone).
    pub fn soft_hangup(&self, cause: i32) {
        // SAFETY: the channel is referenced; the core locks it itself.
        unsafe { sys::ast_channel_softhangup_withcause_locked(self.0.as_ptr(), cause) };
    }

    /// Every current channel (each referenced).
    pub fn all() -> Vec<Channel> {
        let mut out = Vec::new();
        // SAFETY: no arguments; returns an iterator or NULL.
        let it = unsafe { sys::ast_channel_iterator_all_new() };
        if it.is_null() {
            return out;
        }
        loop {
            // SAFETY: `it` is a live iterator; returns a referenced channel or NULL at the end.
            let c = unsafe { sys::ast_channel_iterator_next(it) };
            match NonNull::new(c) {
                Some(c) => out.push(Channel(c)),
                None => break,
            }
        }
        // SAFETY: destroys the iterator we created, once.
        unsafe { sys::ast_channel_iterator_destroy(it) };
        out
    }

    pub(super) fn ptr(&self) -> *mut sys::ast_channel {
        self.0.as_ptr()
    }
}

const WORKSPACE: usize = 1024;

/// A variable's value (`pbx_retrieve_variable`), on a channel or global when `chan` is None.
pub fn variable(chan: Option<&Channel>, name: &str) -> Option<String> {
    let var = CString::new(name).ok()?;
    let mut workspace = vec![0 as c_char; WORKSPACE];
    let mut ret: *mut c_char = std::ptr::null_mut();
    let c = chan.map_or(std::ptr::null_mut(), Channel::ptr);
    // SAFETY: valid string, a workspace of WORKSPACE bytes, ret is written with NULL or a
    // pointer into the workspace or a channel/global variable store, which we copy at once.
    unsafe {
        sys::pbx_retrieve_variable(
            c,
            var.as_ptr(),
            &mut ret,
            workspace.as_mut_ptr(),
            WORKSPACE as i32,
            std::ptr::null_mut(),
        )
    };
    if ret.is_null() {
        return Some(String::new());
    }
    // SAFETY: ret is NUL-terminated and alive until the next core call; we copy it now.
    Some(unsafe { CStr::from_ptr(ret) }.to_string_lossy().into_owned())
}

/// A dialplan function's value (`ast_func_read`), e.g. `CHANNEL(state)`.
pub fn function(chan: &Channel, expr: &str) -> Option<String> {
    let f = CString::new(expr).ok()?;
    let mut workspace = vec![0 as c_char; WORKSPACE];
    // SAFETY: valid channel reference, string and workspace; the core NUL-terminates within len.
    unsafe { sys::ast_func_read(chan.ptr(), f.as_ptr(), workspace.as_mut_ptr(), WORKSPACE) };
    workspace[WORKSPACE - 1] = 0;
    // SAFETY: the workspace is NUL-terminated (last byte forced to NUL above).
    Some(unsafe { CStr::from_ptr(workspace.as_ptr()) }.to_string_lossy().into_owned())
}

/// `pbx_retrieve_variable` with a workspace of `len` bytes; `None` when the variable is unset
/// (the NULL `ret` manager.c then prints).
pub fn variable_or_null(chan: Option<&Channel>, name: &str, len: usize) -> Option<String> {
    let var = CString::new(name).ok()?;
    let mut workspace = vec![0 as c_char; len.max(1)];
    let mut ret: *mut c_char = std::ptr::null_mut();
    let c = chan.map_or(std::ptr::null_mut(), Channel::ptr);
    // SAFETY: as in `variable`: valid string and workspace; ret is NULL or points into the
    // workspace, copied at once.
    unsafe {
        sys::pbx_retrieve_variable(
            c,
            var.as_ptr(),
            &mut ret,
            workspace.as_mut_ptr(),
            workspace.len() as i32,
            std::ptr::null_mut(),
        )
    };
    if ret.is_null() {
        return None;
    }
    // SAFETY: ret is NUL-terminated (the core copies with ast_copy_string).
    Some(unsafe { CStr::from_ptr(ret) }.to_string_lossy().into_owned())
}

/// `ast_func_read` with a workspace of `len` bytes; "" when the read fails (< 0), as
/// generate_status blanks its buffer then.
pub fn function_checked(chan: &Channel, expr: &str, len: usize) -> Option<String> {
    let f = CString::new(expr).ok()?;
    let len = len.max(1);
    let mut workspace = vec![0 as c_char; len];
    // SAFETY: valid channel reference, string and workspace of `len` bytes.
    let r = unsafe { sys::ast_func_read(chan.ptr(), f.as_ptr(), workspace.as_mut_ptr(), len) };
    if r < 0 {
        return Some(String::new());
    }
    workspace[len - 1] = 0;
    // SAFETY: NUL-terminated (last byte forced to NUL above).
    Some(unsafe { CStr::from_ptr(workspace.as_ptr()) }.to_string_lossy().into_owned())
}
