/*
 * res_ami_websocket: our declarations of the channel and dialplan-variable API used to answer
 * Getvar and Hangup safely (through the hook both dereference the missing session).
 * Mirrors: include/asterisk/channel.h, include/asterisk/pbx.h, include/asterisk/astobj2.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_CHANNEL_H
#define AMI_WS_CHANNEL_H

#include <stddef.h>

struct ast_channel;
struct ast_channel_iterator;
struct varshead;

/* astobj2.h: reference counting; ast_channel_unref(c) is __ao2_ref(c, -1, ...). */
int __ao2_ref(void *o, int delta, const char *tag, const char *file, int line, const char *func);

/* channel.h */
struct ast_channel *ast_channel_get_by_name(const char *search);
const char *ast_channel_name(const struct ast_channel *chan);
struct ast_channel_iterator *ast_channel_iterator_all_new(void);
struct ast_channel *ast_channel_iterator_next(struct ast_channel_iterator *i);
struct ast_channel_iterator *ast_channel_iterator_destroy(struct ast_channel_iterator *i);
void ast_channel_softhangup_withcause_locked(struct ast_channel *chan, int causecode);
/* ast_dummy_channel_alloc() is this with the caller's file, line and function. */
struct ast_channel *__ast_dummy_channel_alloc(const char *file, int line, const char *function);

/* pbx.h */
void pbx_retrieve_variable(struct ast_channel *c, const char *var, char **ret, char *workspace,
	int workspacelen, struct varshead *headp);
int ast_func_read(struct ast_channel *chan, const char *function, char *workspace, size_t len);

#endif
