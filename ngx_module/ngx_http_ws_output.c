
/*
 * ngx_ws: the output queue of a connection.
 *
 * Frames are encoded once into reference-counted buffers; a connection's
 * queue holds (frame, offset) entries pointing at them, so a broadcast
 * costs one entry per recipient, not one copy. Memory comes from the heap,
 * not the request pool: a pool only grows, a WebSocket lives for days.
 * Everything queued during one event-loop pass goes out in one
 * c->send_chain() call (a writev, or SSL_write through the SSL buffer).
 */


#include "ngx_http_ws_module.h"


/* Chain links built on the stack per send_chain() call. */
#define NGX_HTTP_WS_IOV_MAX  64

/* Queue entries kept for reuse per worker (the profile showed malloc and
 * free of one entry per message among the top costs of echo). */
#define NGX_HTTP_WS_OUT_CACHE  4096


/*
 * Frames whose allocation fits this many bytes (header, payload and the
 * frame struct) are all allocated at this size and kept on a per-worker
 * free list for reuse: an echo allocates and frees one reply per message,
 * and malloc and free were the top costs left in its profile. At most
 * NGX_HTTP_WS_SMALL_FRAME * NGX_HTTP_WS_FRAME_CACHE bytes (256 KiB) stay
 * cached per worker.
 */
#define NGX_HTTP_WS_SMALL_FRAME  256
#define NGX_HTTP_WS_FRAME_CACHE  1024

#define ngx_http_ws_frame_size(len)                                           \
    (offsetof(ngx_http_ws_frame_t, data) + (len))

/*
 * Under AddressSanitizer a cached frame is poisoned until it is handed out
 * again, so a use after the last release is still reported, as it would be
 * for memory given back to malloc.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ngx_http_ws_poison(p, size)    ASAN_POISON_MEMORY_REGION(p, size)
#define ngx_http_ws_unpoison(p, size)  ASAN_UNPOISON_MEMORY_REGION(p, size)
#else
#define ngx_http_ws_poison(p, size)
#define ngx_http_ws_unpoison(p, size)
#endif


static ngx_http_ws_out_t *ngx_http_ws_out_alloc(ngx_log_t *log);
static void ngx_http_ws_out_put(ngx_http_ws_out_t *out);
static ngx_http_ws_frame_t *ngx_http_ws_frame_new(ngx_log_t *log,
    wscore_opcode_e opcode, ngx_uint_t rsv1, size_t len, u_char **payload);


static ngx_http_ws_frame_t *ngx_http_ws_frame_get(ngx_log_t *log,
    size_t len);
static void ngx_http_ws_frame_free(ngx_http_ws_frame_t *frame);


static ngx_http_ws_out_t  *ngx_http_ws_out_cache;
static ngx_uint_t          ngx_http_ws_out_cached;

/* free small frames, linked through their first data bytes */
static ngx_http_ws_frame_t  *ngx_http_ws_frame_cache;
static ngx_uint_t            ngx_http_ws_frame_cached;


static ngx_http_ws_out_t *
ngx_http_ws_out_alloc(ngx_log_t *log)
{
    ngx_http_ws_out_t  *out;

    out = ngx_http_ws_out_cache;

    if (out) {
        ngx_http_ws_out_cache = out->next;
        ngx_http_ws_out_cached--;
        return out;
    }

    return ngx_alloc(sizeof(ngx_http_ws_out_t), log);
}


static void
ngx_http_ws_out_put(ngx_http_ws_out_t *out)
{
    if (ngx_http_ws_out_cached >= NGX_HTTP_WS_OUT_CACHE) {
        ngx_free(out);
        return;
    }

    out->next = ngx_http_ws_out_cache;
    ngx_http_ws_out_cache = out;
    ngx_http_ws_out_cached++;
}


/*
 * A frame of len data bytes; the caller sets refs and writes all len
 * bytes, so nothing of a frame's earlier use can show through.
 */
static ngx_http_ws_frame_t *
ngx_http_ws_frame_get(ngx_log_t *log, size_t len)
{
    ngx_http_ws_frame_t  *frame;

    if (ngx_http_ws_frame_size(len) > NGX_HTTP_WS_SMALL_FRAME) {
        frame = ngx_alloc(ngx_http_ws_frame_size(len), log);

    } else if (ngx_http_ws_frame_cache) {
        frame = ngx_http_ws_frame_cache;
        ngx_http_ws_unpoison(frame, NGX_HTTP_WS_SMALL_FRAME);
        ngx_memcpy(&ngx_http_ws_frame_cache, frame->data,
                   sizeof(ngx_http_ws_frame_t *));
        ngx_http_ws_frame_cached--;

    } else {
        frame = ngx_alloc(NGX_HTTP_WS_SMALL_FRAME, log);
    }

    if (frame) {
        frame->len = len;
    }

    return frame;
}


/*
 * The size class is told by len, which is set once in ngx_http_ws_frame_get
 * and never changed, and every frame comes from there: a frame of a small
 * len always has NGX_HTTP_WS_SMALL_FRAME bytes, room for the link.
 */
static void
ngx_http_ws_frame_free(ngx_http_ws_frame_t *frame)
{
    if (ngx_http_ws_frame_size(frame->len) > NGX_HTTP_WS_SMALL_FRAME
        || ngx_http_ws_frame_cached >= NGX_HTTP_WS_FRAME_CACHE)
    {
        ngx_free(frame);
        return;
    }

    ngx_memcpy(frame->data, &ngx_http_ws_frame_cache,
               sizeof(ngx_http_ws_frame_t *));
    ngx_http_ws_frame_cache = frame;
    ngx_http_ws_frame_cached++;

    ngx_http_ws_poison(frame, NGX_HTTP_WS_SMALL_FRAME);
}


/* The worker's caches go back to the heap when it exits. */
void
ngx_http_ws_output_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_out_t    *out;
    ngx_http_ws_frame_t  *frame;

    while (ngx_http_ws_frame_cache) {
        frame = ngx_http_ws_frame_cache;
        ngx_http_ws_unpoison(frame, NGX_HTTP_WS_SMALL_FRAME);
        ngx_memcpy(&ngx_http_ws_frame_cache, frame->data,
                   sizeof(ngx_http_ws_frame_t *));
        ngx_free(frame);
    }

    ngx_http_ws_frame_cached = 0;

    while (ngx_http_ws_out_cache) {
        out = ngx_http_ws_out_cache;
        ngx_http_ws_out_cache = out->next;
        ngx_free(out);
    }

    ngx_http_ws_out_cached = 0;
}


/* A frame with room for len payload bytes, which the caller writes. */
ngx_http_ws_frame_t *
ngx_http_ws_frame_alloc(ngx_log_t *log, wscore_opcode_e opcode, size_t len,
    u_char **payload)
{
    return ngx_http_ws_frame_new(log, opcode, 0, len, payload);
}


/* The same with RSV1 set: a permessage-deflate message (RFC 7692). */
ngx_http_ws_frame_t *
ngx_http_ws_frame_alloc_compressed(ngx_log_t *log, wscore_opcode_e opcode,
    size_t len, u_char **payload)
{
    return ngx_http_ws_frame_new(log, opcode, 1, len, payload);
}


static ngx_http_ws_frame_t *
ngx_http_ws_frame_new(ngx_log_t *log, wscore_opcode_e opcode,
    ngx_uint_t rsv1, size_t len, u_char **payload)
{
    size_t                hlen;
    u_char                header[WSCORE_MAX_HEADER_LEN];
    ngx_http_ws_frame_t  *frame;

    hlen = wscore_frame_header_encode(header, opcode, 1, (int) rsv1, len);

    frame = ngx_http_ws_frame_get(log, hlen + len);
    if (frame == NULL) {
        return NULL;
    }

    frame->refs = 1;

    ngx_memcpy(frame->data, header, hlen);
    *payload = frame->data + hlen;

    return frame;
}


ngx_http_ws_frame_t *
ngx_http_ws_frame_create(ngx_log_t *log, wscore_opcode_e opcode,
    const u_char *payload, size_t len)
{
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_alloc(log, opcode, len, &p);

    if (frame && len) {
        ngx_memcpy(p, payload, len);
    }

    return frame;
}


void
ngx_http_ws_frame_release(ngx_http_ws_frame_t *frame)
{
    if (--frame->refs == 0) {
        ngx_http_ws_frame_free(frame);
    }
}


ngx_int_t
ngx_http_ws_queue_frame(ngx_http_ws_session_t *ws, ngx_http_ws_frame_t *frame)
{
    ngx_http_ws_out_t  *out;

    out = ngx_http_ws_out_alloc(ws->connection->log);
    if (out == NULL) {
        return NGX_ERROR;
    }

    frame->refs++;

    out->next = NULL;
    out->frame = frame;
    out->pos = 0;
    out->queued = ngx_current_msec;

    *ws->out_last = out;
    ws->out_last = &out->next;
    ws->out_bytes += frame->len;

    return NGX_OK;
}


/* Queues bytes that are already framed (control frames from the core). */
ngx_int_t
ngx_http_ws_queue_bytes(ngx_http_ws_session_t *ws, const u_char *data,
    size_t len)
{
    ngx_int_t             rc;
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_get(ws->connection->log, len);
    if (frame == NULL) {
        return NGX_ERROR;
    }

    frame->refs = 1;
    ngx_memcpy(frame->data, data, len);

    rc = ngx_http_ws_queue_frame(ws, frame);

    ngx_http_ws_frame_release(frame);

    return rc;
}


/*
 * Writes as much of the queue as the socket takes. NGX_OK: all written;
 * NGX_AGAIN: the rest waits for the next write event; NGX_ERROR: the
 * connection is broken.
 */
ngx_int_t
ngx_http_ws_flush(ngx_http_ws_session_t *ws)
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
            ngx_http_ws_frame_release(out->frame);
            ngx_http_ws_out_put(out);
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


void
ngx_http_ws_out_free(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_out_t  *out, *next;

    for (out = ws->out; out; out = next) {
        next = out->next;
        ngx_http_ws_frame_release(out->frame);
        ngx_http_ws_out_put(out);
    }

    ws->out = NULL;
    ws->out_last = &ws->out;
    ws->out_bytes = 0;
}
