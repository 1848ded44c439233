/*
 * asterisk-standin: exports for the security event framework, the core's ACL lists and
 * ast_get_version_num, forwarded to the Rust side (security.rs, acl.rs, version.rs).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "ami_ws/all.h"

const char *standin_get_version_num(void);
int standin_security_event_report(const struct ast_security_event_common *sec);
void standin_append_acl(const char *sense, const char *stuff, struct ast_acl_list **path,
	int *error, int *named_acl_flag);
int standin_apply_acl(struct ast_acl_list *acl_list, const struct ast_sockaddr *addr,
	const char *purpose, int log);
struct ast_acl_list *standin_free_acl_list(struct ast_acl_list *acl);

const char *ast_get_version_num(void)
{
	return standin_get_version_num();
}

int ast_security_event_report(const struct ast_security_event_common *sec)
{
	return standin_security_event_report(sec);
}

void ast_append_acl(const char *sense, const char *stuff, struct ast_acl_list **path, int *error,
	int *named_acl_flag)
{
	standin_append_acl(sense, stuff, path, error, named_acl_flag);
}

/* acl.c: ast_apply_acl passes purpose ?: "" as the log prefix, ast_apply_acl_nolog none. */
enum ast_acl_sense ast_apply_acl(struct ast_acl_list *acl_list, const struct ast_sockaddr *addr,
	const char *purpose)
{
	return standin_apply_acl(acl_list, addr, purpose ? purpose : "", 1) ? AST_SENSE_ALLOW : AST_SENSE_DENY;
}

enum ast_acl_sense ast_apply_acl_nolog(struct ast_acl_list *acl_list,
	const struct ast_sockaddr *addr)
{
	return standin_apply_acl(acl_list, addr, "", 0) ? AST_SENSE_ALLOW : AST_SENSE_DENY;
}

struct ast_acl_list *ast_free_acl_list(struct ast_acl_list *acl)
{
	return standin_free_acl_list(acl);
}
