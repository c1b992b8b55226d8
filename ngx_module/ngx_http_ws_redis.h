
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

#include <hiredis/hiredis.h>


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

/*
 * A reply, or NULL when the link went down or the reply did not come in
 * time; the reply is freed when the handler returns.
 */
typedef void (*ngx_http_ws_redis_reply_pt)(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);


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


/* A command waiting for its reply. */
typedef struct {
    ngx_http_ws_redis_reply_pt  handler;
    void                       *data;
} ngx_http_ws_redis_call_t;


struct ngx_http_ws_redis_link_s {
    ngx_http_ws_redis_server_t  *server;
    const char                  *role;        /* "publish", "subscribe" */
    ngx_connection_t            *c;           /* NULL while down */
    redisReader                 *reader;
    ngx_buf_t                    out;         /* commands not yet sent */

    ngx_http_ws_redis_call_t    *calls;       /* a ring, oldest first */
    ngx_uint_t                   calls_head;
    ngx_uint_t                   calls_size;
    ngx_uint_t                   pending;     /* replies awaited */

    /* pub/sub messages, which answer no command */
    ngx_http_ws_redis_reply_pt   push;

    ngx_event_t                  timer;       /* connect, reply, retry */
    ngx_event_t                  ping;
    ngx_msec_t                   backoff;
    ngx_log_t                   *log;
    ngx_log_t                    conn_log;    /* quiet while down */
    ngx_uint_t                   epoch;       /* counts connections */
    ngx_http_ws_redis_ready_pt   ready;
    void                        *data;

    ngx_uint_t                   logged;      /* last state logged */

    unsigned                     connected:1; /* handshake answered */
    unsigned                     saturated:1; /* refusing: too much waits */
    unsigned                     stopped:1;
};


/* ngx_http_ws_redis_link.c */
void ngx_http_ws_redis_link_start(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_stop(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_drop(ngx_http_ws_redis_link_t *link,
    const char *why);

/*
 * Sends a command expecting one reply: the handler runs exactly once, with
 * NULL if the link goes down first or the reply takes longer than the
 * server's timeout. NGX_ERROR if down now, or too much is waiting.
 */
ngx_int_t ngx_http_ws_redis_link_command(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
void ngx_http_ws_redis_link_up(ngx_http_ws_redis_link_t *link);
void ngx_http_ws_redis_link_connected(ngx_http_ws_redis_link_t *link);


/* ngx_http_ws_redis_tls.c */
ngx_int_t ngx_http_ws_redis_tls_configure(ngx_conf_t *cf,
    ngx_http_ws_redis_server_t *srv, ngx_http_ws_redis_ssl_conf_t *scf);

/*
 * Starts the TLS handshake on a connected link: NGX_OK when it is done at
 * once, NGX_AGAIN when ngx_http_ws_redis_link_connected() will be called,
 * NGX_ERROR with *why set.
 */
ngx_int_t ngx_http_ws_redis_tls_start(ngx_http_ws_redis_link_t *link,
    const char **why);


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
