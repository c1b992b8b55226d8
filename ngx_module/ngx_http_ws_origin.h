
/*
 * ngx_ws: the Origin check, "ws_allowed_origins" (ngx_http_ws_origin.c).
 */


#ifndef _NGX_HTTP_WS_ORIGIN_H_INCLUDED_
#define _NGX_HTTP_WS_ORIGIN_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


/* One entry of ws_allowed_origins. */
typedef struct {
    wscore_origin_pattern_t    pattern;       /* points into text */
    ngx_str_t                  text;          /* as configured, for logs */
#if (NGX_PCRE)
    ngx_regex_t               *regex;         /* "~" and "~*" entries */
#endif
} ngx_http_ws_origin_t;


/* The origin section of the security module's configuration. */
typedef struct {
    ngx_array_t               *origins;       /* of ngx_http_ws_origin_t */
} ngx_http_ws_origin_conf_t;


/* The handler finds the section at cmd->offset in the module's conf. */
char *ngx_http_ws_origin_allowed(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_origin_conf_init(ngx_http_ws_origin_conf_t *ocf);
char *ngx_http_ws_origin_merge(ngx_conf_t *cf,
    ngx_http_ws_origin_conf_t *prev, ngx_http_ws_origin_conf_t *conf);
ngx_int_t ngx_http_ws_origin_check(ngx_http_request_t *r,
    ngx_http_ws_origin_conf_t *ocf, ngx_http_ws_refusal_t *refusal);


#endif /* _NGX_HTTP_WS_ORIGIN_H_INCLUDED_ */
