
/*
 * ngx_ws: descriptors and connections of each worker against its limits.
 *
 * A WebSocket holds one NGINX connection and one descriptor for as long
 * as it is open (more with a backend or a proxied upstream), so the
 * limits that end a busy server are the worker's RLIMIT_NOFILE and its
 * worker_connections, not memory. NGINX refuses connections past them
 * with no more than an "accept() failed (24: Too many open files)" in the
 * error log. Each worker counts its open descriptors (/proc/self/fd) and
 * connections once a second into its own metrics slot, where ws_status
 * and "ws_health ready" read them; a configuration whose
 * ws_max_connections those limits cannot hold is warned about at start.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <dirent.h>

#include "ngx_http_ws_capacity.h"
#include "ngx_http_ws_block_cache.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_metrics.h"


/* How often a worker refreshes its figures. */
#define NGX_HTTP_WS_CAPACITY_INTERVAL  1000


static void ngx_http_ws_capacity_timer(ngx_event_t *ev);
static uint64_t ngx_http_ws_capacity_descriptors(uint64_t max);


static ngx_event_t  ngx_http_ws_capacity_event;


/*
 * Called by ws_max_connections: the largest cap of the configuration and
 * where it was read, for the check at start.
 */
void
ngx_http_ws_capacity_note_cap(ngx_conf_t *cf, ngx_uint_t max)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    if (max > wmcf->max_connections) {
        wmcf->max_connections = max;
        ngx_http_ws_conf_here(cf, &wmcf->max_connections_where);
    }
}


/*
 * ws_max_connections counts the WebSockets of all workers, each of which
 * holds one connection and one descriptor in its worker: the workers
 * together can hold worker_processes x min(worker_connections, open file
 * limit) of them, less their listening sockets and log files. A cap
 * above that is never reached: NGINX's accept() fails first, without the
 * cap's 503 and Retry-After. Runs at "nginx -t" and at every start and
 * reload, when worker_rlimit_nofile and the events block are known.
 */
ngx_int_t
ngx_http_ws_capacity_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                per_worker, nofile, workers;
    struct rlimit             rlmt;
    ngx_core_conf_t          *ccf;
    ngx_event_conf_t         *ecf;
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL || wmcf->max_connections == 0
        || ngx_get_conf(cycle->conf_ctx, ngx_events_module) == NULL)
    {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    ecf = ngx_event_get_conf(cycle->conf_ctx, ngx_event_core_module);

    if (ccf->rlimit_nofile != NGX_CONF_UNSET) {
        nofile = ccf->rlimit_nofile;

    } else if (getrlimit(RLIMIT_NOFILE, &rlmt) == 0
               && rlmt.rlim_cur != RLIM_INFINITY)
    {
        nofile = rlmt.rlim_cur;

    } else {
        nofile = NGX_MAX_UINT32_VALUE;
    }

    workers = ccf->master ? ccf->worker_processes : 1;
    per_worker = ngx_min(ecf->connections, nofile);

    if (wmcf->max_connections <= workers * per_worker) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "ws: \"ws_max_connections %ui\" in %V:%ui cannot be "
                  "reached: %ui worker process(es) hold at most %ui "
                  "connections each (worker_connections %ui, open file "
                  "limit %ui); raise worker_connections and "
                  "worker_rlimit_nofile, or lower the cap",
                  wmcf->max_connections, &wmcf->max_connections_where.file,
                  wmcf->max_connections_where.line, workers, per_worker,
                  ecf->connections, nofile);

    return NGX_OK;
}


ngx_int_t
ngx_http_ws_capacity_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    ev = &ngx_http_ws_capacity_event;

    ngx_memzero(ev, sizeof(ngx_event_t));
    ev->handler = ngx_http_ws_capacity_timer;
    ev->log = cycle->log;
    ev->data = ev;

    /* a figure for the gauges must never keep an exiting worker alive */
    ev->cancelable = 1;

    ngx_http_ws_capacity_update(&ngx_http_ws_metrics->capacity);

    ngx_add_timer(ev, NGX_HTTP_WS_CAPACITY_INTERVAL);

    return NGX_OK;
}


static void
ngx_http_ws_capacity_timer(ngx_event_t *ev)
{
    ngx_http_ws_capacity_update(&ngx_http_ws_metrics->capacity);

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_WS_CAPACITY_INTERVAL);
}


void
ngx_http_ws_capacity_update(ngx_http_ws_capacity_t *cap)
{
    struct rlimit  rlmt;

    if (getrlimit(RLIMIT_NOFILE, &rlmt) == 0
        && rlmt.rlim_cur != RLIM_INFINITY)
    {
        cap->descriptors_max = rlmt.rlim_cur;
    }

    cap->descriptors = ngx_http_ws_capacity_descriptors(cap->descriptors_max);
    cap->connections_max = ngx_cycle->connection_n;
    cap->connections = ngx_cycle->connection_n
                       - ngx_cycle->free_connection_n;

    /* not a limit, but memory a quiet worker should give back in time */
    cap->spare_blocks = ngx_http_ws_block_cache_bytes();
}


/*
 * The entries of /proc/self/fd, less the one the listing itself opened.
 * A worker out of descriptors cannot open the listing: it is at its
 * limit. Without /proc (not Linux) the NGINX connections in use stand
 * in: most descriptors of a worker are connections.
 */
static uint64_t
ngx_http_ws_capacity_descriptors(uint64_t max)
{
    DIR            *dir;
    uint64_t        n;
    ngx_err_t       err;
    struct dirent  *de;

    dir = opendir("/proc/self/fd");

    if (dir == NULL) {
        err = ngx_errno;

        if (err == NGX_EMFILE || err == NGX_ENFILE) {
            return max;
        }

        return ngx_cycle->connection_n - ngx_cycle->free_connection_n;
    }

    n = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }

    closedir(dir);

    return n ? n - 1 : 0;
}


/* used / max in percent, rounded down; 0 when the limit is not known. */
ngx_uint_t
ngx_http_ws_capacity_percent(uint64_t used, uint64_t max)
{
    if (max == 0) {
        return 0;
    }

    return (ngx_uint_t) (used * 100 / max);
}
