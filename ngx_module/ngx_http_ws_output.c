
/*
 * ngx_ws: the output queue of a connection.
 *
 * Frames are encoded once into reference-counted buffers; a connection's
 * queue holds (frame, offset) entries pointing at them, so a broadcast
 * costs one entry per recipient, not one copy. Memory comes from the heap,
 * not the request pool: a pool only grows, a WebSocket lives for days.
 * Everything queued during one event-loop pass goes out in one system
 * call: writev() (send() for one frame) on a plain socket, c->send_chain()
 * (SSL_write through the SSL buffer) on a TLS one.
 *
 * Small frames queued one after another are copied into a cork instead,
 * a buffer the entry owns: with 8 publishes in flight to 1,000
 * subscribers, one entry per subscriber and message (taken, linked,
 * turned into an iovec element, released, counted) was a third of a
 * delivery's instructions, where copying 20 bytes costs a few. A cork is
 * made when a second small frame comes behind a first one (a lone
 * message, as an echo's, is not copied) and takes what follows while it
 * has room, if queued in the same millisecond (one send delay for all)
 * and alike in the first byte (FIN, RSV1, opcode: one kind of message
 * for the counters). Larger frames stay shared.
 *
 * Under ws_io_uring a plain socket's queue is written through the worker's
 * ring (ngx_http_ws_uring.c) instead: one write in flight per connection,
 * its entries left in the queue, untouched, until the kernel says how much
 * it took. What is queued meanwhile waits behind them, for the write the
 * completion starts.
 */


#include "ngx_http_ws_output.h"
#include "ngx_http_ws_block_cache.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_uring.h"


/* Chain links built on the stack per send_chain() call. */
#define NGX_HTTP_WS_IOV_MAX  64

/*
 * A cork is NGX_HTTP_WS_CORK_SIZE bytes, a frame's header (its refs and
 * len: len counts the bytes it holds) and the frames: 22 frames of a
 * 20-byte message, at least two of the largest it takes.
 */
#define NGX_HTTP_WS_CORK_SIZE       512
#define NGX_HTTP_WS_CORK_ROOM                                                 \
    (NGX_HTTP_WS_CORK_SIZE - offsetof(ngx_http_ws_frame_t, data))
#define NGX_HTTP_WS_CORK_FRAME_MAX  (NGX_HTTP_WS_CORK_ROOM / 2)

/* A write through the ring takes at most this many entries (corks mostly) */
#define NGX_HTTP_WS_SEND_IOV_MAX    16
#define NGX_HTTP_WS_RING_WRITE_MAX  65536


/*
 * A write in the ring: the iovec and message header the kernel reads at
 * submission, the entries it covers (the queue's head up to last), and,
 * once the session is gone, the queue it leaves behind, freed when the
 * kernel is done with the bytes.
 */
struct ngx_http_ws_out_send_s {
    ngx_http_ws_uring_op_t     op;               /* first */
    ngx_http_ws_session_t     *ws;               /* NULL: gone */
    ngx_http_ws_out_t         *last;
    ngx_http_ws_out_t         *left;
    struct msghdr              msg;
    struct iovec               iov[NGX_HTTP_WS_SEND_IOV_MAX];
};


static ngx_int_t ngx_http_ws_output_cork(ngx_http_ws_session_t *ws,
    ngx_http_ws_out_t *out, ngx_http_ws_frame_t *frame);
static void ngx_http_ws_out_release(ngx_http_ws_out_t *out);
static ngx_int_t ngx_http_ws_output_flush_plain(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_output_write_plain(ngx_http_ws_session_t *ws);
static void ngx_http_ws_output_taken(ngx_http_ws_session_t *ws, size_t n);
static ngx_int_t ngx_http_ws_output_write_ring(ngx_http_ws_session_t *ws);
static void ngx_http_ws_output_written(ngx_http_ws_uring_op_t *op,
    int32_t res);


/*
 * Kept for reuse (ngx_http_ws_block_cache.c): the profile showed malloc
 * and free of one entry per message among the top costs of echo, and a
 * fan-out takes an entry (and a cork) per subscriber.
 */
static ngx_http_ws_block_cache_t  ngx_http_ws_out_entries =
    NGX_HTTP_WS_BLOCK_CACHE(sizeof(ngx_http_ws_out_t));
static ngx_http_ws_block_cache_t  ngx_http_ws_out_corks =
    NGX_HTTP_WS_BLOCK_CACHE(NGX_HTTP_WS_CORK_SIZE);
static ngx_http_ws_block_cache_t  ngx_http_ws_out_sends =
    NGX_HTTP_WS_BLOCK_CACHE(sizeof(ngx_http_ws_out_send_t));


/* An entry sent or dropped: its frame's reference, or its cork, goes. */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_out_release(ngx_http_ws_out_t *out)
{
    if (out->frames > 1) {
        ngx_http_ws_block_cache_put(&ngx_http_ws_out_corks, out->frame);

    } else {
        ngx_http_ws_frame_release(out->frame);
    }

    ngx_http_ws_block_cache_put(&ngx_http_ws_out_entries, out);
}


NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_output_queue(ngx_http_ws_session_t *ws, ngx_http_ws_frame_t *frame)
{
    ngx_http_ws_out_t  *out;

    if (ws->out && frame->len <= NGX_HTTP_WS_CORK_FRAME_MAX) {
        out = (ngx_http_ws_out_t *)
                  ((u_char *) ws->out_last
                   - offsetof(ngx_http_ws_out_t, next));

        /* the kernel is reading the tail: it is not to change */
        if ((ws->sending == NULL || ws->sending->last != out)
            && ngx_http_ws_output_cork(ws, out, frame) == NGX_OK)
        {
            return NGX_OK;
        }
    }

    out = ngx_http_ws_block_cache_get(&ngx_http_ws_out_entries,
                                    ws->connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    frame->refs++;

    out->next = NULL;
    out->frame = frame;
    out->pos = 0;
    out->queued = ngx_current_msec;
    out->frames = 1;

    *ws->out_last = out;
    ws->out_last = &out->next;
    ws->out_bytes += frame->len;

    return NGX_OK;
}


/*
 * Copies a small frame into the cork at the tail of the queue, making one
 * of the tail's small frame first if need be. NGX_DECLINED: the frame is
 * to have an entry of its own (the two differ, no room, no memory).
 * Bytes already queued do not move: the tail may be partly sent.
 */
static ngx_int_t
ngx_http_ws_output_cork(ngx_http_ws_session_t *ws, ngx_http_ws_out_t *out,
    ngx_http_ws_frame_t *frame)
{
    ngx_http_ws_frame_t  *cork;

    cork = out->frame;

    if (out->queued != ngx_current_msec || cork->data[0] != frame->data[0]) {
        return NGX_DECLINED;
    }

    if (out->frames > 1) {
        if (NGX_HTTP_WS_CORK_ROOM - cork->len < frame->len) {
            return NGX_DECLINED;
        }

    } else {

        /*
         * A shared frame, small as well (the two fit): copied first,
         * unless some of it went out.
         */
        if (cork->len > NGX_HTTP_WS_CORK_FRAME_MAX || out->pos) {
            return NGX_DECLINED;
        }

        cork = ngx_http_ws_block_cache_get(&ngx_http_ws_out_corks,
                                         ws->connection->log);
        if (cork == NULL) {
            return NGX_DECLINED;
        }

        cork->refs = 1;
        cork->lent = 0;
        cork->len = out->frame->len;
        ngx_memcpy(cork->data, out->frame->data, cork->len);

        ngx_http_ws_frame_release(out->frame);
        out->frame = cork;
    }

    ngx_memcpy(cork->data + cork->len, frame->data, frame->len);
    cork->len += frame->len;
    out->frames++;

    ws->out_bytes += frame->len;

    return NGX_OK;
}


/* Queues bytes that are already framed (control frames from the core). */
ngx_int_t
ngx_http_ws_output_queue_bytes(ngx_http_ws_session_t *ws, const u_char *data,
    size_t len)
{
    ngx_int_t             rc;
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_wrap(ws->connection->log, data, len);
    if (frame == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_ws_output_queue(ws, frame);

    ngx_http_ws_frame_release(frame);

    return rc;
}


/*
 * Writes as much of the queue as the socket takes. NGX_OK: all written;
 * NGX_AGAIN: the rest waits for the next write event; NGX_ERROR: the
 * connection is broken.
 */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_output_flush(ngx_http_ws_session_t *ws)
{
    size_t               n;
    ngx_uint_t           i;
    ngx_buf_t            bufs[NGX_HTTP_WS_IOV_MAX];
    ngx_chain_t          links[NGX_HTTP_WS_IOV_MAX], *rest;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_ws_out_t   *out, *next;

    c = ws->connection;
    r = ws->request;

    if (c->error) {
        return NGX_ERROR;
    }

    /*
     * The tail of the 101 response, if the socket did not take it all: the
     * request is kept until it is out (a detached session has none).
     */
    if (r && (r->out || r->buffered)) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (r->out || r->buffered) {
            return ngx_handle_write_event(c->write, 0) == NGX_OK
                   ? NGX_AGAIN : NGX_ERROR;
        }
    }

    if (ws->plain && ngx_http_ws_uring_on) {
        return ngx_http_ws_output_write_ring(ws);
    }

    if (ws->plain) {
        return ngx_http_ws_output_flush_plain(ws);
    }

    for ( ;; ) {

        if (ws->out == NULL) {
            if (!(c->buffered & NGX_LOWLEVEL_BUFFERED)) {
                return NGX_OK;
            }

            /* bytes held in the SSL buffer from an earlier call */
            rest = c->send_chain(c, NULL, 0);

            if (rest == NGX_CHAIN_ERROR) {
                c->error = 1;
                return NGX_ERROR;
            }

            if (c->buffered & NGX_LOWLEVEL_BUFFERED) {
                break;
            }

            return NGX_OK;
        }

        i = 0;

        for (out = ws->out; out && i < NGX_HTTP_WS_IOV_MAX; out = out->next) {
            ngx_memzero(&bufs[i], sizeof(ngx_buf_t));
            bufs[i].memory = 1;
            bufs[i].start = out->frame->data;
            bufs[i].pos = out->frame->data + out->pos;
            bufs[i].last = out->frame->data + out->frame->len;
            bufs[i].end = bufs[i].last;

            links[i].buf = &bufs[i];
            links[i].next = NULL;

            if (i) {
                links[i - 1].next = &links[i];
            }

            i++;
        }

        /* the SSL layer holds data back until it sees a flush */
        bufs[i - 1].flush = 1;

        rest = c->send_chain(c, links, 0);

        if (rest == NGX_CHAIN_ERROR) {
            c->error = 1;
            return NGX_ERROR;
        }

        /*
         * send_chain() advances each buffer's pos past what it took (into
         * the socket or into the SSL buffer): release the frames it took
         * whole and remember the offset in a partly taken one.
         */
        out = ws->out;

        for (n = 0; n < i; n++) {
            next = out->next;
            ngx_http_ws_metric_add(bytes[NGX_HTTP_WS_OUT],
                               bufs[n].pos - (out->frame->data + out->pos));
            ws->out_bytes -= (size_t) (bufs[n].pos
                                       - (out->frame->data + out->pos));

            if (bufs[n].pos < bufs[n].last) {
                out->pos = bufs[n].pos - out->frame->data;
                break;
            }

            ngx_http_ws_metrics_frame_sent(out);
            ngx_http_ws_out_release(out);
            ws->out = next;
            out = next;
        }

        if (ws->out == NULL) {
            ws->out_last = &ws->out;
        }

        if (rest != NULL) {
            /* the socket is full */
            break;
        }
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * ngx_http_ws_output_flush(), but written before this returns where the
 * socket takes it, not at the end of the loop pass as through the ring:
 * for a caller whose guarantee is the write itself (a worker's 1001 is
 * written while the channels' zone is locked, so no publish is
 * acknowledged between a subscriber's cut and its 1001). A write the ring
 * holds keeps its place; what follows it waits as before.
 */
ngx_int_t
ngx_http_ws_output_flush_now(ngx_http_ws_session_t *ws)
{
    ngx_connection_t  *c;

    if (!ws->plain || !ngx_http_ws_uring_on
        || (ws->request && (ws->request->out || ws->request->buffered)))
    {
        return ngx_http_ws_output_flush(ws);
    }

    c = ws->connection;

    if (ws->sending) {
        c->write->ready = 0;
        return NGX_AGAIN;
    }

    if (c->error) {
        return NGX_ERROR;
    }

    return ngx_http_ws_output_flush_plain(ws);
}


/* A plain socket written at once; what it does not take waits for room. */
NGX_HTTP_WS_HOT
static ngx_int_t
ngx_http_ws_output_flush_plain(ngx_http_ws_session_t *ws)
{
    switch (ngx_http_ws_output_write_plain(ws)) {
    case NGX_OK:
        return NGX_OK;
    case NGX_ERROR:
        return NGX_ERROR;
    default:
        /* the socket is full */
        return ngx_handle_write_event(ws->connection->write, 0) == NGX_OK
               ? NGX_AGAIN : NGX_ERROR;
    }
}


/*
 * A plain socket is written directly, the queue's frames as the iovec:
 * c->send_chain() would first copy each entry into an ngx_buf_t and a
 * chain link, walk them into an iovec and walk them again to account for
 * what was sent (with one message in flight per connection, a third of
 * the output path's instructions). One frame goes by send(), cheaper in
 * the kernel than a writev() of one. NGX_OK: all written; NGX_AGAIN: the
 * socket is full; NGX_ERROR: the connection is broken.
 */
static ngx_int_t
ngx_http_ws_output_write_plain(ngx_http_ws_session_t *ws)
{
    size_t              total;
    ssize_t             n;
    ngx_err_t           err;
    ngx_uint_t          cnt;
    struct iovec        iov[NGX_HTTP_WS_IOV_MAX];
    ngx_connection_t   *c;
    ngx_http_ws_out_t  *out;

    c = ws->connection;

    while (ws->out) {

        cnt = 0;
        total = 0;

        for (out = ws->out; out && cnt < NGX_HTTP_WS_IOV_MAX; out = out->next)
        {
            iov[cnt].iov_base = out->frame->data + out->pos;
            iov[cnt].iov_len = out->frame->len - out->pos;
            total += iov[cnt].iov_len;
            cnt++;
        }

        n = (cnt == 1) ? send(c->fd, iov[0].iov_base, iov[0].iov_len, 0)
                       : writev(c->fd, iov, (int) cnt);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EINTR) {
                continue;
            }

            if (err == NGX_EAGAIN) {
                c->write->ready = 0;
                return NGX_AGAIN;
            }

            c->write->error = 1;
            c->error = 1;
            ngx_connection_error(c, err, "writev() failed");
            return NGX_ERROR;
        }

        c->sent += n;
        ngx_http_ws_output_taken(ws, (size_t) n);

        if ((size_t) n < total) {
            c->write->ready = 0;
            return NGX_AGAIN;
        }
    }

    return NGX_OK;
}


/*
 * A lone reply written straight from its frame, where the caller knows
 * nothing is queued ahead of it and nothing will follow it in this loop
 * pass (a plain socket; see ngx_http_ws_session_reply()): with one
 * message in flight per connection, taking a queue entry, linking it,
 * building an iovec of one, walking the queue for what was sent and
 * returning the entry was a sixth of an echo's instructions. The bytes
 * the socket does not take are queued as before, from where it stopped,
 * and wait for the write event; a broken connection is left for the
 * caller's flush to find (c->error), with the frame queued, as a queued
 * reply would have been.
 */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_output_send_lone(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame)
{
    ssize_t             n;
    ngx_err_t           err;
    ngx_connection_t   *c;
    ngx_http_ws_out_t   sent;

    /* a ring's write is the end of the pass's: queued, to go with them */
    if (ngx_http_ws_uring_on) {
        return ngx_http_ws_output_queue(ws, frame);
    }

    c = ws->connection;

    for ( ;; ) {
        n = send(c->fd, frame->data, frame->len, 0);

        if (n != -1) {
            break;
        }

        err = ngx_socket_errno;

        if (err == NGX_EINTR) {
            continue;
        }

        if (err != NGX_EAGAIN) {
            c->write->error = 1;
            c->error = 1;
            ngx_connection_error(c, err, "send() failed");
        }

        n = 0;
        break;
    }

    if ((size_t) n < frame->len) {
        if (ngx_http_ws_output_queue(ws, frame) != NGX_OK) {
            return NGX_ERROR;
        }

        if (n) {
            c->sent += n;
            ngx_http_ws_metric_add(bytes[NGX_HTTP_WS_OUT], n);
            ws->out_bytes -= n;
            ws->out->pos = n;
        }

        c->write->ready = 0;

        return NGX_OK;
    }

    c->sent += n;
    ngx_http_ws_metric_add(bytes[NGX_HTTP_WS_OUT], n);

    sent.frame = frame;
    sent.queued = ngx_current_msec;
    sent.frames = 1;
    ngx_http_ws_metrics_frame_sent(&sent);

    return NGX_OK;
}


/* n bytes from the head of the queue went out: release the frames sent whole */
static void
ngx_http_ws_output_taken(ngx_http_ws_session_t *ws, size_t n)
{
    size_t              left;
    ngx_http_ws_out_t  *out;

    ngx_http_ws_metric_add(bytes[NGX_HTTP_WS_OUT], n);
    ws->out_bytes -= n;

    while (n) {
        out = ws->out;
        left = out->frame->len - out->pos;

        if (n < left) {
            out->pos += n;
            return;
        }

        n -= left;
        ws->out = out->next;

        ngx_http_ws_metrics_frame_sent(out);
        ngx_http_ws_out_release(out);
    }

    if (ws->out == NULL) {
        ws->out_last = &ws->out;
    }
}


void
ngx_http_ws_output_free(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_out_t       *out, *next;
    ngx_http_ws_out_send_t  *rw;

    if (ws->sending) {
        /* the kernel may still read the queue's bytes: it goes later */
        rw = ws->sending;
        ws->sending = NULL;

        rw->ws = NULL;
        rw->left = ws->out;
        ngx_http_ws_uring_cancel(&rw->op);

        ws->out = NULL;
    }

    for (out = ws->out; out; out = next) {
        next = out->next;
        ngx_http_ws_out_release(out);
    }

    ws->out = NULL;
    ws->out_last = &ws->out;
    ws->out_bytes = 0;
}


/*
 * Hands the head of the queue to the ring, unless a write is in flight
 * already: NGX_AGAIN either way, with c->write->ready cleared, as for a
 * full socket; the completion is the write event (it sets ready and calls
 * the write handler). With nothing queued, NGX_OK.
 *
 * A head of NGX_HTTP_WS_RING_WRITE_MAX bytes or more is written at once
 * instead, as without the ring: one system call among a pass's many saves
 * nothing on a write that long, and a write in the ring keeps its frame
 * until the completion, after the pass. An echo of 1 MiB to 10
 * connections then had 10 reassembled messages alive at once, glibc gave
 * those megabytes back to the kernel at every pass's frees and faulted
 * them in again at the next pass's reads (page faults under recv() and
 * the unmasking three quarters of the worker): 160-240 echoes a second,
 * against 2,000-2,500 with ws_io_uring off and 2,100-2,200 now.
 */
NGX_HTTP_WS_HOT
static ngx_int_t
ngx_http_ws_output_write_ring(ngx_http_ws_session_t *ws)
{
    ngx_int_t                rc;
    ngx_uint_t               cnt;
    ngx_connection_t        *c;
    ngx_http_ws_out_t       *out, *last;
    ngx_http_ws_out_send_t  *rw;

    c = ws->connection;

    if (ws->sending) {
        c->write->ready = 0;
        return NGX_AGAIN;
    }

    if (ws->out == NULL) {
        return NGX_OK;
    }

    if (ws->out->frame->len - ws->out->pos >= NGX_HTTP_WS_RING_WRITE_MAX) {
        return ngx_http_ws_output_flush_plain(ws);
    }

    rw = ngx_http_ws_block_cache_get(&ngx_http_ws_out_sends, c->log);
    if (rw == NULL) {
        return NGX_ERROR;
    }

    cnt = 0;
    last = NULL;

    for (out = ws->out; out && cnt < NGX_HTTP_WS_SEND_IOV_MAX;
         out = out->next)
    {
        rw->iov[cnt].iov_base = out->frame->data + out->pos;
        rw->iov[cnt].iov_len = out->frame->len - out->pos;
        last = out;
        cnt++;
    }

    rw->op.done = ngx_http_ws_output_written;
    rw->ws = ws;
    rw->last = last;
    rw->left = NULL;

    if (cnt == 1) {
        rc = ngx_http_ws_uring_send(&rw->op, c->fd, rw->iov[0].iov_base,
                                    rw->iov[0].iov_len);

    } else {
        ngx_memzero(&rw->msg, sizeof(struct msghdr));
        rw->msg.msg_iov = rw->iov;
        rw->msg.msg_iovlen = cnt;

        rc = ngx_http_ws_uring_sendmsg(&rw->op, c->fd, &rw->msg);
    }

    if (rc != NGX_OK) {
        ngx_http_ws_block_cache_put(&ngx_http_ws_out_sends, rw);
        return NGX_ERROR;
    }

    ws->sending = rw;
    c->write->ready = 0;

    return NGX_AGAIN;
}


/*
 * The kernel took res bytes of a ring write (or failed it): the queue
 * moves on and the session's write handler runs, as on a write event,
 * to send what came behind and to take the steps a write allows (a
 * close, reads resumed). A session gone meanwhile left its queue here.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_output_written(ngx_http_ws_uring_op_t *op, int32_t res)
{
    ngx_connection_t        *c;
    ngx_http_ws_out_t       *out, *next;
    ngx_http_ws_session_t   *ws;
    ngx_http_ws_out_send_t  *rw;

    rw = (ngx_http_ws_out_send_t *) op;
    ws = rw->ws;

    if (ws == NULL) {
        for (out = rw->left; out; out = next) {
            next = out->next;
            ngx_http_ws_out_release(out);
        }

        ngx_http_ws_block_cache_put(&ngx_http_ws_out_sends, rw);
        return;
    }

    ngx_http_ws_block_cache_put(&ngx_http_ws_out_sends, rw);

    ws->sending = NULL;
    c = ws->connection;

    if (res > 0) {
        c->sent += res;
        ngx_http_ws_output_taken(ws, (size_t) res);

    } else if (res == -EAGAIN) {
        /*
         * The ring waits for room itself and should not say this; were it
         * to, the socket's write event (ready is clear) resumes us, where
         * trying again at once could spin.
         */
        return;

    } else if (res < 0 && res != -EINTR) {
        c->write->error = 1;
        c->error = 1;
        ngx_connection_error(c, -res, "ws_io_uring: send() failed");
    }

    c->write->ready = 1;
    c->write->handler(c->write);
}
