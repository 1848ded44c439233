/*
 * asterisk-standin: the Asterisk functions and data a loaded module imports, exported from the
 * stand-in executable (linked whole-archive with --export-dynamic). Variadic functions format
 * here in C; everything else forwards to the Rust side (standin_* functions).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ami_ws/all.h"

/*! \brief options.h: the core verbosity and debug levels, read by modules directly. */
int option_verbose;
/* logger.h: the system verbosity; the stand-in has one console, so it follows option_verbose. */
int ast_verb_sys_level;
int option_debug;
/* paths.h: asterisk.conf systemname; the stand-in has none, as a PBX without the option. */
const char *ast_config_AST_SYSTEM_NAME = "";

/* Implemented in Rust, in tests/host. */
void standin_log(int level, const char *file, int line, const char *function, const char *msg);
void standin_module_register(const struct ast_module_info *info);
void standin_module_unregister(const struct ast_module_info *info);
int standin_cli_register_multiple(struct ast_cli_entry *e, int len, struct ast_module *mod);
int standin_cli_unregister_multiple(struct ast_cli_entry *e, int len);
int standin_cli_command_full(int uid, int gid, int fd, const char *s);
struct ast_config *standin_config_load2(const char *filename, const char *who_asked, unsigned int flags);
void standin_config_destroy(struct ast_config *cfg);
char *standin_category_browse(struct ast_config *config, const char *prev_name);
struct ast_variable *standin_variable_browse(const struct ast_config *config, const char *category);
int standin_manager_check_enabled(void);
void standin_manager_register_hook(struct manager_custom_hook *hook);
void standin_manager_unregister_hook(struct manager_custom_hook *hook);
int standin_hook_send_action(struct manager_custom_hook *hook, const char *msg);
const char *standin_get_version(void);
int standin_thread_inhibit_escalations(void);

void ast_log(int level, const char *file, int line, const char *function, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0) {
		return;
	}
	standin_log(level, file, line, function, msg);
	free(msg);
}

/*! \brief Writes all of buf to fd, as ast_carefulwrite does (gives up on a hard error). */
static void careful_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return;
		}
		buf += n;
		len -= (size_t) n;
	}
}

void ast_cli(int fd, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0) {
		return;
	}
	careful_write(fd, msg, (size_t) len);
	free(msg);
}

/*! \brief For the Rust side: the same careful write (no format involved). */
void standin_fd_write(int fd, const char *buf, size_t len)
{
	careful_write(fd, buf, len);
}

void ast_module_register(const struct ast_module_info *info)
{
	standin_module_register(info);
}

void ast_module_unregister(const struct ast_module_info *info)
{
	standin_module_unregister(info);
}

int __ast_cli_register_multiple(struct ast_cli_entry *e, int len, struct ast_module *mod)
{
	return standin_cli_register_multiple(e, len, mod);
}

int ast_cli_unregister_multiple(struct ast_cli_entry *e, int len)
{
	return standin_cli_unregister_multiple(e, len);
}

int ast_cli_command_full(int uid, int gid, int fd, const char *s)
{
	return standin_cli_command_full(uid, gid, fd, s);
}

struct ast_config *ast_config_load2(const char *filename, const char *who_asked, struct ast_flags flags)
{
	return standin_config_load2(filename, who_asked, flags.flags);
}

void ast_config_destroy(struct ast_config *cfg)
{
	standin_config_destroy(cfg);
}

char *ast_category_browse(struct ast_config *config, const char *prev_name)
{
	return standin_category_browse(config, prev_name);
}

struct ast_variable *ast_variable_browse(const struct ast_config *config, const char *category_name)
{
	return standin_variable_browse(config, category_name);
}

int ast_manager_check_enabled(void)
{
	return standin_manager_check_enabled();
}

void ast_manager_register_hook(struct manager_custom_hook *hook)
{
	standin_manager_register_hook(hook);
}

void ast_manager_unregister_hook(struct manager_custom_hook *hook)
{
	standin_manager_unregister_hook(hook);
}

int ast_hook_send_action(struct manager_custom_hook *hook, const char *msg)
{
	return standin_hook_send_action(hook, msg);
}

const char *ast_get_version(void)
{
	return standin_get_version();
}

int ast_thread_inhibit_escalations(void)
{
	return standin_thread_inhibit_escalations();
}

/* Channel and dialplan-variable calls (channel.h, pbx.h, astobj2.h), forwarded to chanapi.rs. */
int standin_ao2_ref(void *o, int delta);
int standin_any_ao2_ref(void *o, int delta);
struct ast_channel *standin_channel_get_by_name(const char *search);
struct ast_channel *standin_dummy_channel_alloc(void);
const char *standin_channel_name(const struct ast_channel *chan);
void standin_channel_softhangup_withcause_locked(struct ast_channel *chan, int cause);
struct ast_channel_iterator *standin_channel_iterator_all_new(void);
struct ast_channel *standin_channel_iterator_next(struct ast_channel_iterator *i);
void standin_channel_iterator_destroy(struct ast_channel_iterator *i);
void standin_pbx_retrieve_variable(struct ast_channel *c, const char *var, char **ret, char *ws, int len);
int standin_func_read(struct ast_channel *chan, const char *function, char *ws, size_t len);

/* options.h: set by the stand-in at start-up and on reload. */
struct timeval ast_startuptime;
struct timeval ast_lastreloadtime;

int __ao2_ref(void *o, int delta, const char *tag, const char *file, int line, const char *func)
{
	(void) tag; (void) file; (void) line; (void) func;
	return standin_any_ao2_ref(o, delta); /* c/status.c: snapshots, then channels */
}

struct ast_channel *ast_channel_get_by_name(const char *search)
{
	return standin_channel_get_by_name(search);
}

struct ast_channel *__ast_dummy_channel_alloc(const char *file, int line, const char *function)
{
	(void) file; (void) line; (void) function;
	return standin_dummy_channel_alloc();
}

const char *ast_channel_name(const struct ast_channel *chan)
{
	return standin_channel_name(chan);
}

void ast_channel_softhangup_withcause_locked(struct ast_channel *chan, int causecode)
{
	standin_channel_softhangup_withcause_locked(chan, causecode);
}

struct ast_channel_iterator *ast_channel_iterator_all_new(void)
{
	return standin_channel_iterator_all_new();
}

struct ast_channel *ast_channel_iterator_next(struct ast_channel_iterator *i)
{
	return standin_channel_iterator_next(i);
}

struct ast_channel_iterator *ast_channel_iterator_destroy(struct ast_channel_iterator *i)
{
	standin_channel_iterator_destroy(i);
	return NULL;
}

void pbx_retrieve_variable(struct ast_channel *c, const char *var, char **ret, char *workspace,
	int workspacelen, struct varshead *headp)
{
	(void) headp;
	standin_pbx_retrieve_variable(c, var, ret, workspace, workspacelen);
}

int ast_func_read(struct ast_channel *chan, const char *function, char *workspace, size_t len)
{
	return standin_func_read(chan, function, workspace, len);
}

void standin_set_times(long start, long reload)
{
	ast_startuptime.tv_sec = start;
	ast_startuptime.tv_usec = 0;
	ast_lastreloadtime.tv_sec = reload;
	ast_lastreloadtime.tv_usec = 0;
}

/*
 * strings.h: ast_str_create and ast_str_append, as main/utils.c exports them (AST_INLINE_API
 * bodies built with AST_API_MODULE): a malloc'ed header + buffer that grows as needed.
 */
struct ast_str *ast_str_create(size_t init_len)
{
	struct ast_str *buf = calloc(1, sizeof(*buf) + init_len);
	if (!buf) {
		return NULL;
	}
	buf->__AST_STR_LEN = init_len;
	buf->__AST_STR_USED = 0;
	buf->__AST_STR_TS = (struct ast_threadstorage *) 1; /* DS_MALLOC */
	return buf;
}

int ast_str_append(struct ast_str **buf, ssize_t max_len, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return -1;
	}
	size_t need = (*buf)->__AST_STR_USED + (size_t) n + 1;
	if (max_len > 0 && need > (size_t) max_len) {
		need = (size_t) max_len;
	}
	if (need > (*buf)->__AST_STR_LEN) {
		struct ast_str *grown = realloc(*buf, sizeof(**buf) + need);
		if (!grown) {
			free(text);
			return -1;
		}
		*buf = grown;
		(*buf)->__AST_STR_LEN = need;
	}
	size_t room = (*buf)->__AST_STR_LEN - (*buf)->__AST_STR_USED - 1;
	size_t take = (size_t) n < room ? (size_t) n : room;
	memcpy((*buf)->__AST_STR_STR + (*buf)->__AST_STR_USED, text, take);
	(*buf)->__AST_STR_USED += take;
	(*buf)->__AST_STR_STR[(*buf)->__AST_STR_USED] = '\0';
	free(text);
	return (int) (*buf)->__AST_STR_USED;
}
