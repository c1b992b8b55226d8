
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


/* Everything a scrape reports, gathered before either format is written. */
typedef struct {
    ngx_http_ws_metrics_sum_t    *sum;
    ngx_http_ws_metrics_slot_t   *t;              /* &sum->total */
    ngx_http_ws_metrics_shm_t    *shm;
    ngx_http_ws_zone_figures_t   *zf;
} ngx_http_ws_status_figures_t;


typedef struct ngx_http_ws_status_metric_s  ngx_http_ws_status_metric_t;

/*
 * Writes the samples of one metric: for Prometheus the lines after its
 * HELP and TYPE, for JSON the value after its key.
 */
typedef u_char *(*ngx_http_ws_status_write_pt)(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);


/*
 * One metric of both formats. "name" is the Prometheus family (NULL: in
 * the JSON answer only), "json" its key in the JSON answer (NULL: in
 * Prometheus only), "group" the JSON object it sits in (NULL: the top
 * level); the writer finds its figure at "offset" and names its labels
 * with "label" and "values".
 */
struct ngx_http_ws_status_metric_s {
    const char                   *name;
    const char                   *type;
    const char                   *help;
    const char                   *group;
    const char                   *json;
    ngx_http_ws_status_write_pt   write;
    size_t                        offset;
    ngx_uint_t                    n;              /* label values */
    const char                   *label;
    const char                  **values;
    const char                   *label2;         /* a second dimension */
    const char                  **values2;
    ngx_uint_t                    n2;             /* its label values */
};


static ngx_int_t ngx_http_ws_status_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_ws_status_wants_json(ngx_http_request_t *r);
static void ngx_http_ws_status_zone(ngx_http_request_t *r,
    ngx_http_ws_zone_figures_t *zf, ngx_uint_t walk);
static void ngx_http_ws_status_walk(ngx_http_ws_zone_figures_t *zf,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static u_char *ngx_http_ws_status_write(u_char *p, u_char *end,
    ngx_http_ws_status_figures_t *f, ngx_uint_t json);
static u_char *ngx_http_ws_status_escape(u_char *p, u_char *end,
    u_char *s, size_t len, ngx_uint_t json);
static u_char *ngx_http_ws_status_close_code(u_char *p, u_char *end,
    ngx_uint_t i);
static u_char *ngx_http_ws_status_location_labels(u_char *p, u_char *end,
    ngx_http_ws_metrics_shm_t *shm, ngx_uint_t i, ngx_uint_t json);

static u_char *ngx_http_ws_status_counter(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_by_label(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_by_labels(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_histogram(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_handshakes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_closes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_locations(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_classes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_by_location(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_proxy(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_proxy_row(u_char *p, u_char *end,
    const char *key, uint64_t *row, const char **values, ngx_uint_t n);
static u_char *ngx_http_ws_status_figure(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_zone_bytes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_zone_name(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_top(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);
static u_char *ngx_http_ws_status_capacity(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json);


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
static const char  *ngx_http_ws_backend_hooks[] = {
    "connect", "close", "message", "subscribe"
};
static const char  *ngx_http_ws_backend_results[] = {
    "2xx", "3xx", "4xx", "5xx", "other"
};
static const char  *ngx_http_ws_proxy_connect_results[] = { "ok", "failed" };
static const char  *ngx_http_ws_proxy_handshake_results[] = {
    "101", "4xx", "5xx", "invalid", "unreachable", "timeout", "error"
};
static const char  *ngx_http_ws_proxy_directions[] = {
    "to_upstream", "from_upstream"
};
/* as $ws_upstream_closed_by, in the order of NGX_HTTP_WS_PROXY_CLOSED_* */
static const char  *ngx_http_ws_proxy_closed_by[] = {
    "none", "upstream", "proxy"
};


#define ngx_http_ws_slot(field)  offsetof(ngx_http_ws_metrics_slot_t, field)
#define ngx_http_ws_zf(field)    offsetof(ngx_http_ws_zone_figures_t, field)
#define ngx_http_ws_cap(field)   offsetof(ngx_http_ws_capacity_t, field)


/*
 * Every metric of ws_status, in the order of the JSON answer; members of
 * one JSON object stand together.
 */
static const ngx_http_ws_status_metric_t  ngx_http_ws_status_metrics[] = {

    { NULL, NULL, NULL, NULL, "connections",
      ngx_http_ws_status_figure, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_workers", "gauge",
      "Worker processes writing metrics (old ones included while a reload "
      "drains them).", NULL, "workers",
      ngx_http_ws_status_figure, 1, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_connections", "gauge",
      "WebSocket connections open now.", NULL, "locations",
      ngx_http_ws_status_locations, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_connections_opened_total", "counter",
      "WebSocket connections opened (101).", NULL, NULL,
      ngx_http_ws_status_locations, 1, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_handshakes_total", "counter",
      "Answers to requests of ws_listen locations, by HTTP status.",
      NULL, "handshakes",
      ngx_http_ws_status_handshakes, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_closes_total", "counter",
      "Ended connections by close code and by who sent the first close "
      "frame (none: the TCP connection ended without one).",
      NULL, "closes",
      ngx_http_ws_status_closes, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_messages_total", "counter",
      "Data messages received (in) and written (out).", NULL, "messages",
      ngx_http_ws_status_by_labels, ngx_http_ws_slot(messages), 2,
      "direction", ngx_http_ws_direction_names,
      "opcode", ngx_http_ws_opcode_names, 2 },

    { "ngx_ws_bytes_total", "counter",
      "WebSocket bytes after the 101, frame headers included, TLS "
      "excluded.", NULL, "bytes",
      ngx_http_ws_status_by_label, ngx_http_ws_slot(bytes), 2,
      "direction", ngx_http_ws_direction_names, NULL, NULL, 0 },

    { "ngx_ws_frames_rejected_total", "counter",
      "Client frames that failed the connection, by reason (close 1002, "
      "1007, 1009).", NULL, "frames_rejected",
      ngx_http_ws_status_by_label, ngx_http_ws_slot(rejected),
      NGX_HTTP_WS_REJECT_N, "reason", ngx_http_ws_reject_names,
      NULL, NULL, 0 },

    /* backend hooks: ngx_http_ws_backend*.c */
    { "ngx_ws_backend_calls_total", "counter",
      "Backend hook calls by hook and answer status class (5xx includes "
      "NGINX's own 502 and 504).", NULL, NULL,
      ngx_http_ws_status_by_labels, ngx_http_ws_slot(backend_calls),
      NGX_HTTP_WS_BACKEND_HOOKS, "hook", ngx_http_ws_backend_hooks,
      "status", ngx_http_ws_backend_results, NGX_HTTP_WS_BACKEND_RESULTS },

    /*
     * the proxy (ws_proxy_pass), by location: a family each in
     * Prometheus, one object per location in the JSON answer ("proxy")
     */
    { "ngx_ws_proxy_connects_total", "counter",
      "Connections to an upstream peer, by result (each peer tried "
      "counts).", NULL, NULL,
      ngx_http_ws_status_by_location, ngx_http_ws_slot(proxy_connects), 2,
      "result", ngx_http_ws_proxy_connect_results, NULL, NULL, 0 },

    { "ngx_ws_proxy_handshakes_total", "counter",
      "Proxied handshakes by outcome: 101, the upstream's refusal (4xx, "
      "5xx), an unusable answer or no peer answering (502), a timeout "
      "(504), an error of ours (500).", NULL, NULL,
      ngx_http_ws_status_by_location, ngx_http_ws_slot(proxy_handshakes),
      NGX_HTTP_WS_PROXY_HANDSHAKE_N,
      "result", ngx_http_ws_proxy_handshake_results, NULL, NULL, 0 },

    { "ngx_ws_proxy_messages_total", "counter",
      "Data messages relayed to and from upstreams.", NULL, NULL,
      ngx_http_ws_status_by_location, ngx_http_ws_slot(proxy_messages), 2,
      "direction", ngx_http_ws_proxy_directions, NULL, NULL, 0 },

    { "ngx_ws_proxy_bytes_total", "counter",
      "Bytes written to and read from upstreams after the 101, frame "
      "headers included, TLS excluded.", NULL, NULL,
      ngx_http_ws_status_by_location, ngx_http_ws_slot(proxy_bytes), 2,
      "direction", ngx_http_ws_proxy_directions, NULL, NULL, 0 },

    { "ngx_ws_proxy_closes_total", "counter",
      "Upstream links that ended after the 101, by who sent the first "
      "close frame on them (upstream: it closed or vanished; proxy: "
      "ngx_ws did, for the client or on an error; none: neither).",
      NULL, NULL,
      ngx_http_ws_status_by_location, ngx_http_ws_slot(proxy_closes), 3,
      "by", ngx_http_ws_proxy_closed_by, NULL, NULL, 0 },

    { NULL, NULL, NULL, NULL, "proxy",
      ngx_http_ws_status_proxy, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_publishes_total", "counter",
      "Messages published (clients, control protocol, HTTP API) by "
      "channel kind and result.", NULL, "publishes",
      ngx_http_ws_status_by_labels, ngx_http_ws_slot(publishes), 2,
      "kind", ngx_http_ws_publish_kinds,
      "result", ngx_http_ws_publish_results, 2 },

    { "ngx_ws_worker_queue_messages", "gauge",
      "Messages waiting in the workers' queues.", "worker_queue",
      "messages",
      ngx_http_ws_status_figure, 2, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_worker_queue_dropped_total", "counter",
      "Messages a worker missed because its queue in the zone was full.",
      "worker_queue", "dropped",
      ngx_http_ws_status_figure, 3, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_pings_sent_total", "counter",
      "Heartbeat pings sent.", NULL, "pings_sent",
      ngx_http_ws_status_counter, ngx_http_ws_slot(pings_sent), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_pongs_received_total", "counter",
      "Pongs received.", NULL, "pongs_received",
      ngx_http_ws_status_counter, ngx_http_ws_slot(pongs_received), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_ping_timeouts_total", "counter",
      "Connections closed after ws_ping_max_missed unanswered pings.",
      NULL, "ping_timeouts",
      ngx_http_ws_status_counter, ngx_http_ws_slot(ping_timeouts), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_idle_timeouts_total", "counter",
      "Connections closed by ws_idle_timeout.", NULL, "idle_timeouts",
      ngx_http_ws_status_counter, ngx_http_ws_slot(idle_timeouts), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_backpressure_pauses_total", "counter",
      "Times reading from a client paused because its output was over the "
      "high-water mark.", NULL, "backpressure_pauses",
      ngx_http_ws_status_counter, ngx_http_ws_slot(backpressure_pauses), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_slow_consumer_drops_total", "counter",
      "Channel messages dropped for clients over ws_send_buffer "
      "(ws_slow_consumer drop).", NULL, "slow_consumer_drops",
      ngx_http_ws_status_counter, ngx_http_ws_slot(slow_consumer_drops), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_io_uring_writes_total", "counter",
      "Writes to clients handed to the worker's io_uring (ws_io_uring).",
      NULL, "io_uring_writes",
      ngx_http_ws_status_counter, ngx_http_ws_slot(uring_operations), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_io_uring_submissions_total", "counter",
      "System calls that submitted them, several writes each under load.",
      NULL, "io_uring_submissions",
      ngx_http_ws_status_counter, ngx_http_ws_slot(uring_submissions), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_slow_consumer_closes_total", "counter",
      "Clients closed with 1008 for being over ws_send_buffer "
      "(ws_slow_consumer close).", NULL, "slow_consumer_closes",
      ngx_http_ws_status_counter, ngx_http_ws_slot(slow_consumer_closes),
      0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_rate_limited_total", "counter",
      "Client messages over ws_limit_rate (dropped, or the connection "
      "closed).", NULL, "rate_limited",
      ngx_http_ws_status_counter, ngx_http_ws_slot(rate_limited), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_bans_total", "counter",
      "Addresses banned by ws_ban (each ban once).", NULL, "bans",
      ngx_http_ws_status_counter, ngx_http_ws_slot(bans), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_ban_refusals_total", "counter",
      "Upgrades refused with 429 because the address was banned by ws_ban.",
      NULL, "ban_refusals",
      ngx_http_ws_status_counter, ngx_http_ws_slot(ban_refused), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_deliveries_total", "counter",
      "Channel messages queued on subscribers (fan-out).",
      NULL, "deliveries",
      ngx_http_ws_status_counter, ngx_http_ws_slot(deliveries), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_redis_connected_workers", "gauge",
      "Workers whose ws_redis publish link is up.",
      "redis", "connected_workers",
      ngx_http_ws_status_counter, ngx_http_ws_slot(redis_up), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_redis_disconnects_total", "counter",
      "Redis links that went down (each outage once per link, not per "
      "retry).", "redis", "disconnects",
      ngx_http_ws_status_counter, ngx_http_ws_slot(redis_disconnects), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_redis_publishes_refused_total", "counter",
      "Publishes to cross-node channels refused because Redis was down.",
      "redis", "publishes_refused",
      ngx_http_ws_status_counter, ngx_http_ws_slot(redis_refused), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_channel_publishes_total", "counter",
      "Messages published, by channel class (the name up to its first "
      "':'; \"(other)\" past the first 15).", NULL, "channel_classes",
      ngx_http_ws_status_classes, ngx_http_ws_slot(class_publishes), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_channel_deliveries_total", "counter",
      "Channel messages queued on subscribers, by channel class.",
      NULL, NULL,
      ngx_http_ws_status_classes, ngx_http_ws_slot(class_deliveries), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_publish_delay_seconds", "histogram",
      "Time from a publish to its fan-out in each worker with subscribers "
      "(millisecond clock).", "latency", "publish_delay_seconds",
      ngx_http_ws_status_histogram, ngx_http_ws_slot(publish_delay), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_send_delay_seconds", "histogram",
      "Time a data frame waited in a connection's output until the socket "
      "took it; for echo, receive to write (millisecond clock).",
      "latency", "send_delay_seconds",
      ngx_http_ws_status_histogram, ngx_http_ws_slot(send_delay), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_channels", "gauge",
      "Channels known to the zone.", "channels", "count",
      ngx_http_ws_status_figure, 4, 0, NULL, NULL, NULL, NULL, 0 },

    { NULL, NULL, NULL, "channels", "subscribers",
      ngx_http_ws_status_figure, 5, 0, NULL, NULL, NULL, NULL, 0 },

    { NULL, NULL, NULL, "channels", "top",
      ngx_http_ws_status_top, 0, 0, NULL, NULL, NULL, NULL, 0 },

    /* per worker, never summed: ngx_http_ws_capacity.c */
    { "ngx_ws_worker_descriptors", "gauge",
      "Descriptors open in each worker (refreshed every second).",
      NULL, "capacity",
      ngx_http_ws_status_capacity, ngx_http_ws_cap(descriptors), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_worker_descriptors_limit", "gauge",
      "Each worker's open file limit (RLIMIT_NOFILE, worker_rlimit_nofile).",
      NULL, NULL,
      ngx_http_ws_status_capacity, ngx_http_ws_cap(descriptors_max), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_worker_connections", "gauge",
      "NGINX connections in use in each worker (WebSockets, other "
      "requests, listening sockets, upstreams).", NULL, NULL,
      ngx_http_ws_status_capacity, ngx_http_ws_cap(connections), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_worker_connections_limit", "gauge",
      "Each worker's worker_connections.", NULL, NULL,
      ngx_http_ws_status_capacity, ngx_http_ws_cap(connections_max), 0,
      NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_worker_spare_block_bytes", "gauge",
      "Memory each worker keeps in spare blocks (frames, output queue "
      "entries, write records) for its next messages; what its busiest "
      "moment had alive at once, given back within 20 s once unused.",
      NULL, NULL,
      ngx_http_ws_status_capacity, ngx_http_ws_cap(spare_blocks), 0,
      NULL, NULL, NULL, NULL, 0 },

    { NULL, NULL, NULL, "zone", "name",
      ngx_http_ws_status_zone_name, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_zone_size_bytes", "gauge",
      "Size of the ws_zone.", "zone", "size",
      ngx_http_ws_status_zone_bytes, ngx_http_ws_zf(size), 0,
      NULL, NULL, NULL, NULL, 0 },

    { NULL, NULL, NULL, "zone", "used",
      ngx_http_ws_status_zone_bytes, 0, 0, NULL, NULL, NULL, NULL, 0 },

    { "ngx_ws_zone_free_bytes", "gauge",
      "Free pages of the ws_zone, in bytes.", "zone", "free",
      ngx_http_ws_status_zone_bytes, ngx_http_ws_zf(free), 0,
      NULL, NULL, NULL, NULL, 0 },
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
    size_t                        size;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_uint_t                    json;
    ngx_http_ws_metrics_shm_t    *shm;
    ngx_http_ws_metrics_sum_t     sum;
    ngx_http_ws_zone_figures_t    zf;
    ngx_http_ws_status_figures_t  f;

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

    /*
     * every line is bounded; labels at most 2 x 4 x the label length, in
     * the locations' 2 lines and in the proxy's 16 lines per location
     * (the JSON answer's object of a proxied location counts as 2)
     */
    size = 32768
           + sum.nlocations * 20 * (512 + 8 * NGX_HTTP_WS_METRICS_LABEL_LEN)
           + zf.ntop * (128 + NGX_HTTP_WS_MAX_CHANNEL_LEN)
           + sum.workers * 512;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    f.sum = &sum;
    f.t = &sum.total;
    f.shm = shm;
    f.zf = &zf;

    b->last = ngx_http_ws_status_write(b->last, b->end, &f, json);

    if (json) {
        return ngx_http_ws_response_send(r, NGX_HTTP_OK, "application/json",
                                         b);
    }

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

    for (i = 0; i < NGX_HTTP_WS_SLOTS; i++) {
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
 * The server and the location of location i, escaped, between the quotes
 * that open the server's value and close the location's: as labels
 * (server="...",location="...") or JSON members. Location 0 gathers the
 * locations past the label table.
 */
static u_char *
ngx_http_ws_status_location_labels(u_char *p, u_char *end,
    ngx_http_ws_metrics_shm_t *shm, ngx_uint_t i, ngx_uint_t json)
{
    p = ngx_http_ws_status_escape(p, end, shm->servers[i].data,
                                  shm->servers[i].len, json);
    p = ngx_slprintf(p, end, json ? "\",\"location\":\"" : "\",location=\"");

    if (i == 0) {
        return ngx_slprintf(p, end, "(other)");
    }

    return ngx_http_ws_status_escape(p, end, shm->locations[i].data,
                                     shm->locations[i].len, json);
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


/*
 * Both formats from the one table: Prometheus text, each family with its
 * HELP and TYPE; or one JSON object, the members of a group in an object
 * of their own.
 */
static u_char *
ngx_http_ws_status_write(u_char *p, u_char *end,
    ngx_http_ws_status_figures_t *f, ngx_uint_t json)
{
    ngx_uint_t                          i, n, comma;
    const char                         *group;
    const ngx_http_ws_status_metric_t  *m;

    n = sizeof(ngx_http_ws_status_metrics)
        / sizeof(ngx_http_ws_status_metrics[0]);

    if (!json) {
        for (i = 0; i < n; i++) {
            m = &ngx_http_ws_status_metrics[i];

            if (m->name == NULL) {
                continue;
            }

            p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s %s\n",
                             m->name, m->help, m->name, m->type);
            p = m->write(p, end, m, f, 0);
        }

        return p;
    }

    group = NULL;
    comma = 0;

    p = ngx_slprintf(p, end, "{");

    for (i = 0; i < n; i++) {
        m = &ngx_http_ws_status_metrics[i];

        if (m->json == NULL) {
            continue;
        }

        if (m->group != group) {
            if (group) {
                p = ngx_slprintf(p, end, "}");
            }

            if (m->group) {
                p = ngx_slprintf(p, end, "%s\"%s\":{", comma ? "," : "",
                                 m->group);
                comma = 0;

            } else {
                comma = 1;
            }

            group = m->group;
        }

        p = ngx_slprintf(p, end, "%s\"%s\":", comma ? "," : "", m->json);
        p = m->write(p, end, m, f, 1);
        comma = 1;
    }

    if (group) {
        p = ngx_slprintf(p, end, "}");
    }

    return ngx_slprintf(p, end, "}\n");
}


#define ngx_http_ws_status_slot(f, m)                                        \
    ((uint64_t *) ((u_char *) (f)->t + (m)->offset))


/* One counter of the summed slot. */
static u_char *
ngx_http_ws_status_counter(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t  v;

    v = *ngx_http_ws_status_slot(f, m);

    return json ? ngx_slprintf(p, end, "%uL", v)
                : ngx_slprintf(p, end, "%s %uL\n", m->name, v);
}


/* Counters by one label: {label="v"} lines, or {"v":n,...}. */
static u_char *
ngx_http_ws_status_by_label(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t    *v;
    ngx_uint_t   i;

    v = ngx_http_ws_status_slot(f, m);

    if (json) {
        p = ngx_slprintf(p, end, "{");

        for (i = 0; i < m->n; i++) {
            p = ngx_slprintf(p, end, "%s\"%s\":%uL", i ? "," : "",
                             m->values[i], v[i]);
        }

        return ngx_slprintf(p, end, "}");
    }

    for (i = 0; i < m->n; i++) {
        p = ngx_slprintf(p, end, "%s{%s=\"%s\"} %uL\n", m->name, m->label,
                         m->values[i], v[i]);
    }

    return p;
}


/* Counters by two labels (n by n2 values), nested in that order. */
static u_char *
ngx_http_ws_status_by_labels(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t    *v;
    ngx_uint_t   i, j;

    v = ngx_http_ws_status_slot(f, m);

    if (json) {
        p = ngx_slprintf(p, end, "{");

        for (i = 0; i < m->n; i++) {
            p = ngx_slprintf(p, end, "%s\"%s\":{", i ? "," : "",
                             m->values[i]);

            for (j = 0; j < m->n2; j++) {
                p = ngx_slprintf(p, end, "%s\"%s\":%uL", j ? "," : "",
                                 m->values2[j], v[i * m->n2 + j]);
            }

            p = ngx_slprintf(p, end, "}");
        }

        return ngx_slprintf(p, end, "}");
    }

    for (i = 0; i < m->n; i++) {
        for (j = 0; j < m->n2; j++) {
            p = ngx_slprintf(p, end, "%s{%s=\"%s\",%s=\"%s\"} %uL\n",
                             m->name, m->label, m->values[i], m->label2,
                             m->values2[j], v[i * m->n2 + j]);
        }
    }

    return p;
}


static u_char *
ngx_http_ws_status_histogram(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t                  cumulative;
    ngx_uint_t                i, ms;
    ngx_http_ws_histogram_t  *h;

    h = (ngx_http_ws_histogram_t *) ((u_char *) f->t + m->offset);
    cumulative = 0;

    if (json) {
        p = ngx_slprintf(p, end, "{\"count\":%uL,\"sum\":%uL.%03uL,"
                         "\"buckets\":[", h->count,
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

    for (i = 0; i < NGX_HTTP_WS_METRICS_BUCKETS; i++) {
        cumulative += h->buckets[i];
        ms = ngx_http_ws_metrics_bucket_ms[i];

        if (ms) {
            p = ngx_slprintf(p, end, "%s_bucket{le=\"%ui.%03ui\"} %uL\n",
                             m->name, ms / 1000, ms % 1000, cumulative);
        } else {
            p = ngx_slprintf(p, end, "%s_bucket{le=\"+Inf\"} %uL\n",
                             m->name, cumulative);
        }
    }

    return ngx_slprintf(p, end, "%s_sum %uL.%03uL\n%s_count %uL\n",
                        m->name, h->sum_ms / 1000, h->sum_ms % 1000,
                        m->name, h->count);
}


/* By the HTTP status of the answer; the last entry gathers the others. */
static u_char *
ngx_http_ws_status_handshakes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t  i, status;
    uint64_t   *v;

    v = f->t->handshakes;

    if (json) {
        p = ngx_slprintf(p, end, "{");
    }

    for (i = 0; i < NGX_HTTP_WS_HANDSHAKE_STATUSES; i++) {
        status = ngx_http_ws_handshake_statuses[i];

        if (json) {
            p = status ? ngx_slprintf(p, end, "%s\"%ui\":%uL", i ? "," : "",
                                      status, v[i])
                       : ngx_slprintf(p, end, "%s\"other\":%uL",
                                      i ? "," : "", v[i]);

        } else {
            p = status ? ngx_slprintf(p, end, "%s{status=\"%ui\"} %uL\n",
                                      m->name, status, v[i])
                       : ngx_slprintf(p, end, "%s{status=\"other\"} %uL\n",
                                      m->name, v[i]);
        }
    }

    return json ? ngx_slprintf(p, end, "}") : p;
}


/* By close code and by who closed first; codes never seen are left out. */
static u_char *
ngx_http_ws_status_closes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t   i, j, n;
    uint64_t     v;

    if (json) {
        p = ngx_slprintf(p, end, "[");
    }

    for (i = 0, n = 0; i < NGX_HTTP_WS_CLOSED_BY_N; i++) {
        for (j = 0; j < NGX_HTTP_WS_CLOSE_CODES; j++) {
            v = f->t->closes[i][j];

            if (v == 0) {
                continue;
            }

            if (json) {
                p = ngx_slprintf(p, end, "%s{\"code\":\"", n++ ? "," : "");
                p = ngx_http_ws_status_close_code(p, end, j);
                p = ngx_slprintf(p, end, "\",\"by\":\"%s\",\"count\":%uL}",
                                 ngx_http_ws_closed_by_names[i], v);

            } else {
                p = ngx_slprintf(p, end, "%s{code=\"", m->name);
                p = ngx_http_ws_status_close_code(p, end, j);
                p = ngx_slprintf(p, end, "\",by=\"%s\"} %uL\n",
                                 ngx_http_ws_closed_by_names[i], v);
            }
        }
    }

    return json ? ngx_slprintf(p, end, "]") : p;
}


/*
 * By (server, location): the open connections (offset 0) or those opened
 * (1). The JSON answer has both in one list.
 */
static u_char *
ngx_http_ws_status_locations(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t                  i, n;
    ngx_http_ws_metrics_shm_t  *shm;

    shm = f->shm;

    if (json) {
        p = ngx_slprintf(p, end, "[");
    }

    for (i = 0, n = 0; i < f->sum->nlocations; i++) {
        if (i == 0 && f->t->upgrades[0] == 0) {
            continue;   /* no location past the label table */
        }

        if (json) {
            p = ngx_slprintf(p, end, "%s{\"server\":\"", n++ ? "," : "");

        } else {
            p = ngx_slprintf(p, end, "%s{server=\"", m->name);
        }

        p = ngx_http_ws_status_location_labels(p, end, shm, i, json);

        if (json) {
            p = ngx_slprintf(p, end, "\",\"connections\":%L,\"opened\":%uL}",
                             f->t->connections[i], f->t->upgrades[i]);

        } else {
            p = m->offset ? ngx_slprintf(p, end, "\"} %uL\n",
                                         f->t->upgrades[i])
                          : ngx_slprintf(p, end, "\"} %L\n",
                                         f->t->connections[i]);
        }
    }

    return json ? ngx_slprintf(p, end, "]") : p;
}


/*
 * By (server, location) and one label more, for a [location][n] table of
 * the slot; locations whose row is all zeros (no proxy there) are left
 * out. Prometheus only (JSON: ngx_http_ws_status_proxy).
 */
static u_char *
ngx_http_ws_status_by_location(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t                   *v, *row;
    ngx_uint_t                  i, j, any;
    ngx_http_ws_metrics_shm_t  *shm;

    shm = f->shm;
    v = ngx_http_ws_status_slot(f, m);

    for (i = 0; i < f->sum->nlocations; i++) {
        row = v + i * m->n;

        for (j = 0, any = 0; j < m->n; j++) {
            any |= (row[j] != 0);
        }

        if (!any) {
            continue;
        }

        for (j = 0; j < m->n; j++) {
            p = ngx_slprintf(p, end, "%s{server=\"", m->name);
            p = ngx_http_ws_status_location_labels(p, end, shm, i, 0);
            p = ngx_slprintf(p, end, "\",%s=\"%s\"} %uL\n",
                             m->label, m->values[j], row[j]);
        }
    }

    return p;
}


/*
 * The JSON answer's "proxy": one object per location that proxies (any of
 * its proxy counters above 0), with the five tables of the Prometheus
 * families above, the same figures under the same label values:
 *
 *   {"server":"","location":"/app/","connects":{"ok":3,"failed":0},
 *    "handshakes":{"101":2,...},"messages":{"to_upstream":4,...},
 *    "bytes":{"to_upstream":254,"from_upstream":230},
 *    "closes":{"none":0,"upstream":1,"proxy":2}}
 */
static u_char *
ngx_http_ws_status_proxy(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t                   i, j, n, any;
    ngx_http_ws_metrics_shm_t   *shm;
    ngx_http_ws_metrics_slot_t  *t;

    shm = f->shm;
    t = f->t;

    p = ngx_slprintf(p, end, "[");

    for (i = 0, n = 0; i < f->sum->nlocations; i++) {
        any = 0;

        for (j = 0; j < 2; j++) {
            any |= (t->proxy_connects[i][j] | t->proxy_messages[i][j]
                    | t->proxy_bytes[i][j]) != 0;
        }

        for (j = 0; j < 3; j++) {
            any |= (t->proxy_closes[i][j] != 0);
        }

        for (j = 0; j < NGX_HTTP_WS_PROXY_HANDSHAKE_N; j++) {
            any |= (t->proxy_handshakes[i][j] != 0);
        }

        if (!any) {
            continue;
        }

        p = ngx_slprintf(p, end, "%s{\"server\":\"", n++ ? "," : "");
        p = ngx_http_ws_status_location_labels(p, end, shm, i, 1);
        p = ngx_slprintf(p, end, "\"");

        p = ngx_http_ws_status_proxy_row(p, end, "connects",
                                         t->proxy_connects[i],
                                         ngx_http_ws_proxy_connect_results,
                                         2);
        p = ngx_http_ws_status_proxy_row(p, end, "handshakes",
                                         t->proxy_handshakes[i],
                                         ngx_http_ws_proxy_handshake_results,
                                         NGX_HTTP_WS_PROXY_HANDSHAKE_N);
        p = ngx_http_ws_status_proxy_row(p, end, "messages",
                                         t->proxy_messages[i],
                                         ngx_http_ws_proxy_directions, 2);
        p = ngx_http_ws_status_proxy_row(p, end, "bytes",
                                         t->proxy_bytes[i],
                                         ngx_http_ws_proxy_directions, 2);
        p = ngx_http_ws_status_proxy_row(p, end, "closes",
                                         t->proxy_closes[i],
                                         ngx_http_ws_proxy_closed_by, 3);

        p = ngx_slprintf(p, end, "}");
    }

    return ngx_slprintf(p, end, "]");
}


/* ,"key":{"value":n,...} of one location's row. */
static u_char *
ngx_http_ws_status_proxy_row(u_char *p, u_char *end, const char *key,
    uint64_t *row, const char **values, ngx_uint_t n)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, end, ",\"%s\":{", key);

    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, end, "%s\"%s\":%uL", i ? "," : "", values[i],
                         row[i]);
    }

    return ngx_slprintf(p, end, "}");
}


/*
 * By channel class. The JSON answer has publishes and deliveries of a
 * class in one object.
 */
static u_char *
ngx_http_ws_status_classes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    uint64_t                   *v;
    ngx_uint_t                  i, n;
    ngx_http_ws_metrics_shm_t  *shm;

    shm = f->shm;
    v = ngx_http_ws_status_slot(f, m);

    if (json) {
        p = ngx_slprintf(p, end, "{");
    }

    for (i = 0, n = 0; i < shm->nclasses; i++) {
        /* "(other)" only once a class fell past the table */
        if (i == 0
            && (json ? f->t->class_publishes[0] == 0
                       && f->t->class_deliveries[0] == 0
                     : v[0] == 0))
        {
            continue;
        }

        p = json ? ngx_slprintf(p, end, "%s\"", n++ ? "," : "")
                 : ngx_slprintf(p, end, "%s{class=\"", m->name);
        p = i ? ngx_http_ws_status_escape(p, end, shm->classes[i].data,
                                          shm->classes[i].len, json)
              : ngx_slprintf(p, end, "(other)");

        if (json) {
            p = ngx_slprintf(p, end, "\":{\"publishes\":%uL,"
                             "\"deliveries\":%uL}",
                             f->t->class_publishes[i],
                             f->t->class_deliveries[i]);

        } else {
            p = ngx_slprintf(p, end, "\"} %uL\n", v[i]);
        }
    }

    return json ? ngx_slprintf(p, end, "}") : p;
}


/*
 * One number of the sum or of the zone, by offset: 0 connections,
 * 1 workers, 2 queued, 3 dropped, 4 channels, 5 subscribers.
 */
static u_char *
ngx_http_ws_status_figure(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    switch (m->offset) {

    case 0:
        return ngx_slprintf(p, end, "%L", f->sum->connections);

    case 1:
        return json ? ngx_slprintf(p, end, "%ui", f->sum->workers)
                    : ngx_slprintf(p, end, "%s %ui\n", m->name,
                                   f->sum->workers);

    case 2:
        return json ? ngx_slprintf(p, end, "%uL", f->zf->queued)
                    : ngx_slprintf(p, end, "%s %uL\n", m->name,
                                   f->zf->queued);

    case 3:
        return json ? ngx_slprintf(p, end, "%uL", f->zf->queue_dropped)
                    : ngx_slprintf(p, end, "%s %uL\n", m->name,
                                   f->zf->queue_dropped);

    case 4:
        return json ? ngx_slprintf(p, end, "%ui", f->zf->channels)
                    : ngx_slprintf(p, end, "%s %ui\n", m->name,
                                   f->zf->channels);

    default: /* 5 */
        return ngx_slprintf(p, end, "%uL", f->zf->subscribers);
    }
}


/* Zone memory in bytes, labelled with the zone's name; offset 0: used. */
static u_char *
ngx_http_ws_status_zone_bytes(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    size_t  v;

    v = m->offset ? *(size_t *) ((u_char *) f->zf + m->offset)
                  : f->zf->size - f->zf->free;

    if (json) {
        return ngx_slprintf(p, end, "%uz", v);
    }

    p = ngx_slprintf(p, end, "%s{zone=\"", m->name);
    p = ngx_http_ws_status_escape(p, end, f->zf->name.data, f->zf->name.len,
                                  0);
    return ngx_slprintf(p, end, "\"} %uz\n", v);
}


static u_char *
ngx_http_ws_status_zone_name(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    p = ngx_slprintf(p, end, "\"");
    p = ngx_http_ws_status_escape(p, end, f->zf->name.data, f->zf->name.len,
                                  1);
    return ngx_slprintf(p, end, "\"");
}


/* The channels with the most subscribers (the JSON answer walks them). */
static u_char *
ngx_http_ws_status_top(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t                   i;
    ngx_http_ws_zone_figures_t  *zf;

    zf = f->zf;

    p = ngx_slprintf(p, end, "[");

    /* channel names need no escaping: see wscore_channel_name_valid */
    for (i = 0; i < zf->ntop; i++) {
        p = ngx_slprintf(p, end, "%s{\"channel\":\"%*s\",\"subscribers\":%ui,"
                         "\"seq\":%uL}", i ? "," : "", zf->top_len[i],
                         zf->top_name[i], zf->top_subscribers[i],
                         zf->top_seq[i]);
    }

    return ngx_slprintf(p, end, "]");
}


/*
 * One figure of each worker's capacity, labelled with its pid; the JSON
 * answer has all of a worker's in one object.
 */
static u_char *
ngx_http_ws_status_capacity(u_char *p, u_char *end,
    const ngx_http_ws_status_metric_t *m, ngx_http_ws_status_figures_t *f,
    ngx_uint_t json)
{
    ngx_uint_t                   i, n;
    ngx_http_ws_capacity_t      *cap;
    ngx_http_ws_metrics_slot_t  *slot;

    if (json) {
        p = ngx_slprintf(p, end, "[");
    }

    for (i = 0, n = 0; i < NGX_HTTP_WS_METRICS_SLOTS; i++) {
        slot = f->shm->slots[i];

        if (slot == NULL || slot->pid == 0) {
            continue;
        }

        cap = &slot->capacity;

        if (json) {
            p = ngx_slprintf(p, end, "%s{\"pid\":%P,\"descriptors\":%uL,"
                             "\"descriptors_limit\":%uL,"
                             "\"connections\":%uL,"
                             "\"connections_limit\":%uL,"
                             "\"spare_block_bytes\":%uL}",
                             n++ ? "," : "", slot->pid, cap->descriptors,
                             cap->descriptors_max, cap->connections,
                             cap->connections_max, cap->spare_blocks);

        } else {
            p = ngx_slprintf(p, end, "%s{pid=\"%P\"} %uL\n", m->name,
                             slot->pid,
                             *(uint64_t *) ((u_char *) cap + m->offset));
        }
    }

    return json ? ngx_slprintf(p, end, "]") : p;
}
