
/*
 * ngx_ws: one Redis connection driven by NGINX's event loop
 * (ngx_http_ws_redis_link.c).
 */


#ifndef _NGX_HTTP_WS_REDIS_LINK_H_INCLUDED_
#define _NGX_HTTP_WS_REDIS_LINK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>

#include "ngx_http_ws_redis_server.h"


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


#endif /* _NGX_HTTP_WS_REDIS_LINK_H_INCLUDED_ */
