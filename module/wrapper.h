/*
 * res_ami_websocket: the only header bindgen reads. Our declarations plus the glue's own.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_WRAPPER_H
#define AMI_WS_WRAPPER_H
#include "ami_ws/all.h"
#include "helpers.h"
#endif
