
/*
 * ngx_ws: one WebSocket connection after the 101.
 *
 * The session owns c->read->handler and c->write->handler, so NGINX's
 * shutdown paths (ngx_close_idle_connections on quit and reload, the
 * worker_shutdown_timeout) reach this code and a close frame goes out
 * instead of a silent reset. Bytes read are fed to the core; its events
 * become output; its next deadline arms the connection's one timer.
 * Whole messages go to the location's handler; the features that follow
 * every session (channels, the security guards, permessage-deflate) are
 * called through the hooks they registered, never by name.
 */


#include "ngx_http_ws_session.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_log_record.h"
#include "ngx_http_ws_heap_trim.h"
#include "ngx_http_ws_slots.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_output.h"


static void ngx_http_ws_read_handler(ngx_event_t *rev);
static void ngx_http_ws_write_handler(ngx_event_t *wev);
static ngx_inline ngx_uint_t ngx_http_ws_reply_at_once(
    ngx_http_ws_session_t *ws, ngx_uint_t queued);
static ngx_inline ngx_uint_t ngx_http_ws_writes_alone(
    ngx_http_ws_session_t *ws);
static void ngx_http_ws_timer(ngx_http_ws_session_t *ws);
static ngx_uint_t ngx_http_ws_read_window(ngx_http_ws_session_t *ws,
    u_char **buf, size_t *size);
static void ngx_http_ws_process(ngx_http_ws_session_t *ws,
    const u_char *data, size_t len, ngx_uint_t in_place);
static void ngx_http_ws_handle_event(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static uint8_t *ngx_http_ws_place(void *ctx, wscore_opcode_e opcode,
    size_t len);
static ngx_inline ngx_int_t ngx_http_ws_send_data(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
static ngx_int_t ngx_http_ws_take_core_output(ngx_http_ws_session_t *ws);
static void ngx_http_ws_shutdown(ngx_http_ws_session_t *ws);
static void ngx_http_ws_start_close(ngx_http_ws_session_t *ws,
    ngx_uint_t code, const char *reason);
static void ngx_http_ws_after_io(ngx_http_ws_session_t *ws);
static void ngx_http_ws_after_io_untimed(ngx_http_ws_session_t *ws);
static void ngx_http_ws_after_input(ngx_http_ws_session_t *ws);
static void ngx_http_ws_after_output(ngx_http_ws_session_t *ws);
static void ngx_http_ws_check_backpressure(ngx_http_ws_session_t *ws);
static void ngx_http_ws_arm_timer(ngx_http_ws_session_t *ws);
static void ngx_http_ws_finalize(ngx_http_ws_session_t *ws);
static void ngx_http_ws_post_step(ngx_http_ws_session_t *ws,
    ngx_uint_t step);
static void ngx_http_ws_steps_handler(ngx_event_t *ev);
static void ngx_http_ws_finalize_step(ngx_http_ws_session_t *ws);
static void ngx_http_ws_detach(ngx_http_ws_session_t *ws);
static void ngx_http_ws_session_log_action(ngx_connection_t *c);
static void ngx_http_ws_log_fill(ngx_http_ws_session_t *ws,
    ngx_http_request_t *r);
static u_char *ngx_http_ws_session_log_error(ngx_log_t *log, u_char *buf,
    size_t len);
static void ngx_http_ws_free_header_buffers(ngx_connection_t *c,
    ngx_chain_t *cl);
static ngx_uint_t ngx_http_ws_owned_cleanup(ngx_http_ws_session_t *ws,
    ngx_pool_cleanup_pt handler);
static ngx_http_ws_session_t *ngx_http_ws_connection_session(
    ngx_connection_t *c);
static void ngx_http_ws_cleanup(void *data);
static void ngx_http_ws_unlink_step(ngx_http_ws_session_t *ws);
static void ngx_http_ws_release_ssl_buffer(ngx_connection_t *c);


/*
 * Bytes are read into one buffer per worker: the core copies what it keeps,
 * so an idle connection holds no read buffer at all.
 */
#define NGX_HTTP_WS_RECV_SIZE      65536

/*
 * The rest of a large frame's payload is read straight into the core's
 * reassembly buffer, in reads of up to this much (a 1 MiB message in one
 * or two reads, as the socket's buffer allows, instead of sixteen reads
 * into the buffer above and a copy of every byte out of it). The room is
 * only reserved, not touched, until bytes arrive, and never more than the
 * frame has left, which its header was checked against.
 */
#define NGX_HTTP_WS_IN_PLACE_MAX   (4 * 1024 * 1024)

/*
 * Less than this left of a frame is read through the buffer above, which
 * takes the frames after it in the same read.
 */
#define NGX_HTTP_WS_IN_PLACE_MIN   16384

/* A close frame's reason: 125 bytes less the code's two, RFC 6455 5.5.1. */
#define NGX_HTTP_WS_CLOSE_REASON_LEN  123

/* Reads per event before yielding to other connections (fairness). */
#define NGX_HTTP_WS_READS_PER_EVENT  4

static u_char  ngx_http_ws_recv_buf[NGX_HTTP_WS_RECV_SIZE];

/*
 * A handler that replies with the message's own payload (echo): a message
 * that arrives whole is unmasked by the core straight into the payload of
 * its reply frame (wscore_payload_sink_t), so the payload is written once
 * instead of twice. The frame lives only within one
 * wscore_session_receive_to() call and its event, hence one per worker.
 */
static ngx_http_ws_frame_t  *ngx_http_ws_placed_frame;

/*
 * Whether the event being handled is the last of its read (set before
 * every event: handlers, and so their replies, run from events only); with
 * no read to follow in this pass, a reply to it is the last output of the
 * pass (ngx_http_ws_session_reply()).
 */
static ngx_uint_t  ngx_http_ws_input_end;


/*
 * What must run after the current handler has returned, in the same loop
 * pass: freeing the request once the 101 is out (detach) and ending the
 * session (finalize). One posted event per worker runs the sessions
 * waiting for a step, in order, instead of an event in every session: an
 * ngx_event_t is 96 bytes that an idle connection would carry for life.
 * The sessions waiting, oldest first, are a singly linked list: a pointer
 * in each session, not a queue link's two.
 */
static ngx_event_t             ngx_http_ws_steps_event;
static ngx_http_ws_session_t  *ngx_http_ws_steps;
/* the worker's sessions, packed apart from the heap (idle memory) */
static ngx_http_ws_slots_t     ngx_http_ws_sessions;
static ngx_http_ws_session_t **ngx_http_ws_steps_last = &ngx_http_ws_steps;


/* Where the core's session starts in the session's block. */
#define NGX_HTTP_WS_CORE_OFFSET                                              \
    ngx_align(sizeof(ngx_http_ws_session_t), WSCORE_SESSION_ALIGN)


/* Features' hooks, in the order they registered. */
#define ngx_http_ws_hooks_each(ws, h, i)                                     \
    for ((i) = 0, (h) = ngx_http_ws_session_hooks(ws)->all.elts;           \
         (i) < ngx_http_ws_session_hooks(ws)->all.nelts;                     \
         (i)++)


/* Whether a feature's queue stops reading (ngx_http_ws_hooks_t). */
static ngx_inline ngx_uint_t
ngx_http_ws_reads_stopped(ngx_http_ws_session_t *ws)
{
    ngx_uint_t             i;
    ngx_http_ws_hooks_t  **h;

    h = ngx_http_ws_session_hooks(ws)->reads_stopped.elts;

    for (i = 0; i < ngx_http_ws_session_hooks(ws)->reads_stopped.nelts; i++) {
        if (h[i]->reads_stopped(ws)) {
            return 1;
        }
    }

    return 0;
}


/*
 * The session is made before the 101 so that everything that can fail
 * (memory, channel names) fails while an HTTP error can still be sent.
 */
ngx_http_ws_session_t *
ngx_http_ws_session_create(ngx_http_request_t *r, ngx_http_ws_loc_conf_t *wscf)
{
    wscore_config_t         cfg;
    ngx_pool_cleanup_t     *cln;
    ngx_http_ws_trace_t    *trace;
    ngx_http_ws_session_t  *ws;

    /*
     * Not from the request pool: the session outlives its request, which
     * is freed once the 101 is out (see ngx_http_ws_detach()). The core's
     * session is in the same block, after ours: one slot, in pages that
     * hold sessions only (ngx_http_ws_slots.c), not in the heap among the
     * handshake's short-lived blocks.
     */
    ws = ngx_http_ws_slots_alloc(&ngx_http_ws_sessions,
                                 NGX_HTTP_WS_CORE_OFFSET
                                 + wscore_session_size(),
                                 r->connection->log);
    if (ws == NULL) {
        return NULL;
    }

    trace = ngx_http_ws_trace_of_request(r);
    if (trace == NULL) {
        ngx_http_ws_slots_free(&ngx_http_ws_sessions, ws);
        return NULL;
    }

    ws->trace = *trace;

    wscore_config_default(&cfg);
    cfg.max_message_size = wscf->max_message_size;
    cfg.max_frame_size = wscf->max_frame_size;
    cfg.ping_interval_ms = wscf->ping_interval;
    cfg.ping_max_missed = wscf->ping_max_missed;
    cfg.idle_timeout_ms = wscf->idle_timeout;
    cfg.close_timeout_ms = wscf->close_timeout;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_ws_slots_free(&ngx_http_ws_sessions, ws);
        return NULL;
    }

    ws->core = wscore_session_create_in((u_char *) ws
                                        + NGX_HTTP_WS_CORE_OFFSET,
                                        &cfg, ngx_current_msec);

    cln->handler = ngx_http_ws_cleanup;
    cln->data = ws;

    ws->signature = NGX_HTTP_WS_SESSION_SIGNATURE;

    ws->request = r;
    ws->connection = r->connection;
    ws->conf = wscf;
    ws->plain = (r->connection->ssl == NULL);
    ws->main_conf = r->main_conf;
    ws->loc_conf = r->loc_conf;
    ws->out_last = &ws->out;
    ws->close_code = WSCORE_CLOSE_ABNORMAL;

    ngx_http_set_ctx(r, ws, ngx_http_ws_module);

    return ws;
}


ngx_int_t
ngx_http_ws_session_start(ngx_http_ws_session_t *ws)
{
    size_t                     pending;
    ngx_uint_t                 i;
    ngx_connection_t          *c;
    ngx_http_ws_hooks_t      **h;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = ws->request;
    c = ws->connection;

    ws->start = ngx_current_msec;
    ws->sent_at_upgrade = c->sent;
    ws->upgraded = 1;
    ngx_http_ws_metrics_session_start(ws);

    /* the request is the session's: freed after the 101, or on close */
    r->main->count++;

    /* the access-log line is written from this at close, if any reads it */
    if (ngx_http_ws_log_record_wanted(r->main_conf, r->loc_conf)) {
        ws->log_record = ngx_http_ws_log_record_take(r);
        if (ws->log_record == NULL) {
            ngx_http_ws_finalize(ws);
            return NGX_DONE;
        }
    }

    ngx_http_ws_session_log_action(c);

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        ngx_http_ws_finalize(ws);
        return NGX_DONE;
    }

    /*
     * "idle" makes ngx_close_idle_connections() call our read handler
     * with c->close set when the worker is told to quit or reload.
     */
    c->idle = 1;
    c->read->handler = ngx_http_ws_read_handler;
    c->write->handler = ngx_http_ws_write_handler;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    /* frames the client sent right behind its request line and headers */
    pending = r->header_in->last - r->header_in->pos;

    if (pending) {
        ngx_http_ws_process(ws, r->header_in->pos, pending, 0);
        r->header_in->pos = r->header_in->last;

        if (ws->finalized) {
            return NGX_DONE;
        }
    }

    if (ngx_exiting || ngx_terminate) {
        ngx_http_ws_shutdown(ws);
        return NGX_DONE;
    }

    /* a token's expiry, say */
    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->open && h[i]->open(ws) != NGX_OK) {
            ngx_http_ws_finalize(ws);
            return NGX_DONE;
        }
    }

    /*
     * The tail of a 101 the socket did not take: nothing has asked for the
     * write event yet (NGX_DONE skips ngx_http_set_write_handler()).
     */
    if ((r->out || r->buffered)
        && ngx_handle_write_event(c->write, 0) != NGX_OK)
    {
        ngx_http_ws_finalize(ws);
        return NGX_DONE;
    }

    ngx_http_ws_after_io(ws);

    if (ws->finalized) {
        return NGX_DONE;
    }

    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    /*
     * NGINX still uses the request when this handler returns (finalizing
     * it, its posted subrequests): it is freed after, in this loop pass.
     * Closing first takes the event over (ngx_http_ws_finalize()).
     */
    ngx_http_ws_post_step(ws, NGX_HTTP_WS_STEP_DETACH);

    return NGX_DONE;
}


/*
 * Queues a step for the session: detach or finalize. A session waits for
 * one step at a time; finalize takes the place of a detach not run yet.
 */
static void
ngx_http_ws_post_step(ngx_http_ws_session_t *ws, ngx_uint_t step)
{
    ngx_http_ws_steps_event.handler = ngx_http_ws_steps_handler;

    /* the cycle's, which a reload replaces */
    ngx_http_ws_steps_event.log = ngx_cycle->log;

    if (ws->step == NGX_HTTP_WS_STEP_NONE) {
        ws->step_next = NULL;
        *ngx_http_ws_steps_last = ws;
        ngx_http_ws_steps_last = &ws->step_next;
    }

    if (ws->step != NGX_HTTP_WS_STEP_FINALIZE) {
        ws->step = step;
    }

    ngx_post_event(&ngx_http_ws_steps_event, &ngx_posted_events);
}


/* Steps queued while these run (a close after a detach) run here too. */
static void
ngx_http_ws_steps_handler(ngx_event_t *ev)
{
    ngx_uint_t              step;
    ngx_http_ws_session_t  *ws;

    while (ngx_http_ws_steps) {
        ws = ngx_http_ws_steps;
        ngx_http_ws_steps = ws->step_next;

        if (ngx_http_ws_steps == NULL) {
            ngx_http_ws_steps_last = &ngx_http_ws_steps;
        }

        step = ws->step;
        ws->step = NGX_HTTP_WS_STEP_NONE;

        if (step == NGX_HTTP_WS_STEP_DETACH) {
            ngx_http_ws_detach(ws);

        } else {
            ngx_http_ws_finalize_step(ws);
        }
    }
}


/*
 * The request of a WebSocket is freed once the 101 is out: its pool (two
 * 4 KiB blocks) and the header buffer would otherwise stay for the whole
 * life of an idle connection. What the session still needs is
 * its own (the session, the guard and token state, the subscriptions), on
 * the heap or in the connection's pool, or in the log record that writes
 * the access-log line at close. A request that something else still holds
 * is kept. One that is still needed for a while (the tail of the 101 not
 * sent yet, a token awaited as the first message) is freed when that is
 * over: see ngx_http_ws_session_retry_detach().
 */
static void
ngx_http_ws_detach(ngx_http_ws_session_t *ws)
{
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_connection_t       *c;
    ngx_pool_cleanup_t     *cln, *own, *ours;
    ngx_http_cleanup_t     *hcln;
    ngx_http_log_ctx_t     *ctx;
    ngx_http_request_t     *r;
    ngx_http_connection_t  *hc;
    ngx_http_ws_hooks_t   **h;

    r = ws->request;
    c = ws->connection;

    if (ws->finalized || r == NULL) {
        return;
    }

    /* a log line that would need the request is kept from it */
    if (ws->log_record == NULL
        && ngx_http_ws_log_record_wanted(ws->main_conf, ws->loc_conf))
    {
        return;
    }

    if (r != r->main || r->count != 1) {
        return;
    }

    /* the tail of the 101 goes through the request's filters */
    if (r->out || r->buffered) {
        ws->detach_later = 1;
        return;
    }

    /* a token still to come, say */
    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->detachable == NULL) {
            continue;
        }

        rc = h[i]->detachable(ws);

        if (rc == NGX_AGAIN) {
            ws->detach_later = 1;
            return;
        }

        if (rc != NGX_OK) {
            return;
        }
    }

    /*
     * Another module's cleanup (limit_conn, say) expects the request. The
     * session's own is found here rather than kept in the session (a
     * pointer less for every idle connection).
     */
    ours = NULL;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_ws_cleanup) {
            ours = (cln->data == ws) ? cln : ours;
            continue;
        }

        if (cln->handler != NULL
            && !ngx_http_ws_owned_cleanup(ws, cln->handler))
        {
            return;
        }
    }

    if (ours == NULL) {
        return;
    }

    for (hcln = r->cleanup; hcln; hcln = hcln->next) {
        if (hcln->handler) {
            return;
        }
    }

    own = ngx_pool_cleanup_add(c->pool, 0);
    if (own == NULL) {
        return;
    }

    /*
     * In registration order: the guard state (the security module's)
     * last, as it hands the token's claims over to the session's copy,
     * which the request's copy must not outlive, so nothing may fail
     * after it.
     */
    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->detach && h[i]->detach(ws) != NGX_OK) {
            /* what moved stays valid; the request is kept */
            return;
        }
    }

    /* from now on the session ends with the connection */
    own->handler = ngx_http_ws_cleanup;
    own->data = ws;
    ours->handler = NULL;

    /* the header buffers, freed as ngx_http_set_keepalive() does */
    hc = r->http_connection;

    if (c->buffer && c->buffer->start
        && ngx_pfree(c->pool, c->buffer->start) == NGX_OK)
    {
        c->buffer->pos = NULL;
    }

    ngx_http_ws_free_header_buffers(c, hc->free);
    hc->free = NULL;

    ngx_http_ws_free_header_buffers(c, hc->busy);
    hc->busy = NULL;
    hc->nbusy = 0;

    ngx_http_ws_release_ssl_buffer(c);

    /* the request's memory, freed below, goes back to the kernel soon */
    ngx_http_ws_heap_trim_soon();

    /* the access-log line comes from ws->log_record at close */
    r->logged = 1;

    c->data = ws;
    ws->request = NULL;

    ngx_http_free_request(r, 0);

    c->destroyed = 0;
    ngx_http_ws_session_log_action(c);

    ctx = c->log->data;
    ctx->request = NULL;
    ctx->current_request = NULL;
}


/*
 * NGINX's TLS write buffer (ssl_buffer_size, 16 KiB by default) is taken
 * from the connection's pool at the first write and kept: an idle wss://
 * connection would hold it for life. It is freed whenever it is empty, as
 * ngx_http_set_keepalive() does, and the next write takes it again.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_release_ssl_buffer(ngx_connection_t *c)
{
#if (NGX_HTTP_SSL)
    if (c->ssl && c->ssl->buf && c->ssl->buf->start
        && c->ssl->buf->pos == c->ssl->buf->last
        && !(c->buffered & NGX_SSL_BUFFERED))
    {
        ngx_ssl_free_buffer(c);
    }
#endif
}


/*
 * A cleanup of the request pool that the session's own trace or a feature
 * added, and that moves with the session.
 */
static ngx_uint_t
ngx_http_ws_owned_cleanup(ngx_http_ws_session_t *ws,
    ngx_pool_cleanup_pt handler)
{
    ngx_uint_t             i;
    ngx_http_ws_hooks_t  **h;

    if (ngx_http_ws_trace_owns_cleanup(handler)) {
        return 1;
    }

    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->owns_cleanup && h[i]->owns_cleanup(handler)) {
            return 1;
        }
    }

    return 0;
}


/* The large header buffers of a freed request, chain links and all. */
static void
ngx_http_ws_free_header_buffers(ngx_connection_t *c, ngx_chain_t *cl)
{
    ngx_chain_t  *ln;

    while (cl) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }
}


/*
 * A detach put off (the tail of the 101 was still queued, a token was
 * still awaited) is tried again, from a posted event as the first try.
 */
void
ngx_http_ws_session_retry_detach(ngx_http_ws_session_t *ws)
{
    if (!ws->detach_later || ws->finalized || ws->request == NULL) {
        return;
    }

    ws->detach_later = 0;

    ngx_http_ws_post_step(ws, NGX_HTTP_WS_STEP_DETACH);
}


/* c->data: the request until the session is detached, then the session */
NGX_HTTP_WS_HOT
static ngx_http_ws_session_t *
ngx_http_ws_connection_session(ngx_connection_t *c)
{
    ngx_http_request_t  *r;

    r = c->data;

    if (r->signature == NGX_HTTP_MODULE) {
        return ngx_http_get_module_ctx(r, ngx_http_ws_module);
    }

    return c->data;
}


NGX_HTTP_WS_HOT
static void
ngx_http_ws_read_handler(ngx_event_t *rev)
{
    u_char                 *buf;
    size_t                  size;
    ssize_t                 n;
    ngx_uint_t              reads, queued, in_place;
    ngx_connection_t       *c;
    ngx_http_ws_session_t  *ws;

    c = rev->data;
    ws = ngx_http_ws_connection_session(c);

    if (ws->finalized) {
        /* an event fetched in the pass that ended the session */
        return;
    }

    /*
     * NGINX sets c->close (and c->error for worker_shutdown_timeout) only
     * on a worker that is leaving, for connections marked idle: asked
     * first, the flag is not one more cache line of the connection to
     * touch per read.
     */
    if (ngx_exiting && c->close) {
        c->close = 0;

        if (c->error) {
            /* worker_shutdown_timeout: no time left for a close handshake */
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "ws: worker shutdown timeout, dropping connection");
            ngx_http_ws_finalize(ws);
            return;
        }

        ngx_http_ws_shutdown(ws);
        return;
    }

    if (rev->timedout) {
        rev->timedout = 0;
        ngx_http_ws_timer(ws);
        return;
    }

    queued = (ws->out != NULL);

    for (reads = 0; reads < NGX_HTTP_WS_READS_PER_EVENT; reads++) {

        /* a feature's queue (a backend's calls) stops reads too */
        if (ws->paused || !rev->ready || ngx_http_ws_reads_stopped(ws)) {
            break;
        }

        buf = ngx_http_ws_recv_buf;
        size = NGX_HTTP_WS_RECV_SIZE;
        in_place = 0;

        if (ws->in_frame) {
            /* only then: not a call per read of small messages */
            in_place = ngx_http_ws_read_window(ws, &buf, &size);
        }

        n = c->recv(c, buf, size);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            if (wscore_session_state(ws->core) != WSCORE_STATE_CLOSED) {
                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "ws: peer closed the TCP connection without a "
                              "close frame");
            }

            c->read->eof = 1;
            ngx_http_ws_finalize(ws);
            return;
        }

        ngx_http_ws_process(ws, buf, (size_t) n, in_place);

        if (ws->finalized) {
            return;
        }

        if (ws->paused || ws->backlogged
            || ws->out_bytes > ws->conf->send_buffer / 2)
        {
            ngx_http_ws_check_backpressure(ws);
        }
    }

    if (rev->ready && !ws->paused && !ngx_http_ws_reads_stopped(ws)) {
        /*
         * More to read: let other connections have their turn first. The
         * replies go from the posted write, run below.
         */
        ngx_post_event(rev, &ngx_posted_events);

    } else {
        if (ngx_http_ws_reply_at_once(ws, queued)
            && ngx_http_ws_output_flush(ws) == NGX_ERROR)
        {
            ngx_http_ws_finalize(ws);
            return;
        }

        /*
         * ngx_handle_read_event() has nothing to do for an edge-triggered
         * event already added (epoll): not a call per read then.
         */
        if (!(rev->active && (ngx_event_flags & NGX_USE_CLEAR_EVENT))
            && ngx_handle_read_event(rev, 0) != NGX_OK)
        {
            ngx_http_ws_finalize(ws);
            return;
        }
    }

    ngx_http_ws_after_input(ws);

    /*
     * The replies to what was just read go out now, not from the write
     * event posted behind every other ready connection's read: with 100
     * connections echoing 16 KiB, 100 replies (1.6 MB) waited at once,
     * out of the CPU's cache when the kernel copied them, and more than
     * the frame cache keeps (malloc, and brk() as glibc gave the top of
     * the heap back). Every reply to this read is queued already, so they
     * still go in one write.
     */
    if (!ws->finalized && ws->flush_posted && c->write->posted) {
        ngx_delete_posted_event(c->write);
        c->write->handler(c->write);
    }
}


/*
 * The replies this read queued are written here, without the write event:
 * with one message in flight per connection and a thousand connections,
 * posting it (and running it later, or from the end of the read handler)
 * cost ngx_post_event(), the write handler's checks, a second after-I/O
 * step and one more cache line per message. The usual case only: a plain
 * socket, the request freed, no write posted yet, no more to read, the
 * session in no channel. The rest is queued and posted as before, and the
 * end of the read handler runs the posted write.
 *
 * Output queued before the read (queued) waits for the socket or for a
 * posted write, which will carry the replies too. A queue that was empty
 * stands in for c->write->ready: on a plain socket only a write that
 * leaves bytes queued clears it, and the write event is then one more
 * cache line to touch per message. Were the socket full all the same, the
 * write would take nothing and wait for it as before.
 */
static ngx_inline ngx_uint_t
ngx_http_ws_reply_at_once(ngx_http_ws_session_t *ws, ngx_uint_t queued)
{
    return !queued
           && ws->out != NULL
           && ngx_http_ws_writes_alone(ws);
}


/*
 * What a reply may be written at once for, the queue aside: no write
 * posted yet, a plain socket, the request freed, and no channel whose
 * deliveries could share the write.
 */
static ngx_inline ngx_uint_t
ngx_http_ws_writes_alone(ngx_http_ws_session_t *ws)
{
    return !ws->flush_posted
           && ws->plain
           && ws->request == NULL
           && ws->subscriptions == NULL;
}


/*
 * Bytes held below us, by the TLS layer: a plain HTTP/1.1 connection has
 * none, and c->buffered is a cache line of the connection nothing else of
 * a message touches.
 */
static ngx_inline ngx_uint_t
ngx_http_ws_lowlevel_buffered(ngx_http_ws_session_t *ws)
{
    return !ws->plain
           && (ws->connection->buffered & NGX_LOWLEVEL_BUFFERED);
}


NGX_HTTP_WS_HOT
static void
ngx_http_ws_write_handler(ngx_event_t *wev)
{
    ngx_uint_t              tail;
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_ws_session_t  *ws;

    c = wev->data;
    ws = ngx_http_ws_connection_session(c);

    if (ws->finalized) {
        return;
    }

    /*
     * The session's timer, while TLS had the read handler swapped
     * (ngx_ssl_read_handler() calls this one).
     */
    if (c->read->timedout) {
        c->read->timedout = 0;
        ngx_http_ws_timer(ws);
        return;
    }

    ws->flush_posted = 0;

    r = ws->request;
    tail = (r && (r->out || r->buffered));

    if (ngx_http_ws_output_flush(ws) == NGX_ERROR) {
        ngx_http_ws_finalize(ws);
        return;
    }

    /* the 101 is out at last: the request can go */
    if (tail && r->out == NULL && !r->buffered) {
        ngx_http_ws_session_retry_detach(ws);
        ngx_http_ws_after_io(ws);
        return;
    }

    if (ws->out == NULL) {
        ngx_http_ws_release_ssl_buffer(c);
    }

    ngx_http_ws_after_output(ws);
}


/*
 * The one timer of a session is its connection's read event timer: reads
 * have no timeout of their own (the core's deadlines are the timeouts),
 * and an ngx_event_t more in every session would be 96 bytes of idle
 * memory. An expiry reaches the read handler with rev->timedout set.
 */
static void
ngx_http_ws_timer(ngx_http_ws_session_t *ws)
{
    ngx_connection_t       *c;
    wscore_timer_result_e   rc;
    void                  (*guard)(void *session);

    c = ws->connection;

    if (wscore_session_state(ws->core) == WSCORE_STATE_CLOSED) {
        /* the peer does not read our last frames: stop waiting */
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: close handshake timed out");
        c->timedout = 1;
        ngx_http_ws_finalize(ws);
        return;
    }

    if (ws->rare && ws->rare->guard
        && (ngx_msec_int_t) (ngx_current_msec - ws->rare->guard_at) >= 0)
    {
        guard = ws->rare->guard;
        ws->rare->guard = NULL;
        guard(ws);

        if (ws->finalized) {
            return;
        }
    }

    rc = wscore_session_on_timer(ws->core, ngx_current_msec);
    ngx_http_ws_metrics_timer(ws, rc);

    switch (rc) {

    case WSCORE_TIMER_UNRESPONSIVE:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: peer missed %ui pings, closing with 1001",
                      ws->conf->ping_max_missed);
        break;

    case WSCORE_TIMER_IDLE:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: idle timeout, closing with 1001");
        break;

    case WSCORE_TIMER_CLOSE_ANSWERED:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: the peer's close went unanswered for %M ms, "
                      "answering it with its own code", ws->conf->close_timeout);
        break;

    case WSCORE_TIMER_CLOSE_EXPIRED:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: close handshake timed out");
        c->timedout = 1;
        ngx_http_ws_finalize(ws);
        return;

    default: /* WSCORE_TIMER_NONE, WSCORE_TIMER_PING_SENT */
        break;
    }

    if (ngx_http_ws_take_core_output(ws) != NGX_OK) {
        ngx_http_ws_finalize(ws);
        return;
    }

    ngx_http_ws_after_io(ws);
}


/*
 * The rest of a large frame's payload goes straight into the core's
 * reassembly buffer (see NGX_HTTP_WS_IN_PLACE_MAX): *buf and *size become
 * the core's window when it has one worth a read of its own (1). None: the
 * input is between frames again, and reads go on through the read buffer
 * without asking.
 */
static ngx_uint_t
ngx_http_ws_read_window(ngx_http_ws_session_t *ws, u_char **buf,
    size_t *size)
{
    size_t   len;
    u_char  *window;

    window = wscore_session_receive_window(ws->core,
                                           NGX_HTTP_WS_IN_PLACE_MAX, &len);

    if (window == NULL) {
        ws->in_frame = 0;
        return 0;
    }

    if (len < NGX_HTTP_WS_IN_PLACE_MIN) {
        return 0;
    }

    *buf = window;
    *size = len;

    return 1;
}


/*
 * len bytes of input at data, or, in_place, read straight into the core's
 * window (ngx_http_ws_read_window()), where the core takes them as they
 * lie. One loop for both keeps this the one caller of
 * ngx_http_ws_handle_event(), inlined here.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_process(ngx_http_ws_session_t *ws, const u_char *data,
    size_t len, ngx_uint_t in_place)
{
    size_t                  used;
    wscore_event_t          ev;
    wscore_payload_sink_t   sink, *place;
    ngx_http_ws_handler_t  *handler;

    ws->bytes_in += len;
    ngx_http_ws_metric_add(bytes[NGX_HTTP_WS_IN], len);

    sink.alloc = ngx_http_ws_place;
    sink.ctx = ws->connection->log;

    handler = ws->conf->handler;
    place = (handler && handler->place) ? &sink : NULL;

    while (len) {
        if (!in_place) {
            used = wscore_session_receive_to(ws->core, data, len,
                                             ngx_current_msec,
                                             place, &ev);
            data += used;

        } else {
            /* read in place, into the window of the frame's payload */
            wscore_session_received(ws->core, len, ngx_current_msec, &ev);
            used = len;
        }

        len -= used;

        if (ev.type != WSCORE_EVENT_NONE) {
            ngx_http_ws_input_end = (len == 0);
            ngx_http_ws_handle_event(ws, &ev);

        } else {
            /*
             * The input ran out with nothing to report: it may have
             * stopped inside a large frame's payload, so the next read
             * asks the core for its window (and clears the bit when there
             * is none). Nothing is stored after a small message.
             */
            ws->in_frame = 1;
        }

        if (ngx_http_ws_placed_frame) {
            /* not taken by an echo: an error, or the session is closing */
            ngx_http_ws_frame_release(ngx_http_ws_placed_frame);
            ngx_http_ws_placed_frame = NULL;
        }

        if (ws->finalized) {
            return;
        }

        if (used == 0 && ev.type == WSCORE_EVENT_NONE) {
            /* the core must always make progress; never spin */
            ngx_log_error(NGX_LOG_ALERT, ws->connection->log, 0,
                          "ws: core consumed no input");
            ngx_http_ws_finalize(ws);
            return;
        }
    }
}


static void
ngx_http_ws_handle_event(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_http_ws_hooks_t  **h;

    c = ws->connection;

    ngx_http_ws_metrics_event(ws, ev);

    /*
     * Control replies first, so the wire order follows the input order.
     * Only a ping, a close or an error puts a frame in the core's output
     * while it reads (every other producer is taken from at once), so a
     * message has none to take.
     */
    if (ev->type != WSCORE_EVENT_MESSAGE && ev->type != WSCORE_EVENT_FRAGMENT
        && ngx_http_ws_take_core_output(ws) != NGX_OK)
    {
        ngx_http_ws_finalize(ws);
        return;
    }

    switch (ev->type) {

    case WSCORE_EVENT_MESSAGE:
    case WSCORE_EVENT_FRAGMENT:
        /*
         * A FRAGMENT is a piece of a large message, where the handler
         * streams them (a proxied location): the guards see every piece
         * (a byte rate counts each, a message rate the first), and the
         * message counts once.
         */
        if (ev->type == WSCORE_EVENT_MESSAGE || ev->fin) {
            ws->messages_in++;
        }

        /* rate limits, a token awaited as the first message */
        h = ngx_http_ws_session_hooks(ws)->message.elts;

        for (i = 0; i < ngx_http_ws_session_hooks(ws)->message.nelts; i++) {
            if (h[i]->message(ws, ev) != NGX_OK) {
                return;
            }
        }

        if (ws->conf->handler) {
            ws->conf->handler->message(ws, ev);
        }

        break;

    case WSCORE_EVENT_CLOSE:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: peer closed with %ui", (ngx_uint_t) ev->close_code);

        if (ws->conf->handler && ws->conf->handler->close) {
            ws->conf->handler->close(ws, ev);
        }

        break;

    case WSCORE_EVENT_ERROR:
        ws->broke_rule = 1;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: protocol error: %s, closing with %ui",
                      ev->error, (ngx_uint_t) ev->close_code);
        break;

    default: /* WSCORE_EVENT_PING, WSCORE_EVENT_PONG */
        break;
    }
}


/* The core's sink: the reply frame, its payload still to fill. */
NGX_HTTP_WS_HOT
static uint8_t *
ngx_http_ws_place(void *ctx, wscore_opcode_e opcode, size_t len)
{
    u_char  *payload;

    ngx_http_ws_placed_frame = ngx_http_ws_frame_alloc(ctx, opcode, len,
                                                       &payload);

    return ngx_http_ws_placed_frame ? payload : NULL;
}


/*
 * The frame the message of the current event was placed in (ev->placed),
 * its payload already written: the handler's to queue and release.
 */
NGX_HTTP_WS_HOT
ngx_http_ws_frame_t *
ngx_http_ws_session_take_placed(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_placed_frame;
    ngx_http_ws_placed_frame = NULL;

    return frame;
}


/*
 * Queues a data message frame, through the extension agreed at the
 * handshake if any (rare->send), and counts it.
 */
ngx_int_t
ngx_http_ws_session_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame)
{
    if (ngx_http_ws_send_data(ws, frame, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    ws->messages_out++;

    return NGX_OK;
}


/*
 * A reply to the message being handled, sent at once where it would go
 * out alone at the end of this read all the same (ngx_http_ws_reply_at_once()
 * would write it in one send()): the last message of the read, no read to
 * follow, nothing queued, a plain socket, no extension, no channel whose
 * deliveries it could share a write with. It is not held to the queue
 * either, so the high-water mark it would have crossed is checked as
 * before: a reply over half of ws_send_buffer goes through the queue and
 * pauses reads for the time it is there. A broken socket needs no test
 * here: a send that failed queued its frame (ws->out) or ended the
 * session, and a send on it fails again the same way.
 */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_session_reply(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame)
{
    ngx_connection_t  *c;

    c = ws->connection;

    if (!ngx_http_ws_input_end
        || ws->out != NULL
        || c->read->ready
        || !ngx_http_ws_writes_alone(ws)
        || (ws->rare && ws->rare->send)
        || frame->len > ws->conf->send_buffer / 2)
    {
        if (ngx_http_ws_send_data(ws, frame, NULL) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_ws_output_send_lone(ws, frame) != NGX_OK) {
        return NGX_ERROR;
    }

    ws->messages_out++;

    return NGX_OK;
}


/*
 * A data message goes through the extension agreed at the handshake, if
 * any (rare->send), or straight to the output queue.
 */
static ngx_inline ngx_int_t
ngx_http_ws_send_data(ngx_http_ws_session_t *ws, ngx_http_ws_frame_t *frame,
    ngx_http_ws_deflate_cache_t *cache)
{
    if (ws->rare && ws->rare->send) {
        return ws->rare->send(ws, frame, cache);
    }

    return ngx_http_ws_output_queue(ws, frame);
}


/*
 * Features register their hooks at postconfiguration; the table must
 * outlive the configuration (a static one does).
 */
ngx_int_t
ngx_http_ws_session_add_hooks(ngx_conf_t *cf, ngx_http_ws_hooks_t *hooks)
{
    ngx_http_ws_hooks_t      **h;
    ngx_http_ws_main_conf_t   *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    h = ngx_array_push(&wmcf->hooks.all);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = hooks;

    if (hooks->message) {
        h = ngx_array_push(&wmcf->hooks.message);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = hooks;
    }

    if (hooks->reads_stopped) {
        h = ngx_array_push(&wmcf->hooks.reads_stopped);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = hooks;
    }

    return NGX_OK;
}


/*
 * Queues a frame other connections pushed at this one (a channel
 * message), compressed through cache where the connection allows it. Past
 * the send-buffer cap the ws_slow_consumer policy applies: drop the
 * message and count it, or close with 1008.
 */
NGX_HTTP_WS_HOT
ngx_int_t
ngx_http_ws_session_push(ngx_http_ws_session_t *ws, ngx_http_ws_frame_t *frame,
    ngx_http_ws_deflate_cache_t *cache)
{
    ngx_connection_t            *c;
    ngx_http_ws_session_rare_t  *rare;

    if (ws->finalized
        || wscore_session_state(ws->core) != WSCORE_STATE_OPEN)
    {
        return NGX_DECLINED;
    }

    if (ws->out_bytes >= ws->conf->send_buffer) {

        if (ws->conf->slow_consumer == NGX_HTTP_WS_SLOW_CONSUMER_DROP) {
            ngx_http_ws_metric_inc(slow_consumer_drops);

            rare = ngx_http_ws_session_rare(ws);

            /* the first drop is logged (every one, without memory) */
            if (rare == NULL || rare->dropped++ == 0) {
                ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                              "ws: send buffer over %uz bytes, dropping "
                              "messages", ws->conf->send_buffer);
            }

            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                      "ws: send buffer over %uz bytes, closing with 1008",
                      ws->conf->send_buffer);
        ngx_http_ws_metric_inc(slow_consumer_closes);
        ngx_http_ws_start_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                                "slow consumer");
        ngx_http_ws_after_io(ws);
        return NGX_DECLINED;
    }

    if (ngx_http_ws_send_data(ws, frame, cache) != NGX_OK) {
        return NGX_ERROR;
    }

    ws->messages_out++;

    /*
     * ngx_http_ws_after_output(), for what a push can change: the core's
     * state is the open one checked above (queueing is not its business)
     * and the queue only grew, so of its steps only the write (posted once
     * per loop pass) and a pause can be due. One subscriber's share of a
     * fan-out is this function: the full steps were a sixth of it.
     */
    c = ws->connection;

    if (!ws->flush_posted && c->write->ready) {
        ws->flush_posted = 1;
        ngx_post_event(c->write, &ngx_posted_events);
    }

    if (!ws->paused && ws->out_bytes > ws->conf->send_buffer / 2) {
        ngx_http_ws_check_backpressure(ws);
    }

    return NGX_OK;
}


/*
 * Gives a guard (the token's expiry, the first-message timeout) a deadline
 * in the session's one timer: guard(ws) runs once, after delay, from the
 * timer handler. A NULL guard clears it.
 */
ngx_int_t
ngx_http_ws_session_set_guard(ngx_http_ws_session_t *ws, ngx_msec_t delay,
    void (*guard)(void *session))
{
    ngx_http_ws_session_rare_t  *rare;

    if (guard == NULL && ws->rare == NULL) {
        return NGX_OK;
    }

    rare = ngx_http_ws_session_rare(ws);
    if (rare == NULL) {
        return NGX_ERROR;
    }

    rare->guard = guard;
    rare->guard_at = ngx_current_msec + delay;

    if (!ws->finalized) {
        ngx_http_ws_arm_timer(ws);
    }

    return NGX_OK;
}


ngx_http_ws_session_rare_t *
ngx_http_ws_session_rare(ngx_http_ws_session_t *ws)
{
    if (ws->rare == NULL) {
        ws->rare = ngx_calloc(sizeof(ngx_http_ws_session_rare_t),
                              ws->connection->log);
    }

    return ws->rare;
}


/* A reads_stopped hook has room again (a backend's queue): read what waits */
void
ngx_http_ws_session_resume_reading(ngx_http_ws_session_t *ws)
{
    if (ws->finalized || ws->paused) {
        return;
    }

    if (ws->connection->read->ready) {
        ngx_post_event(ws->connection->read, &ngx_posted_events);
    }
}


/*
 * Sends what was queued from outside the session's handlers (a backend's
 * answers, applied when they come): the handlers' own output is sent when
 * they return.
 */
void
ngx_http_ws_session_flush(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_after_io(ws);
}


/* Closes the session from outside its handlers (a guard's deadline). */
void
ngx_http_ws_session_close(ngx_http_ws_session_t *ws, ngx_uint_t code,
    const char *reason)
{
    if (ws->finalized) {
        return;
    }

    /*
     * The answer to the peer's close, given late (a proxy's upstream
     * answered): the timer still holds that wait's deadline, and the
     * flush of the answer gets one of its own.
     */
    if (wscore_session_close_pending(ws->core)
        && ws->connection->read->timer_set)
    {
        ngx_del_timer(ws->connection->read);
    }

    ngx_http_ws_start_close(ws, code, reason);
    ngx_http_ws_after_io(ws);
}


/* Moves the control frames the core produced onto the output queue. */
static ngx_int_t
ngx_http_ws_take_core_output(ngx_http_ws_session_t *ws)
{
    size_t          len;
    const uint8_t  *data;

    wscore_session_output(ws->core, &data, &len);

    if (len == 0) {
        return NGX_OK;
    }

    if (ngx_http_ws_output_queue_bytes(ws, data, len) != NGX_OK) {
        return NGX_ERROR;
    }

    wscore_session_output_consumed(ws->core, len);

    return NGX_OK;
}


void
ngx_http_ws_session_idle(ngx_http_ws_session_t *ws)
{
    if (!ws->shutdown_later) {
        return;
    }

    ws->shutdown_later = 0;
    ws->shutting_down = 0;

    ngx_http_ws_shutdown(ws);
}


static void
ngx_http_ws_shutdown(ngx_http_ws_session_t *ws)
{
    u_char                 buf[NGX_HTTP_WS_CLOSE_REASON_LEN + 1];
    ngx_int_t              rc;
    ngx_str_t              reason;
    ngx_uint_t             i;
    ngx_http_ws_hooks_t  **h;

    if (ws->shutting_down) {
        return;
    }

    ws->shutting_down = 1;

    if (wscore_session_state(ws->core) == WSCORE_STATE_OPEN) {
        ngx_http_ws_hooks_each(ws, h, i) {
            if (h[i]->busy && h[i]->busy(ws)) {
                ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                              "ws: server shutting down, closing with 1001 "
                              "once the calls in flight are answered");
                ws->shutdown_later = 1;
                return;
            }
        }
    }

    if (wscore_session_state(ws->core) != WSCORE_STATE_OPEN) {
        ngx_http_ws_start_close(ws, WSCORE_CLOSE_GOING_AWAY,
                                "server shutting down");
        goto write;
    }

    ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                  "ws: server shutting down, closing with 1001");

    reason.data = buf;
    reason.len = ngx_cpymem(buf, "server shutting down",
                            sizeof("server shutting down") - 1) - buf;

    /*
     * Channels: what was published before the 1001 goes before it, and
     * no publish is acknowledged between its cut and the 1001's write
     * (the zone stays locked in between, see ngx_http_ws_channels.c), so
     * the session is written to here, without finalizing it on an error
     * (that would run the features' cleanups, which lock the zone).
     */
    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->going_away) {
            h[i]->going_away(ws, &reason, NGX_HTTP_WS_CLOSE_REASON_LEN);
        }
    }

    buf[reason.len] = '\0';

    rc = NGX_ERROR;

    if (!ws->finalized) {
        ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_SERVER);
        wscore_session_close(ws->core, WSCORE_CLOSE_GOING_AWAY, (char *) buf,
                             ngx_current_msec);

        rc = ngx_http_ws_take_core_output(ws);

        if (rc == NGX_OK && ws->connection->write->ready) {
            rc = ngx_http_ws_output_flush_now(ws);
        }
    }

    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->gone_away) {
            h[i]->gone_away(ws);
        }
    }

    if (rc == NGX_ERROR) {
        ngx_http_ws_finalize(ws);
        return;
    }

write:

    if (ws->finalized) {
        return;
    }

    /*
     * Write now rather than through a posted event: this runs from
     * ngx_close_idle_connections(), outside the event loop pass, and the
     * next pass would sleep until a timer before running posted events.
     */
    ngx_http_ws_write_handler(ws->connection->write);
}


static void
ngx_http_ws_start_close(ngx_http_ws_session_t *ws, ngx_uint_t code,
    const char *reason)
{
    ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_SERVER);
    wscore_session_close(ws->core, (uint16_t) code, reason, ngx_current_msec);

    if (ngx_http_ws_take_core_output(ws) != NGX_OK) {
        ngx_http_ws_finalize(ws);
    }
}


/*
 * After every handler: schedule the write of what was queued (once per
 * loop pass), apply back-pressure, close when the close handshake is over
 * and the output flushed, and re-arm the timer.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_after_io(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_after_io_untimed(ws);

    if (ws->finalized) {
        return;
    }

    ngx_http_ws_arm_timer(ws);
}


/* ngx_http_ws_after_io() without the timer */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_after_io_untimed(ngx_http_ws_session_t *ws)
{
    ngx_connection_t  *c;

    if (ws->finalized) {
        return;
    }

    c = ws->connection;

    /*
     * A full socket (write->ready == 0) resumes us with a write event. The
     * write event is looked at last: with nothing queued it is a cache line
     * not otherwise touched.
     */
    if (!ws->flush_posted
        && (ws->out || (ws->request && ws->request->out)
            || ngx_http_ws_lowlevel_buffered(ws))
        && c->write->ready)
    {
        ws->flush_posted = 1;
        ngx_post_event(c->write, &ngx_posted_events);
    }

    /* nothing to pause, resume or report: the usual case, not a call */
    if (ws->paused || ws->backlogged
        || ws->out_bytes > ws->conf->send_buffer / 2)
    {
        ngx_http_ws_check_backpressure(ws);
    }

    if (wscore_session_state(ws->core) == WSCORE_STATE_CLOSED
        && ws->out == NULL && !ngx_http_ws_lowlevel_buffered(ws)
        && (ws->request == NULL || ws->request->out == NULL))
    {
        ngx_http_ws_finalize(ws);
    }
}


/*
 * ngx_http_ws_after_io() after a read. Input moves an open session's
 * deadlines (the next ping, the idle timeout) only later, and while it is
 * open the timer is armed by ngx_http_ws_arm_timer() alone: an armed timer
 * is then at most early. Early, it finds nothing due in the core and is
 * armed again at the real deadline (ngx_http_ws_timer()): one wake-up per
 * ping interval of a busy connection, where re-arming after every read
 * (the core's state twice, its deadline, ngx_add_timer()) was about a
 * tenth of the instructions of a small echo. Any other state, or no timer
 * yet, is armed as before.
 */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_after_input(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_after_io_untimed(ws);

    if (ws->finalized
        || (ws->connection->read->timer_set
            && wscore_session_state(ws->core) == WSCORE_STATE_OPEN))
    {
        return;
    }

    ngx_http_ws_arm_timer(ws);
}


/*
 * ngx_http_ws_after_io() for a handler that only queued or wrote frames (a
 * write event, a channel message): the core saw no input, so its deadline
 * is the one already armed and an open session's timer is left as it is
 * (with one message in flight, re-arming after the write as well as after
 * the read was a tenth of the echo path's instructions).
 */
static void
ngx_http_ws_after_output(ngx_http_ws_session_t *ws)
{
    if (!ws->finalized
        && wscore_session_state(ws->core) != WSCORE_STATE_OPEN)
    {
        ngx_http_ws_after_io(ws);
        return;
    }

    ngx_http_ws_after_io_untimed(ws);
}


/*
 * Stops reading a peer whose output is over half the send buffer, resumes
 * below a quarter. Checked after every read, so one read event adds at
 * most one read's worth of replies before the pause takes effect.
 *
 * A peer that reads slowly goes back and forth between the two marks on
 * every few messages; the log says when it fell behind and when it caught
 * up (its output drained), once each, and the metric counts every pause.
 */
static void
ngx_http_ws_check_backpressure(ngx_http_ws_session_t *ws)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_http_ws_hooks_t  **h;

    c = ws->connection;

    if (!ws->paused && ws->out_bytes > ws->conf->send_buffer / 2) {
        ws->paused = 1;
        ngx_http_ws_metric_inc(backpressure_pauses);

        if (!ws->backlogged) {
            ws->backlogged = 1;
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "ws: output over high-water mark, pausing reads");

        } else {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "ws: output over high-water mark again");
        }

    } else if (ws->paused && ws->out_bytes <= ws->conf->send_buffer / 4) {
        ws->paused = 0;
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "ws: output below low-water mark, resuming reads");

        if (c->read->ready) {
            ngx_post_event(c->read, &ngx_posted_events);
        }

        ngx_http_ws_hooks_each(ws, h, i) {
            if (h[i]->output_drained) {
                h[i]->output_drained(ws);
            }
        }
    }

    if (ws->backlogged && ws->out_bytes == 0) {
        ws->backlogged = 0;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: output drained, reads resumed");
    }
}


static void
ngx_http_ws_arm_timer(ngx_http_ws_session_t *ws)
{
    uint64_t      deadline;
    ngx_msec_t    delay;
    ngx_event_t  *timer;

    /* until the 101 the read event is the request's */
    if (!ws->upgraded) {
        return;
    }

    timer = ws->connection->read;

    if (wscore_session_state(ws->core) == WSCORE_STATE_CLOSED) {

        /*
         * Only the flush of the last frames is left; bound it too, and
         * hold an exiting worker for it. A close wait's timer is kept. One
         * left from the open state (the peer's close came then) is not: it
         * is a heartbeat's, cancelable, so a reload dropped the queue and
         * the close answer with the socket, and up to a ping interval away.
         */
        if (!timer->timer_set || timer->cancelable) {
            timer->cancelable = 0;
            ngx_add_timer(timer, ws->conf->close_timeout);
        }

        return;
    }

    deadline = wscore_session_next_deadline(ws->core);

    /* one timer per connection: the nearer of the core's and the guard's */
    if (ws->rare && ws->rare->guard
        && (deadline == 0
            || (ngx_msec_int_t) (ws->rare->guard_at - (ngx_msec_t) deadline)
               < 0))
    {
        deadline = ws->rare->guard_at;
    }

    if (deadline == 0) {
        if (timer->timer_set) {
            ngx_del_timer(timer);
        }

        return;
    }

    delay = (deadline > ngx_current_msec)
            ? (ngx_msec_t) (deadline - ngx_current_msec) : 0;

    /*
     * Heartbeats must not keep an exiting worker alive, the bounded close
     * handshake must: the worker waits for non-cancelable timers only.
     */
    timer->cancelable =
        (wscore_session_state(ws->core) == WSCORE_STATE_OPEN) ? 1 : 0;

    ngx_add_timer(timer, delay);
}


static void
ngx_http_ws_finalize(ngx_http_ws_session_t *ws)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_ws_hooks_t  **h;

    if (ws->finalized) {
        return;
    }

    ws->finalized = 1;

    r = ws->request;
    c = ws->connection;

    /* what closes the connection now may set timers of its own */
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    c->read->cancelable = 0;
    c->read->timedout = 0;

    ws->close_code = wscore_session_close_code(ws->core);
    ws->duration = ngx_current_msec - ws->start;
    ws->bytes_out = c->sent - ws->sent_at_upgrade;
    ngx_http_ws_metrics_session_end(ws);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "ws: connection closed, code %ui, %M ms, "
                  "messages in %uL out %uL",
                  (ngx_uint_t) ws->close_code, ws->duration,
                  ws->messages_in, ws->messages_out);

    ngx_http_ws_output_free(ws);

    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->close) {
            h[i]->close(ws);
        }
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->idle = 0;

    /* no lingering close: the close handshake already ended the stream */
    c->read->ready = 0;

    if (r) {
        r->lingering_close = 0;
        r->header_in->pos = r->header_in->last;
    }

    /*
     * Finalizing frees the request pool, and the session with it, while
     * callers up the stack (a read loop, a channel fan-out) may still look
     * at ws->finalized: free it after the current handler, in this same
     * loop pass.
     */
    ngx_http_ws_post_step(ws, NGX_HTTP_WS_STEP_FINALIZE);
}


/* The access-log line's values of each feature (ngx_http_ws_log_record.c). */
static void
ngx_http_ws_log_fill(ngx_http_ws_session_t *ws, ngx_http_request_t *r)
{
    ngx_uint_t             i;
    ngx_http_ws_hooks_t  **h;

    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->log) {
            h[i]->log(ws, r);
        }
    }
}


static void
ngx_http_ws_finalize_step(ngx_http_ws_session_t *ws)
{
    ngx_connection_t       *c;
    ngx_http_log_ctx_t     *ctx;
    ngx_http_request_t     *r;

    r = ws->request;
    c = ws->connection;

    if (r == NULL) {
        /* detached: the line from the record, then the connection goes */
        if (ws->log_record) {
            ngx_http_ws_log_record_write(ws->log_record, c, ws,
                                         ngx_http_ws_log_fill);
        }

        ngx_http_close_connection(c);
        return;
    }

    if (ws->log_record) {
        ngx_http_ws_log_record_write(ws->log_record, c, ws,
                                     ngx_http_ws_log_fill);

        /* the line is written: the request is only freed */
        r->logged = 1;
        c->destroyed = 0;

        ctx = c->log->data;
        ctx->request = r;
        ctx->current_request = r;
    }

    ngx_http_finalize_request(r, NGX_DONE);
}


/*
 * A session freed while it waits for a step leaves the list: a walk, but
 * the list holds only what this loop pass posted, and a session is freed
 * before its step ran only when its connection went otherwise.
 */
static void
ngx_http_ws_unlink_step(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_session_t  **p;

    for (p = &ngx_http_ws_steps; *p; p = &(*p)->step_next) {
        if (*p == ws) {
            *p = ws->step_next;

            if (ngx_http_ws_steps_last == &ws->step_next) {
                ngx_http_ws_steps_last = p;
            }

            break;
        }
    }

    ws->step = NGX_HTTP_WS_STEP_NONE;
}


static void
ngx_http_ws_cleanup(void *data)
{
    ngx_http_ws_session_t  *ws = data;

    ngx_uint_t             i;
    ngx_http_ws_hooks_t  **h;

    if (ws->upgraded && !ws->finalized && ws->connection->read->timer_set) {
        ngx_del_timer(ws->connection->read);
    }

    if (ws->step) {
        ngx_http_ws_unlink_step(ws);
    }

    ngx_http_ws_output_free(ws);
    ngx_http_ws_metrics_session_end(ws);

    ngx_http_ws_hooks_each(ws, h, i) {
        if (h[i]->free) {
            h[i]->free(ws);
        }
    }

    if (ws->core) {
        wscore_session_destroy_in(ws->core);
        ws->core = NULL;
    }

    if (ws->log_record) {
        ngx_free(ws->log_record);
    }

    if (ws->rare) {
        ngx_free(ws->rare);
    }

    ngx_http_ws_slots_free(&ngx_http_ws_sessions, ws);
}


/*
 * The session's error-log lines say "while serving WebSocket, trace <32
 * hex>". The text is written by a log handler from the session's trace
 * when a line is logged, not kept in every session (58 bytes of an idle
 * connection): the handler stands before NGINX's own, which writes the
 * client, server and request after it as before.
 */
static ngx_log_handler_pt  ngx_http_ws_session_log_next;

#define NGX_HTTP_WS_SESSION_ACTION  "serving WebSocket"


static void
ngx_http_ws_session_log_action(ngx_connection_t *c)
{
    c->log->action = NGX_HTTP_WS_SESSION_ACTION;

    if (c->log->handler != NULL
        && c->log->handler != ngx_http_ws_session_log_error)
    {
        ngx_http_ws_session_log_next = c->log->handler;
        c->log->handler = ngx_http_ws_session_log_error;
    }
}


static u_char *
ngx_http_ws_session_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                 *p;
    u_char                  action[NGX_HTTP_WS_TRACE_ACTION_LEN];
    ngx_connection_t       *c;
    ngx_http_log_ctx_t     *ctx;
    ngx_http_request_t     *r;
    ngx_http_ws_session_t  *ws;

    ctx = log->data;
    c = ctx ? ctx->connection : NULL;
    ws = NULL;

    /* another step's action ("logging request"), or no session: as is */
    if (c && c->data && log->action
        && ngx_strcmp(log->action, NGX_HTTP_WS_SESSION_ACTION) == 0)
    {
        if (*(uint32_t *) c->data == NGX_HTTP_WS_SESSION_SIGNATURE) {
            ws = c->data;

        } else if (*(uint32_t *) c->data == NGX_HTTP_MODULE) {
            r = c->data;
            ws = ngx_http_get_module_ctx(r, ngx_http_ws_module);
        }
    }

    if (ws == NULL) {
        return ngx_http_ws_session_log_next(log, buf, len);
    }

    ngx_http_ws_trace_action(&ws->trace, action);

    p = ngx_snprintf(buf, len, " while %s", action);
    len -= p - buf;

    /* NGINX's handler writes the rest: client, server, request */
    log->action = NULL;
    p = ngx_http_ws_session_log_next(log, p, len);
    log->action = NGX_HTTP_WS_SESSION_ACTION;

    return p;
}
