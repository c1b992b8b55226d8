
/*
 * ngx_ws: cross-node channels through Redis ("ws_redis").
 *
 * A second NGINX module in the same shared object, so that its
 * directives, configuration and process hooks live in their own files:
 * ngx_http_ws_redis_link.c is one Redis connection on NGINX's event loop
 * (an NGINX peer connection, with reconnects and timeouts; hiredis only
 * parses the replies), ngx_http_ws_redis_tls.c puts NGINX's client TLS
 * on it, ngx_http_ws_redis.c carries publishes of cross-node channels to
 * Redis and the messages Redis sends back into ws_zone.
 */


#ifndef _NGX_HTTP_WS_REDIS_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* 1 if the location's channel is delivered through Redis. */
ngx_int_t ngx_http_ws_redis_channel(void **main_conf, ngx_str_t *channel);

/*
 * Publishes to a cross-node channel. done(data, seq) runs once, later:
 * seq 0 when Redis did not take the message. NGX_ERROR now when Redis is
 * down (done is not called).
 */
typedef void (*ngx_http_ws_redis_done_pt)(void *data, uint64_t seq);

ngx_int_t ngx_http_ws_redis_publish(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_redis_done_pt done, void *done_data);

/* A message of a channel's history in Redis, valid during the callback. */
typedef struct {
    uint64_t                   seq;
    ngx_uint_t                 opcode;
    ngx_uint_t                 json;
    u_char                    *data;
    size_t                     len;
} ngx_http_ws_redis_entry_t;

/* ok 0: Redis failed or did not answer in time; entries oldest first. */
typedef void (*ngx_http_ws_redis_history_pt)(void *data, ngx_uint_t ok,
    uint64_t top, ngx_http_ws_redis_entry_t *entries, ngx_uint_t n);

ngx_int_t ngx_http_ws_redis_history(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, uint64_t last_seq, ngx_uint_t max,
    ngx_http_ws_redis_history_pt done, void *data);

/* For readiness checks: ws_redis is set, and this worker can publish to
 * Redis right now. */
ngx_int_t ngx_http_ws_redis_configured(void);
ngx_int_t ngx_http_ws_redis_connected(void);


extern ngx_module_t  ngx_http_ws_redis_module;


#endif /* _NGX_HTTP_WS_REDIS_H_INCLUDED_ */
