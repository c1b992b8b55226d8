
/*
 * ngx_ws: token auth, "ws_auth_jwt" and friends (ngx_http_ws_jwt.c).
 */


#ifndef _NGX_HTTP_WS_JWT_H_INCLUDED_
#define _NGX_HTTP_WS_JWT_H_INCLUDED_


#include "ngx_http_ws_security_module.h"


char *ngx_http_ws_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ws_jwt_token(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ws_jwt_merge(ngx_conf_t *cf, ngx_http_ws_security_conf_t *prev,
    ngx_http_ws_security_conf_t *conf);
ngx_int_t ngx_http_ws_jwt_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_jwt_result_t *res,
    ngx_http_ws_refusal_t *refusal);
ngx_int_t ngx_http_ws_jwt_verify(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token,
    ngx_http_ws_jwt_result_t *res);
/* The worker's reader of token claims (the core's), made on first use */
wscore_jwt_reader_t *ngx_http_ws_jwt_reader(void);


#endif /* _NGX_HTTP_WS_JWT_H_INCLUDED_ */
