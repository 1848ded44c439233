//! One channel's `Status` fields read from the core, as manager.c's generate_status reads them
//! (channel locked; snapshot state text from the core's own builder; accessors for the rest).

use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

use super::channel::Channel;
use crate::sys;

const FILE: &CStr = c"res_ami_websocket";

/// Copies a C string owned by the core; NULL becomes `None`.
fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the core's API; copied at once, while the
    // channel (and so the string it owns) is locked and referenced.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Holds the channel's lock (`ast_channel_lock`) until dropped.
struct Locked<'a>(&'a Channel);

impl<'a> Locked<'a> {
    fn new(chan: &'a Channel) -> Self {
        // SAFETY: the channel is referenced; ao2 objects carry a recursive mutex (lock kind 0).
        unsafe {
            sys::__ao2_lock(
                chan.ptr().cast(),
                0,
                FILE.as_ptr(),
                c"status".as_ptr(),
                0,
                c"chan".as_ptr(),
            )
        };
        Locked(chan)
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: we took this lock in Locked::new, on this thread; released once.
        unsafe {
            sys::__ao2_unlock(
                self.0.ptr().cast(),
                FILE.as_ptr(),
                c"status".as_ptr(),
                0,
                c"chan".as_ptr(),
            )
        };
    }
}

/// A referenced channel snapshot, released on drop (`ao2_cleanup`).
struct Snapshot(NonNull<sys::ast_channel_snapshot>);

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: we hold the one reference ast_channel_snapshot_get_latest gave us.
        unsafe {
            sys::__ao2_ref(
                self.0.as_ptr().cast(),
                -1,
                std::ptr::null(),
                FILE.as_ptr(),
                0,
                c"Snapshot::drop".as_ptr(),
            )
        };
    }
}

impl Snapshot {
    fn latest(uniqueid: &str) -> Option<Snapshot> {
        let id = CString::new(uniqueid).ok()?;
        // SAFETY: valid string; returns a referenced snapshot or NULL.
        NonNull::new(unsafe { sys::ast_channel_snapshot_get_latest(id.as_ptr()) }).map(Snapshot)
    }

    /// `ast_manager_build_channel_state_string`; None for internal channels.
    fn state_text(&self) -> Option<String> {
        // SAFETY: the snapshot is referenced; returns a malloc'ed ast_str or NULL.
        let s = unsafe { sys::ast_manager_build_channel_state_string(self.0.as_ptr()) };
        if s.is_null() {
            return None;
        }
        // SAFETY: s is a valid ast_str whose buffer is NUL-terminated.
        let out = text(unsafe { (*s).__AST_STR_STR.as_ptr() });
        // SAFETY: ast_free(s): the string is ours, freed once.
        unsafe { sys::__ast_free(s.cast(), FILE.as_ptr(), 0, c"state_text".as_ptr()) };
        out
    }

    /// The bridge the snapshot shows the channel in ("" when none).
    fn bridge_id(&self) -> String {
        // SAFETY: the snapshot is referenced and immutable; `bridge` points at a
        // NUL-terminated id (possibly empty) owned by the snapshot.
        let b = unsafe { (*self.0.as_ptr()).bridge };
        if b.is_null() {
            return String::new();
        }
        // SAFETY: as above.
        text(unsafe { (*b).id.as_ptr() }).unwrap_or_default()
    }
}

/// An `ast_str` in our own memory, marked DS_ALLOCA so the core never reallocates or frees it
/// (what `ast_str_alloca` makes).
struct StackStr {
    buf: Vec<u64>,
}

impl StackStr {
    fn new(len: usize) -> Self {
        let header = std::mem::size_of::<sys::ast_str>();
        let mut buf = vec![0u64; (header + len).div_ceil(8)];
        let s = buf.as_mut_ptr().cast::<sys::ast_str>();
        // SAFETY: buf is large and aligned enough for the header plus `len` bytes.
        unsafe {
            (*s).__AST_STR_LEN = len;
            (*s).__AST_STR_USED = 0;
            (*s).__AST_STR_TS = sys::AMI_WS_DS_ALLOCA as usize as *mut sys::ast_threadstorage;
        }
        StackStr { buf }
    }

    fn ptr(&mut self) -> *mut sys::ast_str {
        self.buf.as_mut_ptr().cast()
    }
}

/// One channel's Status event headers after `Event` and `Privilege`, in manager.c's order (the
/// state text, Type ... Seconds, then the `Variable` lines), or `None` when the core has no
/// snapshot of it or it is internal (manager.c skips it then).
pub fn channel_status(
    chan: &Channel,
    vars: &[String],
    all_variables: bool,
) -> Option<Vec<(String, String)>> {
    let _lock = Locked::new(chan);
    let c = chan.ptr();
    // SAFETY: the channel is referenced and locked as generate_status holds it; the returned
    // string is copied at once.
    let uniqueid = text(unsafe { sys::ast_channel_uniqueid(c) })?;
    let snapshot = Snapshot::latest(&uniqueid)?;
    let state = snapshot.state_text()?;
    let mut out: Vec<(String, String)> = state
        .split("\r\n")
        .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    // SAFETY: as above.
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // SAFETY: as above; timeval returned by value.
    let created = unsafe { sys::ast_channel_creationtime(c) };
    let elapsed = tvdiff_sec(
        (now.as_secs() as i64, now.subsec_micros() as i64),
        (created.tv_sec, created.tv_usec),
    );

    let mut variables = Vec::new();
    for v in vars {
        variables.push(format!("{v}={}", requested_variable(chan, v)));
    }
    if all_variables {
        // SAFETY: as above; the list belongs to the locked channel.
        let head = unsafe { sys::ast_channel_varshead(c) };
        // SAFETY: head is the channel's list head (NULL-safe check first).
        let mut var = if head.is_null() { std::ptr::null_mut() } else { unsafe { (*head).first } };
        while !var.is_null() {
            // SAFETY: var is an element of the locked channel's list.
            let (name, value) =
                unsafe { (text(sys::ast_var_name(var)), text(sys::ast_var_value(var))) };
            variables.push(format!(
                "{}={}",
                name.as_deref().unwrap_or("(null)"),
                value.as_deref().unwrap_or("(null)")
            ));
            // SAFETY: as above.
            var = unsafe { (*var).entries.next };
        }
    }

    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    // SAFETY: the channel is referenced and locked as generate_status holds it; every pointer
    // an accessor returns is NULL-checked where the core may return NULL and read at once; the
    // ast_str buffers are ours (DS_ALLOCA: the core writes within their length only).
    unsafe {
        let tech = sys::ast_channel_tech(c);
        push("Type", if tech.is_null() { None } else { text((*tech).type_) }.unwrap_or_default());
        let dialed = sys::ast_channel_dialed(c);
        push(
            "DNID",
            if dialed.is_null() { None } else { text((*dialed).number.str_) }.unwrap_or_default(),
        );
        let eff = sys::ast_channel_connected_effective_id(c);
        push("EffectiveConnectedLineNum", party(eff.number.valid, eff.number.str_));
        push("EffectiveConnectedLineName", party(eff.name.valid, eff.name.str_));
        let when = sys::ast_channel_whentohangup(c);
        push("TimeToHangup", if when.is_null() { 0 } else { (*when).tv_sec }.to_string());
        push("BridgeID", snapshot.bridge_id());
        push("Application", text(sys::ast_channel_appl(c)).unwrap_or_else(|| "(null)".into()));
        push("Data", text(sys::ast_channel_data(c)).unwrap_or_else(|| "(null)".into()));
        let mut codecs = StackStr::new(384);
        let cap = sys::ast_channel_nativeformats(c);
        push(
            "Nativeformats",
            text(sys::ast_format_cap_get_names(cap, &mut codecs.ptr())).unwrap_or_default(),
        );
        push(
            "Readformat",
            text(sys::ast_format_get_name(sys::ast_channel_readformat(c))).unwrap_or_default(),
        );
        let mut path = StackStr::new(256);
        let rt = sys::ast_channel_readtrans(c);
        push(
            "Readtrans",
            text(sys::ast_translate_path_to_str(rt, &mut path.ptr())).unwrap_or_default(),
        );
        push(
            "Writeformat",
            text(sys::ast_format_get_name(sys::ast_channel_writeformat(c))).unwrap_or_default(),
        );
        let mut path = StackStr::new(256);
        let wt = sys::ast_channel_writetrans(c);
        push(
            "Writetrans",
            text(sys::ast_translate_path_to_str(wt, &mut path.ptr())).unwrap_or_default(),
        );
        push("Callgroup", sys::ast_channel_callgroup(c).to_string());
        push("Pickupgroup", sys::ast_channel_pickupgroup(c).to_string());
    }
    push("Seconds", elapsed.to_string());
    for v in variables {
        push("Variable", v);
    }
    Some(out)
}

/// `S_COR(valid, str, "<unknown>")`.
fn party(valid: u8, s: *mut c_char) -> String {
    if valid != 0 { text(s).unwrap_or_default() } else { "<unknown>".to_string() }
}

/// One `Variables=` entry as generate_status evaluates it: a function (ends with `)`) through
/// `ast_func_read` ("" on failure), else `pbx_retrieve_variable` (`(null)` when unset, as
/// glibc prints the NULL that manager.c passes to `%s`).
fn requested_variable(chan: &Channel, name: &str) -> String {
    if name.ends_with(')') {
        super::channel::function_checked(chan, name, 512).unwrap_or_default()
    } else {
        super::channel::variable_or_null(Some(chan), name, 512).unwrap_or_else(|| "(null)".into())
    }
}

/// `ast_tvdiff_sec(end, start)` over (seconds, microseconds).
fn tvdiff_sec(end: (i64, i64), start: (i64, i64)) -> i64 {
    let mut r = end.0 - start.0;
    if r > 0 && end.1 < start.1 {
        r -= 1;
    } else if r < 0 && end.1 > start.1 {
        r += 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::tvdiff_sec;

    #[test]
    fn whole_seconds_round_toward_zero_like_ast_tvdiff_sec() {
        assert_eq!(tvdiff_sec((10, 500), (5, 600)), 4);
        assert_eq!(tvdiff_sec((10, 700), (5, 600)), 5);
        assert_eq!(tvdiff_sec((5, 0), (5, 999)), 0);
        assert_eq!(tvdiff_sec((4, 900), (5, 100)), 0);
    }
}
