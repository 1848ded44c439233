//! The core's lists of named ACLs (acl.conf) for manager.conf's `acl = name` lines: built with
//! `ast_append_acl`, applied with `ast_apply_acl`, freed with `ast_free_acl_list`, as manager.c
//! does for its users.
//! C header: asterisk/acl.h

use std::net::{IpAddr, SocketAddr};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::ami::accounts::ManagerConf;
use crate::ami::acl::NamedAcls;
use crate::rawconf::Loaded;
use crate::sys;

/// manager.c's log prefix for a refusal (`ast_apply_acl(user->acl, addr, "Manager User ACL: ")`).
const PURPOSE: &std::ffi::CStr = c"Manager User ACL: ";

/// A core `struct ast_acl_list` holding one user's named ACLs; freed on drop.
#[derive(Debug)]
pub struct CoreNamedAcls {
    list: NonNull<sys::ast_acl_list>,
}

// SAFETY: after `build` the list is only read, through ast_apply_acl, which takes the list's own
// lock (AST_LIST_LOCK in main/acl.c); it is freed once, by Drop, when the last owner goes.
unsafe impl Send for CoreNamedAcls {}
// SAFETY: as above: concurrent ast_apply_acl calls are serialized by the core's list lock.
unsafe impl Sync for CoreNamedAcls {}

impl CoreNamedAcls {
    /// Builds the core's list for these names (as `acl = a,b` lines). `Err` when the core sets
    /// its error flag (a repeated name, an allocation failure).
    pub fn build(names: &[String]) -> Result<CoreNamedAcls, String> {
        let joined = names.join(",");
        let stuff = std::ffi::CString::new(joined.as_str()).map_err(|_| "NUL in a name")?;
        let mut list: *mut sys::ast_acl_list = std::ptr::null_mut();
        let (mut error, mut named) = (0, 0);
        // SAFETY: the strings are NUL-terminated and live for the call; `list` starts NULL so the
        // core allocates it; error and named are our ints.
        unsafe {
            sys::ast_append_acl(c"acl".as_ptr(), stuff.as_ptr(), &mut list, &mut error, &mut named)
        };
        let owned = NonNull::new(list).map(|list| CoreNamedAcls { list });
        match owned {
            Some(l) if error == 0 => Ok(l),
            // Dropping `l` frees what the core built.
            _ => Err(format!("the core refused acl = {joined}")),
        }
    }
}

impl NamedAcls for CoreNamedAcls {
    fn allows(&self, ip: IpAddr) -> bool {
        let addr = crate::host::security::sockaddr(SocketAddr::new(ip, 0));
        // SAFETY: the list is live (freed only by Drop) and addr is a local ast_sockaddr; the
        // core logs a refusal with our constant prefix.
        let sense = unsafe { sys::ast_apply_acl(self.list.as_ptr(), &addr, PURPOSE.as_ptr()) };
        sense == sys::ast_acl_sense_AST_SENSE_ALLOW
    }
}

impl Drop for CoreNamedAcls {
    fn drop(&mut self) {
        // SAFETY: the list came from ast_append_acl and is freed exactly once, here.
        unsafe { sys::ast_free_acl_list(self.list.as_ptr()) };
    }
}

/// Gives every user with `acl =` lines the core's check of its named ACLs. Users the core
/// refuses to build a list for are deleted (manager.c deletes a user on an ACL error). When
/// acl.conf cannot be read, the core has no named ACLs and would let every address pass them
/// ("the ACL configuration isn't available"): those users are left unresolved, so they are
/// refused here, with a warning. Returns the warnings to log.
pub fn attach_named_acls(conf: &mut ManagerConf) -> Vec<String> {
    let mut warnings = Vec::new();
    let users: Vec<String> = conf
        .accounts
        .iter()
        .filter(|a| !a.acl.named().is_empty())
        .map(|a| a.username.clone())
        .collect();
    if users.is_empty() {
        return warnings;
    }
    if !matches!(crate::host::config::load("acl.conf", crate::MODULE_NAME), Loaded::File(_)) {
        warnings.push(format!(
            "acl.conf cannot be read, so Asterisk has no named ACLs (and would let every address \
             pass them); manager users with acl = lines cannot log in over the WebSocket: {}",
            users.join(", ")
        ));
        return warnings;
    }
    conf.accounts.retain_mut(|a| {
        if a.acl.named().is_empty() {
            return true;
        }
        match CoreNamedAcls::build(a.acl.named()) {
            Ok(list) => {
                a.acl.attach_named(Arc::new(list));
                true
            }
            Err(e) => {
                warnings.push(format!("manager user '{}' deleted: {e}", a.username));
                false
            }
        }
    });
    warnings
}
