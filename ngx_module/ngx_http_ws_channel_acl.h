
/*
 * ngx_ws: channel permissions from the token (ngx_http_ws_channel_acl.c),
 * under the token section of the configuration, which the security
 * module hands to each call that reads it.
 */


#ifndef _NGX_HTTP_WS_CHANNEL_ACL_H_INCLUDED_
#define _NGX_HTTP_WS_CHANNEL_ACL_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_session.h"


ngx_int_t ngx_http_ws_channel_acl_allowed(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *name);
void ngx_http_ws_channel_acl_count(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_channel_acl_check(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_jwt_conf_t *jwcf);


#endif /* _NGX_HTTP_WS_CHANNEL_ACL_H_INCLUDED_ */
