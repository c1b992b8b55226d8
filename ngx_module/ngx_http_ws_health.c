
/*
 * ngx_ws: "ws_health", endpoints for load balancers and orchestrators.
 *
 * "live" answers 200 whenever a worker answers at all. "ready" answers
 * 200 or 503 with the checks as JSON: the worker is not shutting down,
 * the ws_zone has room and holds the metrics, and the connections of all
 * workers are under the max_connections high-water mark (if set), no
 * worker is near its descriptor or worker_connections limit (if set),
 * and Redis is reachable when ws_redis is set.
 */


#include "ngx_http_ws_health.h"
#include "ngx_http_ws_capacity.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_zone.h"


#define NGX_HTTP_WS_HEALTH_LIVE   0
#define NGX_HTTP_WS_HEALTH_READY  1

/* the checks that fail, as bits of the worker's readiness state */
#define NGX_HTTP_WS_HEALTH_WORKER  0x01
#define NGX_HTTP_WS_HEALTH_ZONE    0x02
#define NGX_HTTP_WS_HEALTH_CONNS   0x04
#define NGX_HTTP_WS_HEALTH_REDIS   0x08
#define NGX_HTTP_WS_HEALTH_FDS     0x10
#define NGX_HTTP_WS_HEALTH_WC      0x20


struct ngx_http_ws_health_conf_s {
    ngx_uint_t                 kind;
    ngx_uint_t                 max_connections;  /* 0: no limit */
    size_t                     min_zone_free;
    ngx_uint_t                 max_descriptors;  /* percent, 0: no check */
    ngx_uint_t                 max_worker_connections;  /* percent */
};


/* The worker nearest to one of its limits, as the ready check saw it. */
typedef struct {
    ngx_pid_t                  pid;
    uint64_t                   used;
    uint64_t                   limit;
    ngx_uint_t                 percent;
} ngx_http_ws_health_worst_t;


static ngx_int_t ngx_http_ws_health_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_health_ready(ngx_http_request_t *r,
    ngx_http_ws_health_conf_t *hc, ngx_buf_t *b);
static void ngx_http_ws_health_worst(ngx_http_ws_metrics_shm_t *shm,
    ngx_http_ws_health_worst_t *fd, ngx_http_ws_health_worst_t *conn);
static u_char *ngx_http_ws_health_limit(u_char *p, u_char *end,
    const char *name, ngx_uint_t ok, ngx_http_ws_health_worst_t *w,
    ngx_uint_t max);
static ngx_int_t ngx_http_ws_health_percent(ngx_str_t *value, size_t skip);
static void ngx_http_ws_health_log_change(ngx_log_t *log, ngx_uint_t failed);


/*
 * The checks that failed at this worker's last readiness answer. A load
 * balancer probes every second or so: during an outage a line per probe
 * would bury the log, so a line is written when the set of failed checks
 * changes (not ready, a different reason, ready again), once per worker.
 */
static ngx_uint_t  ngx_http_ws_health_failed;


char *
ngx_http_ws_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ssize_t                     size;
    ngx_int_t                   n;
    ngx_str_t                  *value, arg;
    ngx_uint_t                  i;
    ngx_http_ws_main_conf_t    *wmcf;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_ws_health_conf_t  *hc;

    if (wscf->health) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "conflicts with another content handler in this location "
               "(ws_listen, ws_publisher, ws_status, proxy_pass...)";
    }

    hc = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_health_conf_t));
    if (hc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "live") == 0) {
        hc->kind = NGX_HTTP_WS_HEALTH_LIVE;

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_health live\" takes no parameters");
            return NGX_CONF_ERROR;
        }

    } else if (ngx_strcmp(value[1].data, "ready") == 0) {
        hc->kind = NGX_HTTP_WS_HEALTH_READY;
        hc->min_zone_free = ngx_pagesize;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"ws_health\", "
                           "it must be \"live\" or \"ready\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_connections=", 16) == 0) {
            n = ngx_atoi(value[i].data + 16, value[i].len - 16);

            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            hc->max_connections = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "min_zone_free=", 14) == 0) {
            arg.data = value[i].data + 14;
            arg.len = value[i].len - 14;

            size = ngx_parse_size(&arg);

            if (size == NGX_ERROR) {
                goto invalid;
            }

            hc->min_zone_free = size;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_descriptors=", 16) == 0) {
            n = ngx_http_ws_health_percent(&value[i], 16);

            if (n == NGX_ERROR) {
                goto invalid;
            }

            hc->max_descriptors = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_worker_connections=", 23) == 0) {
            n = ngx_http_ws_health_percent(&value[i], 23);

            if (n == NGX_ERROR) {
                goto invalid;
            }

            hc->max_worker_connections = n;
            continue;
        }

        goto invalid;
    }

    wscf->health = hc;
    clcf->handler = ngx_http_ws_health_handler;

    if (hc->kind == NGX_HTTP_WS_HEALTH_READY) {
        wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

        ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                              "\"ws_status\" or \"ws_health ready\" in "
                              "%V:%ui needs a \"ws_zone\" in the http "
                              "block: the figures of all workers are summed "
                              "there");
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"ws_health\", expected "
                       "\"max_connections=<number above 0>\", "
                       "\"min_zone_free=<size>\", "
                       "\"max_descriptors=<1-100>%%\" or "
                       "\"max_worker_connections=<1-100>%%\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* "90%" after the name: 1 to 100, the sign required (a share, not a count) */
static ngx_int_t
ngx_http_ws_health_percent(ngx_str_t *value, size_t skip)
{
    ngx_int_t  n;

    if (value->len < skip + 2 || value->data[value->len - 1] != '%') {
        return NGX_ERROR;
    }

    n = ngx_atoi(value->data + skip, value->len - skip - 1);

    if (n == NGX_ERROR || n < 1 || n > 100) {
        return NGX_ERROR;
    }

    return n;
}


static ngx_int_t
ngx_http_ws_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_http_ws_loc_conf_t     *wscf;
    ngx_http_ws_health_conf_t  *hc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);
    hc = wscf->health;

    b = ngx_create_temp_buf(r->pool, 1024);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hc->kind == NGX_HTTP_WS_HEALTH_LIVE) {
        b->last = ngx_sprintf(b->last, "{\"status\":\"live\",\"pid\":%P}\n",
                              ngx_pid);
        return ngx_http_ws_response_send(r, NGX_HTTP_OK, "application/json",
                                         b);
    }

    rc = ngx_http_ws_health_ready(r, hc, b);

    return ngx_http_ws_response_send(r, rc, "application/json", b);
}


static ngx_int_t
ngx_http_ws_health_ready(ngx_http_request_t *r, ngx_http_ws_health_conf_t *hc,
    ngx_buf_t *b)
{
    u_char                     *p;
    size_t                      free;
    ngx_uint_t                  ok, zone_ok, conn_ok, worker_ok, redis_ok;
    ngx_uint_t                  fd_ok, wc_ok;
    ngx_http_ws_health_worst_t  fd, wc;
    ngx_http_ws_zone_ctx_t     *ctx;
    ngx_http_ws_main_conf_t    *wmcf;
    ngx_http_ws_metrics_shm_t  *shm;
    ngx_http_ws_metrics_sum_t   sum;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);
    ctx = wmcf->zone->data;

    /* a worker told to quit still answers, but takes no new clients */
    worker_ok = !(ngx_exiting || ngx_terminate || ngx_quit);

    free = ctx->shpool->pfree * ngx_pagesize;

    zone_ok = (ngx_http_ws_metrics_sum(r, &sum, &shm) == NGX_OK
               && free >= hc->min_zone_free);

    conn_ok = (hc->max_connections == 0
               || sum.connections < (int64_t) hc->max_connections);

    /* the other workers' figures are at most a second old; ours is now */
    ngx_http_ws_capacity_update(&ngx_http_ws_metrics->capacity);
    ngx_http_ws_health_worst(shm, &fd, &wc);

    fd_ok = (hc->max_descriptors == 0 || fd.percent < hc->max_descriptors);
    wc_ok = (hc->max_worker_connections == 0
             || wc.percent < hc->max_worker_connections);

    /* cross-node channels cannot be published to while Redis is away */
    redis_ok = !ngx_http_ws_redis_configured()
               || ngx_http_ws_redis_connected();

    ok = worker_ok && zone_ok && conn_ok && redis_ok && fd_ok && wc_ok;

    p = b->last;

    p = ngx_slprintf(p, b->end, "{\"status\":\"%s\",\"checks\":{"
                     "\"worker\":{\"ok\":%s,\"pid\":%P},"
                     "\"zone\":{\"ok\":%s,\"free\":%uz,\"min_free\":%uz},"
                     "\"connections\":{\"ok\":%s,\"open\":%L",
                     ok ? "ready" : "not ready",
                     worker_ok ? "true" : "false", ngx_pid,
                     zone_ok ? "true" : "false", free, hc->min_zone_free,
                     conn_ok ? "true" : "false", sum.connections);

    if (hc->max_connections) {
        p = ngx_slprintf(p, b->end, ",\"max\":%ui", hc->max_connections);
    }

    p = ngx_slprintf(p, b->end, "}");

    if (hc->max_descriptors) {
        p = ngx_http_ws_health_limit(p, b->end, "descriptors", fd_ok, &fd,
                                     hc->max_descriptors);
    }

    if (hc->max_worker_connections) {
        p = ngx_http_ws_health_limit(p, b->end, "worker_connections", wc_ok,
                                     &wc, hc->max_worker_connections);
    }

    if (ngx_http_ws_redis_configured()) {
        p = ngx_slprintf(p, b->end, ",\"redis\":{\"ok\":%s}",
                         redis_ok ? "true" : "false");
    }

    p = ngx_slprintf(p, b->end, "}}\n");

    b->last = p;

    ngx_http_ws_health_log_change(r->connection->log,
                                  (worker_ok ? 0 : NGX_HTTP_WS_HEALTH_WORKER)
                                  | (zone_ok ? 0 : NGX_HTTP_WS_HEALTH_ZONE)
                                  | (conn_ok ? 0 : NGX_HTTP_WS_HEALTH_CONNS)
                                  | (redis_ok ? 0 : NGX_HTTP_WS_HEALTH_REDIS)
                                  | (fd_ok ? 0 : NGX_HTTP_WS_HEALTH_FDS)
                                  | (wc_ok ? 0 : NGX_HTTP_WS_HEALTH_WC));

    return ok ? NGX_HTTP_OK : NGX_HTTP_SERVICE_UNAVAILABLE;
}


static void
ngx_http_ws_health_log_change(ngx_log_t *log, ngx_uint_t failed)
{
    if (failed == ngx_http_ws_health_failed) {
        return;
    }

    ngx_http_ws_health_failed = failed;

    if (failed == 0) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "ws: ready again");
        return;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0, "ws: not ready:%s%s%s%s%s%s",
                  (failed & NGX_HTTP_WS_HEALTH_WORKER)
                  ? " worker shutting down" : "",
                  (failed & NGX_HTTP_WS_HEALTH_ZONE)
                  ? " ws_zone short of memory" : "",
                  (failed & NGX_HTTP_WS_HEALTH_CONNS)
                  ? " over max_connections" : "",
                  (failed & NGX_HTTP_WS_HEALTH_REDIS)
                  ? " redis unreachable" : "",
                  (failed & NGX_HTTP_WS_HEALTH_FDS)
                  ? " descriptors near the open file limit" : "",
                  (failed & NGX_HTTP_WS_HEALTH_WC)
                  ? " connections near worker_connections" : "");
}


/*
 * The worker nearest to its descriptor limit, and the one nearest to its
 * worker_connections: a client may land on any worker, so the server is
 * as full as its fullest worker.
 */
static void
ngx_http_ws_health_worst(ngx_http_ws_metrics_shm_t *shm,
    ngx_http_ws_health_worst_t *fd, ngx_http_ws_health_worst_t *conn)
{
    ngx_uint_t                   i, pct;
    ngx_http_ws_capacity_t      *cap;
    ngx_http_ws_metrics_slot_t  *slot;

    ngx_memzero(fd, sizeof(ngx_http_ws_health_worst_t));
    ngx_memzero(conn, sizeof(ngx_http_ws_health_worst_t));

    for (i = 0; shm && i < NGX_HTTP_WS_METRICS_SLOTS; i++) {
        slot = shm->slots[i];

        if (slot == NULL || slot->pid == 0) {
            continue;
        }

        cap = &slot->capacity;

        pct = ngx_http_ws_capacity_percent(cap->descriptors,
                                           cap->descriptors_max);

        if (fd->pid == 0 || pct > fd->percent) {
            fd->pid = slot->pid;
            fd->used = cap->descriptors;
            fd->limit = cap->descriptors_max;
            fd->percent = pct;
        }

        pct = ngx_http_ws_capacity_percent(cap->connections,
                                           cap->connections_max);

        if (conn->pid == 0 || pct > conn->percent) {
            conn->pid = slot->pid;
            conn->used = cap->connections;
            conn->limit = cap->connections_max;
            conn->percent = pct;
        }
    }
}


static u_char *
ngx_http_ws_health_limit(u_char *p, u_char *end, const char *name,
    ngx_uint_t ok, ngx_http_ws_health_worst_t *w, ngx_uint_t max)
{
    return ngx_slprintf(p, end, ",\"%s\":{\"ok\":%s,\"pid\":%P,"
                        "\"used\":%uL,\"limit\":%uL,\"percent\":%ui,"
                        "\"max_percent\":%ui}",
                        name, ok ? "true" : "false", w->pid, w->used,
                        w->limit, w->percent, max);
}
