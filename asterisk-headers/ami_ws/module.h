/*
 * res_ami_websocket: our declarations of the module-loader ABI.
 * Mirrors: include/asterisk/module.h (Asterisk 20, 22, 23). Facts only, written for this project.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_MODULE_H
#define AMI_WS_MODULE_H

/* Opaque handle the loader stores in ast_module_info.self. */
struct ast_module;

/* enum ast_module_load_result */
#define AMI_WS_MODULE_LOAD_SUCCESS 0
#define AMI_WS_MODULE_LOAD_DECLINE 1
#define AMI_WS_MODULE_LOAD_SKIP 2
#define AMI_WS_MODULE_LOAD_PRIORITY 3
#define AMI_WS_MODULE_LOAD_FAILURE (-1)

/* enum ast_module_flags */
#define AMI_WS_MODFLAG_DEFAULT 0
#define AMI_WS_MODFLAG_GLOBAL_SYMBOLS (1 << 0)
#define AMI_WS_MODFLAG_LOAD_ORDER (1 << 1)

/* enum ast_module_load_priority: AST_MODPRI_DEFAULT */
#define AMI_WS_MODPRI_DEFAULT 128

/* enum ast_module_support_level */
#define AMI_WS_MODULE_SUPPORT_UNKNOWN 0
#define AMI_WS_MODULE_SUPPORT_CORE 1
#define AMI_WS_MODULE_SUPPORT_EXTENDED 2
#define AMI_WS_MODULE_SUPPORT_DEPRECATED 3

/*
 * struct ast_module_info. The C enums of the original (load result, support level) are int-sized
 * on every ABI Asterisk supports; they are declared as int here so Rust never sees a C enum.
 */
struct ast_module_info {
	struct ast_module *self;
	int (*load)(void);
	int (*reload)(void);
	int (*unload)(void);
	const char *name;
	const char *description;
	const char *key;
	unsigned int flags;
	const char buildopt_sum[33];
	unsigned char load_pri;
	const char *requires;
	const char *optional_modules;
	const char *enhances;
	void *reserved1;
	void *reserved2;
	void *reserved3;
	void *reserved4;
	int support_level;
};

void ast_module_register(const struct ast_module_info *info);
void ast_module_unregister(const struct ast_module_info *info);

#endif
