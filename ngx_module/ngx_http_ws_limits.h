
/*
 * ngx_ws: rate limits and connection caps, "ws_limit_rate",
 * "ws_max_connections" and siblings (ngx_http_ws_limits.c).
 */


#ifndef _NGX_HTTP_WS_LIMITS_H_INCLUDED_
#define _NGX_HTTP_WS_LIMITS_H_INCLUDED_


#include "ngx_http_ws_security_module.h"
#include "ngx_http_ws_zone.h"


char *ngx_http_ws_limits_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_limits_max_connections(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ws_limits_merge(ngx_conf_t *cf,
    ngx_http_ws_security_conf_t *prev, ngx_http_ws_security_conf_t *conf);
ngx_int_t ngx_http_ws_limits_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_refusal_t *refusal);
/* Each received message: NGX_OK to handle it, NGX_DECLINED if refused. */
ngx_int_t ngx_http_ws_limits_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
ngx_int_t ngx_http_ws_limits_detach(ngx_http_request_t *r);
ngx_uint_t ngx_http_ws_limits_cleanup(ngx_pool_cleanup_pt handler);
/* A dead worker's connections off the caps; the zone's lock held. */
ngx_uint_t ngx_http_ws_limits_forget_worker(ngx_http_ws_zone_ctx_t *zctx,
    ngx_uint_t slot);


#endif /* _NGX_HTTP_WS_LIMITS_H_INCLUDED_ */
