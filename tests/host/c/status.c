/*
 * asterisk-standin: what manager.c's action_status reads from a channel (see statusapi.rs for
 * the data). Formats as the core does: main/format_cap.c ast_format_cap_get_names ("(a|b)",
 * "(nothing)"), main/translate.c ast_translate_path_to_str ("" without a path), main/chanvars.c
 * ast_var_name (inheritance underscores skipped), include/asterisk/strings.h (an ast_str marked
 * DS_ALLOCA is never grown: text that does not fit is cut).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ami_ws/all.h"

/* Implemented in Rust, in tests/host/statusapi.rs. */
void *standin_snapshot_get_latest(const char *uniqueid);
int standin_snapshot_ref(void *o, int delta);
size_t standin_snapshot_state_text(const void *o, char *out, size_t len);
void standin_chan_lock(void *c, int lock);
const char *standin_chan_text(const struct ast_channel *c, int what);
long standin_chan_created(const struct ast_channel *c, long *usec);
void *standin_chan_varshead(const struct ast_channel *c);
int standin_ao2_ref(void *o, int delta);

/* The simulated channels all use one codec and no translation. */
static const char ulaw_tag;
#define SIM_FORMAT ((struct ast_format *) &ulaw_tag)
#define SIM_CAP ((struct ast_format_cap *) &ulaw_tag)

int standin_any_ao2_ref(void *o, int delta)
{
	int r = standin_snapshot_ref(o, delta);
	return r >= 0 ? r : standin_ao2_ref(o, delta);
}

void __ast_free(void *ptr, const char *file, int lineno, const char *func)
{
	(void) file; (void) lineno; (void) func;
	free(ptr);
}

int __ao2_lock(void *a, enum ao2_lock_req lock_how, const char *file, const char *func, int line, const char *var)
{
	(void) lock_how; (void) file; (void) func; (void) line; (void) var;
	standin_chan_lock(a, 1);
	return 0;
}

int __ao2_unlock(void *a, const char *file, const char *func, int line, const char *var)
{
	(void) file; (void) func; (void) line; (void) var;
	standin_chan_lock(a, 0);
	return 0;
}

struct ast_channel_snapshot *ast_channel_snapshot_get_latest(const char *uniqueid)
{
	return standin_snapshot_get_latest(uniqueid);
}

struct ast_str *ast_manager_build_channel_state_string(const struct ast_channel_snapshot *snapshot)
{
	size_t len;
	struct ast_str *s;

	if (!snapshot) {
		return NULL;
	}
	len = standin_snapshot_state_text(snapshot, NULL, 0);
	s = calloc(1, sizeof(*s) + len + 1);
	if (!s) {
		return NULL;
	}
	s->__AST_STR_LEN = len + 1;
	s->__AST_STR_TS = (struct ast_threadstorage *) 1; /* DS_MALLOC */
	s->__AST_STR_USED = standin_snapshot_state_text(snapshot, s->__AST_STR_STR, len + 1);
	return s;
}

/* ast_str_set(buf, 0, "%s", text) on a buffer the core may not grow. */
static const char *str_set(struct ast_str **buf, const char *text)
{
	struct ast_str *s = *buf;
	size_t n = strlen(text);

	if (s->__AST_STR_LEN == 0) {
		return "";
	}
	if (n > s->__AST_STR_LEN - 1) {
		n = s->__AST_STR_LEN - 1;
	}
	memcpy(s->__AST_STR_STR, text, n);
	s->__AST_STR_STR[n] = '\0';
	s->__AST_STR_USED = n;
	return s->__AST_STR_STR;
}

const char *ast_var_name(const struct ast_var_t *var)
{
	const char *name;

	if (!var) {
		return NULL;
	}
	name = var->name;
	if (name[0] == '_') {
		name++;
		if (name[0] == '_') {
			name++;
		}
	}
	return name;
}

const char *ast_var_value(const struct ast_var_t *var)
{
	return var ? var->value : NULL;
}

const char *ast_channel_uniqueid(const struct ast_channel *chan)
{
	return standin_chan_text(chan, 0);
}

const char *ast_channel_appl(const struct ast_channel *chan)
{
	return standin_chan_text(chan, 2);
}

const char *ast_channel_data(const struct ast_channel *chan)
{
	return standin_chan_text(chan, 3);
}

/* One technology struct per thread is enough: the module reads `type` at once. */
static __thread struct ast_channel_tech tech;

const struct ast_channel_tech *ast_channel_tech(const struct ast_channel *chan)
{
	tech.type = standin_chan_text(chan, 1);
	tech.description = "";
	return &tech;
}

static __thread struct ast_party_dialed dialed;

struct ast_party_dialed *ast_channel_dialed(struct ast_channel *chan)
{
	memset(&dialed, 0, sizeof(dialed));
	dialed.number.str = (char *) standin_chan_text(chan, 4);
	return &dialed;
}

/* The connected line; valid when set (the simulated calls set both or neither). */
struct ast_party_id ast_channel_connected_effective_id(struct ast_channel *chan)
{
	struct ast_party_id id;

	memset(&id, 0, sizeof(id));
	id.number.str = (char *) standin_chan_text(chan, 5);
	id.number.valid = id.number.str && id.number.str[0];
	id.name.str = (char *) standin_chan_text(chan, 6);
	id.name.valid = id.name.str && id.name.str[0];
	return id;
}

static __thread struct timeval never;

struct timeval *ast_channel_whentohangup(struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	never.tv_sec = 0;
	never.tv_usec = 0;
	return &never;
}

struct timeval ast_channel_creationtime(struct ast_channel *chan)
{
	struct timeval tv;
	long usec = 0;

	tv.tv_sec = standin_chan_created(chan, &usec);
	tv.tv_usec = usec;
	return tv;
}

struct varshead *ast_channel_varshead(struct ast_channel *chan)
{
	return standin_chan_varshead(chan);
}

unsigned long long ast_channel_callgroup(const struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return 0;
}

unsigned long long ast_channel_pickupgroup(const struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return 0;
}

struct ast_format_cap *ast_channel_nativeformats(const struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return SIM_CAP;
}

struct ast_format *ast_channel_readformat(struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return SIM_FORMAT;
}

struct ast_format *ast_channel_writeformat(struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return SIM_FORMAT;
}

struct ast_trans_pvt *ast_channel_readtrans(const struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return NULL;
}

struct ast_trans_pvt *ast_channel_writetrans(const struct ast_channel *chan)
{
	(void) standin_chan_text(chan, 0);
	return NULL;
}

const char *ast_format_get_name(const struct ast_format *format)
{
	return format == SIM_FORMAT ? "ulaw" : "";
}

const char *ast_format_cap_get_names(const struct ast_format_cap *cap, struct ast_str **buf)
{
	return str_set(buf, cap == SIM_CAP ? "(ulaw)" : "(nothing)");
}

const char *ast_translate_path_to_str(struct ast_trans_pvt *t, struct ast_str **str)
{
	(void) str;
	(void) t; /* the simulated channels never translate */
	return "";
}
