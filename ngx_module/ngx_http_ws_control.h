
/*
 * ngx_ws: the JSON control protocol, "ws_protocol json"
 * (ngx_http_ws_control.c).
 */


#ifndef _NGX_HTTP_WS_CONTROL_H_INCLUDED_
#define _NGX_HTTP_WS_CONTROL_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_history.h"
#include "ngx_http_ws_session.h"


/* The worker's parser of control requests (the core's), made on first use */
wscore_ctl_parser_t *ngx_http_ws_control_parser(void);
void ngx_http_ws_control_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
/* A subscribe's ack: the history sends it before a replay. */
typedef ngx_http_ws_history_ack_t  ngx_http_ws_control_ack_t;

void ngx_http_ws_control_ack(ngx_http_ws_session_t *ws,
    ngx_http_ws_control_ack_t *ack, uint64_t seq);

/*
 * Joins a channel a backend allowed (the subscribe hook), outside the
 * client's read pass: the ack carries the backend's data (JSON as is when
 * data_json, else a string; none when empty). last_seq NULL: no resume.
 */
void ngx_http_ws_control_join(ngx_http_ws_session_t *ws, wscore_str_t id,
    ngx_str_t *channel, uint64_t *last_seq, wscore_str_t data,
    ngx_uint_t data_json);

/*
 * Publishes what the message hook let through (the client's data, or the
 * backend's answer instead), outside the client's read pass, and
 * acknowledges it to the publisher (id) with the message's number.
 */
void ngx_http_ws_control_publish_allowed(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len);

/*
 * Requests a backend takes (rpc, send, a publish to filter, a subscribe
 * to authorize): set by the backend module. NGX_OK: taken, the backend's
 * answer will be the reply; NGX_DECLINED: no hook for it here; NGX_ERROR:
 * none can be made.
 */
typedef ngx_int_t (*ngx_http_ws_control_backend_pt)(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req);

extern ngx_http_ws_control_backend_pt  ngx_http_ws_control_backend;

/*
 * What the session's token says, handed over by the security module at
 * configuration (a second call replaces the first; none: no token limits
 * a channel and "auth" is refused): whether its claim allows a channel
 * (NGX_OK, or NGX_DECLINED logged and counted), a refusal by any channel
 * rule to count ($ws_acl_denied), and {"op":"auth"}'s fresh token (NGX_OK,
 * or another code with *error, static, for the reply).
 */
typedef struct {
    ngx_int_t   (*channel_allowed)(ngx_http_ws_session_t *ws,
                                   ngx_str_t *name);
    void        (*channel_denied)(ngx_http_ws_session_t *ws);
    ngx_int_t   (*refresh)(ngx_http_ws_session_t *ws, ngx_str_t *token,
                           const char **error);
} ngx_http_ws_control_token_t;

void ngx_http_ws_control_on_token(ngx_http_ws_control_token_t *token);

extern ngx_http_ws_handler_t  ngx_http_ws_control_handler;


#endif /* _NGX_HTTP_WS_CONTROL_H_INCLUDED_ */
