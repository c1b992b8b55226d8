
/*
 * ngx_ws: "ws_ban" and "ws_ban_allow", the anomaly guard
 * (ngx_http_ws_ban.c). An address whose WebSockets are closed for
 * breaking a rule too often within a window is refused new ones for a
 * while.
 */


#ifndef _NGX_HTTP_WS_BAN_H_INCLUDED_
#define _NGX_HTTP_WS_BAN_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_security_module.h"
#include "ngx_http_ws_session.h"


char *ngx_http_ws_ban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_ban_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_ban_merge(ngx_conf_t *cf, ngx_http_ws_security_conf_t *prev,
    ngx_http_ws_security_conf_t *conf);
ngx_int_t ngx_http_ws_ban_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_refusal_t *refusal);
void ngx_http_ws_ban_close(ngx_http_ws_session_t *ws);


#endif /* _NGX_HTTP_WS_BAN_H_INCLUDED_ */
