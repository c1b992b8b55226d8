
/*
 * ngx_ws: waking workers when messages are queued for them.
 *
 * One eventfd per queue slot of the zone, made in the master before the
 * workers are forked, so every worker can wake every other. The set is
 * the master's for its whole life, not a cycle's: a reload adds to it
 * (when worker_processes grew) but never replaces it, so the new workers
 * wake the old ones, which still hold subscribers until they have sent
 * them their 1001, and the old ones wake the new. (A set per cycle left
 * the old workers deaf to the new ones' publishes: their subscribers
 * missed what was acknowledged in the ~100 ms before their 1001.) A slot
 * is a process's, old or new (ngx_http_ws_zone_register_worker()); there
 * are 4 per worker process, at least 16, at most NGX_HTTP_WS_SLOTS: room
 * for a few generations of old workers still closing.
 *
 * A publisher wakes a worker only when its queue turns non-empty; a slow
 * sweep timer drains a queue that was left non-empty anyway (a wakeup
 * lost to a reload that changed the module), so nothing is stranded.
 *
 * A worker's own publishes do not go through its eventfd: the delivery
 * event is posted to the running loop pass instead, and it lets the
 * events posted after it in that pass run first (NGINX posts each
 * pipelined request of a keep-alive connection as an event of its own).
 * So the publishes read together are answered together, then delivered
 * together in the same pass, each subscriber written once for all of
 * them; through the eventfd they were delivered a pass later, after the
 * write(), epoll_wait() and read() of the wakeup, and the answers to all
 * but the first of them waited behind the previous pass's writes to
 * every subscriber.
 */


#include "ngx_http_ws_ipc.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_zone.h"

#include <sys/eventfd.h>


typedef struct {
    ngx_uint_t          n;
    int                 fds[NGX_HTTP_WS_SLOTS];
} ngx_http_ws_eventfds_t;


static void ngx_http_ws_ipc_read_handler(ngx_event_t *rev);
static void ngx_http_ws_ipc_deliver_handler(ngx_event_t *ev);
static void ngx_http_ws_ipc_sweep_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_ws_ipc_drain(ngx_shm_zone_t *zone,
    ngx_event_t *again);


/* Messages taken from the zone per lock. */
#define NGX_HTTP_WS_TAKE_BATCH  64

#define NGX_HTTP_WS_SWEEP_INTERVAL  250

/*
 * How many times the delivery event steps behind events posted after it
 * before it runs anyway: a bound, so that it cannot be put off for ever.
 */
#define NGX_HTTP_WS_DELIVER_YIELDS  64


/* the master's, inherited by every worker it forks */
static ngx_http_ws_eventfds_t   ngx_http_ws_eventfds;
static ngx_connection_t        *ngx_http_ws_ipc_connection;
static ngx_shm_zone_t          *ngx_http_ws_ipc_zone;
static ngx_event_t              ngx_http_ws_ipc_sweep;
/* set while queued messages are handed to subscribers */
static ngx_uint_t               ngx_http_ws_ipc_delivering;
/* posted when this worker's queue has messages; its handler drains it */
static ngx_event_t              ngx_http_ws_ipc_deliver_event;
static ngx_uint_t               ngx_http_ws_ipc_deliver_yields;
/* who takes the messages: channels, which sit above this file */
static ngx_http_ws_ipc_deliver_pt  ngx_http_ws_ipc_deliver;


ngx_int_t
ngx_http_ws_ipc_init_module(ngx_cycle_t *cycle)
{
    int                        fd;
    size_t                     need;
    ngx_uint_t                 n, want;
    ngx_core_conf_t           *ccf;
    ngx_http_ws_main_conf_t   *wmcf;

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

    /*
     * each worker's queue, twice (on reload the new workers take theirs
     * while the old ones still hold theirs), plus room for the zone's own
     * bookkeeping
     */
    need = 2 * n * NGX_HTTP_WS_QUEUE_LEN * sizeof(ngx_http_ws_msg_t *)
           + 16 * ngx_pagesize;

    if (wmcf->zone->shm.size < need) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ws_zone \"%V\" of %uz bytes is too small for %ui "
                      "worker processes, it must be at least %uzk",
                      &wmcf->zone->shm.name, wmcf->zone->shm.size, n,
                      (need + 1023) / 1024);
        return NGX_ERROR;
    }

    want = ngx_min(ngx_max(4 * n, 16), NGX_HTTP_WS_SLOTS);

    while (ngx_http_ws_eventfds.n < want) {
        fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

        if (fd == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "ws: eventfd() failed");
            return NGX_ERROR;
        }

        ngx_http_ws_eventfds.fds[ngx_http_ws_eventfds.n++] = fd;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_ws_ipc_init_process(ngx_cycle_t *cycle,
    ngx_http_ws_ipc_deliver_pt deliver)
{
    int                        fd;
    ngx_uint_t                 slot;
    ngx_connection_t          *c;
    ngx_http_ws_main_conf_t   *wmcf;

    ngx_http_ws_ipc_deliver = deliver;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL || wmcf->zone == NULL || ngx_http_ws_eventfds.n == 0
        || ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    slot = ngx_http_ws_zone_register_worker(wmcf->zone,
                                            ngx_http_ws_eventfds.n);

    if (slot == NGX_HTTP_WS_NO_SLOT) {
        /* the worker still serves; other workers' messages miss it */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "ws: no free queue slot in ws_zone (%ui held by "
                      "running workers, old ones included) or no room "
                      "for one: this worker's subscribers get only what "
                      "is published in this worker",
                      ngx_http_ws_eventfds.n);
        return NGX_OK;
    }

    fd = ngx_http_ws_eventfds.fds[slot];

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

    ngx_http_ws_ipc_deliver_event.handler = ngx_http_ws_ipc_deliver_handler;
    ngx_http_ws_ipc_deliver_event.log = cycle->log;
    ngx_http_ws_ipc_deliver_event.data = wmcf->zone;

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

    /* its ring and queued messages go back to the zone */
    ngx_http_ws_zone_unregister_worker(ngx_http_ws_ipc_zone);

    if (ngx_http_ws_ipc_sweep.timer_set) {
        ngx_del_timer(&ngx_http_ws_ipc_sweep);
    }

    if (ngx_http_ws_ipc_deliver_event.posted) {
        ngx_delete_posted_event(&ngx_http_ws_ipc_deliver_event);
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


void
ngx_http_ws_ipc_notify(ngx_uint_t slot, ngx_uint_t filling)
{
    uint64_t  one;

    if (slot >= ngx_http_ws_eventfds.n) {
        return;
    }

    if (slot == ngx_http_ws_zone_own_slot()
        && ngx_http_ws_ipc_connection != NULL)
    {
        /*
         * This worker's own queue: delivered later in this loop pass, or
         * now when a burst of publishes (a client's pipelined frames, a
         * Redis read) has half filled it: nothing else empties it, and
         * past full its own subscribers would lose messages. Not from
         * within a delivery: that one is emptying the queue already.
         */
        if (filling && !ngx_http_ws_ipc_delivering) {
            while (ngx_http_ws_ipc_drain(ngx_http_ws_ipc_zone, NULL)
                   == NGX_AGAIN)
            { /* void */ }

            return;
        }

        ngx_post_event(&ngx_http_ws_ipc_deliver_event, &ngx_posted_events);
        return;
    }

    one = 1;

    /* EAGAIN means the counter is saturated: the worker is woken anyway */
    if (write(ngx_http_ws_eventfds.fds[slot], &one, sizeof(uint64_t)) == -1
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

    /* with this pass's own publishes, once its other events have run */
    ngx_post_event(&ngx_http_ws_ipc_deliver_event, &ngx_posted_events);
}


/*
 * Runs once nothing else is posted in this loop pass (or after
 * NGX_HTTP_WS_DELIVER_YIELDS steps back): the requests of a pipeline
 * post one another, so every publish read in this pass is queued by then.
 */
static void
ngx_http_ws_ipc_deliver_handler(ngx_event_t *ev)
{
    if (!ngx_queue_empty(&ngx_posted_events)
        && ngx_http_ws_ipc_deliver_yields < NGX_HTTP_WS_DELIVER_YIELDS)
    {
        ngx_http_ws_ipc_deliver_yields++;
        ngx_post_event(ev, &ngx_posted_events);
        return;
    }

    ngx_http_ws_ipc_deliver_yields = 0;

    ngx_http_ws_ipc_drain(ev->data, ev);
}


static void
ngx_http_ws_ipc_sweep_handler(ngx_event_t *ev)
{
    if (ngx_exiting) {
        return;
    }

    /* like a wakeup: not between a pass's pipelined publishes */
    ngx_post_event(&ngx_http_ws_ipc_deliver_event, &ngx_posted_events);

    ngx_add_timer(ev, NGX_HTTP_WS_SWEEP_INTERVAL);
}


/*
 * A session is about to be sent its 1001: everything queued for this
 * worker is delivered first, then the zone gives the session's channels'
 * numbers under the lock that found the queue empty (its cut). NGX_OK,
 * the zone still locked (ngx_http_ws_ipc_cut_done() once the 1001 is
 * written), or NGX_DECLINED when the queue kept filling (seqs not set).
 */
ngx_int_t
ngx_http_ws_ipc_cut(ngx_str_t *names, uint64_t *seqs, ngx_uint_t n)
{
    ngx_uint_t  tries;

    if (ngx_http_ws_ipc_zone == NULL) {
        return NGX_DECLINED;
    }

    for (tries = 0; tries < 16; tries++) {
        if (ngx_http_ws_zone_cut(ngx_http_ws_ipc_zone, names, seqs, n)
            == NGX_OK)
        {
            return NGX_OK;
        }

        ngx_http_ws_ipc_drain(ngx_http_ws_ipc_zone, NULL);
    }

    return NGX_DECLINED;
}


void
ngx_http_ws_ipc_cut_done(void)
{
    ngx_http_ws_zone_cut_done(ngx_http_ws_ipc_zone);
}


/* NGX_OK when the queue was emptied, NGX_AGAIN when more is left */
static ngx_int_t
ngx_http_ws_ipc_drain(ngx_shm_zone_t *zone, ngx_event_t *again)
{
    ngx_uint_t          n, rounds, outer;
    ngx_http_ws_msg_t  *msgs[NGX_HTTP_WS_TAKE_BATCH];

    outer = ngx_http_ws_ipc_delivering;
    ngx_http_ws_ipc_delivering = 1;

    /* a bounded number of batches per wakeup, then let others run */
    for (rounds = 0; rounds < 16; rounds++) {

        n = ngx_http_ws_zone_take(zone, msgs, NGX_HTTP_WS_TAKE_BATCH);

        if (n) {
            ngx_http_ws_ipc_deliver(msgs, n);
            ngx_http_ws_zone_release(zone, msgs, n);
        }

        if (n < NGX_HTTP_WS_TAKE_BATCH) {
            ngx_http_ws_ipc_delivering = outer;
            return NGX_OK;
        }
    }

    ngx_http_ws_ipc_delivering = outer;

    /* more left: come back after the events posted meanwhile */
    if (again) {
        ngx_post_event(again, &ngx_posted_events);
    }

    return NGX_AGAIN;
}
