/*
 * res_ami_websocket: our declarations of the logger.
 * Mirrors: include/asterisk/logger.h and the option globals of include/asterisk/options.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_LOGGER_H
#define AMI_WS_LOGGER_H

/* __LOG_* levels */
#define AMI_WS_LOG_DEBUG 0
#define AMI_WS_LOG_TRACE 1
#define AMI_WS_LOG_NOTICE 2
#define AMI_WS_LOG_WARNING 3
#define AMI_WS_LOG_ERROR 4
#define AMI_WS_LOG_VERBOSE 5

/* Always called with "%s" as the format by this module. */
void ast_log(int level, const char *file, int line, const char *function, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* options.h: the core verbosity and debug levels. */
extern int option_verbose;
extern int option_debug;

/* logger.h: the highest verbosity of the root console, every remote console and every verbose
 * logger channel; what ast_verb() (VERBOSITY_ATLEAST) compares with. */
extern int ast_verb_sys_level;

#endif
