
/*
 * ngx_ws: security and limits of WebSocket endpoints.
 *
 * A second NGINX module in the same shared object, with its own location
 * configuration, request context and variables, so that the guards
 * (origin, subprotocols, token auth, rate limits, connection caps) stay
 * out of the files of the WebSocket core module: those call the short
 * hooks declared at the end of this header.
 */


#ifndef _NGX_HTTP_WS_SECURITY_H_INCLUDED_
#define _NGX_HTTP_WS_SECURITY_H_INCLUDED_


#include "ngx_http_ws_module.h"


/* One entry of ws_allowed_origins. */
typedef struct {
    ngx_str_t                  scheme;        /* empty: http or https */
    ngx_str_t                  host;          /* lowercase; for wildcards
                                                 the suffix ".example.com" */
    ngx_str_t                  port;          /* empty: no port */
    ngx_str_t                  text;          /* as configured, for logs */
#if (NGX_PCRE)
    ngx_regex_t               *regex;         /* "~" and "~*" entries */
#endif
    unsigned                   wildcard:1;
} ngx_http_ws_origin_t;


typedef struct {
    ngx_array_t               *origins;       /* of ngx_http_ws_origin_t */
    ngx_array_t               *subprotocols;  /* of ngx_str_t */
    ngx_flag_t                 subprotocol_required;
} ngx_http_ws_security_conf_t;


/* What the guards learned about one request, kept for its whole life. */
typedef struct {
    ngx_str_t                  subprotocol;   /* chosen, or empty */
} ngx_http_ws_security_ctx_t;


/*
 * A guard's refusal: the HTTP status and a short reason for the body and
 * the log. Headers the answer needs (WWW-Authenticate, Retry-After) are
 * already added to r->headers_out by the guard.
 */
typedef struct {
    ngx_uint_t                 status;
    const char                *reason;
} ngx_http_ws_refusal_t;


extern ngx_module_t  ngx_http_ws_security_module;


/* ngx_http_ws_security_module.c: the hooks of the handshake */

/* NGX_OK, NGX_DECLINED with *refusal filled, NGX_ERROR. */
ngx_int_t ngx_http_ws_security_check(ngx_http_request_t *r,
    ngx_http_ws_refusal_t *refusal);
/* Adds the 101's own headers (Sec-WebSocket-Protocol). */
ngx_int_t ngx_http_ws_security_upgrade_headers(ngx_http_request_t *r);

ngx_http_ws_security_ctx_t *ngx_http_ws_security_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_ws_security_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);

/* ngx_http_ws_origin.c */
char *ngx_http_ws_allowed_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ws_origin_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_refusal_t *refusal);

/* ngx_http_ws_subprotocol.c */
char *ngx_http_ws_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_ws_subprotocol_select(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_refusal_t *refusal);


#endif /* _NGX_HTTP_WS_SECURITY_H_INCLUDED_ */
