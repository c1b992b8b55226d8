
/*
 * ngx_ws: TLS on the connections to Redis (ngx_http_ws_redis_tls.c).
 */


#ifndef _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_


#include "ngx_http_ws_redis_server.h"


ngx_int_t ngx_http_ws_redis_tls_configure(ngx_conf_t *cf,
    ngx_http_ws_redis_server_t *srv, ngx_http_ws_redis_ssl_conf_t *scf);

#if (NGX_SSL)

/*
 * Starts the TLS handshake on a connection to srv: NGX_OK when it is done
 * (and the certificate checked) at once, NGX_AGAIN when handshaked(c) will
 * be called (it then checks c->ssl->handshaked, and the certificate with
 * ngx_http_ws_redis_tls_verify()), NGX_ERROR with *why set.
 */
ngx_int_t ngx_http_ws_redis_tls_start(ngx_connection_t *c,
    ngx_http_ws_redis_server_t *srv, ngx_connection_handler_pt handshaked,
    const char **why);

/* NULL when the certificate is trusted and names the server, else why. */
const char *ngx_http_ws_redis_tls_verify(ngx_connection_t *c,
    ngx_http_ws_redis_server_t *srv);

#endif


#endif /* _NGX_HTTP_WS_REDIS_TLS_H_INCLUDED_ */
