
/*
 * ngx_ws: the HTTP publish API, "ws_publisher" (ngx_http_ws_publisher.c).
 */


#ifndef _NGX_HTTP_WS_PUBLISHER_H_INCLUDED_
#define _NGX_HTTP_WS_PUBLISHER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_ws_publisher_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_WS_PUBLISHER_H_INCLUDED_ */
