
/*
 * ngx_ws: security and limits of WebSocket endpoints.
 *
 * A second NGINX module in the same shared object, with its own location
 * configuration, request context and variables, so that the guards
 * (origin, subprotocols, token auth, rate limits, connection caps) stay
 * out of the files of the WebSocket core module. Its configuration and
 * request context are here; each of its files declares what it exports
 * in a header of its own name.
 */


#ifndef _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_
#define _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_


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


/* ws_ban count window duration: closes for breaking a rule that ban. */
typedef struct {
    ngx_uint_t                 count;         /* 0: off */
    ngx_msec_t                 window;
    ngx_msec_t                 duration;
    uint32_t                   id;            /* its counts in ws_zone */
} ngx_http_ws_ban_t;


typedef struct {
    ngx_array_t               *origins;       /* of ngx_http_ws_origin_t */
    ngx_array_t               *subprotocols;  /* of ngx_str_t */
    ngx_flag_t                 subprotocol_required;
    ngx_http_ws_conf_where_t   subprotocol_required_where;

    ngx_flag_t                 jwt;           /* ws_auth_jwt */
    ngx_array_t               *jwt_keys;      /* of ngx_http_ws_jwt_key_t */
    ngx_array_t               *jwt_sources;   /* of ..._jwt_source_t */
    ngx_str_t                  jwt_issuer;
    ngx_str_t                  jwt_audience;
    time_t                     jwt_leeway;
    ngx_flag_t                 jwt_user_channel;
    ngx_str_t                  jwt_channels_claim;
    ngx_flag_t                 auth_first_message;
    ngx_msec_t                 auth_timeout;

    ngx_array_t               *rates;         /* of ngx_http_ws_rate_t */
    ngx_http_ws_cap_t          max_conns;
    ngx_http_ws_cap_t          max_per_ip;
    ngx_http_ws_cap_t          max_per_user;
    ngx_uint_t                 reserve_connections;

    ngx_http_ws_ban_t          ban;           /* count NGX_CONF_UNSET_UINT */
    ngx_array_t               *ban_allow;     /* of ngx_cidr_t */
} ngx_http_ws_security_conf_t;


/* What the guards learned about one request, kept for its whole life. */
typedef struct {
    ngx_str_t                  subprotocol;   /* chosen, or empty */
    ngx_http_ws_jwt_result_t   jwt;

    ngx_str_t                  user_channel;  /* "user:<sub>" */

    ngx_http_ws_session_t     *session;

    /* per-connection rate buckets, one per ws_limit_rate */
    wscore_bucket_t           *buckets;
    ngx_uint_t                 rate_limited;  /* messages refused */
    ngx_uint_t                 acl_denied;    /* channel requests refused */

    unsigned                   claims_heap:1; /* own ngx_alloc block:
                                                 refreshed, or a first
                                                 message's token */
    unsigned                   auth_pending:1; /* token to come first */
    unsigned                   channels_deferred:1; /* until the token */
} ngx_http_ws_security_ctx_t;


extern ngx_module_t  ngx_http_ws_security_module;
extern ngx_http_ws_hooks_t  ngx_http_ws_security_hooks;


/* for the other files of the security module */
ngx_http_ws_security_ctx_t *ngx_http_ws_security_ctx(ngx_http_request_t *r);
ngx_http_ws_security_ctx_t *ngx_http_ws_security_session_ctx(
    ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_security_detach(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_security_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);


#endif /* _NGX_HTTP_WS_SECURITY_MODULE_H_INCLUDED_ */
