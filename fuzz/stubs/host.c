/* Stand-ins for the Asterisk symbols the module's rlib refers to, so fuzz binaries link without
 * an Asterisk. The code under fuzz (parsers, validators, filters, the login session) only logs:
 * ast_log does nothing and the log-level variables are 0, as in an Asterisk started without -v
 * or -d. Anything else aborts, so a target that reaches into Asterisk shows up as a crash. */
#include <stdlib.h>

int option_verbose;
int option_debug;
int ast_verb_sys_level;
long ast_startuptime[2];
long ast_lastreloadtime[2];
const char *ast_config_AST_SYSTEM_NAME = "";

void ast_log(int level, const char *file, int line, const char *function, const char *fmt, ...)
{
	(void)level; (void)file; (void)line; (void)function; (void)fmt;
}

#define NOT_HERE(name) void name(void); void name(void) { abort(); }
NOT_HERE(ast_module_register)
NOT_HERE(ast_module_unregister)
NOT_HERE(ast_cli)
NOT_HERE(__ast_cli_register_multiple)
NOT_HERE(ast_cli_unregister_multiple)
NOT_HERE(ast_cli_command_full)
NOT_HERE(ast_config_load2)
NOT_HERE(ast_config_destroy)
NOT_HERE(ast_category_browse)
NOT_HERE(ast_variable_browse)
NOT_HERE(ast_manager_check_enabled)
NOT_HERE(ast_manager_register_hook)
NOT_HERE(ast_manager_unregister_hook)
NOT_HERE(ast_hook_send_action)
NOT_HERE(ast_get_version)
NOT_HERE(ast_thread_inhibit_escalations)
NOT_HERE(res_ami_websocket_helper_self)
NOT_HERE(__ao2_ref)
NOT_HERE(ast_channel_get_by_name)
NOT_HERE(ast_channel_name)
NOT_HERE(ast_channel_iterator_all_new)
NOT_HERE(ast_channel_iterator_next)
NOT_HERE(ast_channel_iterator_destroy)
NOT_HERE(ast_channel_softhangup_withcause_locked)
NOT_HERE(__ast_dummy_channel_alloc)
NOT_HERE(pbx_retrieve_variable)
NOT_HERE(ast_func_read)
NOT_HERE(__ast_free)
NOT_HERE(__ao2_lock)
NOT_HERE(__ao2_unlock)
NOT_HERE(ast_var_name)
NOT_HERE(ast_var_value)
NOT_HERE(ast_channel_snapshot_get_latest)
NOT_HERE(ast_manager_build_channel_state_string)
NOT_HERE(ast_channel_uniqueid)
NOT_HERE(ast_channel_appl)
NOT_HERE(ast_channel_data)
NOT_HERE(ast_channel_tech)
NOT_HERE(ast_channel_dialed)
NOT_HERE(ast_channel_connected_effective_id)
NOT_HERE(ast_channel_whentohangup)
NOT_HERE(ast_channel_creationtime)
NOT_HERE(ast_channel_varshead)
NOT_HERE(ast_channel_callgroup)
NOT_HERE(ast_channel_pickupgroup)
NOT_HERE(ast_channel_nativeformats)
NOT_HERE(ast_channel_readformat)
NOT_HERE(ast_channel_writeformat)
NOT_HERE(ast_channel_readtrans)
NOT_HERE(ast_channel_writetrans)
NOT_HERE(ast_format_get_name)
NOT_HERE(ast_format_cap_get_names)
NOT_HERE(ast_translate_path_to_str)
NOT_HERE(ast_get_version_num)

NOT_HERE(ast_append_acl)
NOT_HERE(ast_apply_acl)
NOT_HERE(ast_apply_acl_nolog)
NOT_HERE(ast_free_acl_list)
NOT_HERE(ast_str_append)

/* The login and frame paths report security events (main/security_events.c); accepted and
 * dropped here, as ast_log is. */
int ast_security_event_report(const void *sec);
int ast_security_event_report(const void *sec)
{
	(void)sec;
	return 0;
}
