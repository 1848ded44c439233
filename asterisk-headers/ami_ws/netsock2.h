/*
 * res_ami_websocket: our declaration of the core's socket address and transport bits.
 * Mirrors: include/asterisk/netsock2.h (struct ast_sockaddr, enum ast_transport).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_NETSOCK2_H
#define AMI_WS_NETSOCK2_H

#include <sys/socket.h>

/* A socket address: storage big enough for any family, and the length in use. */
struct ast_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* enum ast_transport (a bit each). */
#define AMI_WS_TRANSPORT_UDP (1 << 0)
#define AMI_WS_TRANSPORT_TCP (1 << 1)
#define AMI_WS_TRANSPORT_TLS (1 << 2)
#define AMI_WS_TRANSPORT_WS (1 << 3)
#define AMI_WS_TRANSPORT_WSS (1 << 4)

#endif
