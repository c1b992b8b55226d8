
/*
 * ngx_ws: random bytes for the worker (ngx_http_ws_random.c).
 *
 * Trace and span ids, the proxy's Sec-WebSocket-Key and its frames'
 * masking keys: unpredictable to a peer and used once, drawn from
 * OpenSSL's generator through a per-process buffer.
 */


#ifndef _NGX_HTTP_WS_RANDOM_H_INCLUDED_
#define _NGX_HTTP_WS_RANDOM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* len bytes into buf; NGX_ERROR (buf untouched) if OpenSSL has none */
ngx_int_t ngx_http_ws_random_bytes(u_char *buf, size_t len);


#endif /* _NGX_HTTP_WS_RANDOM_H_INCLUDED_ */
