/*
 * res_ami_websocket: C glue exported to Rust. One tiny function per macro or static datum.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_HELPERS_H
#define AMI_WS_HELPERS_H
struct ast_module;

/*! \brief AST_MODULE_SELF: the loader's handle for this module (NULL before registration). */
struct ast_module *res_ami_websocket_helper_self(void);

/* Implemented in Rust (src/lib.rs); called by the module info callbacks in module.c. */
int res_ami_websocket_rs_load(void);
int res_ami_websocket_rs_unload(void);
int res_ami_websocket_rs_reload(void);
#endif
