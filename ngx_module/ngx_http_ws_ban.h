
/*
 * ngx_ws: "ws_ban" and "ws_ban_allow", the anomaly guard
 * (ngx_http_ws_ban.c). An address whose WebSockets are closed for
 * breaking a rule too often within a window is refused new ones for a
 * while.
 */


#ifndef _NGX_HTTP_WS_BAN_H_INCLUDED_
#define _NGX_HTTP_WS_BAN_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


/* ws_ban count window duration: closes for breaking a rule that ban. */
typedef struct {
    ngx_uint_t                 count;         /* 0: off */
    ngx_msec_t                 window;
    ngx_msec_t                 duration;
    uint32_t                   id;            /* its counts in ws_zone */
} ngx_http_ws_ban_t;


/* The ban section of the security module's configuration. */
typedef struct {
    ngx_http_ws_ban_t          rule;          /* count NGX_CONF_UNSET_UINT */
    ngx_array_t               *allow;         /* of ngx_cidr_t */
} ngx_http_ws_ban_conf_t;


/*
 * The directive handlers find the section at cmd->offset in the module's
 * location configuration.
 */
char *ngx_http_ws_ban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_ban_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_ws_ban_conf_init(ngx_http_ws_ban_conf_t *bcf);
char *ngx_http_ws_ban_merge(ngx_conf_t *cf, ngx_http_ws_ban_conf_t *prev,
    ngx_http_ws_ban_conf_t *conf);
ngx_int_t ngx_http_ws_ban_check(ngx_http_request_t *r,
    ngx_http_ws_ban_conf_t *bcf, ngx_http_ws_refusal_t *refusal);
void ngx_http_ws_ban_close(ngx_http_ws_session_t *ws,
    ngx_http_ws_ban_conf_t *bcf);


#endif /* _NGX_HTTP_WS_BAN_H_INCLUDED_ */
