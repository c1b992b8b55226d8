
/*
 * ngx_ws: waking workers when messages are queued for them.
 *
 * One eventfd per worker slot, made in the master before the workers are
 * forked (init_module runs there on start and on every reload), so every
 * worker can wake every other. A reload makes a new set: the master
 * closes the old one with the old cycle, new workers inherit only the new
 * set, and old workers, which keep theirs, are no longer woken: they are
 * closing their connections anyway.
 *
 * A publisher wakes a worker only when its queue turns non-empty. During
 * a reload an old worker may still publish and wake a slot's old owner
 * through the old set, leaving the new owner's queue non-empty with no
 * wakeup on the way. A slow sweep timer catches that case: it drains a
 * queue that was left non-empty, so a reload delays such messages by at
 * most the sweep interval and never strands them.
 */


#include "ngx_http_ws_ipc.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_zone.h"

#include <sys/eventfd.h>


typedef struct {
    ngx_uint_t          n;
    int                 fds[NGX_HTTP_WS_MAX_WORKERS];
} ngx_http_ws_eventfds_t;


static void ngx_http_ws_ipc_close_fds(void *data);
static void ngx_http_ws_ipc_read_handler(ngx_event_t *rev);
static void ngx_http_ws_ipc_sweep_handler(ngx_event_t *ev);
static void ngx_http_ws_ipc_drain(ngx_shm_zone_t *zone, ngx_event_t *again);


/* Messages taken from the zone per lock. */
#define NGX_HTTP_WS_TAKE_BATCH  64

#define NGX_HTTP_WS_SWEEP_INTERVAL  250


/* the set of the newest cycle; a worker only ever sees its own */
static ngx_http_ws_eventfds_t  *ngx_http_ws_eventfds;
static ngx_connection_t        *ngx_http_ws_ipc_connection;
static ngx_shm_zone_t          *ngx_http_ws_ipc_zone;
static ngx_event_t              ngx_http_ws_ipc_sweep;
/* who takes the messages: channels, which sit above this file */
static ngx_http_ws_ipc_deliver_pt  ngx_http_ws_ipc_deliver;


ngx_int_t
ngx_http_ws_ipc_init_module(ngx_cycle_t *cycle)
{
    size_t                     need;
    ngx_uint_t                 i, n;
    ngx_core_conf_t           *ccf;
    ngx_pool_cleanup_t        *cln;
    ngx_http_ws_eventfds_t    *efds;
    ngx_http_ws_main_conf_t   *wmcf;

    ngx_http_ws_eventfds = NULL;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL || wmcf->zone == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    n = (ccf->worker_processes > 0) ? (ngx_uint_t) ccf->worker_processes : 1;

    if (n > NGX_HTTP_WS_MAX_WORKERS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ws_zone supports at most %d worker processes, "
                      "%ui configured", NGX_HTTP_WS_MAX_WORKERS, n);
        return NGX_ERROR;
    }

    /* each worker's queue, plus room for the zone's own bookkeeping */
    need = n * NGX_HTTP_WS_QUEUE_LEN * sizeof(ngx_http_ws_msg_t *)
           + 16 * ngx_pagesize;

    if (wmcf->zone->shm.size < need) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ws_zone \"%V\" of %uz bytes is too small for %ui "
                      "worker processes, it must be at least %uzk",
                      &wmcf->zone->shm.name, wmcf->zone->shm.size, n,
                      (need + 1023) / 1024);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, sizeof(ngx_http_ws_eventfds_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    efds = cln->data;
    efds->n = 0;
    cln->handler = ngx_http_ws_ipc_close_fds;

    for (i = 0; i < n; i++) {
        efds->fds[i] = eventfd(0, EFD_NONBLOCK);

        if (efds->fds[i] == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "ws: eventfd() failed");
            return NGX_ERROR;
        }

        efds->n++;
    }

    ngx_http_ws_eventfds = efds;

    return NGX_OK;
}


static void
ngx_http_ws_ipc_close_fds(void *data)
{
    ngx_http_ws_eventfds_t  *efds = data;

    ngx_uint_t  i;

    for (i = 0; i < efds->n; i++) {
        if (close(efds->fds[i]) == -1) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "ws: close() of an eventfd failed");
        }
    }

    efds->n = 0;
}


ngx_int_t
ngx_http_ws_ipc_init_process(ngx_cycle_t *cycle,
    ngx_http_ws_ipc_deliver_pt deliver)
{
    int                        fd;
    ngx_connection_t          *c;
    ngx_http_ws_main_conf_t   *wmcf;

    ngx_http_ws_ipc_deliver = deliver;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL || wmcf->zone == NULL || ngx_http_ws_eventfds == NULL
        || ngx_process != NGX_PROCESS_WORKER
        || ngx_worker >= ngx_http_ws_eventfds->n)
    {
        return NGX_OK;
    }

    if (ngx_http_ws_zone_register_worker(wmcf->zone) != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ws: no room for the worker queue in ws_zone");
        return NGX_ERROR;
    }

    fd = ngx_http_ws_eventfds->fds[ngx_worker];

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->read->handler = ngx_http_ws_ipc_read_handler;
    c->read->log = cycle->log;
    c->data = wmcf->zone;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    ngx_http_ws_ipc_connection = c;
    ngx_http_ws_ipc_zone = wmcf->zone;

    ngx_http_ws_ipc_sweep.handler = ngx_http_ws_ipc_sweep_handler;
    ngx_http_ws_ipc_sweep.log = cycle->log;
    ngx_http_ws_ipc_sweep.data = wmcf->zone;
    ngx_http_ws_ipc_sweep.cancelable = 1;

    /* whatever the slot's previous owner left behind */
    ngx_add_timer(&ngx_http_ws_ipc_sweep, 0);

    return NGX_OK;
}


/*
 * The eventfd is shared with the master and the other workers: it is
 * taken out of this worker's event loop, never closed here.
 */
void
ngx_http_ws_ipc_exit_process(ngx_cycle_t *cycle)
{
    ngx_connection_t  *c;

    c = ngx_http_ws_ipc_connection;

    if (c == NULL) {
        return;
    }

    ngx_http_ws_ipc_connection = NULL;

    if (ngx_http_ws_ipc_sweep.timer_set) {
        ngx_del_timer(&ngx_http_ws_ipc_sweep);
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


void
ngx_http_ws_ipc_notify(ngx_uint_t slot)
{
    uint64_t  one;

    if (ngx_http_ws_eventfds == NULL || slot >= ngx_http_ws_eventfds->n) {
        return;
    }

    one = 1;

    /* EAGAIN means the counter is saturated: the worker is woken anyway */
    if (write(ngx_http_ws_eventfds->fds[slot], &one, sizeof(uint64_t)) == -1
        && ngx_errno != NGX_EAGAIN)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "ws: write() to the eventfd of worker %ui failed",
                      slot);
    }
}


static void
ngx_http_ws_ipc_read_handler(ngx_event_t *rev)
{
    uint64_t           count;
    ngx_connection_t  *c;

    c = rev->data;

    (void) read(c->fd, &count, sizeof(uint64_t));

    ngx_http_ws_ipc_drain(c->data, rev);
}


static void
ngx_http_ws_ipc_sweep_handler(ngx_event_t *ev)
{
    if (ngx_exiting) {
        return;
    }

    ngx_http_ws_ipc_drain(ev->data, ngx_http_ws_ipc_connection
                                    ? ngx_http_ws_ipc_connection->read
                                    : NULL);

    ngx_add_timer(ev, NGX_HTTP_WS_SWEEP_INTERVAL);
}


static void
ngx_http_ws_ipc_drain(ngx_shm_zone_t *zone, ngx_event_t *again)
{
    ngx_uint_t          i, n, rounds;
    ngx_http_ws_msg_t  *msgs[NGX_HTTP_WS_TAKE_BATCH];

    /* a bounded number of batches per wakeup, then let others run */
    for (rounds = 0; rounds < 16; rounds++) {

        n = ngx_http_ws_zone_take(zone, msgs, NGX_HTTP_WS_TAKE_BATCH);

        for (i = 0; i < n; i++) {
            ngx_http_ws_ipc_deliver(msgs[i]);
        }

        if (n) {
            ngx_http_ws_zone_release(zone, msgs, n);
        }

        if (n < NGX_HTTP_WS_TAKE_BATCH) {
            return;
        }
    }

    /* more left: come back after this loop pass */
    if (again) {
        ngx_post_event(again, &ngx_posted_events);
    }
}
