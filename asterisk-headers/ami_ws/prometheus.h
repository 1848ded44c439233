/*
 * res_ami_websocket: our declarations for reporting metrics through res_prometheus.
 * Mirrors: include/asterisk/res_prometheus.h (struct prometheus_callback and the
 * callback_register/unregister signatures) and include/asterisk/strings.h (struct ast_str and
 * ast_str_append, whose real body main/utils.c exports).
 * The register/unregister functions are NOT declared as imports: the module looks them up at
 * run time (dlsym), so it loads whether res_prometheus is there or not.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_PROMETHEUS_H
#define AMI_WS_PROMETHEUS_H

#include <stddef.h>
#include <sys/types.h>

/* strings.h: struct ast_str is declared once, in status.h. */
#include "status.h"

/* strings.h: printf-style append; grows the string (max_len 0: no limit). */
int ast_str_append(struct ast_str **buf, ssize_t max_len, const char *fmt, ...);

/* res_prometheus.h: a metrics callback; callback_fn appends text to *output. */
struct prometheus_callback {
	const char *name;
	void (*callback_fn)(struct ast_str **output);
};

/* res_prometheus.h signatures, as function pointer types for dlsym. */
typedef int (*ami_ws_prometheus_register_fn)(struct prometheus_callback *callback);
typedef void (*ami_ws_prometheus_unregister_fn)(struct prometheus_callback *callback);

#endif
