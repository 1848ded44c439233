/*
 * res_ami_websocket: our declarations of the CLI.
 * Mirrors: include/asterisk/cli.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_CLI_H
#define AMI_WS_CLI_H

struct ast_module;

/* AST_MAX_CMD_LEN */
#define AMI_WS_MAX_CMD_LEN 16
/* enum ast_cli_command */
#define AMI_WS_CLI_INIT (-2)
#define AMI_WS_CLI_GENERATE (-3)
/* RESULT_SUCCESS, RESULT_SHOWUSAGE, RESULT_FAILURE, returned cast to char * as CLI_* */
#define AMI_WS_CLI_SUCCESS 0
#define AMI_WS_CLI_SHOWUSAGE 1
#define AMI_WS_CLI_FAILURE 2
/* CLI_NO_PERMS */
#define AMI_WS_CLI_NO_PERMS (-1)

struct ast_cli_args {
	const int fd;
	const int argc;
	const char *const *argv;
	const char *line;
	const char *word;
	const int pos;
	const int n;
};

/* AST_LIST_ENTRY(ast_cli_entry): a single next pointer. */
struct ast_cli_entry_list_link {
	struct ast_cli_entry *next;
};

struct ast_cli_entry {
	const char *const cmda[AMI_WS_MAX_CMD_LEN];
	const char *const summary;
	const char *usage;
	int inuse;
	struct ast_module *module;
	char *_full_cmd;
	int cmdlen;
	int args;
	char *command;
	char *(*handler)(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
	struct ast_cli_entry_list_link list;
};

void ast_cli(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int __ast_cli_register_multiple(struct ast_cli_entry *e, int len, struct ast_module *mod);
int ast_cli_unregister_multiple(struct ast_cli_entry *e, int len);
int ast_cli_command_full(int uid, int gid, int fd, const char *s);

#endif
