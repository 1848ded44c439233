/*
 * res_ami_websocket: every declaration of ours, for bindgen and the C glue.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_ALL_H
#define AMI_WS_ALL_H
#include "module.h"
#include "logger.h"
#include "cli.h"
#include "config.h"
#include "manager.h"
#include "core.h"
#include "channel.h"
#include "prometheus.h"
#include "paths.h"
#include "status.h"
#include "netsock2.h"
#include "security.h"
#include "acl.h"
#endif
