
/*
 * ngx_ws: the proxy module: directives, configuration, its hooks in the
 * WebSocket module's sessions, the location's message handler and the
 * $ws_upstream_* variables.
 *
 *   upstream app { server 127.0.0.1:9001; server 127.0.0.1:9002; }
 *
 *   location /app/ {
 *       ws_listen;
 *       ws_proxy_pass ws://app;               or wss://host:9001/path
 *       ws_proxy_ssl_verify on;               wss://: as proxy_ssl_verify
 *       ws_proxy_ssl_trusted_certificate ca.pem;
 *       ws_proxy_deflate on;                  permessage-deflate to it
 *       ws_proxy_connect_timeout 5s;
 *       ws_proxy_handshake_timeout 10s;
 *   }
 */


#include "ngx_http_ws_proxy.h"
#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_variables.h"
#include "ngx_http_ws_response.h"


static ngx_int_t ngx_http_ws_proxy_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_proxy_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_proxy_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_refusal_t *refusal);
static ngx_int_t ngx_http_ws_proxy_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_proxy_open(ngx_http_ws_session_t *ws);
static ngx_uint_t ngx_http_ws_proxy_reads_stopped(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_proxy_detachable(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_proxy_detach_request(ngx_http_ws_session_t *ws);
static void ngx_http_ws_proxy_free(ngx_http_ws_session_t *ws);
static void ngx_http_ws_proxy_log(ngx_http_ws_session_t *ws,
    ngx_http_request_t *r);
static void ngx_http_ws_proxy_close(ngx_http_ws_session_t *ws);
static void ngx_http_ws_proxy_output_drained(ngx_http_ws_session_t *ws);
static void ngx_http_ws_proxy_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static void ngx_http_ws_proxy_peer_close(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static ngx_int_t ngx_http_ws_proxy_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_ws_proxy_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ws_proxy_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ws_proxy_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_proxy_set_header(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_ws_proxy_check_timeout(ngx_conf_t *cf, void *post,
    void *data);
static ngx_uint_t ngx_http_ws_proxy_is_ip(ngx_str_t *name);


static ngx_conf_post_handler_pt  ngx_http_ws_proxy_timeout_post =
    ngx_http_ws_proxy_check_timeout;


static ngx_command_t  ngx_http_ws_proxy_commands[] = {

    { ngx_string("ws_proxy_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_proxy_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_proxy_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, ssl_verify),
      NULL },

    { ngx_string("ws_proxy_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, ssl_trusted_certificate),
      NULL },

    { ngx_string("ws_proxy_set_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_ws_proxy_set_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_proxy_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, ping_interval),
      NULL },

    { ngx_string("ws_proxy_deflate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, deflate),
      NULL },

    { ngx_string("ws_proxy_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, connect_timeout),
      &ngx_http_ws_proxy_timeout_post },

    { ngx_string("ws_proxy_handshake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_proxy_conf_t, handshake_timeout),
      &ngx_http_ws_proxy_timeout_post },

      ngx_null_command
};


/* What a proxied location's messages get: a relay to its upstream. */
static ngx_http_ws_handler_t  ngx_http_ws_proxy_handler = {
    ngx_http_ws_proxy_message,
    0,                                     /* place */
    ngx_http_ws_proxy_peer_close
};


static ngx_http_ws_hooks_t  ngx_http_ws_proxy_hooks = {
    NULL,                                  /* check */
    ngx_http_ws_proxy_connect,             /* connect */
    ngx_http_ws_proxy_prepare,             /* prepare */
    NULL,                                  /* accept */
    ngx_http_ws_proxy_headers,             /* headers */
    ngx_http_ws_proxy_open,                /* open */
    NULL,                                  /* message */
    ngx_http_ws_proxy_reads_stopped,       /* reads_stopped */
    ngx_http_ws_proxy_detachable,          /* detachable */
    ngx_http_ws_proxy_owns_cleanup,        /* owns_cleanup */
    ngx_http_ws_proxy_detach_request,      /* detach */
    ngx_http_ws_proxy_log,                 /* log */
    ngx_http_ws_proxy_close,               /* close */
    ngx_http_ws_proxy_free,                /* free */
    NULL,                                  /* busy */
    NULL,                                  /* going_away */
    NULL,                                  /* gone_away */
    ngx_http_ws_proxy_output_drained       /* output_drained */
};


/* A ws_proxy_pass was read: only then do sessions call into the proxy. */
static ngx_uint_t  ngx_http_ws_proxy_configured;


enum {
    NGX_HTTP_WS_PROXY_VAR_ADDR = 0,
    NGX_HTTP_WS_PROXY_VAR_CONNECT_TIME,
    NGX_HTTP_WS_PROXY_VAR_HANDSHAKE_TIME,
    NGX_HTTP_WS_PROXY_VAR_MESSAGES_IN,
    NGX_HTTP_WS_PROXY_VAR_MESSAGES_OUT,
    NGX_HTTP_WS_PROXY_VAR_BYTES_IN,
    NGX_HTTP_WS_PROXY_VAR_BYTES_OUT,
    NGX_HTTP_WS_PROXY_VAR_CLOSE_CODE,
    NGX_HTTP_WS_PROXY_VAR_CLOSED_BY
};


static ngx_http_variable_t  ngx_http_ws_proxy_vars[] = {

    { ngx_string("ws_upstream_addr"), NULL, ngx_http_ws_proxy_variable,
      NGX_HTTP_WS_PROXY_VAR_ADDR, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_connect_time"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_CONNECT_TIME,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_handshake_time"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_HANDSHAKE_TIME,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_messages_in"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_MESSAGES_IN,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_messages_out"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_MESSAGES_OUT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_bytes_in"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_BYTES_IN,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_bytes_out"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_BYTES_OUT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_close_code"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_CLOSE_CODE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_upstream_closed_by"), NULL,
      ngx_http_ws_proxy_variable, NGX_HTTP_WS_PROXY_VAR_CLOSED_BY,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_ws_proxy_module_ctx = {
    ngx_http_ws_proxy_preconfiguration,    /* preconfiguration */
    ngx_http_ws_proxy_postconfiguration,   /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ws_proxy_create_loc_conf,     /* create location configuration */
    ngx_http_ws_proxy_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_ws_proxy_module = {
    NGX_MODULE_V1,
    &ngx_http_ws_proxy_module_ctx,         /* module context */
    ngx_http_ws_proxy_commands,            /* module directives */
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
ngx_http_ws_proxy_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_ws_proxy_configured = 0;

    return ngx_http_ws_variables_register(cf, ngx_http_ws_proxy_vars);
}


static ngx_int_t
ngx_http_ws_proxy_postconfiguration(ngx_conf_t *cf)
{
    if (!ngx_http_ws_proxy_configured) {
        return NGX_OK;
    }

    return ngx_http_ws_session_add_hooks(cf, &ngx_http_ws_proxy_hooks);
}


/* The session is made: it carries the upstream link from now on. */
static ngx_int_t
ngx_http_ws_proxy_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_http_ws_proxy_t         *px;
    ngx_http_ws_session_rare_t  *rare;

    px = ngx_http_get_module_ctx(r, ngx_http_ws_proxy_module);

    if (px == NULL || !px->upgraded) {
        return NGX_OK;
    }

    rare = ngx_http_ws_session_rare(ws);
    if (rare == NULL) {
        return NGX_ERROR;
    }

    px->session = ws;
    rare->proxy = px;

    return NGX_OK;
}


/* The subprotocol the upstream chose is the client's. */
static ngx_int_t
ngx_http_ws_proxy_headers(ngx_http_request_t *r)
{
    ngx_str_t             key;
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_get_module_ctx(r, ngx_http_ws_proxy_module);

    if (px == NULL || px->protocol.len == 0) {
        return NGX_OK;
    }

    ngx_str_set(&key, "Sec-WebSocket-Protocol");

    return ngx_http_ws_response_header(r, &key, &px->protocol);
}


static ngx_int_t
ngx_http_ws_proxy_open(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px == NULL) {
        return NGX_OK;
    }

    if (ngx_http_ws_proxy_relay_start(px) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * A message hook answers for whole messages, before they go on: the
     * client's are not streamed to the upstream piece by piece, but held
     * whole (up to ws_max_message_size) as in a terminated endpoint with
     * the hook. The upstream's still are.
     */
    if (px->conf->hooked && !px->done) {
        wscore_session_stream_messages(ws->core, 0);
    }

    return NGX_OK;
}


/* Reading from the client stops while the upstream's queue is full. */
static ngx_uint_t
ngx_http_ws_proxy_reads_stopped(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px == NULL) {
        return 0;
    }

    return ngx_http_ws_proxy_relay_full(px);
}


/*
 * The request may go after the 101: the balancer's state of the
 * connection (round robin, least_conn, hash) lives in the link's own pool
 * until the peer is freed at close, and the link is on the heap.
 */
static ngx_int_t
ngx_http_ws_proxy_detachable(ngx_http_ws_session_t *ws)
{
    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_proxy_detach_request(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_ws_proxy_detach(px);
    }

    return NGX_OK;
}


/* The session ends: a link it owns (its request freed) goes with it. */
static void
ngx_http_ws_proxy_free(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px == NULL) {
        return;
    }

    if (px->cleanup) {
        /* the request's cleanup frees it, after the session is gone */
        px->session = NULL;
        return;
    }

    ws->rare->proxy = NULL;
    ngx_http_ws_proxy_destroy(px);
}


/* The access-log line's request, rebuilt at close: $ws_upstream_* */
static void
ngx_http_ws_proxy_log(ngx_http_ws_session_t *ws, ngx_http_request_t *r)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_set_ctx(r, px, ngx_http_ws_proxy_module);
    }
}


static void
ngx_http_ws_proxy_close(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_ws_proxy_relay_end(px);
    }
}


static void
ngx_http_ws_proxy_output_drained(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_ws_proxy_relay_resume_upstream(px);
    }
}


static void
ngx_http_ws_proxy_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_ws_proxy_relay_client_message(px, ev);
    }
}


/* The client's close goes to the upstream, whose answer answers it. */
static void
ngx_http_ws_proxy_peer_close(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_ws_session_proxy(ws);

    if (px) {
        ngx_http_ws_proxy_relay_client_close(px, ev);

    } else if (wscore_session_close_pending(ws->core)) {
        ngx_http_ws_session_close(ws, ev->close_code, NULL);
    }
}


static ngx_int_t
ngx_http_ws_proxy_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_msec_t            ms;
    ngx_http_ws_proxy_t  *px;

    px = ngx_http_get_module_ctx(r, ngx_http_ws_proxy_module);

    if (px == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + sizeof(".000"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    switch (data) {

    case NGX_HTTP_WS_PROXY_VAR_ADDR:
        if (px->addr.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = px->addr.data;
        v->len = px->addr.len;
        break;

    case NGX_HTTP_WS_PROXY_VAR_CONNECT_TIME:
    case NGX_HTTP_WS_PROXY_VAR_HANDSHAKE_TIME:
        ms = (data == NGX_HTTP_WS_PROXY_VAR_CONNECT_TIME)
             ? px->connect_time : px->handshake_time;

        if (ms == (ngx_msec_t) -1) {
            v->len = 1;
            *p = '-';
            break;
        }

        /* seconds with milliseconds, as $upstream_connect_time */
        v->len = ngx_sprintf(p, "%T.%03M", (time_t) ms / 1000, ms % 1000)
                 - p;
        break;

    case NGX_HTTP_WS_PROXY_VAR_MESSAGES_IN:
        v->len = ngx_sprintf(p, "%uL", px->messages_from) - p;
        break;

    case NGX_HTTP_WS_PROXY_VAR_MESSAGES_OUT:
        v->len = ngx_sprintf(p, "%uL", px->messages_to) - p;
        break;

    case NGX_HTTP_WS_PROXY_VAR_BYTES_IN:
        v->len = ngx_sprintf(p, "%uL", px->bytes_from) - p;
        break;

    case NGX_HTTP_WS_PROXY_VAR_BYTES_OUT:
        v->len = ngx_sprintf(p, "%uL", px->bytes_to) - p;
        break;

    case NGX_HTTP_WS_PROXY_VAR_CLOSE_CODE:
        if (px->close_code == 0) {
            v->len = 1;
            *p = '-';
            break;
        }

        v->len = ngx_sprintf(p, "%ui", px->close_code) - p;
        break;

    default: /* NGX_HTTP_WS_PROXY_VAR_CLOSED_BY */
        switch (px->closed_by) {
        case NGX_HTTP_WS_PROXY_CLOSED_UPSTREAM:
            ngx_str_set((ngx_str_t *) v, "upstream");
            break;
        case NGX_HTTP_WS_PROXY_CLOSED_PROXY:
            ngx_str_set((ngx_str_t *) v, "proxy");
            break;
        default:
            ngx_str_set((ngx_str_t *) v, "none");
        }

        v->len = ((ngx_str_t *) v)->len;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_ws_proxy_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ws_proxy_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_proxy_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->upstream = NULL;
     *     conf->uri = { 0, NULL };
     *     conf->host = { 0, NULL };
     */

    conf->connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->ssl_verify = NGX_CONF_UNSET;
    conf->deflate = NGX_CONF_UNSET;
    conf->set_headers = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_ws_proxy_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ws_proxy_conf_t *prev = parent;
    ngx_http_ws_proxy_conf_t *conf = child;

    ngx_http_ws_loc_conf_t      *wscf;
    ngx_http_ws_backend_conf_t  *bcf;

    /* as proxy_connect_timeout and proxy_read_timeout */
    ngx_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                              60000);
    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout, 60000);
    /* as ws_ping_interval: an upstream gone silent is found in minutes */
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);

    /* the upstream link stays plain unless asked: its CPU is ours */
    ngx_conf_merge_value(conf->deflate, prev->deflate, 0);

    /* as proxy_set_header: a level with none inherits its parent's */
    ngx_conf_merge_ptr_value(conf->set_headers, prev->set_headers, NULL);

    /* as proxy_ssl_verify: off, encryption without authentication */
    ngx_conf_merge_value(conf->ssl_verify, prev->ssl_verify, 0);
    ngx_conf_merge_str_value(conf->ssl_trusted_certificate,
                             prev->ssl_trusted_certificate, "");

    if (conf->upstream == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->tls && ngx_http_ws_proxy_tls_conf(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    wscf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_ws_module);

    if (wscf->enabled != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_pass\" needs \"ws_listen\" in the "
                           "same location");
        return NGX_CONF_ERROR;
    }

    if (wscf->echo == 1 || wscf->publish
        || wscf->protocol == NGX_HTTP_WS_PROTOCOL_JSON)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_pass\" cannot be combined with "
                           "\"ws_echo\", \"ws_publish\" or "
                           "\"ws_protocol json\": messages go to the "
                           "upstream");
        return NGX_CONF_ERROR;
    }

    /* the backend module's configuration is merged before ours */
    bcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_ws_backend_module);
    conf->hooked = (bcf->message.len != 0);

    /*
     * Only the JSON protocol's subscribe op calls it, and the JSON
     * protocol is refused above: say so rather than ignore it. At merge
     * the parser's line is the end of http{}, so the directive's own.
     */
    if (bcf->subscribe.len != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_backend_subscribe\" cannot be combined with "
                      "\"ws_proxy_pass\": only the JSON protocol's "
                      "subscribe calls it in %s:%ui",
                      bcf->subscribe_file, bcf->subscribe_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * ws_proxy_pass ws://name[:port][/uri]: name is an upstream{} group, or a
 * host whose addresses make an implicit one, as proxy_pass does; either
 * way NGINX's balancers pick the peer.
 */
static char *
ngx_http_ws_proxy_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_proxy_conf_t *pcf = conf;

    size_t                   add;
    ngx_url_t                u;
    ngx_str_t               *value, *url;
    ngx_http_ws_loc_conf_t  *wscf;

    if (pcf->upstream) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = &value[1];

    ngx_memzero(&u, sizeof(ngx_url_t));

    if (url->len >= 5
        && ngx_strncasecmp(url->data, (u_char *) "ws://", 5) == 0)
    {
        add = 5;
        u.default_port = 80;

    } else if (url->len >= 6
               && ngx_strncasecmp(url->data, (u_char *) "wss://", 6) == 0)
    {
        add = 6;
        u.default_port = 443;
        pcf->tls = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_pass\" needs a ws:// or wss:// URL, "
                           "not \"%V\"", url);
        return NGX_CONF_ERROR;
    }

    u.url.len = url->len - add;
    u.url.data = url->data + add;
    u.uri_part = 1;
    u.no_resolve = 1;

    pcf->upstream = ngx_http_upstream_add(cf, &u, 0);
    if (pcf->upstream == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_pass\": invalid URL \"%V\"%s%s", url,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    pcf->uri = u.uri;

    /* the name TLS checks the certificate for, and sends in SNI */
    pcf->ssl_name.len = u.host.len;
    pcf->ssl_name.data = ngx_pnalloc(cf->pool, u.host.len + 1);
    if (pcf->ssl_name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(pcf->ssl_name.data, u.host.data, u.host.len);
    pcf->ssl_name.data[u.host.len] = '\0';
    pcf->ssl_name_is_ip = ngx_http_ws_proxy_is_ip(&pcf->ssl_name);

    /* Host as the URL wrote it, the port only when one was given */
    if (u.no_port || u.port == u.default_port) {
        pcf->host = u.host;

    } else {
        pcf->host.len = u.host.len + 1 + NGX_INT_T_LEN;
        pcf->host.data = ngx_pnalloc(cf->pool, pcf->host.len);
        if (pcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        pcf->host.len = ngx_sprintf(pcf->host.data, "%V:%d", &u.host,
                                    (int) u.port)
                        - pcf->host.data;
    }

    wscf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_ws_module);
    wscf->handler = &ngx_http_ws_proxy_handler;

    ngx_http_ws_proxy_configured = 1;

    return NGX_CONF_OK;
}


/*
 * ws_proxy_set_header name value: value may hold variables, and an empty
 * one leaves the header out. The handshake's own headers are ngx_ws's.
 */
static char *
ngx_http_ws_proxy_set_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_proxy_conf_t *pcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_ws_proxy_set_header_t    *h;
    ngx_http_compile_complex_value_t   ccv;

    static const char  *own[] = {
        "Upgrade", "Connection", "Sec-WebSocket-Key",
        "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"
    };

    value = cf->args->elts;

    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if (value[1].len == ngx_strlen(own[i])
            && ngx_strncasecmp(value[1].data, (u_char *) own[i],
                               value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_proxy_set_header\" cannot set "
                               "\"%V\": ngx_ws writes it for the "
                               "upstream's handshake", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] == ':'
            || value[1].data[i] >= 0x7f)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_proxy_set_header\": \"%V\" is not a "
                               "header name", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (pcf->set_headers == NGX_CONF_UNSET_PTR) {
        pcf->set_headers = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_ws_proxy_set_header_t));
        if (pcf->set_headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (pcf->set_headers->nelts == NGX_HTTP_WS_PROXY_MAX_SET_HEADERS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_set_header\": more than %d in one "
                           "place", NGX_HTTP_WS_PROXY_MAX_SET_HEADERS);
        return NGX_CONF_ERROR;
    }

    h = ngx_array_push(pcf->set_headers);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    h->name = value[1];

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &h->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_ws_proxy_is_ip(ngx_str_t *name)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];

    if (name->len > 2 && name->data[0] == '['
        && ngx_inet6_addr(name->data + 1, name->len - 2, addr6) == NGX_OK)
    {
        return 1;
    }
#endif

    return ngx_inet_addr(name->data, name->len) != INADDR_NONE;
}


/* 0 would never connect; ngx_conf_check_num_bounds names no directive. */
static char *
ngx_http_ws_proxy_check_timeout(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms == 0) {
        return "must be greater than 0";
    }

    return NGX_CONF_OK;
}
