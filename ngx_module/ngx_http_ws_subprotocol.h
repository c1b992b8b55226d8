
/*
 * ngx_ws: subprotocol negotiation, "ws_subprotocols"
 * (ngx_http_ws_subprotocol.c).
 */


#ifndef _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_
#define _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_


#include "ngx_http_ws_security_module.h"


char *ngx_http_ws_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ws_subprotocol_select(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_refusal_t *refusal);


#endif /* _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_ */
