/*
 * res_ami_websocket: our declarations of the config-file API.
 * Mirrors: include/asterisk/config.h and struct ast_flags of include/asterisk/utils.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_CONFIG_H
#define AMI_WS_CONFIG_H

struct ast_config;
struct ast_comment;

struct ast_flags {
	unsigned int flags;
};

/* enum config flags */
#define AMI_WS_CONFIG_FLAG_WITHCOMMENTS (1 << 0)
#define AMI_WS_CONFIG_FLAG_FILEUNCHANGED (1 << 1)
#define AMI_WS_CONFIG_FLAG_NOCACHE (1 << 2)
#define AMI_WS_CONFIG_FLAG_NOREALTIME (1 << 3)
/* CONFIG_STATUS_FILEMISSING is NULL; these two are the pointer values (void *)-1 and (void *)-2. */
#define AMI_WS_CONFIG_STATUS_FILEUNCHANGED (-1)
#define AMI_WS_CONFIG_STATUS_FILEINVALID (-2)

struct ast_variable {
	const char *name;
	const char *value;
	struct ast_variable *next;
	const char *file;
	int lineno;
	int object;
	int blanklines;
	int inherited;
	struct ast_comment *precomments;
	struct ast_comment *sameline;
	struct ast_comment *trailing;
	char stuff[];
};

struct ast_config *ast_config_load2(const char *filename, const char *who_asked, struct ast_flags flags);
void ast_config_destroy(struct ast_config *cfg);
char *ast_category_browse(struct ast_config *config, const char *prev_name);
struct ast_variable *ast_variable_browse(const struct ast_config *config, const char *category_name);

#endif
