
/*
 * ngx_ws: the backend module: directives, configuration, what a session
 * keeps for its hooks, and the close hook.
 *
 *   ws_backend_connect /internal/ws-connect;   before the 101
 *   ws_backend_close   /internal/ws-close;     after the connection ended
 *   ws_backend_message /internal/ws-message;   each client message
 *   ws_backend_message_inflight 4;             calls at a time, in order
 *   ws_backend_subscribe /internal/ws-sub;     allows a JSON subscribe
 *   ws_backend_message_refused reply;          a 4xx: tell the sender
 *   ws_backend_message_failed ignore;          a 5xx: drop the message
 *   ws_backend_meta_size 1k;                   what a connection may keep
 *
 * Every call carries the connection's identity as request headers:
 * WS-Connection-Id, and once the connect hook set them, WS-User and one
 * WS-Meta-<name> per value (Pushpin's Set-Meta-* idea, echoed back).
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_backend_client.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_metrics.h"


static void ngx_http_ws_backend_close_done(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status);
static ngx_int_t ngx_http_ws_backend_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_backend_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_backend_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_refusal_t *refusal);
static ngx_int_t ngx_http_ws_backend_message_hook(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static void *ngx_http_ws_backend_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ws_backend_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_ws_backend_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ws_backend_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ws_backend_hook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_backend_choice(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* meta: up to what a header can carry back, and what an idle session holds */
static ngx_http_ws_conf_bounds_t  ngx_http_ws_backend_meta_size_bounds =
    { ngx_http_ws_conf_check_bounds, 0, 64 * 1024 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_backend_inflight_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 64 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_backend_connections_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 1024 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_backend_pipeline_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 256 };

static ngx_conf_enum_t  ngx_http_ws_backend_refused[] = {
    { ngx_string("reply"), NGX_HTTP_WS_BACKEND_REPLY },
    { ngx_string("close"), NGX_HTTP_WS_BACKEND_CLOSE },
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_ws_backend_failed[] = {
    { ngx_string("ignore"), NGX_HTTP_WS_BACKEND_IGNORE },
    { ngx_string("close"), NGX_HTTP_WS_BACKEND_CLOSE },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_ws_backend_commands[] = {

    { ngx_string("ws_backend_connect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, connect),
      NULL },

    { ngx_string("ws_backend_close"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, close),
      NULL },

    { ngx_string("ws_backend_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, message),
      NULL },

    { ngx_string("ws_backend_subscribe"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, subscribe),
      NULL },

    { ngx_string("ws_backend_message_inflight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, message_inflight),
      &ngx_http_ws_backend_inflight_bounds },

    { ngx_string("ws_backend_message_refused"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_choice,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, message_refused),
      &ngx_http_ws_backend_refused },

    { ngx_string("ws_backend_message_failed"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_backend_choice,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, message_failed),
      &ngx_http_ws_backend_failed },

    { ngx_string("ws_backend_meta_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_conf_t, meta_size),
      &ngx_http_ws_backend_meta_size_bounds },

    /* hooks named "http://NAME/path": the direct client's */
    { ngx_string("ws_backend_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_main_conf_t, call_timeout),
      NULL },

    { ngx_string("ws_backend_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_main_conf_t, connections),
      &ngx_http_ws_backend_connections_bounds },

    { ngx_string("ws_backend_pipeline"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_backend_main_conf_t, pipeline),
      &ngx_http_ws_backend_pipeline_bounds },

      ngx_null_command
};


/*
 * What the backend does in the sessions of the WebSocket module: set only
 * where the configuration names a hook, so that without one no session
 * calls into this code.
 */
static ngx_http_ws_hooks_t  ngx_http_ws_backend_hooks = {
    NULL,                                  /* check */
    ngx_http_ws_backend_connect,           /* connect */
    ngx_http_ws_backend_prepare,           /* prepare */
    NULL,                                  /* accept */
    NULL,                                  /* headers */
    NULL,                                  /* open */
    ngx_http_ws_backend_message_hook,      /* message */
    ngx_http_ws_backend_reads_stopped,     /* reads_stopped */
    NULL,                                  /* detachable */
    NULL,                                  /* owns_cleanup */
    NULL,                                  /* detach */
    NULL,                                  /* log */
    ngx_http_ws_backend_session_end,       /* close */
    ngx_http_ws_backend_session_free,      /* free */
    ngx_http_ws_backend_busy,              /* busy */
    NULL,                                  /* going_away */
    NULL,                                  /* gone_away */
    NULL                                   /* output_drained */
};


/* A ws_backend_* directive named a location in the configuration read. */
static ngx_uint_t  ngx_http_ws_backend_configured;


static ngx_http_module_t  ngx_http_ws_backend_module_ctx = {
    ngx_http_ws_backend_preconfiguration,  /* preconfiguration */
    ngx_http_ws_backend_postconfiguration, /* postconfiguration */

    ngx_http_ws_backend_create_main_conf,  /* create main configuration */
    ngx_http_ws_backend_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ws_backend_create_loc_conf,   /* create location configuration */
    ngx_http_ws_backend_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_ws_backend_module = {
    NGX_MODULE_V1,
    &ngx_http_ws_backend_module_ctx,       /* module context */
    ngx_http_ws_backend_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_ws_backend_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_ws_backend_configured = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_backend_postconfiguration(ngx_conf_t *cf)
{
    if (!ngx_http_ws_backend_configured) {
        return NGX_OK;
    }

    /*
     * rpc, send and subscribes of the JSON protocol that hooks take. Never
     * reset: a reload that fails keeps the old configuration, and without
     * a hook the function declines anyway.
     */
    ngx_http_ws_control_backend = ngx_http_ws_backend_control;

    return ngx_http_ws_session_add_hooks(cf, &ngx_http_ws_backend_hooks);
}


/* The session's prepare hook: an error is the handshake's 500. */
static ngx_int_t
ngx_http_ws_backend_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    if (ngx_http_ws_backend_session_start(r, ws) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * The session's message hook: a raw-protocol message the message hook
 * took goes no further (NGX_DECLINED); one it could not take closes the
 * connection with 1011. The JSON protocol's requests are its own.
 */
static ngx_int_t
ngx_http_ws_backend_message_hook(ngx_http_ws_session_t *ws,
    wscore_event_t *ev)
{
    ngx_int_t  rc;

    /* a streamed piece (a proxied location) is no message of its own */
    if (ngx_http_ws_session_backend(ws) == NULL
        || ws->conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON
        || ev->type == WSCORE_EVENT_FRAGMENT)
    {
        return NGX_OK;
    }

    rc = ngx_http_ws_backend_message(ws, ev);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
    }

    return NGX_DECLINED;
}


/*
 * Before the channels are joined: where a hook is configured, the session
 * gets its backend state, one heap block with what the connect answer set
 * (user, meta), in the session's rare block, and joins the channels the
 * answer named. Sessions of locations without hooks get nothing.
 */
ngx_int_t
ngx_http_ws_backend_session_start(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws)
{
    u_char                        *p;
    size_t                         size;
    ngx_str_t                     *name;
    ngx_uint_t                     i;
    wscore_pair_t                 *pair;
    ngx_http_ws_subscription_t    *sub;
    ngx_http_ws_backend_conf_t    *bcf;
    ngx_http_ws_backend_state_t   *st;
    ngx_http_ws_backend_answer_t  *answer;
    ngx_http_ws_session_rare_t    *rare;

    bcf = ngx_http_get_module_loc_conf(r, ngx_http_ws_backend_module);

    if (bcf->connect.len == 0 && bcf->close.len == 0
        && bcf->message.len == 0 && bcf->subscribe.len == 0)
    {
        return NGX_OK;
    }

    answer = ngx_http_ws_backend_connect_answer(r);

    size = sizeof(ngx_http_ws_backend_state_t);

    if (answer) {
        size += answer->user.len + answer->meta_bytes
                + answer->meta.nelts * sizeof(wscore_pair_t);
    }

    rare = ngx_http_ws_session_rare(ws);
    if (rare == NULL) {
        return NGX_ERROR;
    }

    st = ngx_alloc(size, r->connection->log);
    if (st == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(st, sizeof(ngx_http_ws_backend_state_t));

    st->conf = bcf;
    st->srv_conf = r->srv_conf;
    st->session = ws;
    st->pending_last = &st->pending;

    rare->backend = st;

    if (answer == NULL) {
        return NGX_OK;
    }

    /* the pairs first (pointer-aligned), then the bytes they point at */
    st->meta = (wscore_pair_t *) (st + 1);
    st->meta_n = answer->meta.nelts;
    p = (u_char *) (st->meta + st->meta_n);

    pair = answer->meta.elts;

    for (i = 0; i < st->meta_n; i++) {
        st->meta[i].name.data = (const char *) p;
        st->meta[i].name.len = pair[i].name.len;
        p = ngx_cpymem(p, pair[i].name.data, pair[i].name.len);

        st->meta[i].value.data = (const char *) p;
        st->meta[i].value.len = pair[i].value.len;
        p = ngx_cpymem(p, pair[i].value.data, pair[i].value.len);
    }

    if (answer->has_user) {
        st->has_user = 1;
        st->user.data = p;
        st->user.len = answer->user.len;
        ngx_memcpy(p, answer->user.data, answer->user.len);
    }

    if (answer->channels.nelts == 0) {
        return NGX_OK;
    }

    /* joined with those of ws_subscribe; names are in the request pool,
     * moved with the rest when the request is freed */
    if (ws->subscriptions == NULL) {
        ws->subscriptions = ngx_array_create(r->pool, answer->channels.nelts,
                                    sizeof(ngx_http_ws_subscription_t));
        if (ws->subscriptions == NULL) {
            return NGX_ERROR;
        }
    }

    name = answer->channels.elts;

    for (i = 0; i < answer->channels.nelts; i++) {
        sub = ngx_array_push(ws->subscriptions);
        if (sub == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(sub, sizeof(ngx_http_ws_subscription_t));
        sub->name = name[i];
    }

    return NGX_OK;
}


void
ngx_http_ws_backend_session_free(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_backend_state_t  *st;

    st = ngx_http_ws_session_backend(ws);

    if (st) {
        ngx_http_ws_backend_message_end(st);
        ngx_free(st);
        ws->rare->backend = NULL;
    }
}


/*
 * The identity headers of a call: WS-Connection-Id, WS-User when set,
 * WS-Meta-<name> for each value the connect answer set.
 */
ngx_int_t
ngx_http_ws_backend_identity(ngx_http_ws_backend_state_t *st, ngx_uint_t id,
    ngx_http_ws_backend_call_t *call)
{
    u_char      *p;
    ngx_str_t    key, value;
    ngx_uint_t   i;
    ngx_pool_t  *pool;

    static ngx_http_ws_backend_header_name_t  connection_id =
        ngx_http_ws_backend_header_name("WS-Connection-Id",
                                        "ws-connection-id");
    static ngx_http_ws_backend_header_name_t  traceparent =
        ngx_http_ws_backend_header_name("traceparent", "traceparent");
    static ngx_http_ws_backend_header_name_t  user =
        ngx_http_ws_backend_header_name("WS-User", "ws-user");

    pool = ngx_http_ws_backend_call_pool(call);

    p = ngx_pnalloc(pool, NGX_ATOMIC_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_http_ws_backend_call_decimal(p, id) - p;

    if (ngx_http_ws_backend_call_named_header(call, &connection_id, &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the call is a child of the WebSocket's span */
    if (ngx_http_ws_trace_header(pool, &st->session->trace, &value)
        != NGX_OK
        || ngx_http_ws_backend_call_named_header(call, &traceparent, &value)
           != NGX_OK
        || ngx_http_ws_backend_call_trace(call, &st->session->trace)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (st->has_user) {
        value.data = ngx_pstrdup(pool, &st->user);
        value.len = st->user.len;

        if ((value.data == NULL && value.len)
            || ngx_http_ws_backend_call_named_header(call, &user, &value)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < st->meta_n; i++) {
        key.len = sizeof("WS-Meta-") - 1 + st->meta[i].name.len;
        key.data = ngx_pnalloc(pool, key.len);

        value.len = st->meta[i].value.len;
        value.data = ngx_pnalloc(pool, value.len + 1);

        if (key.data == NULL || value.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(key.data, "WS-Meta-", sizeof("WS-Meta-") - 1);
        ngx_memcpy(p, st->meta[i].name.data, st->meta[i].name.len);
        ngx_memcpy(value.data, st->meta[i].value.data, value.len);

        if (ngx_http_ws_backend_call_header(call, &key, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The close hook: after the connection ended (a close handshake, a peer
 * gone, a ping timeout, a limit, the worker shutting down), one POST of a
 * JSON event, fire and forget. Made at once, while the worker still runs:
 * on quit the call's own timers keep the worker until it is answered or
 * times out. At most once: a worker that dies sends nothing.
 */
void
ngx_http_ws_backend_session_end(ngx_http_ws_session_t *ws)
{
    u_char                       *body;
    size_t                        len;
    ngx_str_t                     type;
    ngx_connection_t             *c;
    wscore_close_event_t          ev;
    ngx_http_ws_backend_call_t   *call;
    ngx_http_ws_backend_state_t  *st;

    st = ngx_http_ws_session_backend(ws);
    c = ws->connection;

    if (st == NULL) {
        return;
    }

    /* answers to messages still in flight have nobody to go to */
    ngx_http_ws_backend_message_end(st);

    if (st->conf->close.len == 0 || !ws->upgraded) {
        return;
    }

    ngx_memzero(&ev, sizeof(wscore_close_event_t));

    ev.connection_id = c->number;
    ev.code = (uint16_t) ws->close_code;
    ev.closed_by = ws->closed_by == NGX_HTTP_WS_CLOSED_BY_CLIENT ? "client"
                   : ws->closed_by == NGX_HTTP_WS_CLOSED_BY_SERVER ? "server"
                   : "none";
    ev.duration_ms = ws->duration;
    ev.messages_in = ws->messages_in;
    ev.messages_out = ws->messages_out;
    ev.bytes_in = ws->bytes_in;
    ev.bytes_out = ws->bytes_out;

    if (st->has_user) {
        ev.user.data = (const char *) st->user.data;
        ev.user.len = st->user.len;
    }

    ev.meta = st->meta;
    ev.meta_n = st->meta_n;

    call = ngx_http_ws_backend_call_create(c, ws->main_conf, st->srv_conf,
                                           ws->loc_conf, &st->conf->close);
    if (call == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ws: close hook \"%V\" not called: no memory or "
                      "no free connection", &st->conf->close);
        return;
    }

    len = wscore_close_event_write(NULL, 0, &ev);
    ngx_str_set(&type, "application/json");

    body = ngx_http_ws_backend_call_body(call, len, &type);

    if (body == NULL
        || wscore_close_event_write((char *) body, len, &ev) != len
        || ngx_http_ws_backend_identity(st, c->number, call) != NGX_OK
        || ngx_http_ws_backend_call_start(call, ngx_http_ws_backend_close_done,
                                          st->conf)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ws: close hook \"%V\" not called", &st->conf->close);
        ngx_http_ws_backend_call_destroy(call);
        return;
    }
}


/* A failing hook is logged when it starts failing and when it recovers. */
static void
ngx_http_ws_backend_close_done(ngx_http_ws_backend_call_t *call, void *data,
    ngx_uint_t status)
{
    ngx_http_ws_backend_conf_t  *bcf = data;

    ngx_http_ws_backend_count(NGX_HTTP_WS_BACKEND_CLOSE, status);

    if (status >= NGX_HTTP_OK && status < NGX_HTTP_SPECIAL_RESPONSE) {
        if (bcf->close_failing) {
            bcf->close_failing = 0;
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ws: close hook \"%V\" answers again",
                          &bcf->close);
        }

        return;
    }

    if (!bcf->close_failing) {
        bcf->close_failing = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: close hook \"%V\" failed with %ui; further "
                      "failures are counted, not logged", &bcf->close,
                      status);
    }
}


void
ngx_http_ws_backend_count(ngx_uint_t hook, ngx_uint_t status)
{
    ngx_uint_t  result;

    /* 3xx: a message hook's 304 keeps the message; other: no HTTP status
     * of these, or an answer that broke the hook's rules (status 0) */
    result = (status >= 200 && status < 600) ? status / 100 - 2 : 4;

    ngx_http_ws_metrics->backend_calls[hook][result]++;
}


static void *
ngx_http_ws_backend_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ws_backend_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_backend_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&bmcf->targets, cf->pool, 4, sizeof(void *))
        != NGX_OK
        || ngx_array_init(&bmcf->groups, cf->pool, 2, sizeof(void *))
           != NGX_OK)
    {
        return NULL;
    }

    bmcf->call_timeout = NGX_CONF_UNSET_MSEC;
    bmcf->connections = NGX_CONF_UNSET_UINT;
    bmcf->pipeline = NGX_CONF_UNSET_UINT;

    return bmcf;
}


/* Runs after the upstream module's: the groups have their peers. */
static char *
ngx_http_ws_backend_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ws_backend_main_conf_t  *bmcf = conf;

    ngx_conf_init_msec_value(bmcf->call_timeout, 60000);
    ngx_conf_init_uint_value(bmcf->connections, 16);
    ngx_conf_init_uint_value(bmcf->pipeline, 16);

    return ngx_http_ws_backend_client_init(cf, bmcf);
}


static void *
ngx_http_ws_backend_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ws_backend_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_backend_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->connect = { 0, NULL };    unset; "off" is { 0, "" }
     *     conf->close = { 0, NULL };
     */

    conf->meta_size = NGX_CONF_UNSET_SIZE;
    conf->message_inflight = NGX_CONF_UNSET_UINT;
    conf->message_refused = NGX_CONF_UNSET_UINT;
    conf->message_failed = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_ws_backend_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ws_backend_conf_t  *prev = parent;
    ngx_http_ws_backend_conf_t  *conf = child;

    ngx_conf_merge_str_value(conf->connect, prev->connect, "");
    ngx_conf_merge_str_value(conf->close, prev->close, "");
    ngx_conf_merge_str_value(conf->message, prev->message, "");

    if (conf->subscribe.data == NULL) {
        conf->subscribe_file = prev->subscribe_file;
        conf->subscribe_line = prev->subscribe_line;
    }

    ngx_conf_merge_str_value(conf->subscribe, prev->subscribe, "");
    ngx_conf_merge_uint_value(conf->message_inflight, prev->message_inflight,
                              4);
    ngx_conf_merge_uint_value(conf->message_refused, prev->message_refused,
                              NGX_HTTP_WS_BACKEND_REPLY);
    ngx_conf_merge_uint_value(conf->message_failed, prev->message_failed,
                              NGX_HTTP_WS_BACKEND_IGNORE);

    ngx_conf_merge_size_value(conf->meta_size, prev->meta_size, 1024);

    return NGX_CONF_OK;
}


/*
 * ws_backend_connect, _close, _message and _subscribe: the URI of a
 * location of the same server (a subrequest cannot reach a named
 * location), or "off".
 */
static char *
ngx_http_ws_backend_hook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t                   *field, *value;
    ngx_http_ws_backend_conf_t  *bcf;

    bcf = conf;
    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(field, "");
        return NGX_CONF_OK;
    }

    if (value[1].len > sizeof("http://") - 1
        && ngx_strncasecmp(value[1].data, (u_char *) "http://",
                           sizeof("http://") - 1)
           == 0)
    {
        /* the connect hook is a subrequest of the handshake's request */
        if (cmd->offset == offsetof(ngx_http_ws_backend_conf_t, connect)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" needs the URI of a location, "
                               "starting with \"/\": \"http://\" is for "
                               "the message, subscribe and close hooks",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_ws_backend_client_target(cf,
                      ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_ws_backend_module),
                      &cmd->name, &value[1])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        *field = value[1];
        ngx_http_ws_backend_configured = 1;

        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs the URI of a location, starting "
                           "with \"/\", %sor \"off\", not \"%V\"",
                           &cmd->name,
                           cmd->offset
                           == offsetof(ngx_http_ws_backend_conf_t, connect)
                           ? "" : "\"http://NAME/path\", ",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    *field = value[1];
    ngx_http_ws_backend_configured = 1;

    /* a location that cannot take it refuses it at merge, naming this line */
    if (field == &bcf->subscribe) {
        bcf->subscribe_file = cf->conf_file->file.name.data;
        bcf->subscribe_line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


/*
 * One of two words (cmd->post, as for ngx_conf_set_enum_slot), with a
 * message that names the directive: NGINX's own does not.
 */
static char *
ngx_http_ws_backend_choice(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t        *value;
    ngx_uint_t       *field, i;
    ngx_conf_enum_t  *e;

    field = (ngx_uint_t *) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcmp(e[i].name.data, value[1].data) == 0)
        {
            *field = e[i].value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" must be \"%V\" or \"%V\", not \"%V\"",
                       &cmd->name, &e[0].name, &e[1].name, &value[1]);

    return NGX_CONF_ERROR;
}


