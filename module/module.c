/*
 * res_ami_websocket: module registration. C owns registration, Rust owns behaviour.
 * The equivalent of AST_MODULE_INFO(): a static module info, a constructor that registers it
 * while the loader dlopen()s us, and a destructor that unregisters it at dlclose().
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>
#include "wrapper.h"

/*! \brief ASTERISK_GPL_KEY: the loader checks its MD5, so this text must be exact. */
#define AMI_WS_GPL_KEY \
"This paragraph is copyright (c) 2006 by Digium, Inc. \
In order for your module to load, it must return this \
key via a function called \"key\".  Any code which \
includes this paragraph must be licensed under the GNU \
General Public License version 2 or later (at your \
option).  In addition to Digium's general reservations \
of rights, Digium expressly reserves the right to \
allow other parties to license this paragraph under \
different terms. Any use of Digium, Inc. trademarks or \
logos (including \"Asterisk\" or \"Digium\") without \
express written permission of Digium, Inc. is prohibited.\n"

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
