
/*
 * ngx_ws: the Origin check, "ws_allowed_origins" (ngx_http_ws_origin.c).
 */


#ifndef _NGX_HTTP_WS_ORIGIN_H_INCLUDED_
#define _NGX_HTTP_WS_ORIGIN_H_INCLUDED_


#include "ngx_http_ws_security_module.h"


char *ngx_http_ws_origin_allowed(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ws_origin_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_refusal_t *refusal);


#endif /* _NGX_HTTP_WS_ORIGIN_H_INCLUDED_ */
