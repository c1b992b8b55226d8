
/*
 * ngx_ws: the opening handshake, RFC 6455 section 4.2
 * (ngx_http_ws_handshake.c).
 */


#ifndef _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_
#define _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_


#include "ngx_http_ws_common.h"


ngx_int_t ngx_http_ws_handshake(ngx_http_request_t *r);
/* After a connect hook held the handshake (ngx_http_ws_hooks_t) */
ngx_int_t ngx_http_ws_handshake_resume(ngx_http_request_t *r,
    const char *accept);

/* Every value of a request header joined with ", " (RFC 9110 5.3). */
void ngx_http_ws_handshake_header(ngx_http_request_t *r, const char *name,
    wscore_str_t *value);


#endif /* _NGX_HTTP_WS_HANDSHAKE_H_INCLUDED_ */
