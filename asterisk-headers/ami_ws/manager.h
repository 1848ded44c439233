/*
 * res_ami_websocket: our declarations of the manager hook API.
 * Mirrors: include/asterisk/manager.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_MANAGER_H
#define AMI_WS_MANAGER_H

/* EVENT_FLAG_* */
#define AMI_WS_EVENT_FLAG_SYSTEM (1 << 0)
#define AMI_WS_EVENT_FLAG_CALL (1 << 1)
#define AMI_WS_EVENT_FLAG_LOG (1 << 2)
#define AMI_WS_EVENT_FLAG_VERBOSE (1 << 3)
#define AMI_WS_EVENT_FLAG_COMMAND (1 << 4)
#define AMI_WS_EVENT_FLAG_AGENT (1 << 5)
#define AMI_WS_EVENT_FLAG_USER (1 << 6)
#define AMI_WS_EVENT_FLAG_CONFIG (1 << 7)
#define AMI_WS_EVENT_FLAG_DTMF (1 << 8)
#define AMI_WS_EVENT_FLAG_REPORTING (1 << 9)
#define AMI_WS_EVENT_FLAG_CDR (1 << 10)
#define AMI_WS_EVENT_FLAG_DIALPLAN (1 << 11)
#define AMI_WS_EVENT_FLAG_ORIGINATE (1 << 12)
#define AMI_WS_EVENT_FLAG_AGI (1 << 13)
#define AMI_WS_EVENT_FLAG_HOOKRESPONSE (1 << 14)
#define AMI_WS_EVENT_FLAG_CC (1 << 15)
#define AMI_WS_EVENT_FLAG_AOC (1 << 16)
#define AMI_WS_EVENT_FLAG_TEST (1 << 17)
#define AMI_WS_EVENT_FLAG_SECURITY (1 << 18)
#define AMI_WS_EVENT_FLAG_MESSAGE (1 << 30)

typedef int (*manager_hook_t)(int category, const char *event, char *body);

/* AST_RWLIST_ENTRY(manager_custom_hook): a single next pointer. */
struct manager_custom_hook_list_link {
	struct manager_custom_hook *next;
};

struct manager_custom_hook {
	char *file;
	manager_hook_t helper;
	struct manager_custom_hook_list_link list;
};

int ast_manager_check_enabled(void);
void ast_manager_register_hook(struct manager_custom_hook *hook);
void ast_manager_unregister_hook(struct manager_custom_hook *hook);
int ast_hook_send_action(struct manager_custom_hook *hook, const char *msg);

#endif
