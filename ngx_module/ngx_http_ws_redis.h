
/*
 * ngx_ws: cross-node channels through Redis ("ws_redis").
 *
 * A second NGINX module in the same shared object, so that its
 * directives, configuration and process hooks live in their own files:
 * ngx_http_ws_redis_link.c drives hiredis's async context from NGINX's
 * event loop (one link is one Redis connection, with reconnects and
 * timeouts), ngx_http_ws_redis.c carries publishes of cross-node
 * channels to Redis and the messages Redis sends back into ws_zone.
 */


#ifndef _NGX_HTTP_WS_REDIS_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/* The state a link last logged: each change is logged once. */
#define NGX_HTTP_WS_REDIS_LOGGED_NONE  0
#define NGX_HTTP_WS_REDIS_LOGGED_UP    1
#define NGX_HTTP_WS_REDIS_LOGGED_DOWN  2


typedef struct ngx_http_ws_redis_link_s  ngx_http_ws_redis_link_t;

/*
 * Called when the link has connected (AUTH / SELECT done); the link then
 * calls ngx_http_ws_redis_link_up() itself once it is really usable.
 */
typedef void (*ngx_http_ws_redis_ready_pt)(ngx_http_ws_redis_link_t *link);


typedef struct {
    ngx_str_t                  name;          /* as written, for logs */
    ngx_str_t                  host;          /* numeric, resolved at -t */
    in_port_t                  port;
    ngx_str_t                  unix_path;     /* or empty */
    ngx_str_t                  user;          /* ACL user, or empty */
    ngx_str_t                  password;      /* or empty */
    ngx_uint_t                 db;
    ngx_msec_t                 timeout;       /* connect and reply */
    ngx_msec_t                 ping_interval; /* liveness when idle */
    ngx_msec_t                 backoff_max;
} ngx_http_ws_redis_server_t;


struct ngx_http_ws_redis_link_s {
    ngx_http_ws_redis_server_t  *server;
    const char                  *role;        /* "publish", "subscribe" */
    redisAsyncContext           *ac;          /* NULL while down */
    ngx_connection_t            *c;           /* the adapter's events */
    ngx_event_t                  timer;       /* connect, reply, retry */
    ngx_event_t                  ping;
    ngx_msec_t                   backoff;
    ngx_uint_t                   pending;     /* replies awaited */
    ngx_log_t                   *log;
    ngx_http_ws_redis_ready_pt   ready;
    ngx_http_ws_redis_link_t    *follower;    /* dropped with this one */
    void                        *data;

    ngx_uint_t                   logged;      /* last state logged */

    unsigned                     connected:1;
    unsigned                     no_ping:1;   /* a subscribed link */
    unsigned                     saturated:1; /* refusing: too much waits */
    unsigned                     stopped:1;
};


/* ngx_http_ws_redis_link.c */
void ngx_http_ws_redis_link_start(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_stop(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_drop(ngx_http_ws_redis_link_t *link,
    const char *why);

/*
 * Sends a command expecting one reply (not for SUBSCRIBE): the callback
 * runs exactly once, with a NULL reply if the link goes down first or the
 * reply takes longer than the server's timeout. NGX_ERROR if down now.
 */
ngx_int_t ngx_http_ws_redis_link_command(ngx_http_ws_redis_link_t *link,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen);
void ngx_http_ws_redis_link_replied(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_up(ngx_http_ws_redis_link_t *link);


/* ngx_http_ws_redis.c */

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
