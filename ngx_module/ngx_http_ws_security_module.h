
/*
 * ngx_ws: security and limits of WebSocket endpoints.
 *
 * A second NGINX module in the same shared object, with its own location
 * configuration, request context and variables, so that the guards
 * (origin, subprotocols, token auth, rate limits, connection caps, bans)
 * stay out of the files of the WebSocket core module. Each guard owns its
 * section of the configuration, declared in its own header with its
 * directive handlers and merge; this module only composes the sections
 * and hands each guard its own. The request's guard state is
 * ngx_http_ws_security_ctx.h's.
 */


#ifndef _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_
#define _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_ban.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_limits.h"
#include "ngx_http_ws_origin.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_subprotocol.h"


typedef struct {
    ngx_http_ws_origin_conf_t       origin;
    ngx_http_ws_subprotocol_conf_t  subprotocol;
    ngx_http_ws_jwt_conf_t          jwt;
    ngx_http_ws_limits_conf_t       limits;
    ngx_http_ws_ban_conf_t          ban;
} ngx_http_ws_security_conf_t;


extern ngx_module_t  ngx_http_ws_security_module;
extern ngx_http_ws_hooks_t  ngx_http_ws_security_hooks;


#endif /* _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_ */
