
/*
 * ngx_ws: token auth, "ws_auth_jwt" and friends (ngx_http_ws_jwt.c): the
 * token section of the security module's configuration, which its other
 * parts (the session's identity, the channel claim) read as well.
 */


#ifndef _NGX_HTTP_WS_JWT_H_INCLUDED_
#define _NGX_HTTP_WS_JWT_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


#define NGX_HTTP_WS_JWT_FROM_HEADER    0
#define NGX_HTTP_WS_JWT_FROM_ARG       1
#define NGX_HTTP_WS_JWT_FROM_COOKIE    2
#define NGX_HTTP_WS_JWT_FROM_PROTOCOL  3


/* Where ws_auth_jwt_token looks: "header", "arg=", "cookie=", "protocol=". */
typedef struct {
    ngx_uint_t                 type;
    ngx_str_t                  name;          /* arg, $cookie_<name>, or
                                                 protocol prefix */
    ngx_uint_t                 hash;          /* of the cookie variable */
} ngx_http_ws_jwt_source_t;


typedef struct ngx_http_ws_jwt_alg_s  ngx_http_ws_jwt_alg_t;

/* One ws_auth_jwt_key: the algorithm it is for and the key itself. */
typedef struct {
    ngx_http_ws_jwt_alg_t     *alg;
    ngx_str_t                  data;          /* secret, or PEM (libjwt) */
    void                      *pkey;          /* EVP_PKEY, not for HS* */
} ngx_http_ws_jwt_key_t;


/* A verified token. */
typedef struct {
    ngx_str_t                  user;          /* "sub", or empty */
    ngx_str_t                  claims;        /* the payload JSON */
    time_t                     exp;           /* 0: does not expire */
} ngx_http_ws_jwt_result_t;


/* ws_auth_jwt, ws_auth_jwt_*, ws_auth_first_message, ws_auth_timeout. */
typedef struct {
    ngx_flag_t                 on;            /* ws_auth_jwt */
    ngx_array_t               *keys;          /* of ngx_http_ws_jwt_key_t */
    ngx_array_t               *sources;       /* of ..._jwt_source_t */
    ngx_str_t                  issuer;
    ngx_str_t                  audience;
    time_t                     leeway;
    ngx_flag_t                 user_channel;
    ngx_str_t                  channels_claim;
    ngx_flag_t                 first_message;
    ngx_msec_t                 timeout;       /* for the first message */
} ngx_http_ws_jwt_conf_t;


/*
 * The directive handlers find the section at cmd->offset in the module's
 * location configuration.
 */
char *ngx_http_ws_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ws_jwt_token(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_jwt_conf_init(ngx_http_ws_jwt_conf_t *jwcf);
char *ngx_http_ws_jwt_merge(ngx_conf_t *cf, ngx_http_ws_jwt_conf_t *prev,
    ngx_http_ws_jwt_conf_t *conf);
/* NGX_AGAIN: no token yet, and ws_auth_first_message waits for one */
ngx_int_t ngx_http_ws_jwt_check(ngx_http_request_t *r,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_http_ws_jwt_result_t *res,
    ngx_http_ws_refusal_t *refusal);
ngx_int_t ngx_http_ws_jwt_verify(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token,
    ngx_http_ws_jwt_result_t *res);
/* The worker's reader of token claims (the core's), made on first use */
wscore_jwt_reader_t *ngx_http_ws_jwt_reader(void);


#endif /* _NGX_HTTP_WS_JWT_H_INCLUDED_ */
