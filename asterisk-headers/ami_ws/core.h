/*
 * res_ami_websocket: our declarations of small core services.
 * Mirrors: include/asterisk/ast_version.h (ast_get_version) and include/asterisk/pbx.h
 * (ast_thread_inhibit_escalations).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_CORE_H
#define AMI_WS_CORE_H

const char *ast_get_version(void);
int ast_thread_inhibit_escalations(void);

#endif
