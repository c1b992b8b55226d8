
/*
 * ngx_ws: the worker's io_uring, for writes to many sockets in one system
 * call.
 *
 * On machines where a system call is dear (page-table isolation without
 * PCID empties the TLB on every one), the call is most of a small
 * message's cost: here a send() of 20 bytes on a loopback TCP socket took
 * 2.9 us, the same send as one of 100 in one io_uring_enter() 1.2 us.
 * NGINX's event loop still says what is readable and runs the handlers;
 * the writes they prepare in one loop pass are submitted together once
 * the pass's posted events have run, and what completes later (a socket
 * that was full) comes back through the ring's descriptor, which sits in
 * the worker's epoll set like any connection.
 *
 * The ring is the worker's own (made after the fork), single-issuer.
 * Where the kernel refuses one (a seccomp filter, io_uring_disabled), the
 * worker says so once and writes with send() as before.
 */


#include <liburing.h>

#include "ngx_http_ws_uring.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_metrics.h"


/*
 * Submission slots: a loop pass that prepares more submits early (a
 * system call per 1,024 writes). The completion ring is twice as big, and
 * the kernel keeps what overflows it. Both are about 100 KiB.
 */
#define NGX_HTTP_WS_URING_ENTRIES  1024

/* Completions taken off the ring at a time, before their callbacks run. */
#define NGX_HTTP_WS_URING_REAP     64

/*
 * Times the submission steps back behind other posted events (a channel's
 * deliveries post the subscribers' writes) before it goes all the same.
 */
#define NGX_HTTP_WS_URING_YIELDS   4


ngx_uint_t  ngx_http_ws_uring_on;

static struct io_uring    ngx_http_ws_ring;
static ngx_connection_t  *ngx_http_ws_uring_connection;
static ngx_event_t        ngx_http_ws_uring_submit_event;
static ngx_uint_t         ngx_http_ws_uring_batch;    /* submissions made */
static ngx_uint_t         ngx_http_ws_uring_pending;  /* prepared, not yet */
static ngx_uint_t         ngx_http_ws_uring_yields;


static struct io_uring_sqe *ngx_http_ws_uring_get_sqe(
    ngx_http_ws_uring_op_t *op);
static void ngx_http_ws_uring_submit(ngx_log_t *log);
static void ngx_http_ws_uring_submit_handler(ngx_event_t *ev);
static void ngx_http_ws_uring_reap(void);
static void ngx_http_ws_uring_read_handler(ngx_event_t *rev);


ngx_int_t
ngx_http_ws_uring_init_process(ngx_cycle_t *cycle)
{
    int                      rc;
    ngx_connection_t        *c;
    struct io_uring_params   params;

    /* all of a submission goes in, whatever one operation's fate */
    ngx_memzero(&params, sizeof(struct io_uring_params));
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER;

    rc = io_uring_queue_init_params(NGX_HTTP_WS_URING_ENTRIES,
                                    &ngx_http_ws_ring, &params);

    if (rc == -EINVAL) {
        /* a kernel older than 6.0 knows neither flag */
        ngx_memzero(&params, sizeof(struct io_uring_params));
        rc = io_uring_queue_init_params(NGX_HTTP_WS_URING_ENTRIES,
                                        &ngx_http_ws_ring, &params);
    }

    if (rc < 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, -rc,
                      "ws_io_uring: the kernel gave no io_uring to this "
                      "worker, which writes with send() instead");
        return NGX_OK;
    }

    c = ngx_get_connection(ngx_http_ws_ring.ring_fd, cycle->log);
    if (c == NULL) {
        io_uring_queue_exit(&ngx_http_ws_ring);
        return NGX_ERROR;
    }

    c->read->handler = ngx_http_ws_uring_read_handler;
    c->read->log = cycle->log;

    /* level-triggered: completions left on the ring wake the loop again */
    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        io_uring_queue_exit(&ngx_http_ws_ring);
        return NGX_ERROR;
    }

    ngx_http_ws_uring_connection = c;

    ngx_http_ws_uring_submit_event.handler = ngx_http_ws_uring_submit_handler;
    ngx_http_ws_uring_submit_event.log = cycle->log;

    ngx_http_ws_uring_on = 1;

    return NGX_OK;
}


/*
 * Operations still in flight are cancelled by the kernel with the ring;
 * their owners' memory goes with the process.
 */
void
ngx_http_ws_uring_exit_process(ngx_cycle_t *cycle)
{
    ngx_connection_t  *c;

    if (!ngx_http_ws_uring_on) {
        return;
    }

    ngx_http_ws_uring_on = 0;

    if (ngx_http_ws_uring_submit_event.posted) {
        ngx_delete_posted_event(&ngx_http_ws_uring_submit_event);
    }

    c = ngx_http_ws_uring_connection;
    ngx_http_ws_uring_connection = NULL;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;

    io_uring_queue_exit(&ngx_http_ws_ring);
}


NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_uring_send(ngx_http_ws_uring_op_t *op, ngx_socket_t fd,
    const void *buf, size_t len)
{
    struct io_uring_sqe  *sqe;

    sqe = ngx_http_ws_uring_get_sqe(op);
    if (sqe == NULL) {
        return NGX_ERROR;
    }

    io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, op);

    return NGX_OK;
}


/* msg and its iovec are read at submission; the bytes, until done() */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_uring_sendmsg(ngx_http_ws_uring_op_t *op, ngx_socket_t fd,
    const struct msghdr *msg)
{
    struct io_uring_sqe  *sqe;

    sqe = ngx_http_ws_uring_get_sqe(op);
    if (sqe == NULL) {
        return NGX_ERROR;
    }

    io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, op);

    return NGX_OK;
}


/*
 * The owner is going (its socket is about to be closed): an operation not
 * yet submitted becomes a no-op, for its descriptor's number may belong to
 * another socket by the time the batch goes; a submitted one is cancelled
 * (a send waiting for room in a dead peer's window would wait for TCP to
 * give up). done() is called in either case, with what happened.
 */
void
ngx_http_ws_uring_cancel(ngx_http_ws_uring_op_t *op)
{
    struct io_uring_sqe  *sqe;

    if (op->batch == ngx_http_ws_uring_batch && op->sqe) {
        sqe = op->sqe;
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, op);
        return;
    }

    sqe = ngx_http_ws_uring_get_sqe(NULL);
    if (sqe == NULL) {
        /* no room even after a submission: the kernel finishes it alone */
        return;
    }

    io_uring_prep_cancel(sqe, op, 0);
    io_uring_sqe_set_data(sqe, NULL);
}


/*
 * A free submission slot, for op (NULL: an operation nobody waits for).
 * The first one of a loop pass posts the submission.
 */
NGX_HTTP_WS_HOT
static struct io_uring_sqe *
ngx_http_ws_uring_get_sqe(ngx_http_ws_uring_op_t *op)
{
    ngx_event_t          *ev;
    struct io_uring_sqe  *sqe;

    ev = &ngx_http_ws_uring_submit_event;

    sqe = io_uring_get_sqe(&ngx_http_ws_ring);

    if (sqe == NULL) {
        /* this pass filled the ring: what it holds goes now */
        ngx_http_ws_uring_submit(ev->log);

        sqe = io_uring_get_sqe(&ngx_http_ws_ring);
        if (sqe == NULL) {
            return NULL;
        }
    }

    if (op) {
        op->sqe = sqe;
        op->batch = ngx_http_ws_uring_batch;
        ngx_http_ws_metric_inc(uring_operations);
    }

    ngx_http_ws_uring_pending++;

    if (!ev->posted) {
        /*
         * A worker that is leaving writes its goodbyes from outside the
         * loop's posted events, which the next pass would run only after
         * sleeping: the next pass's queue does not sleep.
         */
        ngx_post_event(ev, ngx_exiting ? &ngx_posted_next_events
                                       : &ngx_posted_events);
    }

    return sqe;
}


/*
 * Runs once nothing else is posted in this loop pass (or after
 * NGX_HTTP_WS_URING_YIELDS steps back): every handler of the pass has
 * prepared its writes by then.
 */
static void
ngx_http_ws_uring_submit_handler(ngx_event_t *ev)
{
    if (!ngx_queue_empty(&ngx_posted_events)
        && ngx_http_ws_uring_yields < NGX_HTTP_WS_URING_YIELDS)
    {
        ngx_http_ws_uring_yields++;
        ngx_post_event(ev, &ngx_posted_events);
        return;
    }

    ngx_http_ws_uring_yields = 0;

    ngx_http_ws_uring_submit(ev->log);

    /* sends to sockets with room completed during the submission */
    ngx_http_ws_uring_reap();
}


static void
ngx_http_ws_uring_submit(ngx_log_t *log)
{
    int  rc;

    if (ngx_http_ws_uring_pending == 0) {
        return;
    }

    for ( ;; ) {
        rc = io_uring_submit(&ngx_http_ws_ring);

        if (rc >= 0) {
            break;
        }

        if (rc == -EINTR) {
            continue;
        }

        if (rc == -EAGAIN || rc == -EBUSY) {
            /* completions the kernel could not post yet: take them, retry */
            ngx_http_ws_uring_reap();

            if (io_uring_submit(&ngx_http_ws_ring) >= 0) {
                break;
            }
        }

        ngx_log_error(NGX_LOG_ALERT, log, -rc,
                      "ws_io_uring: io_uring_enter() failed, %ui writes "
                      "wait for the next loop pass",
                      ngx_http_ws_uring_pending);

        if (!ngx_http_ws_uring_submit_event.posted) {
            ngx_post_event(&ngx_http_ws_uring_submit_event,
                           &ngx_posted_next_events);
        }

        return;
    }

    ngx_http_ws_uring_batch++;
    ngx_http_ws_uring_pending = 0;
    ngx_http_ws_metric_inc(uring_submissions);
}


/*
 * Takes completions off the ring first and calls their owners after: an
 * owner may prepare (and, with the ring full, submit) more.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_uring_reap(void)
{
    int32_t                  res[NGX_HTTP_WS_URING_REAP];
    unsigned                 i, n;
    struct io_uring_cqe     *cqes[NGX_HTTP_WS_URING_REAP];
    ngx_http_ws_uring_op_t  *ops[NGX_HTTP_WS_URING_REAP];

    for ( ;; ) {
        n = io_uring_peek_batch_cqe(&ngx_http_ws_ring, cqes,
                                    NGX_HTTP_WS_URING_REAP);
        if (n == 0) {
            return;
        }

        for (i = 0; i < n; i++) {
            ops[i] = io_uring_cqe_get_data(cqes[i]);
            res[i] = cqes[i]->res;
        }

        io_uring_cq_advance(&ngx_http_ws_ring, n);

        for (i = 0; i < n; i++) {
            /* a cancellation's own result: nobody waits for it */
            if (ops[i] == NULL) {
                continue;
            }

            ops[i]->sqe = NULL;
            ops[i]->done(ops[i], res[i]);
        }
    }
}


/* Writes that waited for room in their sockets have completed. */
static void
ngx_http_ws_uring_read_handler(ngx_event_t *rev)
{
    ngx_http_ws_uring_reap();
}
