
/*
 * ngx_ws: subprotocol negotiation, "ws_subprotocols"
 * (ngx_http_ws_subprotocol.c).
 */


#ifndef _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_
#define _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_session.h"


/* The subprotocol section of the security module's configuration. */
typedef struct {
    ngx_array_t               *protocols;     /* of ngx_str_t */
    ngx_flag_t                 required;
    ngx_http_ws_conf_where_t   required_where;
} ngx_http_ws_subprotocol_conf_t;


/* The handler finds the section at cmd->offset in the module's conf. */
char *ngx_http_ws_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_subprotocol_conf_init(ngx_http_ws_subprotocol_conf_t *spcf);
char *ngx_http_ws_subprotocol_merge(ngx_conf_t *cf,
    ngx_http_ws_subprotocol_conf_t *prev,
    ngx_http_ws_subprotocol_conf_t *conf);
/* *chosen: the protocol agreed on, or left as it is */
ngx_int_t ngx_http_ws_subprotocol_select(ngx_http_request_t *r,
    ngx_http_ws_subprotocol_conf_t *spcf, ngx_str_t *chosen,
    ngx_http_ws_refusal_t *refusal);


#endif /* _NGX_HTTP_WS_SUBPROTOCOL_H_INCLUDED_ */
