//! What manager.c's action_status reads from a channel, over the simulated channels (the C
//! exports are in c/status.c): channel snapshots (immutable, reference counted, with the state
//! text `ast_manager_build_channel_state_string` gives), object locks (recursive, per thread;
//! unlocking a lock not held aborts, as a corrupted mutex would), and the per-channel facts
//! the accessors return (technology from the name, application, data, connected line,
//! creation time, variables). Followed: main/manager.c generate_status,
//! main/manager_channels.c, main/stasis_channels.c ast_channel_snapshot_get_latest,
//! main/channel_internal_api.c (accessors), main/chanvars.c.

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_int, c_long, c_void};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::ffi::{sys, text};
use crate::{chanapi, chanvars, hook, world};

/// A snapshot as the module sees it: the C struct first, so its address is the object's.
#[repr(C)]
struct Snap {
    raw: sys::ast_channel_snapshot,
    bridge: Vec<u8>,
    state_text: String,
    refs: i32,
}

// SAFETY: the only pointer set in `raw` is `bridge`, into the snapshot's own `bridge` bytes;
// a snapshot is immutable once made, so moving it between threads is harmless.
unsafe impl Send for Snap {}

static SNAPS: Mutex<Option<HashMap<usize, Box<Snap>>>> = Mutex::new(None);

fn snaps<T>(f: impl FnOnce(&mut HashMap<usize, Box<Snap>>) -> T) -> T {
    f(SNAPS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new))
}

/// Snapshots the module still holds (a leak if it grows).
pub fn live_snapshots() -> usize {
    snaps(|s| s.len())
}

/// `ast_channel_snapshot_get_latest`: a new reference to the channel's current snapshot.
#[unsafe(no_mangle)]
pub extern "C" fn standin_snapshot_get_latest(uniqueid: *const c_char) -> *mut c_void {
    // SAFETY: NUL-terminated per the API.
    let uid = unsafe { text(uniqueid) };
    let found = world::with(|w| {
        w.channels
            .values()
            .find(|c| c.uniqueid == uid)
            .map(|c| (c.state_text(""), c.bridge.clone()))
    });
    let Some((state_text, bridge)) = found else { return std::ptr::null_mut() };
    let mut bridge = bridge.into_bytes();
    bridge.push(0);
    let mut snap = Box::new(Snap { raw: Default::default(), bridge, state_text, refs: 1 });
    snap.raw.bridge = snap.bridge.as_mut_ptr().cast();
    let p = (&mut snap.raw as *mut sys::ast_channel_snapshot).cast::<c_void>();
    snaps(|s| s.insert(p as usize, snap));
    p
}

/// `__ao2_ref` on a snapshot: returns the count before, or -1 when `o` is not a snapshot.
#[unsafe(no_mangle)]
pub extern "C" fn standin_snapshot_ref(o: *mut c_void, delta: c_int) -> c_int {
    snaps(|s| {
        let Some(snap) = s.get_mut(&(o as usize)) else { return -1 };
        let before = snap.refs;
        snap.refs += delta;
        if snap.refs < 0 {
            hook::crash("__ao2_ref below zero on a channel snapshot");
        }
        if snap.refs == 0 {
            s.remove(&(o as usize));
        }
        before
    })
}

/// The state text of a snapshot (what `ast_manager_build_channel_state_string` formats).
#[unsafe(no_mangle)]
pub extern "C" fn standin_snapshot_state_text(
    o: *const c_void,
    out: *mut c_char,
    len: usize,
) -> usize {
    let t = snaps(|s| s.get(&(o as usize)).map(|snap| snap.state_text.clone()));
    let Some(t) = t else {
        hook::crash("ast_manager_build_channel_state_string on a freed snapshot")
    };
    if !out.is_null() && len > t.len() {
        // SAFETY: the caller's buffer holds `len` > t.len() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(t.as_ptr().cast::<c_char>(), out, t.len());
            *out.add(t.len()) = 0;
        }
    }
    t.len()
}

/// Locks held per (thread, object): ao2 locks are recursive mutexes.
static LOCKS: Mutex<Option<HashMap<(i32, usize), u32>>> = Mutex::new(None);

/// `__ao2_lock` (lock = 1) / `__ao2_unlock` (lock = 0) on a channel.
#[unsafe(no_mangle)]
pub extern "C" fn standin_chan_lock(c: *mut c_void, lock: c_int) {
    chanapi::ids(c.cast(), if lock != 0 { "ast_channel_lock" } else { "ast_channel_unlock" });
    let key = (crate::ffi::tid(), c as usize);
    let mut guard = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    let held = guard.get_or_insert_with(HashMap::new);
    if lock != 0 {
        let first = held.get(&key).is_none();
        *held.entry(key).or_default() += 1;
        drop(guard);
        if first {
            // What the module reads under this lock is the channel as it is now.
            with_facts(c.cast(), true, |_| ());
        }
        return;
    }
    match held.get_mut(&key) {
        Some(n) if *n > 1 => *n -= 1,
        Some(_) => {
            held.remove(&key);
        }
        None => hook::crash("ast_channel_unlock of a channel this thread did not lock"),
    }
}

/// Channel locks still held (a missing unlock if not zero when idle).
pub fn held_locks() -> usize {
    LOCKS.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |h| h.len())
}

/// What the accessors return for one referenced channel, kept while the handle lives.
struct Facts {
    uniqueid: CString,
    strings: [CString; 6],
    created: (c_long, c_long),
    /// `struct varshead` (first, last) and the `struct ast_var_t` nodes it links, in C layout.
    head: Vec<u64>,
    _nodes: Vec<Vec<u64>>,
}

static FACTS: Mutex<Option<HashMap<usize, Facts>>> = Mutex::new(None);

/// Builds the channel's variable list in C layout: each node is `{next, value, name[]}` with
/// the name and then the value stored after the header.
fn var_list(vars: &[(String, String)]) -> (Vec<u64>, Vec<Vec<u64>>) {
    let header = std::mem::size_of::<sys::ast_var_t>();
    let mut nodes: Vec<Vec<u64>> = vars
        .iter()
        .map(|(n, v)| {
            let mut node = vec![0u64; (header + n.len() + v.len() + 2).div_ceil(8)];
            let base = node.as_mut_ptr().cast::<u8>();
            // SAFETY: the node holds the header plus both strings and their NULs.
            unsafe {
                let name = base.add(header);
                std::ptr::copy_nonoverlapping(n.as_ptr(), name, n.len());
                let value = name.add(n.len() + 1);
                std::ptr::copy_nonoverlapping(v.as_ptr(), value, v.len());
                (*base.cast::<sys::ast_var_t>()).value = value.cast();
            }
            node
        })
        .collect();
    for i in (0..nodes.len().saturating_sub(1)).rev() {
        let next = nodes[i + 1].as_mut_ptr().cast::<sys::ast_var_t>();
        // SAFETY: node i starts with an ast_var_t header.
        unsafe { (*nodes[i].as_mut_ptr().cast::<sys::ast_var_t>()).entries.next = next };
    }
    let mut head = vec![0u64; 2];
    if let Some(last) = nodes.len().checked_sub(1) {
        head[0] = nodes[0].as_mut_ptr() as u64;
        head[1] = nodes[last].as_mut_ptr() as u64;
    }
    (head, nodes)
}

fn facts_for(c: *const sys::ast_channel) -> Facts {
    let (name, uid, dummy) = chanapi::ids(c, "channel accessor");
    let cs = |s: &str| CString::new(s).unwrap_or_default();
    // A dummy channel, or one hung up while referenced (Asterisk keeps its data readable
    // until the last reference goes): empty facts, created now.
    let chan = if dummy { None } else { world::with(|w| w.channels.get(&name).cloned()) };
    let Some(chan) = chan else {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let tech = if dummy { "" } else { name.split('/').next().unwrap_or_default() };
        return Facts {
            uniqueid: cs(&uid),
            strings: [cs(tech), cs(""), cs(""), cs(""), cs(""), cs("")],
            created: (now.as_secs() as c_long, now.subsec_micros() as c_long),
            head: vec![0u64; 2],
            _nodes: Vec::new(),
        };
    };
    let tech = name.split('/').next().unwrap_or_default();
    // The simulated channel's creation instant, as wall-clock time.
    let age = Instant::now().saturating_duration_since(chan.created);
    let created = SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH);
    let created = created.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (head, nodes) = var_list(&chanvars::all(&uid));
    Facts {
        uniqueid: cs(&uid),
        strings: [
            cs(tech),
            cs(&chan.appl),
            cs(&chan.data),
            cs(""),
            cs(&chan.conn_num),
            cs(&chan.conn_name),
        ],
        created: (created.as_secs() as c_long, created.subsec_micros() as c_long),
        head,
        _nodes: nodes,
    }
}

/// Runs `f` on the channel's facts, (re)reading them when the handle is new to us or
/// `refresh` is set (on lock).
fn with_facts<T>(c: *const sys::ast_channel, refresh: bool, f: impl FnOnce(&mut Facts) -> T) -> T {
    let (_, uid, _) = chanapi::ids(c, "channel accessor");
    let mut guard = FACTS.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    map.retain(|k, _| chanapi::is_live(*k));
    let stale = map.get(&(c as usize)).is_none_or(|x| x.uniqueid.to_bytes() != uid.as_bytes());
    if stale || refresh {
        map.insert(c as usize, facts_for(c));
    }
    f(map.get_mut(&(c as usize)).expect("inserted above"))
}

/// String accessors: 0 uniqueid, 1 technology type, 2 application, 3 data, 4 dialed number,
/// 5 connected number, 6 connected name. The pointer stays valid while the handle lives.
#[unsafe(no_mangle)]
pub extern "C" fn standin_chan_text(c: *const sys::ast_channel, what: c_int) -> *const c_char {
    with_facts(c, false, |f| match what {
        0 => f.uniqueid.as_ptr(),
        1..=6 => f.strings[(what - 1) as usize].as_ptr(),
        _ => std::ptr::null(),
    })
}

/// `ast_channel_creationtime`: seconds, microseconds through `usec`.
#[unsafe(no_mangle)]
pub extern "C" fn standin_chan_created(c: *const sys::ast_channel, usec: *mut c_long) -> c_long {
    with_facts(c, false, |f| {
        if !usec.is_null() {
            // SAFETY: the caller's out pointer.
            unsafe { *usec = f.created.1 };
        }
        f.created.0
    })
}

/// `ast_channel_varshead`: the channel's variable list (head first), valid while the handle
/// lives and the channel stays locked.
#[unsafe(no_mangle)]
pub extern "C" fn standin_chan_varshead(c: *const sys::ast_channel) -> *mut c_void {
    with_facts(c, false, |f| f.head.as_mut_ptr().cast())
}
