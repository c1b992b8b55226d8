
/*
 * ngx_ws: TLS on the connections to Redis (ngx_http_ws_redis_tls.c).
 */


#ifndef _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_


#include "ngx_http_ws_redis_link.h"


ngx_int_t ngx_http_ws_redis_tls_configure(ngx_conf_t *cf,
    ngx_http_ws_redis_server_t *srv, ngx_http_ws_redis_ssl_conf_t *scf);

/*
 * Starts the TLS handshake on a connected link: NGX_OK when it is done at
 * once, NGX_AGAIN when ngx_http_ws_redis_link_connected() will be called,
 * NGX_ERROR with *why set.
 */
ngx_int_t ngx_http_ws_redis_tls_start(ngx_http_ws_redis_link_t *link,
    const char **why);


#endif /* _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_ */
