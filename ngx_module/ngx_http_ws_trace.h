
/*
 * ngx_ws: W3C Trace Context for WebSockets (ngx_http_ws_trace.c).
 *
 * A WebSocket joins the trace of its upgrade request ("traceparent"), or
 * starts one when there is none or it is invalid, and is a span of its
 * own in it. Backend hook calls carry that trace with the WebSocket's
 * span as their parent; $ws_trace_id, $ws_span_id, $ws_trace_parent_id
 * and $ws_traceparent give it to log_format and proxy_set_header; the
 * session's error-log lines name the trace. Parsing and writing the
 * header are the core's (wscore_traceparent_*).
 */


#ifndef _NGX_HTTP_WS_TRACE_H_INCLUDED_
#define _NGX_HTTP_WS_TRACE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <wscore.h>


typedef struct {
    u_char                     trace_id[16];
    u_char                     span_id[8];       /* the WebSocket's own */
    u_char                     parent_id[8];     /* the upgrade's sender */
    u_char                     flags;
    unsigned                   has_parent:1;     /* joined, not started */
} ngx_http_ws_trace_t;


/* " while serving WebSocket, trace <32 hex>" in the session's log lines */
#define NGX_HTTP_WS_TRACE_ACTION_LEN                                         \
    (sizeof("serving WebSocket, trace ") - 1 + 32 + 1)


ngx_http_ws_trace_t *ngx_http_ws_trace_of_request(ngx_http_request_t *r);
ngx_int_t ngx_http_ws_trace_attach(ngx_http_request_t *r,
    ngx_http_ws_trace_t *trace);
ngx_uint_t ngx_http_ws_trace_owns_cleanup(ngx_pool_cleanup_pt handler);
u_char *ngx_http_ws_trace_action(ngx_http_ws_trace_t *trace, u_char *buf);
ngx_int_t ngx_http_ws_trace_header(ngx_pool_t *pool,
    ngx_http_ws_trace_t *trace, ngx_str_t *value);
ngx_int_t ngx_http_ws_trace_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_http_ws_trace_t *trace,
    ngx_uint_t which);


#define NGX_HTTP_WS_TRACE_VAR_TRACE_ID     0
#define NGX_HTTP_WS_TRACE_VAR_SPAN_ID      1
#define NGX_HTTP_WS_TRACE_VAR_PARENT_ID    2
#define NGX_HTTP_WS_TRACE_VAR_TRACEPARENT  3


#endif /* _NGX_HTTP_WS_TRACE_H_INCLUDED_ */
