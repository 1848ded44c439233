/*
 * res_ami_websocket: module registration. C owns registration, Rust owns behaviour.
 * The equivalent of AST_MODULE_INFO(): a static module info, a constructor that registers it
 * while the loader dlopen()s us, and a destructor that unregisters it at dlclose().
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include "wrapper.h"
#include "gpl_key.h"

static int load_module(void)
{
	return res_ami_websocket_rs_load();
}

static int unload_module(void)
{
	return res_ami_websocket_rs_unload();
}

static int reload_module(void)
{
	return res_ami_websocket_rs_reload();
}

/*! \brief buildopt_sum stays empty: the loader then skips the build-options check. */
static struct ast_module_info mod_info = {
	.name = AMI_WS_MODULE_NAME,
	.description = "AMI over WebSocket",
	.key = AMI_WS_GPL_KEY,
	.flags = AMI_WS_MODFLAG_LOAD_ORDER,
	.load = load_module,
	.unload = unload_module,
	.reload = reload_module,
	.load_pri = AMI_WS_MODPRI_DEFAULT,
	.support_level = AMI_WS_MODULE_SUPPORT_EXTENDED,
	/* Loaded first when present (its metrics API is looked up at load), never required. */
	.optional_modules = "res_prometheus",
};

static void __attribute__((constructor)) register_module(void)
{
	ast_module_register(&mod_info);
}

static void __attribute__((destructor)) unregister_module(void)
{
	ast_module_unregister(&mod_info);
}

struct ast_module *res_ami_websocket_helper_self(void)
{
	return mod_info.self;
}
