/*
 * res_ami_websocket: our declarations of small core services.
 * Mirrors: include/asterisk/ast_version.h (ast_get_version) and include/asterisk/pbx.h
 * (ast_thread_inhibit_escalations), and the start/reload times of include/asterisk/options.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_CORE_H
#define AMI_WS_CORE_H

#include <sys/time.h>

const char *ast_get_version(void);
/* ASTERISK_VERSION_NUM as text (e.g. "220501"); "999999" or "" on builds from svn or git. */
const char *ast_get_version_num(void);
int ast_thread_inhibit_escalations(void);

/* options.h: when the core started and was last reloaded (zero when unknown). */
extern struct timeval ast_startuptime;
extern struct timeval ast_lastreloadtime;

#endif
