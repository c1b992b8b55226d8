
/*
 * ngx_ws: the opening handshake, RFC 6455 section 4.2
 * (ngx_http_ws_handshake.c).
 */


#ifndef _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_
#define _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_


#include "ngx_http_ws_module.h"


ngx_int_t ngx_http_ws_handshake(ngx_http_request_t *r);


#endif /* _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_ */
