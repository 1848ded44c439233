/*
 * res_ami_websocket: our declaration of the core's system name.
 * Mirrors: include/asterisk/paths.h (asterisk.conf [options] systemname; "" when unset).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_PATHS_H
#define AMI_WS_PATHS_H

extern const char *ast_config_AST_SYSTEM_NAME;

#endif
