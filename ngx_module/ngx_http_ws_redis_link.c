
/*
 * ngx_ws: one Redis connection driven by NGINX's event loop.
 *
 * The connection is an NGINX peer connection (ngx_event_connect_peer()),
 * so plain TCP, unix sockets and NGINX's own client TLS
 * (ngx_http_ws_redis_tls.c) all read and write through c->recv and
 * c->send, edge-triggered like any other NGINX connection. Commands are
 * written in Redis's protocol into one output buffer; replies are parsed
 * by hiredis's reply reader and handed, in order, to the handler queued
 * with each command. Nothing here blocks: the address was resolved at
 * configuration time, the connect is non-blocking, replies are awaited
 * with a timer.
 *
 * States: down (a retry timer runs, with exponential backoff and
 * jitter), connecting (a connect timer runs, through the TLS handshake),
 * handshake (AUTH, SELECT and a PING are on their way) and up. Only the
 * changes between down and up are logged, once each, never once per
 * message or per retry: while a link is known to be down, what NGINX
 * itself would log about its connection attempts is silenced too.
 *
 * A link that has been idle for the ping interval sends a PING, so a
 * Redis that stopped answering (a partition, a stopped process) is
 * noticed by the reply timeout. A subscribed link is pinged the same way:
 * Redis answers a PING in pub/sub mode too.
 */


#include "ngx_http_ws_redis_link.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_redis_tls.h"


#define NGX_HTTP_WS_REDIS_BACKOFF_MIN  100

/*
 * Bounds of what one link holds for a Redis that is slow but within its
 * timeout: commands awaiting a reply, and bytes not yet written. Past
 * either, commands are refused (publishers get 503 / 1013) rather than
 * growing the worker's memory.
 */
#define NGX_HTTP_WS_REDIS_MAX_PENDING  10000
#define NGX_HTTP_WS_REDIS_MAX_UNSENT   (16 * 1024 * 1024)

#define NGX_HTTP_WS_REDIS_OUT_SIZE     16384
#define NGX_HTTP_WS_REDIS_CALLS        64

/* read per event before giving the rest of the worker a turn */
#define NGX_HTTP_WS_REDIS_READ_TURN    (256 * 1024)


static void ngx_http_ws_redis_connect(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_connect_handler(ngx_event_t *wev);
static void ngx_http_ws_redis_tcp_connected(ngx_http_ws_redis_link_t *link);
#if (NGX_SSL)
static void ngx_http_ws_redis_link_handshaked(ngx_connection_t *c);
#endif
static void ngx_http_ws_redis_link_connected(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_close(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_fail_calls(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_read_handler(ngx_event_t *rev);
static void ngx_http_ws_redis_dispatch(ngx_http_ws_redis_link_t *link,
    ngx_uint_t epoch);
static ngx_uint_t ngx_http_ws_redis_is_push(redisReply *reply);
static void ngx_http_ws_redis_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_http_ws_redis_send(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
static ngx_int_t ngx_http_ws_redis_append(ngx_http_ws_redis_link_t *link,
    int argc, const char **argv, const size_t *argvlen);
static u_char *ngx_http_ws_redis_header(u_char *p, u_char kind, size_t n);
static ngx_int_t ngx_http_ws_redis_queue_call(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data);
static void ngx_http_ws_redis_handshake_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static void ngx_http_ws_redis_ping_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static void ngx_http_ws_redis_timer_handler(ngx_event_t *ev);
static void ngx_http_ws_redis_ping_handler(ngx_event_t *ev);
static void ngx_http_ws_redis_retry(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_report_down(ngx_http_ws_redis_link_t *link,
    const char *why);
static const char *ngx_http_ws_redis_io_error(const char *what,
    ngx_err_t err);
static u_char *ngx_http_ws_redis_log_context(ngx_log_t *log, u_char *buf,
    size_t len);


void
ngx_http_ws_redis_link_start(ngx_http_ws_redis_link_t *link)
{
    link->timer.handler = ngx_http_ws_redis_timer_handler;
    link->timer.data = link;
    link->timer.log = link->log;
    link->timer.cancelable = 1;

    link->ping.handler = ngx_http_ws_redis_ping_handler;
    link->ping.data = link;
    link->ping.log = link->log;
    link->ping.cancelable = 1;

    link->backoff = NGX_HTTP_WS_REDIS_BACKOFF_MIN;
    link->stopped = 0;

    ngx_http_ws_redis_connect(link);
}


void
ngx_http_ws_redis_link_stop(ngx_http_ws_redis_link_t *link)
{
    link->stopped = 1;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (link->ping.timer_set) {
        ngx_del_timer(&link->ping);
    }

    if (link->c) {
        ngx_http_ws_redis_close(link);
    }

    /* pending handlers run now, with NULL replies */
    ngx_http_ws_redis_fail_calls(link);

    ngx_free(link->calls);
    link->calls = NULL;
    link->calls_size = 0;
}


/* Gives up the connection (its handlers get NULL replies) and retries. */
void
ngx_http_ws_redis_link_drop(ngx_http_ws_redis_link_t *link, const char *why)
{
    if (link->c == NULL) {
        return;
    }

    ngx_http_ws_redis_report_down(link, why);
    ngx_http_ws_redis_close(link);
    ngx_http_ws_redis_fail_calls(link);
    ngx_http_ws_redis_retry(link);
}


ngx_int_t
ngx_http_ws_redis_link_command(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    if (!link->connected || link->c == NULL) {
        return NGX_ERROR;
    }

    if (link->pending >= NGX_HTTP_WS_REDIS_MAX_PENDING
        || (size_t) (link->out.last - link->out.pos)
           >= NGX_HTTP_WS_REDIS_MAX_UNSENT)
    {
        if (!link->saturated) {
            link->saturated = 1;
            ngx_log_error(NGX_LOG_WARN, link->log, 0,
                          "ws: redis %V is not keeping up (%ui commands "
                          "waiting): refusing commands until it does",
                          &link->server->name, link->pending);
        }

        return NGX_ERROR;
    }

    link->saturated = 0;

    return ngx_http_ws_redis_send(link, handler, data, argc, argv, argvlen);
}


static void
ngx_http_ws_redis_connect(ngx_http_ws_redis_link_t *link)
{
    ngx_int_t                    rc;
    ngx_connection_t            *c;
    ngx_peer_connection_t        peer;
    ngx_http_ws_redis_server_t  *srv;

    srv = link->server;

    /*
     * The connection logs through a copy of the link's log: at full level
     * until the link is known to be down, then silenced, so a Redis that
     * stays away does not fill the error log with one line per retry.
     */
    link->conn_log = *link->log;
    link->conn_log.handler = ngx_http_ws_redis_log_context;
    link->conn_log.data = link;
    link->conn_log.action = NULL;

    if (link->logged == NGX_HTTP_WS_REDIS_LOGGED_DOWN) {
        link->conn_log.log_level = NGX_LOG_EMERG;
    }

    ngx_memzero(&peer, sizeof(ngx_peer_connection_t));
    peer.sockaddr = srv->sockaddr;
    peer.socklen = srv->socklen;
    peer.name = &srv->name;
    peer.get = ngx_event_get_peer;
    peer.log = &link->conn_log;
    peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_ws_redis_report_down(link,
                                      rc == NGX_DECLINED
                                      ? "connect() failed"
                                      : "no connection could be made");
        ngx_http_ws_redis_retry(link);
        return;
    }

    c = peer.connection;

    c->pool = ngx_create_pool(1024, &link->conn_log);
    link->reader = redisReaderCreate();

    link->out.start = ngx_alloc(NGX_HTTP_WS_REDIS_OUT_SIZE, link->log);

    if (c->pool == NULL || link->reader == NULL || link->out.start == NULL) {
        link->c = c;
        ngx_http_ws_redis_report_down(link, "out of memory");
        ngx_http_ws_redis_close(link);
        ngx_http_ws_redis_retry(link);
        return;
    }

    link->out.pos = link->out.start;
    link->out.last = link->out.start;
    link->out.end = link->out.start + NGX_HTTP_WS_REDIS_OUT_SIZE;

    c->data = link;
    c->sendfile = 0;
    link->c = c;
    link->pending = 0;
    link->connected = 0;
    link->epoch++;

    ngx_add_timer(&link->timer, srv->timeout);

    if (rc == NGX_AGAIN) {
        /* the write event tells when the connect has finished */
        c->read->handler = ngx_http_ws_redis_connect_handler;
        c->write->handler = ngx_http_ws_redis_connect_handler;
        return;
    }

    ngx_http_ws_redis_tcp_connected(link);
}


static void
ngx_http_ws_redis_connect_handler(ngx_event_t *ev)
{
    int                        err;
    ngx_connection_t          *c;
    ngx_http_ws_redis_link_t  *link;

    c = ev->data;
    link = c->data;

    err = ngx_http_ws_connect_error(c);

    if (err) {
        ngx_http_ws_redis_link_drop(link,
                                    ngx_http_ws_redis_io_error("connect()",
                                                               err));
        return;
    }

    if (!c->write->ready && !c->read->ready) {
        return;
    }

    ngx_http_ws_redis_tcp_connected(link);
}


static void
ngx_http_ws_redis_tcp_connected(ngx_http_ws_redis_link_t *link)
{
#if (NGX_SSL)
    ngx_int_t          rc;
    const char        *why;
#endif
    ngx_connection_t  *c;

    c = link->c;

    if (link->server->sockaddr->sa_family != AF_UNIX) {
        /* commands are small and each waits for its answer */
        (void) ngx_tcp_nodelay(c);
    }

#if (NGX_SSL)
    if (link->server->ssl) {
        why = "TLS handshake failed";

        rc = ngx_http_ws_redis_tls_start(c, link->server,
                                         ngx_http_ws_redis_link_handshaked,
                                         &why);

        if (rc == NGX_AGAIN) {
            return;
        }

        if (rc != NGX_OK) {
            ngx_http_ws_redis_link_drop(link, why);
            return;
        }
    }
#endif

    ngx_http_ws_redis_link_connected(link);
}


#if (NGX_SSL)

/* A TLS handshake that did not end at once has ended. */
static void
ngx_http_ws_redis_link_handshaked(ngx_connection_t *c)
{
    const char                *why;
    ngx_http_ws_redis_link_t  *link;

    link = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_ws_redis_link_drop(link, "TLS handshake failed");
        return;
    }

    why = ngx_http_ws_redis_tls_verify(c, link->server);

    if (why) {
        ngx_http_ws_redis_link_drop(link, why);
        return;
    }

    ngx_http_ws_redis_link_connected(link);
}

#endif


/* Connected (and TLS done if asked): now AUTH, SELECT and a PING. */
static void
ngx_http_ws_redis_link_connected(ngx_http_ws_redis_link_t *link)
{
    int                          argc;
    size_t                       argvlen[3];
    u_char                       db[NGX_INT_T_LEN];
    const char                  *argv[3];
    ngx_connection_t            *c;
    ngx_http_ws_redis_server_t  *srv;

    c = link->c;
    srv = link->server;

    c->read->handler = ngx_http_ws_redis_read_handler;
    c->write->handler = ngx_http_ws_redis_write_handler;

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (srv->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (srv->user.len) {
            argv[argc] = (const char *) srv->user.data;
            argvlen[argc++] = srv->user.len;
        }

        argv[argc] = (const char *) srv->password.data;
        argvlen[argc++] = srv->password.len;

        if (ngx_http_ws_redis_send(link, ngx_http_ws_redis_handshake_reply,
                                   "AUTH", argc, argv, argvlen)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (srv->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", srv->db) - db;

        if (ngx_http_ws_redis_send(link, ngx_http_ws_redis_handshake_reply,
                                   "SELECT", 2, argv, argvlen)
            != NGX_OK)
        {
            goto failed;
        }
    }

    argv[0] = "PING";
    argvlen[0] = 4;

    if (ngx_http_ws_redis_send(link, ngx_http_ws_redis_ping_reply, NULL,
                               1, argv, argvlen)
        == NGX_OK)
    {
        /* Redis may have spoken first (an error, say, before closing) */
        if (c->read->ready) {
            ngx_post_event(c->read, &ngx_posted_events);
        }

        return;
    }

failed:

    ngx_http_ws_redis_link_drop(link, "out of memory");
}


/*
 * Every way down ends here (connect failure, EOF, error, timeout, our own
 * drop or stop): the connection, its TLS state and the unsent commands
 * go; the handlers still queued are failed by the caller.
 */
static void
ngx_http_ws_redis_close(ngx_http_ws_redis_link_t *link)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    c = link->c;

    link->c = NULL;
    link->connected = 0;
    link->epoch++;

    if (link->ping.timer_set) {
        ngx_del_timer(&link->ping);
    }

    if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }

    if (link->reader) {
        redisReaderFree(link->reader);
        link->reader = NULL;
    }

    ngx_free(link->out.start);
    ngx_memzero(&link->out, sizeof(ngx_buf_t));

#if (NGX_SSL)
    if (c->ssl) {
        /* a quiet end: no close_notify to wait for, or to get stuck on */
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/* Runs the queued handlers with NULL replies, oldest first. */
static void
ngx_http_ws_redis_fail_calls(ngx_http_ws_redis_link_t *link)
{
    ngx_http_ws_redis_call_t  call;

    while (link->pending) {
        call = link->calls[link->calls_head];

        link->calls_head = (link->calls_head + 1) % link->calls_size;
        link->pending--;

        /* a handler may send again: the link refuses while it is down */
        call.handler(link, NULL, call.data);
    }

    link->calls_head = 0;
}


static void
ngx_http_ws_redis_read_handler(ngx_event_t *rev)
{
    size_t                     total;
    ssize_t                    n;
    ngx_err_t                  err;
    ngx_uint_t                 epoch;
    ngx_connection_t          *c;
    ngx_http_ws_redis_link_t  *link;

    /* replies are parsed as they arrive: one buffer serves every link */
    static u_char              buf[16384];

    c = rev->data;
    link = c->data;
    epoch = link->epoch;

    for (total = 0; total < NGX_HTTP_WS_REDIS_READ_TURN; total += n) {

        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_ws_redis_link_drop(link, "epoll failed");
            }

            return;
        }

        if (n == 0) {
            ngx_http_ws_redis_link_drop(link, "the connection was closed "
                                        "by redis");
            return;
        }

        if (n == NGX_ERROR) {
            err = ngx_socket_errno;
            ngx_http_ws_redis_link_drop(link,
                                        ngx_http_ws_redis_io_error("recv()",
                                                                   err));
            return;
        }

        if (redisReaderFeed(link->reader, (const char *) buf, n) != REDIS_OK)
        {
            ngx_http_ws_redis_link_drop(link, "out of memory");
            return;
        }

        ngx_http_ws_redis_dispatch(link, epoch);

        if (link->epoch != epoch) {
            /* a handler dropped or stopped the link */
            return;
        }
    }

    /* more is waiting: after the rest of this loop pass */
    ngx_post_event(rev, &ngx_posted_events);
}


/* Hands each complete reply to the oldest waiting command's handler. */
static void
ngx_http_ws_redis_dispatch(ngx_http_ws_redis_link_t *link, ngx_uint_t epoch)
{
    void                      *r;
    redisReply                *reply;
    ngx_http_ws_redis_call_t   call;

    for ( ;; ) {
        r = NULL;

        if (redisReaderGetReply(link->reader, &r) != REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, link->log, 0,
                          "ws: redis %V sent what is not its protocol: %s",
                          &link->server->name, link->reader->errstr);
            ngx_http_ws_redis_link_drop(link, "protocol error");
            return;
        }

        reply = r;

        if (reply == NULL) {
            return;
        }

        if (link->push && ngx_http_ws_redis_is_push(reply)) {
            link->push(link, reply, link->data);

        } else if (link->pending == 0) {
            freeReplyObject(reply);
            ngx_http_ws_redis_link_drop(link, "a reply to no command");
            return;

        } else {
            call = link->calls[link->calls_head];

            link->calls_head = (link->calls_head + 1) % link->calls_size;
            link->pending--;

            /* the timer measures the wait for the oldest reply missing */
            if (link->pending) {
                ngx_add_timer(&link->timer, link->server->timeout);

            } else if (link->timer.timer_set) {
                ngx_del_timer(&link->timer);
            }

            call.handler(link, reply, call.data);
        }

        freeReplyObject(reply);

        if (link->epoch != epoch) {
            return;
        }
    }
}


/* ["message", ...] or ["pmessage", ...]: pub/sub, not a command's reply */
static ngx_uint_t
ngx_http_ws_redis_is_push(redisReply *reply)
{
    redisReply  *kind;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        return 0;
    }

    kind = reply->element[0];

    if (kind->type != REDIS_REPLY_STRING) {
        return 0;
    }

    return (kind->len == 7 && ngx_strncmp(kind->str, "message", 7) == 0)
           || (kind->len == 8 && ngx_strncmp(kind->str, "pmessage", 8) == 0);
}


/*
 * Commands are written at the end of the current event-loop pass (a posted
 * event): all commands of one pass go out in one write, and none waits for
 * the next epoll round, which would add a whole loop pass (a busy worker's
 * fan-out) to every Redis round trip. What the socket does not take at
 * once waits for the write event.
 */
static void
ngx_http_ws_redis_write_handler(ngx_event_t *wev)
{
    ssize_t                    n;
    ngx_err_t                  err;
    ngx_buf_t                 *out;
    ngx_connection_t          *c;
    ngx_http_ws_redis_link_t  *link;

    c = wev->data;
    link = c->data;
    out = &link->out;

    while (out->pos < out->last && wev->ready) {

        n = c->send(c, out->pos, out->last - out->pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            err = ngx_socket_errno;
            ngx_http_ws_redis_link_drop(link,
                                        ngx_http_ws_redis_io_error("send()",
                                                                   err));
            return;
        }

        out->pos += n;
    }

    if (out->pos == out->last) {
        out->pos = out->start;
        out->last = out->start;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_ws_redis_link_drop(link, "epoll failed");
    }
}


static ngx_int_t
ngx_http_ws_redis_send(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    if (ngx_http_ws_redis_queue_call(link, handler, data) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_ws_redis_append(link, argc, argv, argvlen) != NGX_OK) {
        /* the call just queued is the newest: take it back */
        link->pending--;
        return NGX_ERROR;
    }

    if (link->pending == 1) {
        ngx_add_timer(&link->timer, link->server->timeout);
    }

    if (!link->c->write->posted) {
        ngx_post_event(link->c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


/* A command in Redis's protocol: *argc, then $len and bytes for each. */
static ngx_int_t
ngx_http_ws_redis_append(ngx_http_ws_redis_link_t *link, int argc,
    const char **argv, const size_t *argvlen)
{
    int         i;
    u_char     *p, *start;
    size_t      need, size, unsent;
    ngx_buf_t  *out;

    out = &link->out;

    need = 1 + NGX_INT_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        need += 1 + NGX_SIZE_T_LEN + 2 + argvlen[i] + 2;
    }

    if ((size_t) (out->end - out->last) < need) {
        unsent = out->last - out->pos;

        if ((size_t) (out->end - out->start) >= unsent + need) {
            /* room enough once what was sent is gone */
            ngx_memmove(out->start, out->pos, unsent);

        } else {
            size = ngx_max((size_t) (out->end - out->start) * 2,
                           unsent + need);

            start = ngx_alloc(size, link->log);
            if (start == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(start, out->pos, unsent);
            ngx_free(out->start);

            out->start = start;
            out->end = start + size;
        }

        out->pos = out->start;
        out->last = out->start + unsent;
    }

    p = ngx_http_ws_redis_header(out->last, '*', argc);

    for (i = 0; i < argc; i++) {
        p = ngx_http_ws_redis_header(p, '$', argvlen[i]);
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR; *p++ = LF;
    }

    out->last = p;

    return NGX_OK;
}


/*
 * "*3\r\n" or "$64\r\n". Written by hand: ngx_sprintf() for these took
 * about a tenth of a publish's instructions (callgrind).
 */
static u_char *
ngx_http_ws_redis_header(u_char *p, u_char kind, size_t n)
{
    u_char   digits[NGX_SIZE_T_LEN];
    u_char  *d;

    d = digits + NGX_SIZE_T_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    *p++ = kind;
    p = ngx_cpymem(p, d, digits + NGX_SIZE_T_LEN - d);
    *p++ = CR; *p++ = LF;

    return p;
}


static ngx_int_t
ngx_http_ws_redis_queue_call(ngx_http_ws_redis_link_t *link,
    ngx_http_ws_redis_reply_pt handler, void *data)
{
    ngx_uint_t                 i, size;
    ngx_http_ws_redis_call_t  *calls;

    if (link->pending == link->calls_size) {
        size = link->calls_size ? link->calls_size * 2
                                : NGX_HTTP_WS_REDIS_CALLS;

        calls = ngx_alloc(size * sizeof(ngx_http_ws_redis_call_t), link->log);
        if (calls == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < link->pending; i++) {
            calls[i] = link->calls[(link->calls_head + i) % link->calls_size];
        }

        ngx_free(link->calls);

        link->calls = calls;
        link->calls_size = size;
        link->calls_head = 0;
    }

    i = (link->calls_head + link->pending) % link->calls_size;

    link->calls[i].handler = handler;
    link->calls[i].data = data;
    link->pending++;

    return NGX_OK;
}


static void
ngx_http_ws_redis_handshake_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        /* a configuration mistake: say it every time it is retried */
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "ws: redis %V refused %s: %*s", &link->server->name,
                      (char *) data, (size_t) reply->len, reply->str);

        ngx_http_ws_redis_link_drop(link, "handshake refused");
    }
}


/* The last answer of the handshake, or of an idle-time liveness check. */
static void
ngx_http_ws_redis_ping_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    if (reply == NULL || link->c == NULL || link->stopped) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOAUTH: Redis wants a password that ws_redis does not give */
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "ws: redis %V refused PING: %*s", &link->server->name,
                      (size_t) reply->len, reply->str);

        ngx_http_ws_redis_link_drop(link, "PING refused");
        return;
    }

    if (!link->connected) {
        link->connected = 1;
        link->backoff = NGX_HTTP_WS_REDIS_BACKOFF_MIN;

        /* a link with more to do first (subscribe) announces itself */
        if (link->ready) {
            link->ready(link);

        } else {
            ngx_http_ws_redis_link_up(link);
        }
    }

    if (link->server->ping_interval && link->c) {
        ngx_add_timer(&link->ping, link->server->ping_interval);
    }
}


/* Logs the change to up, once. */
void
ngx_http_ws_redis_link_up(ngx_http_ws_redis_link_t *link)
{
    if (link->logged != NGX_HTTP_WS_REDIS_LOGGED_UP && !link->stopped) {
        link->logged = NGX_HTTP_WS_REDIS_LOGGED_UP;
        link->conn_log.log_level = link->log->log_level;

        if (ngx_strcmp(link->role, "publish") == 0) {
            ngx_http_ws_metrics->redis_up = 1;
        }

        ngx_log_error(NGX_LOG_NOTICE, link->log, 0,
                      "ws: redis %V is up (%s link%s)",
                      &link->server->name, link->role,
                      link->server->ssl ? ", TLS" : "");
    }
}


/* Connect timeout, reply timeout, or the end of a retry delay. */
static void
ngx_http_ws_redis_timer_handler(ngx_event_t *ev)
{
    ngx_http_ws_redis_link_t  *link = ev->data;

    if (link->stopped) {
        return;
    }

    if (link->c == NULL) {
        ngx_http_ws_redis_connect(link);
        return;
    }

    ngx_http_ws_redis_link_drop(link, link->pending ? "reply timed out"
                                                    : "connect timed out");
}


static void
ngx_http_ws_redis_ping_handler(ngx_event_t *ev)
{
    size_t                     len;
    const char                *argv;
    ngx_http_ws_redis_link_t  *link = ev->data;

    if (link->stopped || !link->connected || link->c == NULL) {
        return;
    }

    if (link->pending) {
        /* busy: the replies themselves show it is alive */
        ngx_add_timer(&link->ping, link->server->ping_interval);
        return;
    }

    argv = "PING";
    len = 4;

    if (ngx_http_ws_redis_send(link, ngx_http_ws_redis_ping_reply, NULL,
                               1, &argv, &len)
        != NGX_OK)
    {
        ngx_http_ws_redis_link_drop(link, "out of memory");
    }
}


/* Waits half the backoff plus up to as much again, then doubles it. */
static void
ngx_http_ws_redis_retry(ngx_http_ws_redis_link_t *link)
{
    ngx_msec_t  delay;

    if (link->stopped || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    delay = link->backoff / 2 + (ngx_msec_t) ngx_random() % (link->backoff
                                                            / 2 + 1);

    link->backoff *= 2;

    if (link->backoff > link->server->backoff_max) {
        link->backoff = link->server->backoff_max;
    }

    ngx_add_timer(&link->timer, delay);
}


static void
ngx_http_ws_redis_report_down(ngx_http_ws_redis_link_t *link,
    const char *why)
{
    if (link->logged == NGX_HTTP_WS_REDIS_LOGGED_DOWN || link->stopped) {
        return;
    }

    link->logged = NGX_HTTP_WS_REDIS_LOGGED_DOWN;
    ngx_http_ws_metric_inc(redis_disconnects);

    if (ngx_strcmp(link->role, "publish") == 0) {
        ngx_http_ws_metrics->redis_up = 0;
    }

    ngx_log_error(NGX_LOG_ERR, link->log, 0,
                  "ws: redis %V is down (%s link): %s; retrying with "
                  "backoff", &link->server->name, link->role, why);
}


/* "recv() failed: Connection reset by peer", valid until the next call */
static const char *
ngx_http_ws_redis_io_error(const char *what, ngx_err_t err)
{
    u_char         *p, *last;
    static u_char   text[128];

    last = text + sizeof(text) - 1;

    p = ngx_slprintf(text, last, "%s failed", what);

    if (err) {
        p = ngx_slprintf(p, last, ": ");
        p = ngx_strerror(err, p, last - p);
    }

    *p = '\0';

    return (const char *) text;
}


/* What NGINX logs about the connection says which link it is about. */
static u_char *
ngx_http_ws_redis_log_context(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_http_ws_redis_link_t  *link = log->data;

    return ngx_snprintf(buf, len, ", ws redis %s link to %V", link->role,
                        &link->server->name);
}
