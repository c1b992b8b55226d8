
/*
 * ngx_ws: small complete HTTP responses and the headers of the guards'
 * answers (ngx_http_ws_response.c).
 */


#ifndef _NGX_HTTP_WS_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_WS_RESPONSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_ws_response_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, ngx_buf_t *b);
ngx_int_t ngx_http_ws_response_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value);
/* The same with a literal name. */
ngx_int_t ngx_http_ws_response_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);


#endif /* _NGX_HTTP_WS_RESPONSE_H_INCLUDED_ */
