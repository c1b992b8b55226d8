
/*
 * ngx_ws: channels in one worker.
 *
 * Sessions subscribe to the channels of "ws_subscribe" when they start
 * and publish what they receive to the channel of "ws_publish". Local
 * bookkeeping (channel to sessions) is the core's router; the zone keeps
 * the per-worker counts that tell a publisher which workers to wake. A
 * message arriving for this worker is framed once and that one frame is
 * queued on every local subscriber.
 */


#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_deflate.h"
#include "ngx_http_ws_echo.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_ipc.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


typedef struct {
    ngx_http_ws_msg_t            *msg;
    ngx_http_ws_frame_t          *frame;      /* the message as published */
    ngx_http_ws_frame_t          *envelope;   /* in the JSON envelope */
    ngx_uint_t                    delivered;

    /* their compressed forms, shared by subscribers that allow it */
    ngx_http_ws_deflate_cache_t   frame_deflated;
    ngx_http_ws_deflate_cache_t   envelope_deflated;
} ngx_http_ws_delivery_t;


/*
 * Messages of one channel next to each other in this worker's queue,
 * given to its subscribers in one walk: each subscriber is looked at once
 * for all of them (its session, connection and output queue brought into
 * the cache once), not once per message. At most this many at a time.
 */
#define NGX_HTTP_WS_DELIVERY_RUN  16

typedef struct {
    ngx_http_ws_delivery_t       *d;
    ngx_uint_t                    n;
} ngx_http_ws_delivery_run_t;


static ngx_int_t ngx_http_ws_channels_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_refusal_t *refusal);
static ngx_int_t ngx_http_ws_channels_detach(ngx_http_ws_session_t *ws);
static void ngx_http_ws_channels_unsubscribe(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_channels_accept(ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal);
static void ngx_http_ws_channels_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static void ngx_http_ws_channels_visit(void *data, void *subscriber);
static void ngx_http_ws_channels_visit_run(void *data, void *subscriber,
    uint64_t since);
static ngx_uint_t ngx_http_ws_channels_run_length(ngx_http_ws_msg_t **msgs,
    ngx_uint_t n);
static void ngx_http_ws_channels_deliver_run(ngx_http_ws_msg_t **msgs,
    ngx_uint_t n);
static void ngx_http_ws_delivery_init(ngx_http_ws_delivery_t *d,
    ngx_http_ws_msg_t *msg);
static void ngx_http_ws_delivery_done(ngx_http_ws_delivery_t *d);
static void ngx_http_ws_channels_deliver_here(ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, uint64_t seq);
static ngx_uint_t ngx_http_ws_channels_local(ngx_str_t *name);
static void ngx_http_ws_channels_going_away(ngx_http_ws_session_t *ws,
    ngx_str_t *reason, size_t cap);
static void ngx_http_ws_channels_gone_away(ngx_http_ws_session_t *ws);

static ngx_http_ws_session_t *ngx_http_ws_channels_direct_session(
    ngx_str_t *name);


/* What every session of a location with channels goes through. */
ngx_http_ws_hooks_t  ngx_http_ws_channels_hooks = {
    NULL,                                  /* check */
    NULL,                                  /* connect */
    ngx_http_ws_channels_prepare,          /* prepare */
    ngx_http_ws_channels_accept,           /* accept */
    NULL,                                  /* headers */
    NULL,                                  /* open */
    NULL,                                  /* message */
    NULL,                                  /* reads_stopped */
    NULL,                                  /* detachable */
    NULL,                                  /* owns_cleanup */
    ngx_http_ws_channels_detach,           /* detach */
    NULL,                                  /* log */
    ngx_http_ws_channels_unsubscribe,      /* close */
    ngx_http_ws_channels_unsubscribe,      /* free */
    NULL,                                  /* busy */
    ngx_http_ws_channels_going_away,       /* going_away */
    ngx_http_ws_channels_gone_away,        /* gone_away */
    NULL                                   /* output_drained */
};


/* ws_publish: what a client sends goes to the channel (and back, with
 * ws_echo). */
ngx_http_ws_handler_t  ngx_http_ws_channels_handler = {
    ngx_http_ws_channels_message,
    0,                                     /* place */
    NULL                                   /* close */
};


static wscore_router_t  *ngx_http_ws_router;

/* a going-away session's cut holds the zone until its 1001 is written */
static ngx_uint_t        ngx_http_ws_channels_cut_held;

/* what the layers above hand this one (ngx_http_ws_channels_on_auth) */
static ngx_http_ws_channels_deferred_pt  ngx_http_ws_channels_deferred;
static ngx_http_ws_channels_user_pt      ngx_http_ws_channels_user;
static ngx_http_ws_channels_resume_pt    ngx_http_ws_channels_resume;


/* The channels a session going away is told the numbers of (the control
 * protocol's own limit of subscriptions). */
#define NGX_HTTP_WS_GOING_AWAY_MAX  64

/*
 * The direct channels ("conn:<id>") of this worker's connections, by
 * connection number: a hash table with a bucket per connection the worker
 * can hold (worker_connections), made at worker start like NGINX's own
 * connection array, and a chain link in each session. Each channel has
 * one subscriber, forever: the link costs a session 8 bytes, where a tree
 * node cost 40 and a channel of its own in the router about 200 more
 * (its map node, slot vector, membership). Numbers are given in turn, so
 * the open connections fall into different buckets: chains stay short.
 */
static ngx_http_ws_session_t  **ngx_http_ws_direct;
static ngx_uint_t               ngx_http_ws_direct_size;


/* the glue's buffers are sized by the core's channel-name rule */
#if (NGX_HTTP_WS_MAX_CHANNEL_LEN != WSCORE_MAX_CHANNEL_LEN)
#error "NGX_HTTP_WS_MAX_CHANNEL_LEN must be the core's WSCORE_MAX_CHANNEL_LEN"
#endif


ngx_int_t
ngx_http_ws_channels_init_process(ngx_cycle_t *cycle)
{
    wscore_router_config_t  cfg;

    ngx_memzero(&cfg, sizeof(wscore_router_config_t));
    cfg.max_channel_name_len = NGX_HTTP_WS_MAX_CHANNEL_LEN;

    ngx_http_ws_router = wscore_router_create(&cfg);
    if (ngx_http_ws_router == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ws_direct_size = cycle->connection_n;
    ngx_http_ws_direct = ngx_calloc(ngx_http_ws_direct_size
                                    * sizeof(ngx_http_ws_session_t *),
                                    cycle->log);
    if (ngx_http_ws_direct == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_ws_channels_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_ws_router) {
        wscore_router_destroy(ngx_http_ws_router);
        ngx_http_ws_router = NULL;
    }

    if (ngx_http_ws_direct) {
        ngx_free(ngx_http_ws_direct);
        ngx_http_ws_direct = NULL;
    }
}


/*
 * Evaluates the channel names of the location before the 101 is sent:
 * a name that comes out invalid is the client's fault (a URL part), 400.
 */
static ngx_int_t
ngx_http_ws_channels_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t                   *name;
    ngx_uint_t                   i;
    ngx_http_complex_value_t    *cv;
    ngx_http_ws_subscription_t   *sub;
    ngx_http_ws_session_rare_t   *rare;

    if (ws->conf->subscribe) {
        ws->subscriptions = ngx_array_create(r->pool,
                                             ws->conf->subscribe->nelts,
                                    sizeof(ngx_http_ws_subscription_t));
        if (ws->subscriptions == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cv = ws->conf->subscribe->elts;

        for (i = 0; i < ws->conf->subscribe->nelts; i++) {
            sub = ngx_array_push(ws->subscriptions);
            if (sub == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            sub->since = 0;
            sub->resuming = 0;
            name = &sub->name;

            if (ngx_http_complex_value(r, &cv[i], name) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (!wscore_channel_name_valid((const char *) name->data,
                                           name->len)
                || ngx_http_ws_zone_is_direct(name))
            {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "ws: handshake rejected with 400: invalid "
                              "channel name \"%V\"", name);
                refusal->status = NGX_HTTP_BAD_REQUEST;
                refusal->reason = "invalid channel name";
                return NGX_DECLINED;
            }
        }
    }

    if (ws->conf->publish) {
        rare = ngx_http_ws_session_rare(ws);
        if (rare == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_complex_value(r, ws->conf->publish, &rare->publish)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!wscore_channel_name_valid((const char *) rare->publish.data,
                                       rare->publish.len))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "ws: handshake rejected with 400: invalid "
                          "channel name \"%V\"", &rare->publish);
            refusal->status = NGX_HTTP_BAD_REQUEST;
            refusal->reason = "invalid channel name";
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * Subscribed before the 101 is made (a refusal must not carry its
 * headers) and sent: a client holding its 101 may be sent a message at
 * once (a backend publishing as it sees the client connect), and another
 * worker may publish it within microseconds.
 */
static ngx_int_t
ngx_http_ws_channels_accept(ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    if (ngx_http_ws_channels_subscribe(ws) != NGX_OK) {
        refusal->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        refusal->reason = "cannot subscribe to its channels";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* A message of a ws_publish location: to its channel, then echoed. */
static void
ngx_http_ws_channels_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_http_ws_channel_info_t  info;

    if (ws->rare && ws->rare->publish.len) {
        rc = ngx_http_ws_channels_publish(ws->main_conf, ws->connection->log,
                                          &ws->rare->publish, ev->opcode, 0,
                                          (u_char *) ev->data, ev->len,
                                          &info);

        if (rc != NGX_OK && rc != NGX_AGAIN) {
            /* without a control protocol, closing is the only way to tell */
            ngx_log_error((ngx_uint_t) (rc == NGX_BUSY ? NGX_LOG_INFO
                                                        : NGX_LOG_ERR),
                          ws->connection->log, 0,
                          "ws: %s, cannot publish to channel \"%V\", "
                          "closing with 1013",
                          rc == NGX_BUSY ? "redis is down"
                                         : "ws_zone is full",
                          &ws->rare->publish);
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_TRY_AGAIN_LATER,
                                      "server busy");
        }

        if (ws->finalized) {
            return;
        }
    }

    if (ws->conf->echo) {
        ngx_http_ws_echo_message(ws, ev);
    }
}


void
ngx_http_ws_channels_on_auth(ngx_http_ws_channels_deferred_pt deferred,
    ngx_http_ws_channels_user_pt user)
{
    ngx_http_ws_channels_deferred = deferred;
    ngx_http_ws_channels_user = user;
}


void
ngx_http_ws_channels_on_resume(ngx_http_ws_channels_resume_pt resume)
{
    ngx_http_ws_channels_resume = resume;
}


/* Subscribes a starting session to the channels of ws_subscribe. */
ngx_int_t
ngx_http_ws_channels_subscribe(ngx_http_ws_session_t *ws)
{
    ngx_str_t                   *user;
    uint64_t                     since;
    ngx_uint_t                   i, n;
    ngx_array_t                 *configured;
    ngx_http_ws_session_t      **bucket;
    ngx_http_ws_subscription_t   *sub;

    /* a token still to come as the first message: joined after it */
    if (ngx_http_ws_channels_deferred && ngx_http_ws_channels_deferred(ws)) {
        return NGX_OK;
    }

    configured = ws->subscriptions;

    if (ngx_http_ws_router == NULL) {
        return NGX_OK;
    }

    /* from here on, whatever part succeeded is undone at cleanup */
    ws->subscribed = 1;

    /* every connection is reachable alone: only this worker knows it,
     * the zone keeps no entry per connection */
    bucket = &ngx_http_ws_direct[ws->connection->number
                                 % ngx_http_ws_direct_size];
    ws->direct_next = *bucket;
    *bucket = ws;
    ws->direct_linked = 1;

    /* "user:<sub>" of a verified token */
    user = ngx_http_ws_channels_user ? ngx_http_ws_channels_user(ws) : NULL;

    if (configured == NULL && user == NULL
        && ws->conf->protocol != NGX_HTTP_WS_PROTOCOL_JSON)
    {
        return NGX_OK;
    }

    /*
     * Sized for what the location subscribes: an idle connection should
     * not carry room for the control protocol's limit (64 entries, 2 KiB).
     * The control protocol grows it in the pool; doubling bounds what the
     * old copies waste to the size of the last one.
     */
    n = configured ? configured->nelts : 1;

    ws->subscriptions = ngx_array_create(ws->request->pool, n + (user != NULL),
                                         sizeof(ngx_http_ws_subscription_t));
    if (ws->subscriptions == NULL) {
        return NGX_ERROR;
    }

    if (user && ngx_http_ws_channels_add(ws, user, 0, NULL) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (configured == NULL) {
        return NGX_OK;
    }

    sub = configured->elts;

    for (i = 0; i < configured->nelts; i++) {
        if (ngx_http_ws_channels_add(ws, &sub[i].name, 0, &since)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        /* ?last_seq=N: what the client missed first, then live */
        if (ngx_http_ws_channels_resume) {
            ngx_http_ws_channels_resume(ws, &sub[i].name, since);
        }
    }

    return NGX_OK;
}


/*
 * Before the request is freed: the subscriptions and the publish channel
 * move to the connection's pool (a few dozen bytes; the control protocol
 * grows the array there from now on).
 */
static ngx_int_t
ngx_http_ws_channels_detach(ngx_http_ws_session_t *ws)
{
    u_char                      *p;
    ngx_uint_t                   i;
    ngx_pool_t                  *pool;
    ngx_array_t                 *moved;
    ngx_http_ws_subscription_t  *sub, *to;

    pool = ws->connection->pool;

    if (ws->rare && ws->rare->publish.len) {
        p = ngx_pnalloc(pool, ws->rare->publish.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ws->rare->publish.data, ws->rare->publish.len);
        ws->rare->publish.data = p;
    }

    if (ws->subscriptions == NULL) {
        return NGX_OK;
    }

    moved = ngx_array_create(pool, ngx_max(ws->subscriptions->nelts, 1),
                             sizeof(ngx_http_ws_subscription_t));
    if (moved == NULL) {
        return NGX_ERROR;
    }

    sub = ws->subscriptions->elts;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        to = ngx_array_push(moved);
        if (to == NULL) {
            return NGX_ERROR;
        }

        *to = sub[i];

        if (sub[i].heap || sub[i].name.len == 0) {
            continue;
        }

        p = ngx_pnalloc(pool, sub[i].name.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, sub[i].name.data, sub[i].name.len);
        to->name.data = p;
    }

    ws->subscriptions = moved;

    return NGX_OK;
}


/*
 * Adds one subscription: NGX_OK, NGX_DECLINED when already subscribed,
 * NGX_BUSY at the subscription limit, NGX_ERROR (zone full, no memory).
 * copy: the name is transient (in a client message) and is copied.
 */
ngx_int_t
ngx_http_ws_channels_add(ngx_http_ws_session_t *ws, ngx_str_t *name,
    ngx_uint_t copy, uint64_t *since)
{
    u_char                      *p;
    wscore_router_rc_e           rc;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_subscription_t   *sub;

    if (ngx_http_ws_router == NULL || ws->subscriptions == NULL) {
        return NGX_ERROR;
    }

    /* ws_subscribe may list more channels than ws_max_subscriptions */
    if (ws->subscriptions->nelts >= ws->conf->max_subscriptions
        && (ws->conf->subscribe == NULL
            || ws->subscriptions->nelts >= ws->conf->subscribe->nelts))
    {
        return NGX_BUSY;
    }

    rc = wscore_router_subscribe(ngx_http_ws_router, ws,
                                 (const char *) name->data, name->len);

    if (rc == WSCORE_ROUTER_EXISTS) {
        return NGX_DECLINED;
    }

    if (rc < 0) {
        return NGX_ERROR;
    }

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    p = copy ? ngx_alloc(name->len, ws->connection->log) : name->data;
    if (p == NULL) {
        goto failed;
    }

    if (copy) {
        ngx_memcpy(p, name->data, name->len);
    }

    sub = ngx_array_push(ws->subscriptions);
    if (sub == NULL) {
        goto failed;
    }

    sub->name.data = p;
    sub->name.len = name->len;
    sub->heap = copy ? 1 : 0;
    sub->resuming = 0;

    if (ngx_http_ws_zone_subscribe(wmcf->zone, name, 1,
                                   ngx_http_ws_channels_local(name),
                                   &sub->since)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                      "ws: ws_zone is full, cannot subscribe to "
                      "channel \"%V\"", name);
        ws->subscriptions->nelts--;
        goto failed;
    }

    (void) wscore_router_set_since(ngx_http_ws_router, ws,
                                   (const char *) name->data, name->len,
                                   sub->since);

    if (since) {
        *since = sub->since;
    }

    return NGX_OK;

failed:

    if (copy && p) {
        ngx_free(p);
    }

    (void) wscore_router_unsubscribe(ngx_http_ws_router, ws,
                                     (const char *) name->data, name->len);
    return NGX_ERROR;
}


/* This worker's subscribers of a channel: the zone marks the worker's
 * slot while there is one. */
static ngx_uint_t
ngx_http_ws_channels_local(ngx_str_t *name)
{
    return wscore_router_subscribers(ngx_http_ws_router,
                                     (const char *) name->data, name->len);
}


static ngx_http_ws_subscription_t *
ngx_http_ws_channels_find(ngx_http_ws_session_t *ws, ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_ws_subscription_t  *sub;

    if (ws->subscriptions == NULL || ngx_http_ws_router == NULL) {
        return NULL;
    }

    sub = ws->subscriptions->elts;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        if (sub[i].name.len == name->len
            && ngx_memcmp(sub[i].name.data, name->data, name->len) == 0)
        {
            return &sub[i];
        }
    }

    return NULL;
}


/*
 * While a replay waits for Redis, live messages of the channel must not
 * overtake it: the router skips them all (they stay in the zone's ring,
 * which the replay reads when Redis has answered). The token tells the
 * answer whether it is still for this subscription: the client may have
 * unsubscribed, or unsubscribed and subscribed again, meanwhile.
 */
ngx_int_t
ngx_http_ws_channels_hold(ngx_http_ws_session_t *ws, ngx_str_t *name,
    ngx_uint_t token)
{
    ngx_http_ws_subscription_t  *sub;

    sub = ngx_http_ws_channels_find(ws, name);
    if (sub == NULL) {
        return NGX_DECLINED;
    }

    sub->resuming = token;

    (void) wscore_router_set_since(ngx_http_ws_router, ws,
                                   (const char *) name->data, name->len,
                                   (uint64_t) -1);
    return NGX_OK;
}


/* The replay is done up to "since": later messages come live. */
ngx_int_t
ngx_http_ws_channels_go_live(ngx_http_ws_session_t *ws, ngx_str_t *name,
    ngx_uint_t token, uint64_t since)
{
    ngx_http_ws_subscription_t  *sub;

    sub = ngx_http_ws_channels_find(ws, name);
    if (sub == NULL || sub->resuming != token) {
        return NGX_DECLINED;
    }

    sub->resuming = 0;

    (void) wscore_router_set_since(ngx_http_ws_router, ws,
                                   (const char *) name->data, name->len,
                                   since);
    return NGX_OK;
}


/* NGX_OK, or NGX_DECLINED when the session was not subscribed. */
ngx_int_t
ngx_http_ws_channels_remove(ngx_http_ws_session_t *ws, ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_subscription_t   *sub;

    if (ws->subscriptions == NULL || ngx_http_ws_router == NULL) {
        return NGX_DECLINED;
    }

    sub = ws->subscriptions->elts;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        if (sub[i].name.len == name->len
            && ngx_memcmp(sub[i].name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (i == ws->subscriptions->nelts) {
        return NGX_DECLINED;
    }

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    (void) wscore_router_unsubscribe(ngx_http_ws_router, ws,
                                     (const char *) sub[i].name.data,
                                     sub[i].name.len);
    (void) ngx_http_ws_zone_subscribe(wmcf->zone, &sub[i].name, -1,
                                      ngx_http_ws_channels_local(&sub[i].name),
                                      NULL);

    if (sub[i].heap) {
        ngx_free(sub[i].name.data);
    }

    /* the order of subscriptions does not matter: move the last one here */
    sub[i] = sub[--ws->subscriptions->nelts];

    return NGX_OK;
}


static void
ngx_http_ws_channels_unsubscribe(ngx_http_ws_session_t *ws)
{
    ngx_str_t                    name;
    ngx_http_ws_session_t      **link;
    ngx_http_ws_subscription_t   *sub;

    /* a refused handshake evaluated names but never subscribed */
    if (!ws->subscribed) {
        return;
    }

    if (ws->direct_linked) {
        for (link = &ngx_http_ws_direct[ws->connection->number
                                        % ngx_http_ws_direct_size];
             *link;
             link = &(*link)->direct_next)
        {
            if (*link == ws) {
                *link = ws->direct_next;
                break;
            }
        }

        ws->direct_linked = 0;
    }

    if (ws->subscriptions == NULL) {
        return;
    }

    while (ws->subscriptions->nelts) {
        sub = ws->subscriptions->elts;
        name = sub[0].name;
        (void) ngx_http_ws_channels_remove(ws, &name);
    }

    ws->subscriptions = NULL;
}


ngx_int_t
ngx_http_ws_channels_allowed(ngx_http_ws_loc_conf_t *wscf, ngx_str_t *name)
{
    ngx_str_t   *pattern;
    ngx_uint_t   i;

    if (wscf->channels_allow == NULL) {
        return 0;
    }

    pattern = wscf->channels_allow->elts;

    for (i = 0; i < wscf->channels_allow->nelts; i++) {
        if (wscore_channel_pattern_match((const char *) pattern[i].data,
                                         pattern[i].len,
                                         (const char *) name->data,
                                         name->len))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * NGX_OK, NGX_DECLINED: the zone is full; the caller decides what then.
 * A cross-node channel goes through Redis: NGX_AGAIN (sent, numbered
 * later, info not filled) or NGX_BUSY (Redis is down).
 */
ngx_int_t
ngx_http_ws_channels_publish(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_channel_info_t *info)
{
    ngx_int_t                 rc;
    ngx_http_ws_main_conf_t  *wmcf;

    if (ngx_http_ws_redis_channel(main_conf, channel)) {
        return ngx_http_ws_redis_publish(main_conf, log, channel, opcode,
                                         json, data, len, NULL, NULL)
               == NGX_OK
               ? NGX_AGAIN : NGX_BUSY;
    }

    wmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_module);

    rc = ngx_http_ws_zone_publish(wmcf->zone, channel, opcode, json, data,
                                  len, info);
    ngx_http_ws_metrics_published(channel, rc);

    if (rc == NGX_OK && ngx_http_ws_zone_own_slot() == NGX_HTTP_WS_NO_SLOT) {
        ngx_http_ws_channels_deliver_here(log, channel, opcode, json, data,
                                          len, info->seq);
    }

    return rc;
}


/*
 * A process without a queue slot in the zone (every slot held by old
 * workers of reloads that never finish, or no worker processes at all)
 * gets nothing through the zone: what it publishes itself goes to its
 * own subscribers from here, in publish order.
 */
static void
ngx_http_ws_channels_deliver_here(ngx_log_t *log, ngx_str_t *channel,
    ngx_uint_t opcode, ngx_uint_t json, u_char *data, size_t len,
    uint64_t seq)
{
    ngx_http_ws_msg_t  *msg;

    msg = ngx_alloc(ngx_http_ws_msg_size(channel->len, len), log);
    if (msg == NULL) {
        return;
    }

    ngx_http_ws_msg_fill(msg, channel, opcode, json, data, len, seq);

    ngx_http_ws_channels_deliver(msg);

    ngx_free(msg);
}


/*
 * A message the zone queued for this worker: framed once per form (as
 * published, and in the JSON envelope for control-protocol sessions,
 * made only if such a subscriber exists) and queued on every subscriber.
 */
void
ngx_http_ws_channels_deliver(ngx_http_ws_msg_t *msg)
{
    ngx_str_t                name;
    ngx_http_ws_delivery_t   d;
    ngx_http_ws_session_t   *direct;

    if (ngx_http_ws_router == NULL) {
        return;
    }

    name.data = msg->data;
    name.len = msg->channel_len;

    direct = NULL;

    if (ngx_http_ws_zone_is_direct(&name)) {
        direct = ngx_http_ws_channels_direct_session(&name);
        if (direct == NULL) {
            return;
        }

    } else if (wscore_router_subscribers(ngx_http_ws_router,
                                         (const char *) msg->data,
                                         msg->channel_len)
               == 0)
    {
        return;
    }

    ngx_http_ws_delivery_init(&d, msg);

    /*
     * Subscribers that joined after the message was published are skipped
     * by the router (it keeps their join point). Direct messages have no
     * sequence number (0): they go to whoever holds the connection.
     */
    if (direct) {
        ngx_http_ws_channels_visit(&d, direct);

    } else {
        (void) wscore_router_for_each_after(ngx_http_ws_router,
                                            (const char *) msg->data,
                                            msg->channel_len,
                                            msg->seq ? msg->seq : UINT64_MAX,
                                            ngx_http_ws_channels_visit, &d);
    }

    ngx_http_ws_delivery_done(&d);
}


/*
 * The messages the zone queued for this worker, in queue order: runs of
 * one channel's messages in one walk each, the others one by one.
 */
void
ngx_http_ws_channels_deliver_all(ngx_http_ws_msg_t **msgs, ngx_uint_t n)
{
    ngx_uint_t  i, run;

    for (i = 0; i < n; i += run) {
        run = ngx_http_ws_channels_run_length(&msgs[i], n - i);

        if (run == 1) {
            ngx_http_ws_channels_deliver(msgs[i]);

        } else {
            ngx_http_ws_channels_deliver_run(&msgs[i], run);
        }
    }
}


/*
 * How many messages from the first are of its channel, numbered (a
 * direct message has no number: it goes alone) and in order.
 */
static ngx_uint_t
ngx_http_ws_channels_run_length(ngx_http_ws_msg_t **msgs, ngx_uint_t n)
{
    ngx_uint_t          k;
    ngx_str_t           name;
    ngx_http_ws_msg_t  *first, *m;

    first = msgs[0];

    name.data = first->data;
    name.len = first->channel_len;

    if (first->seq == 0 || ngx_http_ws_zone_is_direct(&name)) {
        return 1;
    }

    n = ngx_min(n, NGX_HTTP_WS_DELIVERY_RUN);

    for (k = 1; k < n; k++) {
        m = msgs[k];

        if (m->channel_len != first->channel_len
            || m->seq <= msgs[k - 1]->seq
            || ngx_memcmp(m->data, first->data, first->channel_len) != 0)
        {
            break;
        }
    }

    return k;
}


/*
 * n messages of one channel, numbered in increasing order: the router
 * walks the subscribers that joined before the last and tells each its
 * mark, and a subscriber gets, in order, those numbered above it: what
 * n walks, one per message, gave it.
 */
static void
ngx_http_ws_channels_deliver_run(ngx_http_ws_msg_t **msgs, ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_http_ws_msg_t           *last;
    ngx_http_ws_delivery_t       d[NGX_HTTP_WS_DELIVERY_RUN];
    ngx_http_ws_delivery_run_t   run;

    last = msgs[n - 1];

    if (ngx_http_ws_router == NULL
        || wscore_router_subscribers(ngx_http_ws_router,
                                     (const char *) last->data,
                                     last->channel_len)
           == 0)
    {
        return;
    }

    for (i = 0; i < n; i++) {
        ngx_http_ws_delivery_init(&d[i], msgs[i]);
    }

    run.d = d;
    run.n = n;

    (void) wscore_router_for_each_since(ngx_http_ws_router,
                                        (const char *) last->data,
                                        last->channel_len, last->seq,
                                        ngx_http_ws_channels_visit_run,
                                        &run);

    for (i = 0; i < n; i++) {
        ngx_http_ws_delivery_done(&d[i]);
    }
}


NGX_HTTP_WS_HOT
static void
ngx_http_ws_channels_visit_run(void *data, void *subscriber, uint64_t since)
{
    ngx_http_ws_delivery_run_t  *run = data;

    ngx_uint_t  i;

    for (i = 0; i < run->n; i++) {
        if (run->d[i].msg->seq > since) {
            ngx_http_ws_channels_visit(&run->d[i], subscriber);
        }
    }
}


static void
ngx_http_ws_delivery_init(ngx_http_ws_delivery_t *d, ngx_http_ws_msg_t *msg)
{
    d->msg = msg;
    d->frame = NULL;
    d->envelope = NULL;
    d->delivered = 0;
    d->frame_deflated.n = 0;
    d->envelope_deflated.n = 0;
}


/* counted, and the frames made for the message let go */
static void
ngx_http_ws_delivery_done(ngx_http_ws_delivery_t *d)
{
    ngx_http_ws_metrics_delivered(d->msg, d->delivered);

    ngx_http_ws_deflate_cache_release(&d->frame_deflated);
    ngx_http_ws_deflate_cache_release(&d->envelope_deflated);

    if (d->frame) {
        ngx_http_ws_frame_release(d->frame);
    }

    if (d->envelope) {
        ngx_http_ws_frame_release(d->envelope);
    }
}


/*
 * The session of "conn:<id>" in this worker, if any. The name must be the
 * one the connection was given ("conn:" and the number, no leading zero),
 * as when each was a channel of its own; 19 digits at most, so the number
 * cannot wrap.
 */
static ngx_http_ws_session_t *
ngx_http_ws_channels_direct_session(ngx_str_t *name)
{
    u_char                 *p, *last;
    ngx_atomic_uint_t       key;
    ngx_http_ws_session_t  *ws;

    p = name->data + sizeof("conn:") - 1;
    last = name->data + name->len;

    if (p == last || (*p == '0' && last - p > 1)
        || (size_t) (last - p) >= NGX_ATOMIC_T_LEN)
    {
        return NULL;
    }

    key = 0;

    for ( /* void */ ; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NULL;
        }

        key = key * 10 + (*p - '0');
    }

    /* none made: not a worker (the router's rule) */
    if (ngx_http_ws_direct == NULL) {
        return NULL;
    }

    for (ws = ngx_http_ws_direct[key % ngx_http_ws_direct_size];
         ws;
         ws = ws->direct_next)
    {
        if (ws->connection->number == key) {
            return ws;
        }
    }

    return NULL;
}


/* {"op":"message","channel":…,"seq":…,"data":…} around a text message */
ngx_http_ws_frame_t *
ngx_http_ws_channels_envelope(ngx_http_ws_msg_t *msg)
{
    size_t                len;
    u_char               *p;
    wscore_str_t          channel, data;
    ngx_http_ws_frame_t  *frame;

    channel.data = (const char *) msg->data;
    channel.len = msg->channel_len;
    data.data = (const char *) msg->data + msg->channel_len;
    data.len = msg->len;

    len = msg->json
          ? wscore_ctl_write_message(NULL, 0, channel, msg->seq, data)
          : wscore_ctl_write_text_message(NULL, 0, channel, msg->seq, data);

    frame = ngx_http_ws_frame_alloc(ngx_cycle->log, WSCORE_OP_TEXT, len, &p);
    if (frame == NULL) {
        return NULL;
    }

    if (msg->json) {
        (void) wscore_ctl_write_message((char *) p, len, channel, msg->seq,
                                        data);
    } else {
        (void) wscore_ctl_write_text_message((char *) p, len, channel,
                                             msg->seq, data);
    }

    return frame;
}


NGX_HTTP_WS_HOT
static void
ngx_http_ws_channels_visit(void *data, void *subscriber)
{
    ngx_http_ws_delivery_t       *d = data;

    ngx_http_ws_frame_t          *frame;
    ngx_http_ws_session_t        *ws;
    ngx_http_ws_deflate_cache_t  *cache;

    ws = subscriber;

    /* binary messages go to JSON sessions as they are, unwrapped */
    if (ws->conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON
        && d->msg->opcode == WSCORE_OP_TEXT)
    {
        if (d->envelope == NULL) {
            d->envelope = ngx_http_ws_channels_envelope(d->msg);
        }

        frame = d->envelope;
        cache = &d->envelope_deflated;

    } else {
        if (d->frame == NULL) {
            d->frame = ngx_http_ws_frame_create(ngx_cycle->log,
                                                d->msg->opcode,
                                                d->msg->data
                                                + d->msg->channel_len,
                                                d->msg->len);
        }

        frame = d->frame;
        cache = &d->frame_deflated;
    }

    if (frame && ngx_http_ws_session_push(ws, frame, cache) == NGX_OK) {
        d->delivered++;
    }
}


/*
 * The worker is going away and this session is about to get its 1001.
 * A message acknowledged to its publisher before then must reach the
 * session before the 1001: this worker still receives its channels'
 * messages (its queue slot stays its own until it exits), and what its
 * queue holds is delivered now, before the close frame is queued. The
 * cut is the channels' numbers where the queue was found empty, and the
 * zone stays locked from the cut until the 1001 is written (gone_away):
 * a publish numbered after the cut is acknowledged after the 1001 left,
 * never before it, however long this worker is kept off the CPU in
 * between. The session is told the cut so that it can resume from
 * there: {"op":"going_away","channel":...,"last_seq":N} per channel for
 * the JSON protocol, and ", last_seq=N" in the close reason when it has
 * one channel (the ?last_seq=N of a ws_subscribe location). A channel
 * whose replay still waits for Redis has no cut yet and is not named.
 */
static void
ngx_http_ws_channels_going_away(ngx_http_ws_session_t *ws, ngx_str_t *reason,
    size_t cap)
{
    u_char                       buf[NGX_HTTP_WS_MAX_CHANNEL_LEN
                                     + NGX_INT64_LEN + 64];
    size_t                       len;
    uint64_t                     seqs[NGX_HTTP_WS_GOING_AWAY_MAX];
    ngx_str_t                    names[NGX_HTTP_WS_GOING_AWAY_MAX];
    ngx_uint_t                   i, n;
    wscore_str_t                 name;
    ngx_http_ws_frame_t         *frame;
    ngx_http_ws_subscription_t  *sub;

    if (!ws->subscribed || ws->subscriptions == NULL) {
        return;
    }

    sub = ws->subscriptions->elts;
    n = 0;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        if (sub[i].resuming == 0 && n < NGX_HTTP_WS_GOING_AWAY_MAX) {
            names[n++] = sub[i].name;
        }
    }

    /* delivers what is queued here, to every session of the worker */
    if (ngx_http_ws_ipc_cut(names, seqs, n) != NGX_OK) {
        return;
    }

    ngx_http_ws_channels_cut_held = 1;

    if (ws->finalized
        || wscore_session_state(ws->core) != WSCORE_STATE_OPEN
        || n == 0)
    {
        return;
    }

    if (ws->conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON) {
        for (i = 0; i < n; i++) {
            name.data = (const char *) names[i].data;
            name.len = names[i].len;

            len = wscore_ctl_write_going_away((char *) buf, sizeof(buf),
                                              name, seqs[i]);
            if (len > sizeof(buf)) {
                continue;
            }

            /*
             * Never past ws_send_buffer: ws_slow_consumer would close the
             * session, and a close's cleanups lock the zone, held here.
             * (The close reason still has the cut of a single channel.)
             */
            if (ws->out_bytes + len + 16 >= ws->conf->send_buffer) {
                break;
            }

            frame = ngx_http_ws_frame_create(ws->connection->log,
                                             WSCORE_OP_TEXT, buf, len);
            if (frame) {
                (void) ngx_http_ws_session_push(ws, frame, NULL);
                ngx_http_ws_frame_release(frame);
            }
        }
    }

    if (n == 1 && ws->subscriptions->nelts == 1
        && reason->len + sizeof(", last_seq=") - 1 + NGX_INT64_LEN <= cap)
    {
        reason->len = ngx_sprintf(reason->data + reason->len,
                                  ", last_seq=%uL", seqs[0])
                      - reason->data;
    }
}


static void
ngx_http_ws_channels_gone_away(ngx_http_ws_session_t *ws)
{
    if (ngx_http_ws_channels_cut_held) {
        ngx_http_ws_channels_cut_held = 0;
        ngx_http_ws_ipc_cut_done();
    }
}
