
/*
 * ngx_ws: the verified identity during a session, token refresh and
 * "ws_auth_first_message" (ngx_http_ws_auth_session.c). Each call that
 * reads the configuration is handed the token section by the security
 * module.
 */


#ifndef _NGX_HTTP_WS_AUTH_SESSION_H_INCLUDED_
#define _NGX_HTTP_WS_AUTH_SESSION_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_session.h"


ngx_int_t ngx_http_ws_auth_session_start(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf);
ngx_str_t *ngx_http_ws_auth_session_user_channel(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf);
ngx_int_t ngx_http_ws_auth_session_first_message(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, wscore_event_t *ev);
ngx_uint_t ngx_http_ws_auth_session_channels_deferred(
    ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_auth_session_refresh(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token, const char **error);
ngx_uint_t ngx_http_ws_auth_session_cleanup_is(ngx_pool_cleanup_pt handler);


#endif /* _NGX_HTTP_WS_AUTH_SESSION_H_INCLUDED_ */
