//! The security event framework: `ast_security_event_report` checks an event as
//! main/security_events.c does (type, version, required IEs, each read at the offset the real
//! `sec_events[]` table names), records what it accepted for `standin show security`, and logs it
//! at SECURITY level in the line format of res/res_security_log.c (the stand-in plays a core with
//! res_security_log loaded and `security` in a logger channel).
//!
//! Where Asterisk would crash (a NULL event: `sec->event_type` is read first) the stand-in logs
//! `standin: CRASH` and aborts. Where Asterisk refuses, it refuses the same way and logs the same
//! message: an event type out of range (ERROR "Invalid security event type", -1), a version
//! mismatch (WARNING "Security event %u version mismatch", -1), a missing required IE or a text
//! jansson would refuse (not UTF-8) (WARNING "Required IE ... not present" where Asterisk logs it,
//! then ERROR "Failed to issue security event of type %s.", and 0: the event is lost).

use std::collections::VecDeque;
use std::ffi::{CStr, c_char, c_int};
use std::mem::{offset_of, size_of};
use std::sync::Mutex;

use crate::builtins::{Builtin, Status};
use crate::ffi::sys;
use crate::logger::{ERROR, WARNING};

/// An information element: its name (`ast_event_get_ie_type_name`) and where it is read.
#[derive(Clone, Copy)]
enum Ie {
    /// A `const char *` at this offset.
    Str(&'static str, usize),
    /// A `uint32_t` at this offset.
    Uint(&'static str, usize),
    /// A `struct ast_security_event_ip_addr` at this offset.
    Addr(&'static str, usize),
    /// A `const struct timeval *` at this offset.
    Tv(&'static str, usize),
}

type Common = sys::ast_security_event_common;

const SERVICE: Ie = Ie::Str("Service", offset_of!(Common, service));
const VERSION: Ie = Ie::Uint("EventVersion", offset_of!(Common, version));
const ACCOUNT: Ie = Ie::Str("AccountID", offset_of!(Common, account_id));
const SESSION: Ie = Ie::Str("SessionID", offset_of!(Common, session_id));
const LOCAL: Ie = Ie::Addr("LocalAddress", offset_of!(Common, local_addr));
const REMOTE: Ie = Ie::Addr("RemoteAddress", offset_of!(Common, remote_addr));
const MODULE: Ie = Ie::Str("Module", offset_of!(Common, module));
const SESSION_TV: Ie = Ie::Tv("SessionTV", offset_of!(Common, session_tv));
/// The first field after the common part (every event's own fields follow it).
const OWN: usize = size_of::<Common>();
const PTR: usize = size_of::<*const c_char>();

/// One row of security_events.c's `sec_events[]`: name, version, severity, then the required
/// and optional IEs after EventTV/Severity (which the core adds itself).
struct Kind {
    name: &'static str,
    version: u32,
    severity: &'static str,
    required: &'static [Ie],
    optional: &'static [Ie],
}

macro_rules! kind {
    ($name:literal, $v:expr, $sev:literal, [$($req:expr),*], [$($opt:expr),*]) => {
        Kind { name: $name, version: $v, severity: $sev, required: &[$($req),*], optional: &[$($opt),*] }
    };
}

/// Indexed by `enum ast_security_event_type`.
static KINDS: [Kind; 15] = [
    kind!(
        "FailedACL",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [MODULE, Ie::Str("ACLName", OWN), SESSION_TV]
    ),
    kind!(
        "InvalidAccountID",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "SessionLimit",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "MemoryLimit",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "LoadAverageLimit",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "RequestNotSupported",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Str("RequestType", OWN)],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "RequestNotAllowed",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Str("RequestType", OWN)],
        [MODULE, SESSION_TV, Ie::Str("RequestParams", OWN + PTR)]
    ),
    kind!(
        "AuthMethodNotAllowed",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Str("AuthMethod", OWN)],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "RequestBadFormat",
        1,
        "Error",
        [SERVICE, VERSION, SESSION, LOCAL, REMOTE, Ie::Str("RequestType", OWN)],
        [MODULE, SESSION_TV, ACCOUNT, Ie::Str("RequestParams", OWN + PTR)]
    ),
    kind!(
        "SuccessfulAuth",
        1,
        "Informational",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Uint("UsingPassword", OWN)],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "UnexpectedAddress",
        2,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Addr("ExpectedAddress", OWN)],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "ChallengeResponseFailed",
        1,
        "Error",
        [
            SERVICE,
            VERSION,
            ACCOUNT,
            SESSION,
            LOCAL,
            REMOTE,
            Ie::Str("Challenge", OWN),
            Ie::Str("Response", OWN + PTR),
            Ie::Str("ExpectedResponse", OWN + 2 * PTR)
        ],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "InvalidPassword",
        2,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE],
        [
            MODULE,
            SESSION_TV,
            Ie::Str("Challenge", OWN),
            Ie::Str("ReceivedChallenge", OWN + PTR),
            Ie::Str("ReceivedHash", OWN + 2 * PTR)
        ]
    ),
    kind!(
        "ChallengeSent",
        1,
        "Informational",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Str("Challenge", OWN)],
        [MODULE, SESSION_TV]
    ),
    kind!(
        "InvalidTransport",
        1,
        "Error",
        [SERVICE, VERSION, ACCOUNT, SESSION, LOCAL, REMOTE, Ie::Str("AttemptedTransport", OWN)],
        [MODULE, SESSION_TV]
    ),
];

// Our declarations put each event's own fields right after the common part, as Asterisk's do.
const _: () = assert!(offset_of!(sys::ast_security_event_failed_acl, acl_name) == OWN);
const _: () = assert!(
    offset_of!(sys::ast_security_event_chal_resp_failed, expected_response) == OWN + 2 * PTR
);
const _: () =
    assert!(offset_of!(sys::ast_security_event_inval_password, received_hash) == OWN + 2 * PTR);
const _: () =
    assert!(offset_of!(sys::ast_security_event_req_bad_format, request_params) == OWN + PTR);
const _: () = assert!(offset_of!(sys::ast_security_event_successful_auth, using_password) == OWN);

/// The last events accepted (at most `KEEP`), each as res_security_log's text
/// (`SecurityEvent="X",...`), and how many were accepted in all. Bounded, so a long soak's
/// hundreds of thousands of logins do not grow the core (res_security_log keeps none).
static RECORDED: Mutex<(VecDeque<String>, usize)> = Mutex::new((VecDeque::new(), 0));
/// Events kept for `standin show security`.
const KEEP: usize = 10_000;

/// Why an event could not be issued (logged as Asterisk does).
struct Missing;

/// `ast_json_timeval(tv, NULL)`: `%Y-%m-%dT%H:%M:%S.%q%z` in local time (%q = milliseconds).
fn json_timeval(sec: i64, usec: i64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: localtime_r/strftime with pointers to locals; strftime bounds its writes.
    let n = unsafe {
        let t = sec as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Y-%m-%dT%H:%M:%S".as_ptr(), &tm)
    };
    let base = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
    let mut zone = [0u8; 16];
    // SAFETY: as above.
    let z = unsafe {
        let t = sec as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        libc::strftime(zone.as_mut_ptr().cast(), zone.len(), c"%z".as_ptr(), &tm)
    };
    format!(
        "{base}.{:03}{}",
        usec / 1000,
        String::from_utf8_lossy(zone.get(..z).unwrap_or_default())
    )
}

/// The address and port of an `ast_sockaddr` (`None` for a null or unknown-family address);
/// IPv4-mapped IPv6 stays IPv6 here.
///
/// # Safety
/// `addr` points at a readable `struct ast_sockaddr`.
pub unsafe fn sockaddr(addr: *const sys::ast_sockaddr) -> Option<std::net::SocketAddr> {
    // SAFETY: per the contract.
    let a = unsafe { &*addr };
    // SAFETY: sockaddr_storage is plain bytes of its own size.
    let bytes: &[u8] = unsafe {
        std::slice::from_raw_parts(
            (&a.ss as *const sys::sockaddr_storage).cast::<u8>(),
            size_of::<sys::sockaddr_storage>(),
        )
    };
    let family = c_int::from(a.ss.ss_family);
    let port = u16::from_be_bytes([bytes[2], bytes[3]]);
    if family == libc::AF_INET && a.len as usize == size_of::<libc::sockaddr_in>() {
        let ip = std::net::Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
        Some((ip, port).into())
    } else if family == libc::AF_INET6 && a.len as usize == size_of::<libc::sockaddr_in6>() {
        let mut o = [0u8; 16];
        o.copy_from_slice(&bytes[8..24]);
        Some((std::net::Ipv6Addr::from(o), port).into())
    } else {
        None
    }
}

/// The IP of an `ast_sockaddr`, IPv4-mapped shown as IPv4 (as ast_sockaddr_stringify_addr).
///
/// # Safety
/// `addr` points at a readable `struct ast_sockaddr`.
pub unsafe fn sockaddr_ip(addr: *const sys::ast_sockaddr) -> Option<std::net::IpAddr> {
    // SAFETY: per the contract.
    let sa = unsafe { sockaddr(addr) }?;
    Some(match sa.ip() {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(v6.into(), Into::into),
        v4 => v4,
    })
}

/// `ast_json_ipaddr`: `IPV4|IPV6/[transport/]address/port` (ast_sockaddr_stringify_addr and
/// _port; IPv4-mapped IPv6 shown as IPv4; a transport that is not exactly one known bit omitted).
///
/// # Safety
/// `addr` points at a readable `struct ast_sockaddr`.
unsafe fn json_ipaddr(addr: *const sys::ast_sockaddr, transport: c_int) -> String {
    // SAFETY: per the contract.
    let (ip, port) = match unsafe { (sockaddr_ip(addr), sockaddr(addr)) } {
        (Some(ip), Some(sa)) => (Some(ip), sa.port()),
        _ => (None, 0),
    };
    let fam = if matches!(ip, Some(std::net::IpAddr::V4(_))) { "IPV4" } else { "IPV6" };
    let t = match transport {
        1 => "UDP/",
        2 => "TCP/",
        4 => "TLS/",
        8 => "WS/",
        16 => "WSS/",
        _ => "",
    };
    match ip {
        Some(ip) => format!("{fam}/{t}{ip}/{port}"),
        // ast_sockaddr_stringify_* of a null address is "(null)".
        None => format!("{fam}/{t}(null)/(null)"),
    }
}

/// Reads one IE; `Ok(None)` when absent and optional.
///
/// # Safety
/// `base` points at an event whose type's struct has the field at the IE's offset.
unsafe fn read_ie(
    base: *const u8,
    ie: Ie,
    required: bool,
    kind: &Kind,
    ty: c_int,
) -> Result<Option<(&'static str, String)>, Missing> {
    let missing = |name: &str| {
        crate::slog!(
            WARNING,
            "Required IE '{name}' for security event type '{ty}' ({}) not present",
            kind.name
        );
        Missing
    };
    match ie {
        Ie::Str(name, off) => {
            // SAFETY: per the contract, a `const char *` lives at base + off.
            let p = unsafe { base.add(off).cast::<*const c_char>().read_unaligned() };
            if p.is_null() {
                return if required { Err(missing(name)) } else { Ok(None) };
            }
            // SAFETY: a non-NULL IE string is NUL-terminated (the reporter's contract).
            let text = unsafe { CStr::from_ptr(p) };
            // jansson's json_string refuses text that is not UTF-8: the event is lost.
            let text = text.to_str().map_err(|_| Missing)?;
            Ok(Some((name, text.to_owned())))
        }
        Ie::Uint(name, off) => {
            // SAFETY: a uint32_t lives at base + off.
            let v = unsafe { base.add(off).cast::<u32>().read_unaligned() };
            Ok(Some((name, v.to_string())))
        }
        Ie::Addr(name, off) => {
            // SAFETY: a struct ast_security_event_ip_addr lives at base + off.
            let ip =
                unsafe { base.add(off).cast::<sys::ast_security_event_ip_addr>().read_unaligned() };
            if ip.addr.is_null() {
                return if required { Err(missing(name)) } else { Ok(None) };
            }
            // SAFETY: a non-NULL addr points at the reporter's ast_sockaddr.
            Ok(Some((name, unsafe { json_ipaddr(ip.addr, ip.transport) })))
        }
        Ie::Tv(name, off) => {
            // SAFETY: a `const struct timeval *` lives at base + off.
            let p = unsafe { base.add(off).cast::<*const libc::timeval>().read_unaligned() };
            if p.is_null() {
                return if required { Err(missing(name)) } else { Ok(None) };
            }
            // SAFETY: non-NULL: the reporter's timeval.
            let tv = unsafe { p.read_unaligned() };
            Ok(Some((name, json_timeval(tv.tv_sec, tv.tv_usec))))
        }
    }
}

/// `handle_security_event` + res_security_log's formatting: the logged text, or `Missing`.
///
/// # Safety
/// `sec` points at an event of the type it names.
unsafe fn render(sec: *const Common, ty: c_int, kind: &Kind) -> Result<String, Missing> {
    // SAFETY: per the contract.
    let c = unsafe { &*sec };
    if c.service.is_null() {
        // ast_json_string_create(NULL) fails: no JSON object, no event (nothing else logged).
        return Err(Missing);
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut out = format!(
        "SecurityEvent=\"{}\",EventTV=\"{}\",Severity=\"{}\"",
        kind.name,
        json_timeval(now.as_secs() as i64, i64::from(now.subsec_micros())),
        kind.severity
    );
    let base = sec.cast::<u8>();
    for (ies, required) in [(kind.required, true), (kind.optional, false)] {
        for ie in ies {
            // SAFETY: the table's offsets are those of the event's struct.
            if let Some((name, value)) = unsafe { read_ie(base, *ie, required, kind, ty)? } {
                out.push_str(&format!(",{name}=\"{value}\""));
            }
        }
    }
    Ok(out)
}

/// `ast_security_event_report` (exported through c/security_acl.c).
///
/// # Safety
/// `sec` is NULL (Asterisk crashes) or points at an event of the type it names.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_security_event_report(sec: *const Common) -> c_int {
    if sec.is_null() {
        crate::slog!(
            ERROR,
            "standin: CRASH: ast_security_event_report(NULL) reads sec->event_type (main/security_events.c)"
        );
        std::process::abort();
    }
    // SAFETY: non-NULL; the common part is at the start of every event.
    let (ty, version) = unsafe { ((*sec).event_type, (*sec).version) };
    let Some(kind) = usize::try_from(ty).ok().and_then(|i| KINDS.get(i)) else {
        crate::slog!(ERROR, "Invalid security event type");
        return -1;
    };
    if version != kind.version {
        crate::slog!(WARNING, "Security event {ty} version mismatch");
        return -1;
    }
    // SAFETY: the event is of the type it names (caller's contract).
    match unsafe { render(sec, ty, kind) } {
        Ok(line) => {
            crate::logger::log(
                crate::logger::SECURITY,
                "res_security_log.c",
                0,
                "security_event_stasis_cb",
                &line,
            );
            let mut rec = RECORDED.lock().unwrap_or_else(|e| e.into_inner());
            if rec.0.len() == KEEP {
                rec.0.pop_front();
            }
            rec.0.push_back(line);
            rec.1 += 1;
        }
        Err(Missing) => {
            crate::slog!(ERROR, "Failed to issue security event of type {}.", kind.name);
        }
    }
    0
}

macro_rules! cmd {
    ($cmd:literal, $summary:literal, $usage:literal, $run:expr) => {
        Builtin { command: $cmd, summary: $summary, usage: $usage, run: $run }
    };
}

/// `standin show security`.
pub static COMMANDS: &[Builtin] = &[cmd!(
    c"standin show security",
    c"Security events reported so far",
    c"Usage: standin show security\n       Counts the security events the core accepted and lists the last 10000, as res_security_log\n       logs them.\n",
    |a| {
        let (list, total) = RECORDED.lock().unwrap_or_else(|e| e.into_inner()).clone();
        a.out(&format!("security events: {total}\n"));
        for l in list {
            a.out(&format!("{l}\n"));
        }
        Status::Success
    }
), cmd!(
    c"standin show messages",
    c"The messages log file",
    c"Usage: standin show messages [lines]\n       The last lines (default all kept) in the format of Asterisk's file log channels\n       (logger.conf messages => notice,warning,error,security).\n",
    |a| {
        let n = a.argv.get(3).and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
        a.out(&crate::logger::recent_messages(n));
        Status::Success
    }
)];
