
/*
 * ngx_ws: the access-log line of a WebSocket, written at close from what
 * the request left (ngx_http_ws_log_record.c).
 */


#ifndef _NGX_HTTP_WS_LOG_RECORD_H_INCLUDED_
#define _NGX_HTTP_WS_LOG_RECORD_H_INCLUDED_


#include "ngx_http_ws_common.h"


ngx_uint_t ngx_http_ws_log_record_wanted(void **main_conf, void **loc_conf);
ngx_http_ws_log_record_t *ngx_http_ws_log_record_take(ngx_http_request_t *r);
/*
 * What the session's features add to the request rebuilt for the line
 * (their variables' values), run before it is written.
 */
typedef void (*ngx_http_ws_log_record_fill_pt)(ngx_http_ws_session_t *ws,
    ngx_http_request_t *r);

void ngx_http_ws_log_record_write(ngx_http_ws_log_record_t *rec,
    ngx_connection_t *c, ngx_http_ws_session_t *ws,
    ngx_http_ws_log_record_fill_pt fill);


#endif /* _NGX_HTTP_WS_LOG_RECORD_H_INCLUDED_ */
