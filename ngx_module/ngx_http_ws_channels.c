
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


#include "ngx_http_ws_module.h"


typedef struct {
    ngx_http_ws_msg_t    *msg;
    ngx_http_ws_frame_t  *frame;
    ngx_uint_t            delivered;
} ngx_http_ws_delivery_t;


static void ngx_http_ws_channels_visit(void *subscriber, void *data);


static wscore_router_t  *ngx_http_ws_router;


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

    return NGX_OK;
}


void
ngx_http_ws_channels_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_ws_router) {
        wscore_router_destroy(ngx_http_ws_router);
        ngx_http_ws_router = NULL;
    }
}


/*
 * Channel names are printable ASCII without quotes and backslashes, so
 * they appear in JSON answers and log lines as they are.
 */
ngx_int_t
ngx_http_ws_channel_name_valid(ngx_str_t *name)
{
    ngx_uint_t  i;

    if (name->len == 0 || name->len > NGX_HTTP_WS_MAX_CHANNEL_LEN) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        if (name->data[i] < 0x21 || name->data[i] > 0x7e
            || name->data[i] == '"' || name->data[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Evaluates the channel names of the location before the 101 is sent:
 * a name that comes out invalid is the client's fault (a URL part), 400.
 */
ngx_int_t
ngx_http_ws_channels_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws)
{
    ngx_str_t                   *name;
    ngx_uint_t                   i;
    ngx_http_complex_value_t    *cv;
    ngx_http_ws_subscription_t  *sub;

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
            name = &sub->name;

            if (ngx_http_complex_value(r, &cv[i], name) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (!ngx_http_ws_channel_name_valid(name)) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "ws: handshake rejected with 400: invalid "
                              "channel name \"%V\"", name);
                return NGX_HTTP_BAD_REQUEST;
            }
        }
    }

    if (ws->conf->publish) {
        if (ngx_http_complex_value(r, ws->conf->publish, &ws->publish)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!ngx_http_ws_channel_name_valid(&ws->publish)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "ws: handshake rejected with 400: invalid "
                          "channel name \"%V\"", &ws->publish);
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ws_channels_subscribe(ngx_http_ws_session_t *ws)
{
    int                          rc;
    ngx_str_t                   *name;
    ngx_uint_t                   i;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_subscription_t  *sub;

    if (ws->subscriptions == NULL || ngx_http_ws_router == NULL) {
        return NGX_OK;
    }

    wmcf = ngx_http_get_module_main_conf(ws->request, ngx_http_ws_module);
    sub = ws->subscriptions->elts;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        name = &sub[i].name;

        rc = wscore_router_subscribe(ngx_http_ws_router, ws,
                                     (const char *) name->data, name->len);

        if (rc == WSCORE_ROUTER_EXISTS) {
            continue;
        }

        if (rc < 0) {
            return NGX_ERROR;
        }

        if (ngx_http_ws_zone_subscribe(wmcf->zone, name, 1, &sub[i].since)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                          "ws: ws_zone is full, cannot subscribe to "
                          "channel \"%V\"", name);
            (void) wscore_router_unsubscribe(ngx_http_ws_router, ws,
                                             (const char *) name->data,
                                             name->len);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_ws_channels_unsubscribe(ngx_http_ws_session_t *ws)
{
    int                          rc;
    ngx_uint_t                   i;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_subscription_t  *sub;

    if (ws->subscriptions == NULL || ngx_http_ws_router == NULL) {
        return;
    }

    wmcf = ngx_http_get_module_main_conf(ws->request, ngx_http_ws_module);
    sub = ws->subscriptions->elts;

    for (i = 0; i < ws->subscriptions->nelts; i++) {
        rc = wscore_router_unsubscribe(ngx_http_ws_router, ws,
                                       (const char *) sub[i].name.data,
                                       sub[i].name.len);

        if (rc == WSCORE_ROUTER_OK || rc == WSCORE_ROUTER_LAST) {
            (void) ngx_http_ws_zone_subscribe(wmcf->zone, &sub[i].name, -1,
                                              NULL);
        }
    }

    ws->subscriptions = NULL;
}


/* NGX_OK, NGX_DECLINED: the zone is full; the caller decides what then. */
ngx_int_t
ngx_http_ws_channels_publish(ngx_http_request_t *r, ngx_str_t *channel,
    ngx_uint_t opcode, u_char *data, size_t len,
    ngx_http_ws_channel_info_t *info)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);

    return ngx_http_ws_zone_publish(wmcf->zone, channel, opcode, data, len,
                                    info);
}


/* A message the zone queued for this worker: frame once, queue on all. */
void
ngx_http_ws_channels_deliver(ngx_http_ws_msg_t *msg)
{
    ngx_http_ws_delivery_t  d;

    if (ngx_http_ws_router == NULL
        || wscore_router_subscribers(ngx_http_ws_router,
                                     (const char *) msg->data,
                                     msg->channel_len) == 0)
    {
        return;
    }

    d.frame = ngx_http_ws_frame_create(ngx_cycle->log, msg->opcode,
                                       msg->data + msg->channel_len,
                                       msg->len);
    if (d.frame == NULL) {
        return;
    }

    d.msg = msg;
    d.delivered = 0;

    (void) wscore_router_for_each(ngx_http_ws_router,
                                  (const char *) msg->data, msg->channel_len,
                                  ngx_http_ws_channels_visit, &d);

    ngx_http_ws_frame_release(d.frame);
}


static void
ngx_http_ws_channels_visit(void *subscriber, void *data)
{
    ngx_http_ws_delivery_t  *d = data;

    ngx_uint_t                   i;
    ngx_http_ws_session_t       *ws;
    ngx_http_ws_subscription_t  *sub;

    ws = subscriber;

    /* published before this subscriber joined: not its message */
    if (ws->subscriptions) {
        sub = ws->subscriptions->elts;

        for (i = 0; i < ws->subscriptions->nelts; i++) {
            if (sub[i].name.len == d->msg->channel_len
                && ngx_memcmp(sub[i].name.data, d->msg->data,
                              d->msg->channel_len) == 0)
            {
                if (d->msg->seq <= sub[i].since) {
                    return;
                }

                break;
            }
        }
    }

    if (ngx_http_ws_session_push(ws, d->frame) == NGX_OK) {
        d->delivered++;
    }
}
