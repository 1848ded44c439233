/*
 * res_ami_websocket: our declarations of the core's access control lists, named ACLs
 * (acl.conf) included.
 * Mirrors: include/asterisk/acl.h. The list itself stays opaque: only the core builds, applies
 * and frees it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_ACL_H
#define AMI_WS_ACL_H

#include "netsock2.h"

struct ast_acl_list;

/* The verdict of an ACL, as the core returns it. */
enum ast_acl_sense {
	AST_SENSE_DENY,
	AST_SENSE_ALLOW
};

/* Adds a permit/deny rule (sense "permit"/"deny") or, for a sense starting with 'a', the named
 * ACLs listed in stuff (comma-separated) to *path, creating the list when *path is NULL. Sets
 * *error on a bad rule or a repeated name, *named_acl_flag when a named ACL was added. */
void ast_append_acl(const char *sense, const char *stuff, struct ast_acl_list **path, int *error,
	int *named_acl_flag);
/* Applies the list to an address: DENY when any ACL of the list (or an undefined named one)
 * refuses it. purpose prefixes the NOTICE logged on a refusal. */
enum ast_acl_sense ast_apply_acl(struct ast_acl_list *acl_list, const struct ast_sockaddr *addr,
	const char *purpose);
/* The same without logging. */
enum ast_acl_sense ast_apply_acl_nolog(struct ast_acl_list *acl_list,
	const struct ast_sockaddr *addr);
/* Frees the list; returns NULL. */
struct ast_acl_list *ast_free_acl_list(struct ast_acl_list *acl);

#endif
