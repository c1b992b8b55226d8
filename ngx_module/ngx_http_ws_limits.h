
/*
 * ngx_ws: rate limits and connection caps, "ws_limit_rate",
 * "ws_max_connections" and siblings (ngx_http_ws_limits.c).
 */


#ifndef _NGX_HTTP_WS_LIMITS_H_INCLUDED_
#define _NGX_HTTP_WS_LIMITS_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


#define NGX_HTTP_WS_LIMIT_CONNECTION   0
#define NGX_HTTP_WS_LIMIT_IP           1
#define NGX_HTTP_WS_LIMIT_USER         2

#define NGX_HTTP_WS_LIMIT_CLOSE        0
#define NGX_HTTP_WS_LIMIT_DROP         1


/* One ws_limit_rate. */
typedef struct {
    ngx_uint_t                 scope;         /* connection, ip, user */
    ngx_uint_t                 bytes;         /* 0: messages, 1: bytes */
    uint64_t                   rate_per_min;
    uint64_t                   burst;         /* messages or bytes */
    ngx_uint_t                 action;        /* close or drop */
    uint32_t                   id;            /* its keys in ws_zone */
    ngx_str_t                  text;          /* "ip 10r/s", for logs */
} ngx_http_ws_rate_t;


/* ws_max_connections and its per-ip and per-user siblings. */
typedef struct {
    ngx_uint_t                 max;           /* NGX_CONF_UNSET_UINT: none */
    uint32_t                   id;
} ngx_http_ws_cap_t;


/* The limits section of the security module's configuration. */
typedef struct {
    ngx_array_t               *rates;         /* of ngx_http_ws_rate_t */
    ngx_http_ws_cap_t          max_conns;
    ngx_http_ws_cap_t          max_per_ip;
    ngx_http_ws_cap_t          max_per_user;
    ngx_uint_t                 reserve_connections;
} ngx_http_ws_limits_conf_t;


/*
 * The directive handlers find what they set at cmd->offset in the
 * module's location configuration: the section for ws_limit_rate, the
 * cap itself for ws_max_connections*.
 */
char *ngx_http_ws_limits_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_limits_max_connections(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_limits_conf_init(ngx_http_ws_limits_conf_t *lcf);
char *ngx_http_ws_limits_merge(ngx_conf_t *cf,
    ngx_http_ws_limits_conf_t *prev, ngx_http_ws_limits_conf_t *conf);
ngx_int_t ngx_http_ws_limits_check(ngx_http_request_t *r,
    ngx_http_ws_limits_conf_t *lcf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_refusal_t *refusal);
/* Each received message: NGX_OK to handle it, NGX_DECLINED if refused. */
ngx_int_t ngx_http_ws_limits_message(ngx_http_ws_session_t *ws,
    ngx_http_ws_limits_conf_t *lcf, wscore_event_t *ev);
ngx_int_t ngx_http_ws_limits_detach(ngx_http_request_t *r);
ngx_uint_t ngx_http_ws_limits_cleanup(ngx_pool_cleanup_pt handler);
/* A dead worker's connections off the caps; the zone's lock held. */
ngx_uint_t ngx_http_ws_limits_forget_worker(ngx_http_ws_zone_ctx_t *zctx,
    ngx_uint_t slot);


#endif /* _NGX_HTTP_WS_LIMITS_H_INCLUDED_ */
