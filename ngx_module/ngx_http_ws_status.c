
/*
 * ngx_ws: "ws_status", the figures of all workers in Prometheus text
 * exposition format 0.0.4, or as JSON with "?format=json" or
 * "Accept: application/json" (what the dashboard page reads).
 *
 * The counters come from the slots summed by ngx_http_ws_metrics_sum();
 * zone memory, worker queues and channels are read from the zone under
 * its mutex. Channels are walked for the JSON answer only (its "top
 * channels"), so a Prometheus scrape holds the mutex for a moment only.
 */


#include "ngx_http_ws_status.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_zone.h"


/* Channels listed in the JSON answer, most subscribers first. */
#define NGX_HTTP_WS_STATUS_TOP  10


typedef struct {
    ngx_str_t                  name;
    size_t                     size;
    size_t                     free;
    ngx_uint_t                 channels;
    uint64_t                   subscribers;
    uint64_t                   queued;
    uint64_t                   queue_dropped;
    ngx_uint_t                 ntop;
    ngx_http_ws_channel_t     *top[NGX_HTTP_WS_STATUS_TOP];
    ngx_uint_t                 top_subscribers[NGX_HTTP_WS_STATUS_TOP];
    uint64_t                   top_seq[NGX_HTTP_WS_STATUS_TOP];
    u_char                     top_name[NGX_HTTP_WS_STATUS_TOP]
                                       [NGX_HTTP_WS_MAX_CHANNEL_LEN];
    size_t                     top_len[NGX_HTTP_WS_STATUS_TOP];
} ngx_http_ws_zone_figures_t;


static ngx_int_t ngx_http_ws_status_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_ws_status_wants_json(ngx_http_request_t *r);
static void ngx_http_ws_status_zone(ngx_http_request_t *r,
    ngx_http_ws_zone_figures_t *zf, ngx_uint_t walk);
static void ngx_http_ws_status_walk(ngx_http_ws_zone_figures_t *zf,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static u_char *ngx_http_ws_status_prometheus(u_char *p, u_char *end,
    ngx_http_ws_metrics_sum_t *sum, ngx_http_ws_metrics_shm_t *shm,
    ngx_http_ws_zone_figures_t *zf);
static u_char *ngx_http_ws_status_json(u_char *p, u_char *end,
    ngx_http_ws_metrics_sum_t *sum, ngx_http_ws_metrics_shm_t *shm,
    ngx_http_ws_zone_figures_t *zf);
static u_char *ngx_http_ws_status_histogram(u_char *p, u_char *end,
    const char *name, const char *help, ngx_http_ws_histogram_t *h,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_escape(u_char *p, u_char *end,
    u_char *s, size_t len, ngx_uint_t json);
static u_char *ngx_http_ws_status_close_code(u_char *p, u_char *end,
    ngx_uint_t i);
static u_char *ngx_http_ws_status_locations(u_char *p, u_char *end,
    const char *name, ngx_uint_t opened, ngx_http_ws_metrics_sum_t *sum,
    ngx_http_ws_metrics_shm_t *shm);
static u_char *ngx_http_ws_status_scalars_prometheus(u_char *p, u_char *end,
    ngx_http_ws_metrics_slot_t *t);
static u_char *ngx_http_ws_status_scalars_json(u_char *p, u_char *end,
    ngx_http_ws_metrics_slot_t *t);
static u_char *ngx_http_ws_status_classes(u_char *p, u_char *end,
    const char *name, const char *help, uint64_t *values,
    ngx_http_ws_metrics_shm_t *shm);


static const char  *ngx_http_ws_closed_by_names[] = {
    "none", "client", "server"
};

static const char  *ngx_http_ws_reject_names[] = {
    "protocol_error", "invalid_utf8", "too_big", "other"
};

static const char  *ngx_http_ws_direction_names[] = { "in", "out" };
static const char  *ngx_http_ws_opcode_names[] = { "text", "binary" };
static const char  *ngx_http_ws_publish_kinds[] = { "channel", "direct" };
static const char  *ngx_http_ws_publish_results[] = { "ok", "zone_full" };


/*
 * The counters that are one number each: printed by one loop in both
 * formats. "json" is the key in the JSON answer, "group" the object it
 * sits in there (NULL: top level).
 */
typedef struct {
    const char                *name;
    const char                *type;
    const char                *help;
    const char                *group;
    const char                *json;
    size_t                     offset;
} ngx_http_ws_status_scalar_t;


#define ngx_http_ws_scalar(name, type, help, group, json, field)              \
    { name, type, help, group, json,                                          \
      offsetof(ngx_http_ws_metrics_slot_t, field) }

static const ngx_http_ws_status_scalar_t  ngx_http_ws_status_scalars[] = {
    ngx_http_ws_scalar("ngx_ws_pings_sent_total", "counter",
        "Heartbeat pings sent.", NULL, "pings_sent", pings_sent),
    ngx_http_ws_scalar("ngx_ws_pongs_received_total", "counter",
        "Pongs received.", NULL, "pongs_received", pongs_received),
    ngx_http_ws_scalar("ngx_ws_ping_timeouts_total", "counter",
        "Connections closed after ws_ping_max_missed unanswered pings.",
        NULL, "ping_timeouts", ping_timeouts),
    ngx_http_ws_scalar("ngx_ws_idle_timeouts_total", "counter",
        "Connections closed by ws_idle_timeout.",
        NULL, "idle_timeouts", idle_timeouts),
    ngx_http_ws_scalar("ngx_ws_backpressure_pauses_total", "counter",
        "Times reading from a client paused because its output was over "
        "the high-water mark.", NULL, "backpressure_pauses",
        backpressure_pauses),
    ngx_http_ws_scalar("ngx_ws_slow_consumer_drops_total", "counter",
        "Channel messages dropped for clients over ws_send_buffer "
        "(ws_slow_consumer drop).", NULL, "slow_consumer_drops",
        slow_consumer_drops),
    ngx_http_ws_scalar("ngx_ws_slow_consumer_closes_total", "counter",
        "Clients closed with 1008 for being over ws_send_buffer "
        "(ws_slow_consumer close).", NULL, "slow_consumer_closes",
        slow_consumer_closes),
    ngx_http_ws_scalar("ngx_ws_rate_limited_total", "counter",
        "Client messages over ws_limit_rate (dropped, or the connection "
        "closed).", NULL, "rate_limited", rate_limited),
    ngx_http_ws_scalar("ngx_ws_deliveries_total", "counter",
        "Channel messages queued on subscribers (fan-out).",
        NULL, "deliveries", deliveries),
    ngx_http_ws_scalar("ngx_ws_redis_connected_workers", "gauge",
        "Workers whose ws_redis publish link is up.",
        "redis", "connected_workers", redis_up),
    ngx_http_ws_scalar("ngx_ws_redis_disconnects_total", "counter",
        "Redis links that went down (each outage once per link, not per "
        "retry).", "redis", "disconnects", redis_disconnects),
    ngx_http_ws_scalar("ngx_ws_redis_publishes_refused_total", "counter",
        "Publishes to cross-node channels refused because Redis was down.",
        "redis", "publishes_refused", redis_refused),
};


char *
ngx_http_ws_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_main_conf_t   *wmcf;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_ws_status_handler) {
        return "is duplicate";
    }

    if (clcf->handler) {
        return "conflicts with another content handler in this location "
               "(ws_listen, ws_publisher, ws_health, proxy_pass...)";
    }

    clcf->handler = ngx_http_ws_status_handler;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "\"ws_status\" or \"ws_health ready\" in %V:%ui "
                          "needs a \"ws_zone\" in the http block: the "
                          "figures of all workers are summed there");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ws_status_handler(ngx_http_request_t *r)
{
    size_t                      size;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_uint_t                  json;
    ngx_http_ws_metrics_shm_t  *shm;
    ngx_http_ws_metrics_sum_t   sum;
    ngx_http_ws_zone_figures_t  zf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    json = ngx_http_ws_status_wants_json(r);

    if (ngx_http_ws_metrics_sum(r, &sum, &shm) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: ws_status has no metrics: ws_zone could not "
                      "hold them, or this worker got no slot");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_ws_status_zone(r, &zf, json);

    /* every line is bounded; labels at most 2 x 4 x the label length */
    size = 32768
           + sum.nlocations * (512 + 8 * NGX_HTTP_WS_METRICS_LABEL_LEN)
           + zf.ntop * (128 + NGX_HTTP_WS_MAX_CHANNEL_LEN);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (json) {
        b->last = ngx_http_ws_status_json(b->last, b->end, &sum, shm, &zf);
        return ngx_http_ws_response_send(r, NGX_HTTP_OK, "application/json",
                                         b);
    }

    b->last = ngx_http_ws_status_prometheus(b->last, b->end, &sum, shm, &zf);

    return ngx_http_ws_response_send(r, NGX_HTTP_OK,
                                     "text/plain; version=0.0.4; "
                                     "charset=utf-8", b);
}


/* "?format=json", or an Accept header that names application/json. */
static ngx_uint_t
ngx_http_ws_status_wants_json(ngx_http_request_t *r)
{
    ngx_str_t                   value;
    ngx_table_elt_t            *h;
    ngx_http_ws_header_list_t   list;

    if (ngx_http_arg(r, (u_char *) "format", 6, &value) == NGX_OK) {
        return value.len == 4 && ngx_strncmp(value.data, "json", 4) == 0;
    }

    ngx_http_ws_header_list_init(&list, r, "Accept");

    while ((h = ngx_http_ws_header_list_next_header(&list)) != NULL) {
        if (ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                             (u_char *) "application/json", 16 - 1))
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_ws_status_zone(ngx_http_request_t *r, ngx_http_ws_zone_figures_t *zf,
    ngx_uint_t walk)
{
    ngx_uint_t                   i;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_worker_queue_t  *q;

    ngx_memzero(zf, offsetof(ngx_http_ws_zone_figures_t, top));

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);
    ctx = wmcf->zone->data;

    zf->name = wmcf->zone->shm.name;
    zf->size = wmcf->zone->shm.size;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    zf->free = ctx->shpool->pfree * ngx_pagesize;
    zf->channels = ctx->sh->nchannels;

    for (i = 0; i < NGX_HTTP_WS_MAX_WORKERS; i++) {
        q = &ctx->sh->workers[i];
        zf->queued += q->tail - q->head;
        zf->queue_dropped += q->dropped;
    }

    if (walk && ctx->sh->channels.root != ctx->sh->channels.sentinel) {
        ngx_http_ws_status_walk(zf, ctx->sh->channels.root,
                                ctx->sh->channels.sentinel);

        /* copied out: the channels may go once the mutex is released */
        for (i = 0; i < zf->ntop; i++) {
            zf->top_len[i] = zf->top[i]->sn.str.len;
            ngx_memcpy(zf->top_name[i], zf->top[i]->name, zf->top_len[i]);
            zf->top_seq[i] = zf->top[i]->seq;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* Keeps the channels with the most subscribers, in descending order. */
static void
ngx_http_ws_status_walk(ngx_http_ws_zone_figures_t *zf,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_uint_t              i, n;
    ngx_http_ws_channel_t  *ch;

    if (node->left != sentinel) {
        ngx_http_ws_status_walk(zf, node->left, sentinel);
    }

    ch = (ngx_http_ws_channel_t *) node;
    n = ch->subscribers;
    zf->subscribers += n;

    for (i = zf->ntop; i > 0 && zf->top_subscribers[i - 1] < n; i--) {
        if (i < NGX_HTTP_WS_STATUS_TOP) {
            zf->top[i] = zf->top[i - 1];
            zf->top_subscribers[i] = zf->top_subscribers[i - 1];
        }
    }

    if (n > 0 && i < NGX_HTTP_WS_STATUS_TOP) {
        zf->top[i] = ch;
        zf->top_subscribers[i] = n;

        if (zf->ntop < NGX_HTTP_WS_STATUS_TOP) {
            zf->ntop++;
        }
    }

    if (node->right != sentinel) {
        ngx_http_ws_status_walk(zf, node->right, sentinel);
    }
}


#define ngx_http_ws_family(p, end, name, type, help)                          \
    ngx_slprintf(p, end, "# HELP " name " " help "\n# TYPE " name " " type   \
                 "\n")


static u_char *
ngx_http_ws_status_prometheus(u_char *p, u_char *end,
    ngx_http_ws_metrics_sum_t *sum, ngx_http_ws_metrics_shm_t *shm,
    ngx_http_ws_zone_figures_t *zf)
{
    ngx_uint_t                   i, j;
    ngx_http_ws_metrics_slot_t  *t;

    t = &sum->total;

    p = ngx_http_ws_family(p, end, "ngx_ws_connections", "gauge",
                           "WebSocket connections open now.");
    p = ngx_http_ws_status_locations(p, end, "ngx_ws_connections", 0, sum,
                                     shm);

    p = ngx_http_ws_family(p, end, "ngx_ws_connections_opened_total",
                           "counter", "WebSocket connections opened (101).");
    p = ngx_http_ws_status_locations(p, end,
                                     "ngx_ws_connections_opened_total", 1,
                                     sum, shm);

    p = ngx_http_ws_family(p, end, "ngx_ws_handshakes_total", "counter",
                           "Answers to requests of ws_listen locations, "
                           "by HTTP status.");

    for (i = 0; i < NGX_HTTP_WS_HANDSHAKE_STATUSES; i++) {
        if (ngx_http_ws_handshake_statuses[i]) {
            p = ngx_slprintf(p, end,
                             "ngx_ws_handshakes_total{status=\"%ui\"} %uL\n",
                             ngx_http_ws_handshake_statuses[i],
                             t->handshakes[i]);
        } else {
            p = ngx_slprintf(p, end,
                             "ngx_ws_handshakes_total{status=\"other\"} "
                             "%uL\n", t->handshakes[i]);
        }
    }

    p = ngx_http_ws_family(p, end, "ngx_ws_closes_total", "counter",
                           "Ended connections by close code and by who sent "
                           "the first close frame (none: the TCP "
                           "connection ended without one).");

    for (i = 0; i < NGX_HTTP_WS_CLOSED_BY_N; i++) {
        for (j = 0; j < NGX_HTTP_WS_CLOSE_CODES; j++) {
            if (t->closes[i][j] == 0) {
                continue;
            }

            p = ngx_slprintf(p, end, "ngx_ws_closes_total{code=\"");
            p = ngx_http_ws_status_close_code(p, end, j);
            p = ngx_slprintf(p, end, "\",by=\"%s\"} %uL\n",
                             ngx_http_ws_closed_by_names[i],
                             t->closes[i][j]);
        }
    }

    p = ngx_http_ws_family(p, end, "ngx_ws_messages_total", "counter",
                           "Data messages received (in) and written (out).");

    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2; j++) {
            p = ngx_slprintf(p, end, "ngx_ws_messages_total{direction=\"%s\","
                             "opcode=\"%s\"} %uL\n",
                             ngx_http_ws_direction_names[i],
                             ngx_http_ws_opcode_names[j], t->messages[i][j]);
        }
    }

    p = ngx_http_ws_family(p, end, "ngx_ws_bytes_total", "counter",
                           "WebSocket bytes after the 101, frame headers "
                           "included, TLS excluded.");

    for (i = 0; i < 2; i++) {
        p = ngx_slprintf(p, end, "ngx_ws_bytes_total{direction=\"%s\"} %uL\n",
                         ngx_http_ws_direction_names[i], t->bytes[i]);
    }

    p = ngx_http_ws_family(p, end, "ngx_ws_frames_rejected_total", "counter",
                           "Client frames that failed the connection, by "
                           "reason (close 1002, 1007, 1009).");

    for (i = 0; i < NGX_HTTP_WS_REJECT_N; i++) {
        p = ngx_slprintf(p, end,
                         "ngx_ws_frames_rejected_total{reason=\"%s\"} %uL\n",
                         ngx_http_ws_reject_names[i], t->rejected[i]);
    }

    p = ngx_http_ws_status_scalars_prometheus(p, end, t);

    p = ngx_http_ws_family(p, end, "ngx_ws_publishes_total", "counter",
                           "Messages published (clients, control protocol, "
                           "HTTP API) by channel kind and result.");

    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2; j++) {
            p = ngx_slprintf(p, end, "ngx_ws_publishes_total{kind=\"%s\","
                             "result=\"%s\"} %uL\n",
                             ngx_http_ws_publish_kinds[i],
                             ngx_http_ws_publish_results[j],
                             t->publishes[i][j]);
        }
    }

    p = ngx_http_ws_status_classes(p, end, "ngx_ws_channel_publishes_total",
                                   "Messages published, by channel class "
                                   "(the name up to its first ':'; "
                                   "\"(other)\" past the first 15).",
                                   t->class_publishes, shm);
    p = ngx_http_ws_status_classes(p, end, "ngx_ws_channel_deliveries_total",
                                   "Channel messages queued on subscribers, "
                                   "by channel class.",
                                   t->class_deliveries, shm);

    p = ngx_http_ws_family(p, end, "ngx_ws_worker_queue_dropped_total",
                           "counter", "Messages a worker missed because its "
                           "queue in the zone was full.");
    p = ngx_slprintf(p, end, "ngx_ws_worker_queue_dropped_total %uL\n",
                     zf->queue_dropped);

    p = ngx_http_ws_family(p, end, "ngx_ws_worker_queue_messages", "gauge",
                           "Messages waiting in the workers' queues.");
    p = ngx_slprintf(p, end, "ngx_ws_worker_queue_messages %uL\n",
                     zf->queued);

    p = ngx_http_ws_status_histogram(p, end, "ngx_ws_publish_delay_seconds",
                                     "Time from a publish to its fan-out in "
                                     "each worker with subscribers "
                                     "(millisecond clock).",
                                     &t->publish_delay, 0);
    p = ngx_http_ws_status_histogram(p, end, "ngx_ws_send_delay_seconds",
                                     "Time a data frame waited in a "
                                     "connection's output until the socket "
                                     "took it; for echo, receive to write "
                                     "(millisecond clock).",
                                     &t->send_delay, 0);

    p = ngx_http_ws_family(p, end, "ngx_ws_channels", "gauge",
                           "Channels known to the zone.");
    p = ngx_slprintf(p, end, "ngx_ws_channels %ui\n", zf->channels);

    p = ngx_http_ws_family(p, end, "ngx_ws_zone_size_bytes", "gauge",
                           "Size of the ws_zone.");
    p = ngx_slprintf(p, end, "ngx_ws_zone_size_bytes{zone=\"");
    p = ngx_http_ws_status_escape(p, end, zf->name.data, zf->name.len, 0);
    p = ngx_slprintf(p, end, "\"} %uz\n", zf->size);

    p = ngx_http_ws_family(p, end, "ngx_ws_zone_free_bytes", "gauge",
                           "Free pages of the ws_zone, in bytes.");
    p = ngx_slprintf(p, end, "ngx_ws_zone_free_bytes{zone=\"");
    p = ngx_http_ws_status_escape(p, end, zf->name.data, zf->name.len, 0);
    p = ngx_slprintf(p, end, "\"} %uz\n", zf->free);

    p = ngx_http_ws_family(p, end, "ngx_ws_workers", "gauge",
                           "Worker processes writing metrics (old ones "
                           "included while a reload drains them).");
    p = ngx_slprintf(p, end, "ngx_ws_workers %ui\n", sum->workers);

    return p;
}


/* Buckets are stored one by one; Prometheus wants them cumulative. */
static u_char *
ngx_http_ws_status_histogram(u_char *p, u_char *end, const char *name,
    const char *help, ngx_http_ws_histogram_t *h, ngx_uint_t json)
{
    uint64_t    cumulative;
    ngx_uint_t  i, ms;

    cumulative = 0;

    if (json) {
        p = ngx_slprintf(p, end, "\"%s\":{\"count\":%uL,\"sum\":%uL.%03uL,"
                         "\"buckets\":[", name, h->count,
                         h->sum_ms / 1000, h->sum_ms % 1000);

        for (i = 0; i < NGX_HTTP_WS_METRICS_BUCKETS; i++) {
            cumulative += h->buckets[i];
            ms = ngx_http_ws_metrics_bucket_ms[i];

            if (ms) {
                p = ngx_slprintf(p, end, "%s{\"le\":%ui.%03ui,\"count\":%uL}",
                                 i ? "," : "", ms / 1000, ms % 1000,
                                 cumulative);
            } else {
                p = ngx_slprintf(p, end, ",{\"le\":\"+Inf\",\"count\":%uL}",
                                 cumulative);
            }
        }

        return ngx_slprintf(p, end, "]}");
    }

    p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s histogram\n", name,
                     help, name);

    for (i = 0; i < NGX_HTTP_WS_METRICS_BUCKETS; i++) {
        cumulative += h->buckets[i];
        ms = ngx_http_ws_metrics_bucket_ms[i];

        if (ms) {
            p = ngx_slprintf(p, end, "%s_bucket{le=\"%ui.%03ui\"} %uL\n",
                             name, ms / 1000, ms % 1000, cumulative);
        } else {
            p = ngx_slprintf(p, end, "%s_bucket{le=\"+Inf\"} %uL\n",
                             name, cumulative);
        }
    }

    return ngx_slprintf(p, end, "%s_sum %uL.%03uL\n%s_count %uL\n",
                        name, h->sum_ms / 1000, h->sum_ms % 1000,
                        name, h->count);
}


static u_char *
ngx_http_ws_status_json(u_char *p, u_char *end, ngx_http_ws_metrics_sum_t *sum,
    ngx_http_ws_metrics_shm_t *shm, ngx_http_ws_zone_figures_t *zf)
{
    ngx_uint_t                   i, j, n;
    ngx_http_ws_metrics_slot_t  *t;

    t = &sum->total;

    p = ngx_slprintf(p, end, "{\"connections\":%L,\"workers\":%ui,"
                     "\"locations\":[", sum->connections, sum->workers);

    for (i = 0, n = 0; i < sum->nlocations; i++) {
        if (i == 0 && t->upgrades[0] == 0) {
            continue;
        }

        p = ngx_slprintf(p, end, "%s{\"server\":\"", n++ ? "," : "");
        p = ngx_http_ws_status_escape(p, end, shm->servers[i].data,
                                      shm->servers[i].len, 1);
        p = ngx_slprintf(p, end, "\",\"location\":\"");
        p = (i == 0) ? ngx_slprintf(p, end, "(other)")
                     : ngx_http_ws_status_escape(p, end,
                                                 shm->locations[i].data,
                                                 shm->locations[i].len, 1);
        p = ngx_slprintf(p, end, "\",\"connections\":%L,\"opened\":%uL}",
                         t->connections[i], t->upgrades[i]);
    }

    p = ngx_slprintf(p, end, "],\"handshakes\":{");

    for (i = 0; i < NGX_HTTP_WS_HANDSHAKE_STATUSES; i++) {
        if (ngx_http_ws_handshake_statuses[i]) {
            p = ngx_slprintf(p, end, "%s\"%ui\":%uL", i ? "," : "",
                             ngx_http_ws_handshake_statuses[i],
                             t->handshakes[i]);
        } else {
            p = ngx_slprintf(p, end, ",\"other\":%uL", t->handshakes[i]);
        }
    }

    p = ngx_slprintf(p, end, "},\"closes\":[");

    for (i = 0, n = 0; i < NGX_HTTP_WS_CLOSED_BY_N; i++) {
        for (j = 0; j < NGX_HTTP_WS_CLOSE_CODES; j++) {
            if (t->closes[i][j] == 0) {
                continue;
            }

            p = ngx_slprintf(p, end, "%s{\"code\":\"", n++ ? "," : "");
            p = ngx_http_ws_status_close_code(p, end, j);
            p = ngx_slprintf(p, end, "\",\"by\":\"%s\",\"count\":%uL}",
                             ngx_http_ws_closed_by_names[i], t->closes[i][j]);
        }
    }

    p = ngx_slprintf(p, end, "],\"messages\":{\"in\":{\"text\":%uL,"
                     "\"binary\":%uL},\"out\":{\"text\":%uL,\"binary\":%uL}},"
                     "\"bytes\":{\"in\":%uL,\"out\":%uL},"
                     "\"frames_rejected\":{",
                     t->messages[0][0], t->messages[0][1],
                     t->messages[1][0], t->messages[1][1],
                     t->bytes[0], t->bytes[1]);

    for (i = 0; i < NGX_HTTP_WS_REJECT_N; i++) {
        p = ngx_slprintf(p, end, "%s\"%s\":%uL", i ? "," : "",
                         ngx_http_ws_reject_names[i], t->rejected[i]);
    }

    p = ngx_slprintf(p, end, "},\"publishes\":{\"channel\":{\"ok\":%uL,"
                     "\"zone_full\":%uL},\"direct\":{\"ok\":%uL,"
                     "\"zone_full\":%uL}},\"worker_queue\":{\"messages\":%uL,"
                     "\"dropped\":%uL},",
                     t->publishes[0][0], t->publishes[0][1],
                     t->publishes[1][0], t->publishes[1][1],
                     zf->queued, zf->queue_dropped);

    p = ngx_http_ws_status_scalars_json(p, end, t);
    p = ngx_slprintf(p, end, ",\"channel_classes\":{");

    for (i = 0; i < shm->nclasses; i++) {
        if (i == 0 && t->class_publishes[0] == 0
            && t->class_deliveries[0] == 0)
        {
            continue;
        }

        p = ngx_slprintf(p, end, "%s\"", (p[-1] == '{') ? "" : ",");
        p = i ? ngx_http_ws_status_escape(p, end, shm->classes[i].data,
                                          shm->classes[i].len, 1)
              : ngx_slprintf(p, end, "(other)");
        p = ngx_slprintf(p, end, "\":{\"publishes\":%uL,\"deliveries\":%uL}",
                         t->class_publishes[i], t->class_deliveries[i]);
    }

    p = ngx_slprintf(p, end, "},\"latency\":{");

    p = ngx_http_ws_status_histogram(p, end, "publish_delay_seconds", NULL,
                                     &t->publish_delay, 1);
    p = ngx_slprintf(p, end, ",");
    p = ngx_http_ws_status_histogram(p, end, "send_delay_seconds", NULL,
                                     &t->send_delay, 1);

    p = ngx_slprintf(p, end, "},\"channels\":{\"count\":%ui,"
                     "\"subscribers\":%uL,\"top\":[",
                     zf->channels, zf->subscribers);

    /* channel names need no escaping: see ngx_http_ws_channels_name_valid */
    for (i = 0; i < zf->ntop; i++) {
        p = ngx_slprintf(p, end, "%s{\"channel\":\"%*s\",\"subscribers\":%ui,"
                         "\"seq\":%uL}", i ? "," : "", zf->top_len[i],
                         zf->top_name[i], zf->top_subscribers[i],
                         zf->top_seq[i]);
    }

    p = ngx_slprintf(p, end, "]},\"zone\":{\"name\":\"");
    p = ngx_http_ws_status_escape(p, end, zf->name.data, zf->name.len, 1);
    p = ngx_slprintf(p, end, "\",\"size\":%uz,\"used\":%uz,\"free\":%uz}}\n",
                     zf->size, zf->size - zf->free, zf->free);

    return p;
}


static u_char *
ngx_http_ws_status_close_code(u_char *p, u_char *end, ngx_uint_t i)
{
    if (i < 16) {
        return ngx_slprintf(p, end, "%ui", 1000 + i);
    }

    return ngx_slprintf(p, end, "%s",
                        i == 16 ? "3xxx" : (i == 17 ? "4xxx" : "other"));
}


/*
 * Label values (Prometheus: backslash, quote, newline) and JSON strings
 * (also the other control characters) come from configuration text:
 * server names and location patterns such as regular expressions.
 */
static u_char *
ngx_http_ws_status_escape(u_char *p, u_char *end, u_char *s, size_t len,
    ngx_uint_t json)
{
    u_char  c;

    while (len-- && p + 6 < end) {
        c = *s++;

        if (c == '\\' || c == '"') {
            *p++ = '\\';
            *p++ = c;

        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else if (json && c < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (ngx_uint_t) c);

        } else {
            *p++ = c;
        }
    }

    return p;
}


/* One counter family labelled by channel class; "(other)" only when used. */
static u_char *
ngx_http_ws_status_classes(u_char *p, u_char *end, const char *name,
    const char *help, uint64_t *values, ngx_http_ws_metrics_shm_t *shm)
{
    ngx_uint_t  i;

    /* ngx_http_ws_family() pastes literals: these are variables */
    p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                     name, help, name);

    for (i = 0; i < shm->nclasses; i++) {
        if (i == 0 && values[0] == 0) {
            continue;
        }

        p = ngx_slprintf(p, end, "%s{class=\"", name);
        p = i ? ngx_http_ws_status_escape(p, end, shm->classes[i].data,
                                          shm->classes[i].len, 0)
              : ngx_slprintf(p, end, "(other)");
        p = ngx_slprintf(p, end, "\"} %uL\n", values[i]);
    }

    return p;
}


/* A per-location family: open connections, or connections opened. */
static u_char *
ngx_http_ws_status_locations(u_char *p, u_char *end, const char *name,
    ngx_uint_t opened, ngx_http_ws_metrics_sum_t *sum,
    ngx_http_ws_metrics_shm_t *shm)
{
    ngx_uint_t                   i;
    ngx_http_ws_metrics_slot_t  *t;

    t = &sum->total;

    for (i = 0; i < sum->nlocations; i++) {
        if (i == 0 && t->upgrades[0] == 0) {
            continue;   /* no location past the label table */
        }

        p = ngx_slprintf(p, end, "%s{server=\"", name);
        p = ngx_http_ws_status_escape(p, end, shm->servers[i].data,
                                      shm->servers[i].len, 0);
        p = ngx_slprintf(p, end, "\",location=\"");
        p = (i == 0) ? ngx_slprintf(p, end, "(other)")
                     : ngx_http_ws_status_escape(p, end,
                                                 shm->locations[i].data,
                                                 shm->locations[i].len, 0);
        p = opened ? ngx_slprintf(p, end, "\"} %uL\n", t->upgrades[i])
                   : ngx_slprintf(p, end, "\"} %L\n", t->connections[i]);
    }

    return p;
}


static uint64_t
ngx_http_ws_status_scalar_value(ngx_http_ws_metrics_slot_t *t, ngx_uint_t i)
{
    return *(uint64_t *) ((u_char *) t + ngx_http_ws_status_scalars[i].offset);
}


static u_char *
ngx_http_ws_status_scalars_prometheus(u_char *p, u_char *end,
    ngx_http_ws_metrics_slot_t *t)
{
    ngx_uint_t                          i;
    const ngx_http_ws_status_scalar_t  *sc;

    for (i = 0; i < sizeof(ngx_http_ws_status_scalars)
                    / sizeof(ngx_http_ws_status_scalars[0]); i++)
    {
        sc = &ngx_http_ws_status_scalars[i];
        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s %s\n%s %uL\n",
                         sc->name, sc->help, sc->name, sc->type, sc->name,
                         ngx_http_ws_status_scalar_value(t, i));
    }

    return p;
}


/*
 * "key":n,... for the table, the members of a group inside one object;
 * written after a comma-free point, ends without a trailing comma.
 */
static u_char *
ngx_http_ws_status_scalars_json(u_char *p, u_char *end,
    ngx_http_ws_metrics_slot_t *t)
{
    ngx_uint_t                          i, n, comma;
    const char                         *group;
    const ngx_http_ws_status_scalar_t  *sc;

    group = NULL;
    comma = 0;
    n = sizeof(ngx_http_ws_status_scalars)
        / sizeof(ngx_http_ws_status_scalars[0]);

    for (i = 0; i < n; i++) {
        sc = &ngx_http_ws_status_scalars[i];

        if (sc->group != group) {
            if (group) {
                p = ngx_slprintf(p, end, "}");
            }

            if (sc->group) {
                p = ngx_slprintf(p, end, "%s\"%s\":{", comma ? "," : "",
                                 sc->group);
                comma = 0;
            }

            group = sc->group;
        }

        p = ngx_slprintf(p, end, "%s\"%s\":%uL", comma ? "," : "", sc->json,
                         ngx_http_ws_status_scalar_value(t, i));
        comma = 1;
    }

    return group ? ngx_slprintf(p, end, "}") : p;
}
