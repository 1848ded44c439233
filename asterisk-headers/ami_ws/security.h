/*
 * res_ami_websocket: our declarations of the security event framework (what manager.c reports
 * for every AMI authentication outcome).
 * Mirrors: include/asterisk/security_events.h and include/asterisk/security_events_defs.h.
 * The C enums of the original (event type, transport) are int-sized on every ABI Asterisk
 * supports; they are declared as int here so Rust never sees a C enum.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AMI_WS_SECURITY_H
#define AMI_WS_SECURITY_H

#include <stdint.h>
#include <sys/time.h>
#include "netsock2.h"

/* enum ast_security_event_type: values in declaration order. */
#define AMI_WS_SECURITY_EVENT_FAILED_ACL 0
#define AMI_WS_SECURITY_EVENT_INVAL_ACCT_ID 1
#define AMI_WS_SECURITY_EVENT_SESSION_LIMIT 2
#define AMI_WS_SECURITY_EVENT_MEM_LIMIT 3
#define AMI_WS_SECURITY_EVENT_LOAD_AVG 4
#define AMI_WS_SECURITY_EVENT_REQ_NO_SUPPORT 5
#define AMI_WS_SECURITY_EVENT_REQ_NOT_ALLOWED 6
#define AMI_WS_SECURITY_EVENT_AUTH_METHOD_NOT_ALLOWED 7
#define AMI_WS_SECURITY_EVENT_REQ_BAD_FORMAT 8
#define AMI_WS_SECURITY_EVENT_SUCCESSFUL_AUTH 9
#define AMI_WS_SECURITY_EVENT_UNEXPECTED_ADDR 10
#define AMI_WS_SECURITY_EVENT_CHAL_RESP_FAILED 11
#define AMI_WS_SECURITY_EVENT_INVAL_PASSWORD 12
#define AMI_WS_SECURITY_EVENT_CHAL_SENT 13
#define AMI_WS_SECURITY_EVENT_INVAL_TRANSPORT 14
#define AMI_WS_SECURITY_EVENT_NUM_TYPES 15

/* The *_VERSION of each event descriptor we fill (checked by ast_security_event_report). */
#define AMI_WS_SECURITY_EVENT_FAILED_ACL_VERSION 1
#define AMI_WS_SECURITY_EVENT_INVAL_ACCT_ID_VERSION 1
#define AMI_WS_SECURITY_EVENT_SESSION_LIMIT_VERSION 1
#define AMI_WS_SECURITY_EVENT_REQ_NOT_ALLOWED_VERSION 1
#define AMI_WS_SECURITY_EVENT_REQ_BAD_FORMAT_VERSION 1
#define AMI_WS_SECURITY_EVENT_SUCCESSFUL_AUTH_VERSION 1
#define AMI_WS_SECURITY_EVENT_CHAL_RESP_FAILED_VERSION 1
#define AMI_WS_SECURITY_EVENT_INVAL_PASSWORD_VERSION 2

/* An address and the transport it was reached over. */
struct ast_security_event_ip_addr {
	const struct ast_sockaddr *addr;
	int transport;
};

/* The part every event starts with. */
struct ast_security_event_common {
	int event_type;
	uint32_t version;
	const char *service;
	const char *module;
	const char *account_id;
	const char *session_id;
	const struct timeval *session_tv;
	struct ast_security_event_ip_addr local_addr;
	struct ast_security_event_ip_addr remote_addr;
};

struct ast_security_event_failed_acl {
	struct ast_security_event_common common;
	const char *acl_name;
};

struct ast_security_event_inval_acct_id {
	struct ast_security_event_common common;
};

struct ast_security_event_session_limit {
	struct ast_security_event_common common;
};

struct ast_security_event_req_not_allowed {
	struct ast_security_event_common common;
	const char *request_type;
	const char *request_params;
};

struct ast_security_event_req_bad_format {
	struct ast_security_event_common common;
	const char *request_type;
	const char *request_params;
};

struct ast_security_event_successful_auth {
	struct ast_security_event_common common;
	uint32_t using_password;
};

struct ast_security_event_chal_resp_failed {
	struct ast_security_event_common common;
	const char *challenge;
	const char *response;
	const char *expected_response;
};

struct ast_security_event_inval_password {
	struct ast_security_event_common common;
	const char *challenge;
	const char *received_challenge;
	const char *received_hash;
};

/* Reports one event (any of the structs above, through its common part); 0 when accepted. */
int ast_security_event_report(const struct ast_security_event_common *sec);

#endif
