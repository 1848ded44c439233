/*
 * res_ami_websocket: our declarations of what manager.c's action_status reads from a channel,
 * so the module can answer Status itself (through the hook Status dereferences the missing
 * session). Mirrors: include/asterisk/channel.h (accessors, party ids), stasis_channels.h (the
 * channel snapshot), manager.h (the channel state text), chanvars.h, strings.h (struct ast_str),
 * astmm.h (__ast_free), astobj2.h (object locks), format.h, format_cap.h, translate.h.
 * Identical in Asterisk 20, 22 and 23 (checked by tests/abi_layout.rs against real headers).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_STATUS_H
#define AMI_WS_STATUS_H

#include <stddef.h>
#include <sys/time.h>

#include "config.h" /* struct ast_flags */

struct ast_channel;
struct ast_format;
struct ast_format_cap;
struct ast_trans_pvt;
struct ast_threadstorage;
struct ast_channel_snapshot_base;
struct ast_channel_snapshot_peer;
struct ast_channel_snapshot_caller;
struct ast_channel_snapshot_connected;
struct ast_channel_snapshot_dialplan;
struct ast_channel_snapshot_hangup;

/* strings.h: a dynamic string. A buffer the caller owns is marked DS_ALLOCA (2): the core
 * never reallocates or frees it and truncates what does not fit. */
struct ast_str {
	size_t __AST_STR_LEN;
	size_t __AST_STR_USED;
	struct ast_threadstorage *__AST_STR_TS;
	char __AST_STR_STR[];
};
#define AMI_WS_DS_ALLOCA 2

/* astmm.h: what ast_free(p) expands to. */
void __ast_free(void *ptr, const char *file, int lineno, const char *func);

/* astobj2.h: ast_channel_lock(c) / ast_channel_unlock(c) are these with AO2_LOCK_REQ_MUTEX. */
enum ao2_lock_req {
	AO2_LOCK_REQ_MUTEX,
	AO2_LOCK_REQ_RDLOCK,
	AO2_LOCK_REQ_WRLOCK,
};
int __ao2_lock(void *a, enum ao2_lock_req lock_how, const char *file, const char *func, int line, const char *var);
int __ao2_unlock(void *a, const char *file, const char *func, int line, const char *var);

/* chanvars.h: a channel's variables, a singly linked list. */
struct ast_var_t {
	struct {
		struct ast_var_t *next;
	} entries;
	char *value;
	char name[];
};
struct varshead {
	struct ast_var_t *first;
	struct ast_var_t *last;
};
const char *ast_var_name(const struct ast_var_t *var);
const char *ast_var_value(const struct ast_var_t *var);

/* channel.h: caller/connected party parts. */
struct ast_party_name {
	char *str;
	int char_set;
	int presentation;
	unsigned char valid;
};
struct ast_party_number {
	char *str;
	int plan;
	int presentation;
	unsigned char valid;
};
struct ast_party_subaddress {
	char *str;
	int type;
	unsigned char odd_even_indicator;
	unsigned char valid;
};
struct ast_party_id {
	struct ast_party_name name;
	struct ast_party_number number;
	struct ast_party_subaddress subaddress;
	char *tag;
};
struct ast_party_dialed {
	struct {
		char *str;
		int plan;
	} number;
	struct ast_party_subaddress subaddress;
	int transit_network_select;
};

/* channel.h: only the leading members of the technology; we read `type` through the pointer
 * the core returns and never allocate, copy or take the size of this struct. */
struct ast_channel_tech {
	const char *type;
	const char *description;
};

/* stasis_channels.h: the channel snapshot (an ao2 object; release with __ao2_ref(s, -1)). */
struct ast_channel_snapshot_bridge {
	char id[0]; /* GNU zero-length array, as in the real header */
};
struct ast_channel_snapshot {
	struct ast_channel_snapshot_base *base;
	struct ast_channel_snapshot_peer *peer;
	struct ast_channel_snapshot_caller *caller;
	struct ast_channel_snapshot_connected *connected;
	struct ast_channel_snapshot_bridge *bridge;
	struct ast_channel_snapshot_dialplan *dialplan;
	struct ast_channel_snapshot_hangup *hangup;
	int state;
	int amaflags;
	struct ast_flags flags;
	struct ast_flags softhangup_flags;
	struct varshead *manager_vars;
	struct varshead *ari_vars;
};
struct ast_channel_snapshot *ast_channel_snapshot_get_latest(const char *uniqueid);

/* manager.h: the Channel/ChannelState/.../Linkedid header lines (and ChanVariable lines) of a
 * snapshot, as every channel event carries them; NULL for internal channels. Free with
 * __ast_free. */
struct ast_str *ast_manager_build_channel_state_string(const struct ast_channel_snapshot *snapshot);

/* channel.h: accessors (call with the channel locked, as action_status does). */
const char *ast_channel_uniqueid(const struct ast_channel *chan);
const char *ast_channel_appl(const struct ast_channel *chan);
const char *ast_channel_data(const struct ast_channel *chan);
const struct ast_channel_tech *ast_channel_tech(const struct ast_channel *chan);
struct ast_party_dialed *ast_channel_dialed(struct ast_channel *chan);
struct ast_party_id ast_channel_connected_effective_id(struct ast_channel *chan);
struct timeval *ast_channel_whentohangup(struct ast_channel *chan);
struct timeval ast_channel_creationtime(struct ast_channel *chan);
struct varshead *ast_channel_varshead(struct ast_channel *chan);
unsigned long long ast_channel_callgroup(const struct ast_channel *chan);
unsigned long long ast_channel_pickupgroup(const struct ast_channel *chan);
struct ast_format_cap *ast_channel_nativeformats(const struct ast_channel *chan);
struct ast_format *ast_channel_readformat(struct ast_channel *chan);
struct ast_format *ast_channel_writeformat(struct ast_channel *chan);
struct ast_trans_pvt *ast_channel_readtrans(const struct ast_channel *chan);
struct ast_trans_pvt *ast_channel_writetrans(const struct ast_channel *chan);

/* format.h, format_cap.h, translate.h: names for the Status text. */
const char *ast_format_get_name(const struct ast_format *format);
const char *ast_format_cap_get_names(const struct ast_format_cap *cap, struct ast_str **buf);
const char *ast_translate_path_to_str(struct ast_trans_pvt *t, struct ast_str **str);

#endif
