//! Reports security events to the core (`ast_security_event_report`) and writes the login NOTICE
//! lines the way manager.c does, so the `security` logger channel and fail2ban see WebSocket
//! logins as they see AMI's.
//! C header: asterisk/security_events.h (asterisk/netsock2.h for the addresses).

use std::ffi::CString;
use std::net::SocketAddr;
use std::time::UNIX_EPOCH;

use crate::ami::security::{Event, EventKind, Origin, Report, SERVICE};
use crate::host::log::{self, Level};
use crate::sys;

/// The function name our login lines carry. Log formats put it between the file and the
/// message (`file:line function: message` on consoles and syslog), and fail2ban's `asterisk`
/// filter reads that part as `[^:]+:`, so it must contain no colon (a Rust module path would).
const LOGIN_FUNCTION: &str = "authenticate";

/// Writes what a login outcome logs: NOTICE lines (and a debug line) as manager.c's.
pub fn log_report(r: &Report) {
    if let Some(d) = &r.debug {
        if log::debug_at_least(1) {
            log::write(Level::Debug, file!(), line!(), LOGIN_FUNCTION, d);
        }
    }
    for n in &r.notices {
        log::write(Level::Notice, file!(), line!(), LOGIN_FUNCTION, n);
    }
}

/// An `ast_sockaddr` holding `addr` (what `ast_sockaddr_from_sockaddr` makes of the socket's
/// own address).
pub(crate) fn sockaddr(addr: SocketAddr) -> sys::ast_sockaddr {
    let mut out = sys::ast_sockaddr::default();
    let storage = std::ptr::addr_of_mut!(out.ss).cast::<u8>();
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned for it;
            // we copy plain bytes into our own local.
            unsafe { std::ptr::write_unaligned(storage.cast::<libc::sockaddr_in>(), sin) };
            out.len = std::mem::size_of::<libc::sockaddr_in>() as sys::socklen_t;
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6 (28 bytes) in a 128-byte storage.
            unsafe { std::ptr::write_unaligned(storage.cast::<libc::sockaddr_in6>(), sin6) };
            out.len = std::mem::size_of::<libc::sockaddr_in6>() as sys::socklen_t;
        }
    }
    out
}

/// NUL-terminated copy; interior NULs (impossible after validation) become "?".
fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "?")).unwrap_or_default()
}

/// Reports one event for a session to the core, as manager.c's `report_*` functions do.
/// Returns the core's answer (0: accepted).
pub fn report(origin: &Origin, event: &Event) -> i32 {
    let transport = if origin.tls { sys::AMI_WS_TRANSPORT_WSS } else { sys::AMI_WS_TRANSPORT_WS };
    let local = sockaddr(origin.local);
    let remote = sockaddr(origin.remote);
    let since = origin.started.duration_since(UNIX_EPOCH).unwrap_or_default();
    let session_tv = libc::timeval {
        tv_sec: since.as_secs() as libc::time_t,
        tv_usec: since.subsec_micros() as libc::suseconds_t,
    };
    let service = c_text(SERVICE);
    let module = c_text(crate::MODULE_NAME);
    let account = c_text(&event.account);
    let session_id = c_text(&origin.session_id);
    let (ty, version) = kind_numbers(&event.kind);
    let common = sys::ast_security_event_common {
        event_type: ty,
        version,
        service: service.as_ptr(),
        module: module.as_ptr(),
        account_id: account.as_ptr(),
        session_id: session_id.as_ptr(),
        session_tv: std::ptr::addr_of!(session_tv).cast(),
        local_addr: sys::ast_security_event_ip_addr { addr: &local, transport },
        remote_addr: sys::ast_security_event_ip_addr { addr: &remote, transport },
    };
    // Texts of the event's own fields, alive until the report returns.
    let texts: Vec<CString> = match &event.kind {
        EventKind::RequestNotAllowed(t) | EventKind::RequestBadFormat(t) => vec![c_text(t)],
        EventKind::ChallengeResponseFailed { challenge, response, expected } => {
            vec![c_text(challenge), c_text(response), c_text(expected)]
        }
        _ => Vec::new(),
    };
    let text = |i: usize| texts.get(i).map_or(std::ptr::null(), |t| t.as_ptr());
    match &event.kind {
        EventKind::FailedAcl => {
            submit(&sys::ast_security_event_failed_acl { common, acl_name: std::ptr::null() })
        }
        EventKind::InvalidAccountId => submit(&sys::ast_security_event_inval_acct_id { common }),
        EventKind::SessionLimit => submit(&sys::ast_security_event_session_limit { common }),
        EventKind::RequestNotAllowed(_) => submit(&sys::ast_security_event_req_not_allowed {
            common,
            request_type: text(0),
            request_params: std::ptr::null(),
        }),
        EventKind::RequestBadFormat(_) => submit(&sys::ast_security_event_req_bad_format {
            common,
            request_type: text(0),
            request_params: std::ptr::null(),
        }),
        EventKind::SuccessfulAuth => {
            // manager.c leaves using_password at 0.
            submit(&sys::ast_security_event_successful_auth { common, using_password: 0 })
        }
        EventKind::ChallengeResponseFailed { .. } => {
            submit(&sys::ast_security_event_chal_resp_failed {
                common,
                challenge: text(0),
                response: text(1),
                expected_response: text(2),
            })
        }
        EventKind::InvalidPassword => submit(&sys::ast_security_event_inval_password {
            common,
            challenge: std::ptr::null(),
            received_challenge: std::ptr::null(),
            received_hash: std::ptr::null(),
        }),
    }
}

/// `AST_SECURITY_EVENT_*` and its `*_VERSION`.
fn kind_numbers(kind: &EventKind) -> (i32, u32) {
    let (t, v) = match kind {
        EventKind::FailedAcl => {
            (sys::AMI_WS_SECURITY_EVENT_FAILED_ACL, sys::AMI_WS_SECURITY_EVENT_FAILED_ACL_VERSION)
        }
        EventKind::InvalidAccountId => (
            sys::AMI_WS_SECURITY_EVENT_INVAL_ACCT_ID,
            sys::AMI_WS_SECURITY_EVENT_INVAL_ACCT_ID_VERSION,
        ),
        EventKind::SessionLimit => (
            sys::AMI_WS_SECURITY_EVENT_SESSION_LIMIT,
            sys::AMI_WS_SECURITY_EVENT_SESSION_LIMIT_VERSION,
        ),
        EventKind::RequestNotAllowed(_) => (
            sys::AMI_WS_SECURITY_EVENT_REQ_NOT_ALLOWED,
            sys::AMI_WS_SECURITY_EVENT_REQ_NOT_ALLOWED_VERSION,
        ),
        EventKind::RequestBadFormat(_) => (
            sys::AMI_WS_SECURITY_EVENT_REQ_BAD_FORMAT,
            sys::AMI_WS_SECURITY_EVENT_REQ_BAD_FORMAT_VERSION,
        ),
        EventKind::SuccessfulAuth => (
            sys::AMI_WS_SECURITY_EVENT_SUCCESSFUL_AUTH,
            sys::AMI_WS_SECURITY_EVENT_SUCCESSFUL_AUTH_VERSION,
        ),
        EventKind::ChallengeResponseFailed { .. } => (
            sys::AMI_WS_SECURITY_EVENT_CHAL_RESP_FAILED,
            sys::AMI_WS_SECURITY_EVENT_CHAL_RESP_FAILED_VERSION,
        ),
        EventKind::InvalidPassword => (
            sys::AMI_WS_SECURITY_EVENT_INVAL_PASSWORD,
            sys::AMI_WS_SECURITY_EVENT_INVAL_PASSWORD_VERSION,
        ),
    };
    (t, v as u32)
}

/// Hands one event struct (which starts with its common part) to the core.
fn submit<T>(event: &T) -> i32 {
    #[cfg(test)]
    {
        let _ = event;
        0
    }
    #[cfg(not(test))]
    {
        // SAFETY: every event struct of ours is #[repr(C)] with the common part first (as
        // Asterisk's AST_SEC_EVT cast assumes); every pointer in it (texts, addresses, the
        // timeval) points at locals of `report` that outlive this synchronous call.
        unsafe {
            sys::ast_security_event_report(
                (event as *const T).cast::<sys::ast_security_event_common>(),
            )
        }
    }
}
