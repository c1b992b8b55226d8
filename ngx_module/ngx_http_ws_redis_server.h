
/*
 * ngx_ws: the Redis server of ws_redis, as configured: what a link
 * connects to and how (the TLS part applied by ngx_http_ws_redis_tls.c).
 */


#ifndef _NGX_HTTP_WS_REDIS_SERVER_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_SERVER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* ws_redis_ssl_*, as written (applied once ws_redis is known) */
typedef struct {
    ngx_flag_t                 verify;
    ngx_str_t                  name;
    ngx_str_t                  certificate;
    ngx_str_t                  certificate_key;
    ngx_str_t                  trusted_certificate;
} ngx_http_ws_redis_ssl_conf_t;


typedef struct {
    ngx_str_t                  name;          /* as written, for logs */
    ngx_str_t                  host;          /* as written, no port */
    struct sockaddr           *sockaddr;      /* resolved at -t */
    socklen_t                  socklen;
    ngx_str_t                  user;          /* ACL user, or empty */
    ngx_str_t                  password;      /* or empty */
    ngx_uint_t                 db;
    ngx_msec_t                 timeout;       /* connect and reply */
    ngx_msec_t                 ping_interval; /* liveness when idle */
    ngx_msec_t                 backoff_max;

    unsigned                   ssl:1;         /* "ssl" given */
    unsigned                   ssl_verify:1;
    unsigned                   ssl_name_is_ip:1;
#if (NGX_SSL)
    ngx_ssl_t                 *ssl_ctx;
    ngx_str_t                  ssl_name;      /* null-terminated */
#endif
} ngx_http_ws_redis_server_t;


#endif /* _NGX_HTTP_WS_REDIS_SERVER_H_INCLUDED_ */
