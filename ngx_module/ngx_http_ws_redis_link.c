
/*
 * ngx_ws: one Redis connection driven by NGINX's event loop.
 *
 * hiredis's async context does the protocol; this adapter gives it an
 * ngx_connection_t for its socket and maps its addRead / delRead /
 * addWrite / delWrite / cleanup hooks onto that connection's events
 * (level-triggered, as hiredis expects: it reads and writes what it can
 * and asks again). Nothing here blocks: the address was resolved at
 * configuration time, the connect is non-blocking, replies are awaited
 * with a timer.
 *
 * States: down (a retry timer runs, with exponential backoff and
 * jitter), connecting (a connect timer runs), handshake (AUTH, SELECT
 * and a PING are on their way) and up. Only the changes between down and
 * up are logged, once each, never once per message or per retry.
 *
 * A command link also sends a PING when it has been idle for the ping
 * interval, so a Redis that stopped answering (a partition, a stopped
 * process) is noticed by the reply timeout. A subscribed connection
 * cannot be pinged through hiredis 0.14, so a subscriber link is made the
 * follower of a command link to the same server: when the leader is
 * dropped, the follower is dropped with it.
 */


#include "ngx_http_ws_module.h"
#include "ngx_http_ws_redis.h"


#define NGX_HTTP_WS_REDIS_BACKOFF_MIN  100

/*
 * Bounds of what one link holds for a Redis that is slow but within its
 * timeout: commands awaiting a reply, and bytes not yet written. Past
 * either, commands are refused (publishers get 503 / 1013) rather than
 * growing the worker's memory.
 */
#define NGX_HTTP_WS_REDIS_MAX_PENDING  10000
#define NGX_HTTP_WS_REDIS_MAX_UNSENT   (16 * 1024 * 1024)


static void ngx_http_ws_redis_connect(ngx_http_ws_redis_link_t *link);
static ngx_int_t ngx_http_ws_redis_attach(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_add_read(void *data);
static void ngx_http_ws_redis_del_read(void *data);
static void ngx_http_ws_redis_add_write(void *data);
static void ngx_http_ws_redis_del_write(void *data);
static void ngx_http_ws_redis_cleanup(void *data);
static void ngx_http_ws_redis_read_handler(ngx_event_t *rev);
static void ngx_http_ws_redis_write_handler(ngx_event_t *wev);
static void ngx_http_ws_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_ws_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_ws_redis_handshake_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_ws_redis_ping_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_int_t ngx_http_ws_redis_send(ngx_http_ws_redis_link_t *link,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen);
static void ngx_http_ws_redis_timer_handler(ngx_event_t *ev);
static void ngx_http_ws_redis_ping_handler(ngx_event_t *ev);
static void ngx_http_ws_redis_retry(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_report_down(ngx_http_ws_redis_link_t *link,
    const char *why);


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

    if (link->ac) {
        /* pending callbacks run now, with NULL replies */
        redisAsyncFree(link->ac);
    }
}


/* Gives up the connection (its callbacks get NULL replies) and retries. */
void
ngx_http_ws_redis_link_drop(ngx_http_ws_redis_link_t *link, const char *why)
{
    if (link->ac == NULL) {
        return;
    }

    ngx_http_ws_redis_report_down(link, why);

    /* inside a hiredis callback this is deferred until it returns */
    redisAsyncFree(link->ac);
}


ngx_int_t
ngx_http_ws_redis_link_command(ngx_http_ws_redis_link_t *link,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen)
{
    if (!link->connected || link->ac == NULL) {
        return NGX_ERROR;
    }

    if (link->pending >= NGX_HTTP_WS_REDIS_MAX_PENDING
        || sdslen(link->ac->c.obuf) >= NGX_HTTP_WS_REDIS_MAX_UNSENT)
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

    return ngx_http_ws_redis_send(link, fn, privdata, argc, argv, argvlen);
}


/* Every reply callback of a command link calls this once. */
void
ngx_http_ws_redis_link_replied(ngx_http_ws_redis_link_t *link)
{
    if (link->pending) {
        link->pending--;
    }

    if (link->ac == NULL || link->stopped) {
        return;
    }

    /* the timer measures the wait for the oldest reply still missing */
    if (link->pending) {
        ngx_add_timer(&link->timer, link->server->timeout);

    } else if (link->timer.timer_set) {
        ngx_del_timer(&link->timer);
    }
}


static void
ngx_http_ws_redis_connect(ngx_http_ws_redis_link_t *link)
{
    redisAsyncContext           *ac;
    ngx_http_ws_redis_server_t  *srv;

    srv = link->server;

    if (srv->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) srv->unix_path.data);

    } else {
        /* a numeric address: no name lookup happens in the worker */
        ac = redisAsyncConnect((const char *) srv->host.data, srv->port);
    }

    if (ac == NULL) {
        ngx_http_ws_redis_report_down(link, "out of memory");
        ngx_http_ws_redis_retry(link);
        return;
    }

    if (ac->err) {
        ngx_http_ws_redis_report_down(link, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_ws_redis_retry(link);
        return;
    }

    link->ac = ac;
    link->pending = 0;
    link->connected = 0;

    if (ngx_http_ws_redis_attach(link) != NGX_OK) {
        link->ac = NULL;
        redisAsyncFree(ac);
        ngx_http_ws_redis_report_down(link, "no free connection");
        ngx_http_ws_redis_retry(link);
        return;
    }

    redisAsyncSetDisconnectCallback(ac, ngx_http_ws_redis_on_disconnect);

    /* adds the write event: a connected socket becomes writable */
    redisAsyncSetConnectCallback(ac, ngx_http_ws_redis_on_connect);

    ngx_add_timer(&link->timer, link->server->timeout);
}


static ngx_int_t
ngx_http_ws_redis_attach(ngx_http_ws_redis_link_t *link)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = link->ac;

    c = ngx_get_connection(ac->c.fd, link->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = link;
    c->read->handler = ngx_http_ws_redis_read_handler;
    c->write->handler = ngx_http_ws_redis_write_handler;
    c->read->log = link->log;
    c->write->log = link->log;

    link->c = c;

    ac->ev.data = link;
    ac->ev.addRead = ngx_http_ws_redis_add_read;
    ac->ev.delRead = ngx_http_ws_redis_del_read;
    ac->ev.addWrite = ngx_http_ws_redis_add_write;
    ac->ev.delWrite = ngx_http_ws_redis_del_write;
    ac->ev.cleanup = ngx_http_ws_redis_cleanup;

    return NGX_OK;
}


static void
ngx_http_ws_redis_add_read(void *data)
{
    ngx_http_ws_redis_link_t *link = data;

    if (link->c && !link->c->read->active) {
        (void) ngx_add_event(link->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_ws_redis_del_read(void *data)
{
    ngx_http_ws_redis_link_t *link = data;

    if (link->c && link->c->read->active) {
        (void) ngx_del_event(link->c->read, NGX_READ_EVENT, 0);
    }
}


/*
 * Commands are written at the end of the current event-loop pass (a posted
 * event): all commands of one pass go out in one write, and none waits for
 * the next epoll round, which would add a whole loop pass (a busy worker's
 * fan-out) to every Redis round trip. The write event stays registered
 * for what the socket does not take at once, and for the connect.
 */
static void
ngx_http_ws_redis_add_write(void *data)
{
    ngx_http_ws_redis_link_t *link = data;

    if (link->c == NULL) {
        return;
    }

    if (!link->c->write->active) {
        (void) ngx_add_event(link->c->write, NGX_WRITE_EVENT, 0);
    }

    if (link->ac && (link->ac->c.flags & REDIS_CONNECTED)
        && !link->c->write->posted)
    {
        ngx_post_event(link->c->write, &ngx_posted_events);
    }
}


static void
ngx_http_ws_redis_del_write(void *data)
{
    ngx_http_ws_redis_link_t *link = data;

    if (link->c && link->c->write->active) {
        (void) ngx_del_event(link->c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis frees the context: every way down ends here (connect failure,
 * EOF, error, our own drop). The socket is closed by hiredis right after;
 * here it only leaves the event loop.
 */
static void
ngx_http_ws_redis_cleanup(void *data)
{
    ngx_http_ws_redis_link_t *link = data;

    ngx_connection_t  *c;

    c = link->c;

    if (link->ac) {
        ngx_http_ws_redis_report_down(link,
                                      link->ac->err ? link->ac->errstr
                                                    : "connection closed");
    }

    link->ac = NULL;
    link->c = NULL;
    link->connected = 0;
    link->pending = 0;

    if (c) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    if (link->ping.timer_set) {
        ngx_del_timer(&link->ping);
    }

    if (link->follower) {
        ngx_http_ws_redis_link_drop(link->follower, "its command link was "
                                    "lost");
    }

    if (!link->stopped) {
        ngx_http_ws_redis_retry(link);
    }
}


static void
ngx_http_ws_redis_read_handler(ngx_event_t *rev)
{
    ngx_connection_t          *c;
    ngx_http_ws_redis_link_t  *link;

    c = rev->data;
    link = c->data;

    if (link->ac) {
        redisAsyncHandleRead(link->ac);
    }
}


static void
ngx_http_ws_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t          *c;
    ngx_http_ws_redis_link_t  *link;

    c = wev->data;
    link = c->data;

    if (link->ac) {
        redisAsyncHandleWrite(link->ac);
    }
}


/* The TCP (or unix) connect finished; now AUTH, SELECT and a PING. */
static void
ngx_http_ws_redis_on_connect(const redisAsyncContext *ac, int status)
{
    int                          argc;
    size_t                       argvlen[3];
    u_char                       db[NGX_INT_T_LEN];
    const char                  *argv[3];
    ngx_http_ws_redis_link_t    *link;
    ngx_http_ws_redis_server_t  *srv;

    link = ac->ev.data;
    srv = link->server;

    if (status != REDIS_OK) {
        /* hiredis frees the context next: cleanup reports and retries */
        return;
    }

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

        (void) ngx_http_ws_redis_send(link, ngx_http_ws_redis_handshake_reply,
                                      "AUTH", argc, argv, argvlen);
    }

    if (srv->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", srv->db) - db;

        (void) ngx_http_ws_redis_send(link, ngx_http_ws_redis_handshake_reply,
                                      "SELECT", 2, argv, argvlen);
    }

    argv[0] = "PING";
    argvlen[0] = 4;

    (void) ngx_http_ws_redis_send(link, ngx_http_ws_redis_ping_reply,
                                  NULL, 1, argv, argvlen);
}


static void
ngx_http_ws_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    /* cleanup, which runs just before, did the work */
}


static void
ngx_http_ws_redis_handshake_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                *reply = r;
    ngx_http_ws_redis_link_t  *link;

    link = ac->ev.data;

    ngx_http_ws_redis_link_replied(link);

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        /* a configuration mistake: say it every time it is retried */
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "ws: redis %V refused %s: %*s", &link->server->name,
                      (char *) privdata, (size_t) reply->len, reply->str);

        ngx_http_ws_redis_link_drop(link, "handshake refused");
    }
}


/* The last answer of the handshake, or of an idle-time liveness check. */
static void
ngx_http_ws_redis_ping_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                *reply = r;
    ngx_http_ws_redis_link_t  *link;

    link = ac->ev.data;

    ngx_http_ws_redis_link_replied(link);

    if (reply == NULL || link->ac == NULL || link->stopped) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
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

    /* hiredis 0.14 has no way to PING a subscribed connection */
    if (link->server->ping_interval && link->ac && !link->no_ping) {
        ngx_add_timer(&link->ping, link->server->ping_interval);
    }
}


/* Logs the change to up, once. */
void
ngx_http_ws_redis_link_up(ngx_http_ws_redis_link_t *link)
{
    if (link->logged != NGX_HTTP_WS_REDIS_LOGGED_UP && !link->stopped) {
        link->logged = NGX_HTTP_WS_REDIS_LOGGED_UP;

        if (ngx_strcmp(link->role, "publish") == 0) {
            ngx_http_ws_metrics->redis_up = 1;
        }

        ngx_log_error(NGX_LOG_NOTICE, link->log, 0,
                      "ws: redis %V is up (%s link)",
                      &link->server->name, link->role);
    }
}


static ngx_int_t
ngx_http_ws_redis_send(ngx_http_ws_redis_link_t *link, redisCallbackFn *fn,
    void *privdata, int argc, const char **argv, const size_t *argvlen)
{
    if (redisAsyncCommandArgv(link->ac, fn, privdata, argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    if (link->pending++ == 0) {
        ngx_add_timer(&link->timer, link->server->timeout);
    }

    return NGX_OK;
}


/* Connect timeout, reply timeout, or the end of a retry delay. */
static void
ngx_http_ws_redis_timer_handler(ngx_event_t *ev)
{
    ngx_http_ws_redis_link_t  *link = ev->data;

    if (link->stopped) {
        return;
    }

    if (link->ac == NULL) {
        ngx_http_ws_redis_connect(link);
        return;
    }

    ngx_http_ws_redis_link_drop(link, link->c && link->pending
                                      ? "reply timed out"
                                      : "connect timed out");
}


static void
ngx_http_ws_redis_ping_handler(ngx_event_t *ev)
{
    size_t                     len;
    const char                *argv;
    ngx_http_ws_redis_link_t  *link = ev->data;

    if (link->stopped || !link->connected || link->ac == NULL) {
        return;
    }

    if (link->pending) {
        /* busy: the replies themselves show it is alive */
        ngx_add_timer(&link->ping, link->server->ping_interval);
        return;
    }

    argv = "PING";
    len = 4;

    (void) ngx_http_ws_redis_send(link, ngx_http_ws_redis_ping_reply, NULL,
                                  1, &argv, &len);
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
