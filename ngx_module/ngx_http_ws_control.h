
/*
 * ngx_ws: the JSON control protocol, "ws_protocol json"
 * (ngx_http_ws_control.c).
 */


#ifndef _NGX_HTTP_WS_CONTROL_H_INCLUDED_
#define _NGX_HTTP_WS_CONTROL_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


/* The worker's parser of control requests (the core's), made on first use */
wscore_ctl_parser_t *ngx_http_ws_control_parser(void);
void ngx_http_ws_control_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
void ngx_http_ws_control_ack(ngx_http_ws_session_t *ws, wscore_str_t id,
    uint64_t seq);

extern ngx_http_ws_handler_t  ngx_http_ws_control_handler;


#endif /* _NGX_HTTP_WS_CONTROL_H_INCLUDED_ */
