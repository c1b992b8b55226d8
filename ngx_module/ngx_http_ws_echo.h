
/*
 * ngx_ws: "ws_echo", every message sent back to its sender
 * (ngx_http_ws_echo.c).
 */


#ifndef _NGX_HTTP_WS_ECHO_H_INCLUDED_
#define _NGX_HTTP_WS_ECHO_H_INCLUDED_


#include "ngx_http_ws_session.h"


void ngx_http_ws_echo_message(ngx_http_ws_session_t *ws, wscore_event_t *ev);

extern ngx_http_ws_handler_t  ngx_http_ws_echo_handler;


#endif /* _NGX_HTTP_WS_ECHO_H_INCLUDED_ */
