
/*
 * ngx_ws: a connection's reads through the worker's io_uring.
 *
 * When NGINX's event loop says a plain connection is readable, its read
 * is prepared rather than made: the reads of every connection ready in
 * the pass go to the kernel in one submission (ngx_http_ws_uring.c), where
 * a recv() each was a system call each. Each read lands in a block of its
 * own for as long as it is in the ring, and the session's done() takes
 * the bytes from there.
 *
 * The blocks are the worker's, made once, as many as reads are worth
 * batching in one pass: when all are in the ring, a connection reads at
 * once as before. Allocated per read, they cost more than the system
 * calls they saved: malloc() of a few hundred 16 KiB blocks per pass, and
 * the kernel faulting in the pages glibc had just given back. A block is
 * a page, smaller than the session's own read buffer: a read that fills
 * it leaves the event ready, and the session reads again. Large frames
 * are read in place, into the frame, by the session itself.
 */


#include "ngx_http_ws_read_ring.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_uring.h"


/* A read's record and its buffer, one block. */
#define NGX_HTTP_WS_READ_BLOCK   4096

/* Reads in the ring at once at most (1 MiB of blocks). */
#define NGX_HTTP_WS_READ_BLOCKS  256


struct ngx_http_ws_read_op_s {
    ngx_http_ws_uring_op_t     op;               /* first */
    ngx_http_ws_session_t     *ws;               /* NULL: gone */
    ngx_http_ws_read_done_pt   done;
    ngx_http_ws_read_op_t     *next;             /* in the free list */
    u_char                     data[];
};

#define NGX_HTTP_WS_READ_SIZE                                                 \
    (NGX_HTTP_WS_READ_BLOCK - offsetof(ngx_http_ws_read_op_t, data))


static ngx_int_t ngx_http_ws_read_blocks_init(ngx_log_t *log);
static void ngx_http_ws_read_ring_done(ngx_http_ws_uring_op_t *op,
    int32_t res);
static void ngx_http_ws_read_op_free(ngx_http_ws_read_op_t *rd);


static u_char                 *ngx_http_ws_read_blocks;
static ngx_http_ws_read_op_t  *ngx_http_ws_read_free;


/*
 * Prepares a read of ws's connection into the ring: NGX_OK, done() is
 * called with what it brought once the pass's submission has gone;
 * NGX_DECLINED, no ring or no memory: the caller reads at once.
 */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_read_ring(ngx_http_ws_session_t *ws,
    ngx_http_ws_read_done_pt done)
{
    ngx_http_ws_read_op_t  *rd;

    if (!ngx_http_ws_uring_on) {
        return NGX_DECLINED;
    }

    if (ngx_http_ws_read_blocks == NULL
        && ngx_http_ws_read_blocks_init(ws->connection->log) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    rd = ngx_http_ws_read_free;

    if (rd == NULL) {
        /* as many reads in the ring as are worth it: this one goes alone */
        return NGX_DECLINED;
    }

    ngx_http_ws_read_free = rd->next;

    rd->op.done = ngx_http_ws_read_ring_done;
    rd->ws = ws;
    rd->done = done;

    if (ngx_http_ws_uring_recv(&rd->op, ws->connection->fd, rd->data,
                               NGX_HTTP_WS_READ_SIZE)
        != NGX_OK)
    {
        ngx_http_ws_read_op_free(rd);
        return NGX_DECLINED;
    }

    ws->reading = rd;

    return NGX_OK;
}


/*
 * The session is going: its read is called off (its done() is not
 * called); the buffer goes when the kernel is done with it.
 */
void
ngx_http_ws_read_ring_cancel(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_read_op_t  *rd;

    rd = ws->reading;

    if (rd == NULL) {
        return;
    }

    ws->reading = NULL;
    rd->ws = NULL;

    ngx_http_ws_uring_cancel(&rd->op);
}


/*
 * Reads still in the ring at exit are cancelled with it; their blocks go
 * with the process.
 */
void
ngx_http_ws_read_ring_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_read_free = NULL;
}


/* Made at the first read, in a worker that has a ring; page-aligned. */
static ngx_int_t
ngx_http_ws_read_blocks_init(ngx_log_t *log)
{
    ngx_uint_t              i;
    ngx_http_ws_read_op_t  *rd;

    ngx_http_ws_read_blocks = ngx_memalign(NGX_HTTP_WS_READ_BLOCK,
                                           NGX_HTTP_WS_READ_BLOCK
                                           * NGX_HTTP_WS_READ_BLOCKS,
                                           log);
    if (ngx_http_ws_read_blocks == NULL) {
        return NGX_ERROR;
    }

    for (i = NGX_HTTP_WS_READ_BLOCKS; i > 0; i--) {
        rd = (ngx_http_ws_read_op_t *)
                 (ngx_http_ws_read_blocks + (i - 1) * NGX_HTTP_WS_READ_BLOCK);
        rd->next = ngx_http_ws_read_free;
        ngx_http_ws_read_free = rd;
    }

    return NGX_OK;
}


/*
 * As ngx_unix_recv() leaves the read event under epoll: a read that did
 * not fill the buffer took all there was, so the event waits for the
 * next edge (unless the peer's FIN came with it).
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_read_ring_done(ngx_http_ws_uring_op_t *op, int32_t res)
{
    ssize_t                 n;
    ngx_event_t            *rev;
    ngx_connection_t       *c;
    ngx_http_ws_session_t  *ws;
    ngx_http_ws_read_op_t  *rd;

    rd = (ngx_http_ws_read_op_t *) op;
    ws = rd->ws;

    if (ws == NULL) {
        ngx_http_ws_read_op_free(rd);
        return;
    }

    ws->reading = NULL;
    c = ws->connection;
    rev = c->read;

    if (res > 0) {
        if ((size_t) res < NGX_HTTP_WS_READ_SIZE) {
            if (!rev->pending_eof) {
                rev->ready = 0;
            }

            rev->available = 0;
        }

        n = res;

    } else if (res == 0) {
        rev->ready = 0;
        rev->eof = 1;
        n = 0;

    } else if (res == -EAGAIN || res == -EINTR) {
        /* the ring waits for data itself: not expected, not an error */
        rev->ready = 0;
        n = NGX_AGAIN;

    } else {
        rev->ready = 0;
        rev->error = 1;
        ngx_connection_error(c, -res, "ws_io_uring: recv() failed");
        n = NGX_ERROR;
    }

    rd->done(ws, rd->data, n);

    ngx_http_ws_read_op_free(rd);
}


static void
ngx_http_ws_read_op_free(ngx_http_ws_read_op_t *rd)
{
    rd->next = ngx_http_ws_read_free;
    ngx_http_ws_read_free = rd;
}
