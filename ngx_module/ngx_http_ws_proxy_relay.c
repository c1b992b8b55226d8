
/*
 * ngx_ws: the proxy's relay after the 101.
 *
 * Client to upstream: each message the client's session reports (after
 * its limits, rate limits and inflation) is framed again as the
 * upstream's client would (masked, a fresh key per frame) and queued on
 * the upstream link. Upstream to client: what the upstream sends goes
 * through a core session that is its client, which checks its frames as
 * strictly as a client's (unmasked, UTF-8, close codes, sizes within
 * ws_max_message_size); each message is sent to the client through the
 * session (compressed there if the client agreed to deflate). With
 * ws_proxy_deflate agreed, the upstream link has its own permessage-deflate:
 * our whole messages to it are compressed, its compressed ones inflated by
 * its core session.
 *
 * Back-pressure both ways: the client is not read while the upstream's
 * queue is over half of ws_send_buffer (the session's reads_stopped
 * hook), and the upstream is not read while the client's is (the
 * session pauses; output_drained resumes).
 *
 * Closing: a close code goes through in either direction; an upstream
 * that breaks the protocol gets its close code and the client 1011, one
 * that vanishes the client 1014 (bad gateway); a client that vanishes
 * leaves the upstream 1001.
 */


#include "ngx_http_ws_proxy.h"
#include "ngx_http_ws_random.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_output.h"


#define NGX_HTTP_WS_PROXY_RECV_SIZE  65536

/*
 * The size of a piece of the upstream's queue that small frames share:
 * the messages one read of the client yields go to the upstream in one
 * send() rather than one each (at 16 messages in flight the proxy made
 * seven send() per recv(), where NGINX's byte tunnel makes one).
 */
#define NGX_HTTP_WS_PROXY_OUT_SIZE   4096


static void ngx_http_ws_proxy_mask_key(void *ctx, uint8_t key[4]);
static void ngx_http_ws_proxy_relay_free(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_read_handler(ngx_event_t *rev);
static void ngx_http_ws_proxy_write_handler(ngx_event_t *wev);
static void ngx_http_ws_proxy_process(ngx_http_ws_proxy_t *px,
    const u_char *data, size_t len);
static void ngx_http_ws_proxy_upstream_event(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev);
static ngx_int_t ngx_http_ws_proxy_send_to_client(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev);
static ngx_int_t ngx_http_ws_proxy_queue(ngx_http_ws_proxy_t *px,
    const u_char *data, size_t len, u_char **room);
static ngx_int_t ngx_http_ws_proxy_take_core_output(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_flush(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_flush_later(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_upstream_lost(ngx_http_ws_proxy_t *px,
    const char *why);
static void ngx_http_ws_proxy_timer_handler(ngx_event_t *ev);
static void ngx_http_ws_proxy_arm_timer(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_answer_client(ngx_http_ws_proxy_t *px,
    ngx_uint_t code);


static u_char  ngx_http_ws_proxy_recv_buf[NGX_HTTP_WS_PROXY_RECV_SIZE];


/*
 * RFC 6455 section 5.3: a fresh key per frame from a strong source, each
 * used once (ngx_http_ws_random.c: OpenSSL's generator, drawn 4 KiB at a
 * time).
 */
static void
ngx_http_ws_proxy_mask_key(void *ctx, uint8_t key[4])
{
    uint32_t  fallback;

    if (ngx_http_ws_random_bytes(key, 4) != NGX_OK) {
        /* never seen; a weaker key still frames correctly */
        fallback = (uint32_t) ngx_random();
        ngx_memcpy(key, &fallback, 4);
    }
}


ngx_int_t
ngx_http_ws_proxy_relay_start(ngx_http_ws_proxy_t *px)
{
    ngx_buf_t               *b;
    wscore_config_t          cfg;
    ngx_connection_t        *c;
    ngx_http_ws_loc_conf_t  *wscf;

    c = px->connection;
    wscf = px->session->conf;

    /*
     * The upstream's messages are bounded as the client's are; our own
     * pings find an upstream gone silent (ws_proxy_ping_interval, missed
     * as many times as ws_ping_max_missed allows).
     */
    wscore_config_default(&cfg);
    cfg.max_message_size = wscf->max_message_size;
    cfg.max_frame_size = wscf->max_frame_size;
    cfg.ping_interval_ms = px->conf->ping_interval;
    cfg.ping_max_missed = wscf->ping_max_missed;
    cfg.idle_timeout_ms = 0;
    cfg.close_timeout_ms = wscf->close_timeout;

    px->relay_free = ngx_http_ws_proxy_relay_free;

    px->core = wscore_session_create(&cfg, ngx_current_msec);
    if (px->core == NULL) {
        return NGX_ERROR;
    }

    px->mask.key = ngx_http_ws_proxy_mask_key;
    px->mask.ctx = px;
    wscore_session_act_as_client(px->core, &px->mask);

    /*
     * The upstream agreed to permessage-deflate (ws_proxy_deflate): its
     * compressed messages are inflated within ws_max_message_size (a
     * bomb closes it with 1009, the client with 1011), and ours to it are
     * compressed as the agreement allows (its window, a reset after each
     * message without our context takeover).
     */
    if (px->deflating) {
        if (wscore_session_enable_deflate(px->core, &px->deflate)
            != WSCORE_OK)
        {
            return NGX_ERROR;
        }

        px->deflater = wscore_deflater_create(
                                   px->deflate.client_max_window_bits,
                                   (int) wscf->deflate_level,
                                   (int) wscf->deflate_mem_level,
                                   !px->deflate.client_no_context_takeover);
        if (px->deflater == NULL) {
            return NGX_ERROR;
        }
    }

    /*
     * Large messages go on piece by piece, both ways, as they arrive:
     * neither side's message is held whole in memory.
     */
    wscore_session_stream_messages(px->core, 1);
    wscore_session_stream_messages(px->session->core, 1);

    /*
     * A close is answered with the other side's answer: each side's close
     * goes to the other, and its answer comes back (within
     * ws_close_timeout, else the side's own code answers it).
     */
    wscore_session_answer_close_later(px->core, 1);
    wscore_session_answer_close_later(px->session->core, 1);

    c->read->handler = ngx_http_ws_proxy_read_handler;
    c->write->handler = ngx_http_ws_proxy_write_handler;

    px->timer.handler = ngx_http_ws_proxy_timer_handler;
    px->timer.data = px;
    px->timer.log = c->log;
    px->timer.cancelable = 1;

    /* a relayed message is one small write: Nagle would hold it back */
    if (ngx_tcp_nodelay(c) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the upstream's first frames, read with its 101 */
    b = px->header;

    if (b && b->pos < b->last) {
        ngx_http_ws_proxy_process(px, b->pos, b->last - b->pos);
        b->pos = b->last;

        if (px->done) {
            return NGX_OK;
        }

        ngx_http_ws_session_flush(px->session);
    }

    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    ngx_http_ws_proxy_arm_timer(px);

    return NGX_OK;
}


/* One timer for the upstream link, at the core's next deadline. */
static void
ngx_http_ws_proxy_arm_timer(ngx_http_ws_proxy_t *px)
{
    uint64_t  deadline;

    if (px->connection == NULL || px->core == NULL) {
        return;
    }

    deadline = wscore_session_next_deadline(px->core);

    if (deadline == 0) {
        if (px->timer.timer_set) {
            ngx_del_timer(&px->timer);
        }

        return;
    }

    ngx_add_timer(&px->timer, deadline > ngx_current_msec
                              ? (ngx_msec_t) (deadline - ngx_current_msec)
                              : 1);
}


static void
ngx_http_ws_proxy_timer_handler(ngx_event_t *ev)
{
    ngx_http_ws_proxy_t  *px;

    px = ev->data;

    if (px->connection == NULL || px->core == NULL) {
        return;
    }

    switch (wscore_session_on_timer(px->core, ngx_current_msec)) {

    case WSCORE_TIMER_UNRESPONSIVE:
        px->close_code = WSCORE_CLOSE_GOING_AWAY;
        (void) ngx_http_ws_proxy_take_core_output(px);
        ngx_http_ws_proxy_flush(px);
        ngx_http_ws_proxy_upstream_lost(px, "the upstream missed our pings");
        return;

    case WSCORE_TIMER_CLOSE_EXPIRED:
        /* the client's close waited for this answer: its own code it is */
        ngx_log_error(NGX_LOG_INFO, px->session->connection->log, 0,
                      "ws proxy: upstream %V did not answer the close in "
                      "time", &px->addr);
        ngx_http_ws_proxy_close_upstream(px);
        ngx_http_ws_proxy_answer_client(px, px->close_code);
        return;

    default: /* WSCORE_TIMER_PING_SENT, WSCORE_TIMER_IDLE, ..._NONE */
        if (ngx_http_ws_proxy_take_core_output(px) != NGX_OK) {
            ngx_http_ws_proxy_upstream_lost(px, "out of memory");
            return;
        }

        ngx_http_ws_proxy_flush(px);
        ngx_http_ws_proxy_arm_timer(px);
    }
}


static void
ngx_http_ws_proxy_read_handler(ngx_event_t *rev)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_http_ws_proxy_t    *px;
    ngx_http_ws_session_t  *ws;

    c = rev->data;
    px = c->data;
    ws = px->session;

    if (rev->timedout) {
        /* our close went unanswered */
        ngx_http_ws_proxy_close_upstream(px);
        return;
    }

    for ( ;; ) {
        if (ws->paused || ws->finalized) {
            /* the client's queue is full: the upstream waits */
            px->upstream_paused = 1;
            return;
        }

        n = c->recv(c, ngx_http_ws_proxy_recv_buf,
                    NGX_HTTP_WS_PROXY_RECV_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            if (wscore_session_state(px->core) == WSCORE_STATE_OPEN) {
                ngx_http_ws_proxy_upstream_lost(px, "the upstream closed "
                                                "the connection without a "
                                                "close frame");

            } else if (wscore_session_state(px->core) == WSCORE_STATE_CLOSING
                       && !wscore_session_close_pending(px->core))
            {
                ngx_http_ws_proxy_upstream_lost(px, "the upstream closed "
                                                "the connection without "
                                                "answering our close");

            } else {
                /* its close is in: its socket may go */
                ngx_http_ws_proxy_close_upstream(px);
            }

            return;
        }

        px->bytes_from += n;
        ngx_http_ws_proxy_metric(px, proxy_bytes,
                                 NGX_HTTP_WS_FROM_UPSTREAM) += n;

        ngx_http_ws_proxy_process(px, ngx_http_ws_proxy_recv_buf, n);

        if (px->done || px->connection == NULL) {
            return;
        }

        ngx_http_ws_session_flush(ws);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_ws_proxy_upstream_lost(px, "read event failed");
        return;
    }

    ngx_http_ws_proxy_arm_timer(px);
    ngx_http_ws_session_flush(ws);
}


static void
ngx_http_ws_proxy_process(ngx_http_ws_proxy_t *px, const u_char *data,
    size_t len)
{
    size_t          used;
    wscore_event_t  ev;

    while (len) {
        used = wscore_session_receive(px->core, data, len, ngx_current_msec,
                                      &ev);
        data += used;
        len -= used;

        if (ev.type != WSCORE_EVENT_NONE) {
            ngx_http_ws_proxy_upstream_event(px, &ev);

            if (px->done || px->connection == NULL) {
                return;
            }
        }

        if (used == 0 && ev.type == WSCORE_EVENT_NONE) {
            return;
        }
    }
}


static void
ngx_http_ws_proxy_upstream_event(ngx_http_ws_proxy_t *px, wscore_event_t *ev)
{
    size_t                  n;
    u_char                  reason[124];
    ngx_uint_t              code;
    ngx_connection_t       *c;
    ngx_http_ws_session_t  *ws;

    ws = px->session;
    c = ws->connection;

    /* pongs and close replies first, in the order of the input */
    if (ngx_http_ws_proxy_take_core_output(px) != NGX_OK) {
        ngx_http_ws_proxy_upstream_lost(px, "out of memory");
        return;
    }

    switch (ev->type) {

    case WSCORE_EVENT_MESSAGE:
    case WSCORE_EVENT_FRAGMENT:
        if (ev->type == WSCORE_EVENT_MESSAGE || ev->fin) {
            px->messages_from++;
            ngx_http_ws_proxy_metric(px, proxy_messages,
                                     NGX_HTTP_WS_FROM_UPSTREAM)++;
        }

        if (ws->finalized
            || wscore_session_state(ws->core) != WSCORE_STATE_OPEN)
        {
            /* the client's close is under way: nothing may follow it */
            break;
        }

        if (ngx_http_ws_proxy_send_to_client(px, ev) != NGX_OK) {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
            return;
        }

        break;

    case WSCORE_EVENT_CLOSE:
        /* its own close, or its answer to the client's (ours) */
        if (px->closed_by == NGX_HTTP_WS_PROXY_CLOSED_NONE) {
            px->close_code = ev->close_code;
            px->closed_by = NGX_HTTP_WS_PROXY_CLOSED_UPSTREAM;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws proxy: upstream %V closed with %ui",
                      &px->addr, (ngx_uint_t) ev->close_code);

        /* its code and reason go to the client; "no code" is a 1000 */
        code = ev->close_code;

        if (code == WSCORE_CLOSE_NO_STATUS) {
            code = WSCORE_CLOSE_NORMAL;
        }

        /* a close without a reason has no data at all */
        n = ngx_min(ev->len, sizeof(reason) - 1);

        if (n) {
            ngx_memcpy(reason, ev->data, n);
        }

        reason[n] = '\0';

        ngx_http_ws_proxy_flush(px);
        ngx_http_ws_session_close(ws, code, (const char *) reason);
        break;

    case WSCORE_EVENT_ERROR:
        px->close_code = ev->close_code;
        px->closed_by = NGX_HTTP_WS_PROXY_CLOSED_PROXY;

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ws proxy: upstream %V broke the protocol: %s, "
                      "closing it with %ui and the client with 1011 "
                      "(connection %uA)",
                      &px->addr, ev->error, (ngx_uint_t) ev->close_code,
                      c->number);

        ngx_http_ws_proxy_flush(px);
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR,
                                  "upstream error");
        break;

    default: /* WSCORE_EVENT_PING, WSCORE_EVENT_PONG */
        ngx_http_ws_proxy_flush(px);
        break;
    }
}


/*
 * An upstream message goes to the client through the session (compressed
 * there if the client agreed to deflate); a piece of a large one as one
 * frame of it, never compressed (RFC 7692 lets any message go
 * uncompressed, and a message compressed in pieces would hold the
 * deflater's state across them), counted as a message by its last frame.
 */
static ngx_int_t
ngx_http_ws_proxy_send_to_client(ngx_http_ws_proxy_t *px, wscore_event_t *ev)
{
    ngx_int_t               rc;
    ngx_log_t              *log;
    ngx_http_ws_frame_t    *frame;
    ngx_http_ws_session_t  *ws;

    ws = px->session;
    log = ws->connection->log;

    if (ev->type == WSCORE_EVENT_MESSAGE) {
        frame = ngx_http_ws_frame_create(log, ev->opcode, ev->data, ev->len);

    } else {
        frame = ngx_http_ws_frame_create_fragment(log,
                                                  ev->first
                                                  ? ev->opcode
                                                  : WSCORE_OP_CONTINUATION,
                                                  ev->fin, ev->data, ev->len);
    }

    if (frame == NULL) {
        return NGX_ERROR;
    }

    if (ev->type == WSCORE_EVENT_MESSAGE) {
        rc = ngx_http_ws_session_send(ws, frame);

    } else {
        rc = ngx_http_ws_output_queue(ws, frame);

        if (rc == NGX_OK && ev->fin) {
            ws->messages_out++;
        }
    }

    ngx_http_ws_frame_release(frame);

    return rc;
}


/*
 * A client's message, framed again for the upstream (compressed if it
 * agreed to deflate); a piece of a large one as one frame of it (a
 * continuation after the first).
 */
void
ngx_http_ws_proxy_relay_client_message(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev)
{
    int              fin, rsv1;
    size_t           len, size;
    u_char          *room;
    uint8_t          key[4];
    const uint8_t   *data;
    wscore_opcode_e  opcode;

    if (px->core == NULL || px->connection == NULL
        || wscore_session_state(px->core) != WSCORE_STATE_OPEN)
    {
        return;
    }

    opcode = ev->opcode;
    fin = 1;

    if (ev->type == WSCORE_EVENT_FRAGMENT) {
        opcode = ev->first ? ev->opcode : WSCORE_OP_CONTINUATION;
        fin = ev->fin;
    }

    data = ev->data;
    size = ev->len;
    rsv1 = 0;

    /*
     * With deflate agreed, a whole message of ws_deflate_min_size bytes
     * or more goes compressed; the pieces of a streamed one go as they
     * are (RFC 7692 lets any message go uncompressed, and compressing in
     * pieces would keep a half-done message in the compressor), as do
     * small ones, where compression gains nothing.
     */
    if (px->deflater && ev->type == WSCORE_EVENT_MESSAGE
        && ev->len >= px->session->conf->deflate_min_size)
    {
        if (wscore_deflater_compress(px->deflater, ev->data, ev->len, &data,
                                     &size)
            != WSCORE_OK)
        {
            ngx_http_ws_session_close(px->session,
                                      WSCORE_CLOSE_INTERNAL_ERROR, NULL);
            return;
        }

        rsv1 = 1;
    }

    len = wscore_client_frame_len(size);

    if (ngx_http_ws_proxy_queue(px, NULL, len, &room) != NGX_OK) {
        ngx_http_ws_session_close(px->session, WSCORE_CLOSE_INTERNAL_ERROR,
                                  NULL);
        return;
    }

    ngx_http_ws_proxy_mask_key(px, key);
    wscore_client_frame_encode(room, opcode, fin, rsv1, data, size, key);

    if (fin) {
        px->messages_to++;
        ngx_http_ws_proxy_metric(px, proxy_messages,
                                 NGX_HTTP_WS_TO_UPSTREAM)++;
    }

    ngx_http_ws_proxy_flush_later(px);
}


/*
 * Appends len bytes (data, or room to write them in) to the queue: after
 * the bytes of its last piece if they fit there, else in a new piece, of
 * NGX_HTTP_WS_PROXY_OUT_SIZE bytes or of its own size for a large frame.
 * Bytes already queued never move: a TLS write that must be retried
 * finds them where it left them.
 */
static ngx_int_t
ngx_http_ws_proxy_queue(ngx_http_ws_proxy_t *px, const u_char *data,
    size_t len, u_char **room)
{
    size_t                    size;
    u_char                   *p;
    ngx_http_ws_proxy_out_t  *out;

    out = NULL;

    if (px->out) {
        out = (ngx_http_ws_proxy_out_t *)
                  ((u_char *) px->out_last
                   - offsetof(ngx_http_ws_proxy_out_t, next));
    }

    if (out == NULL || out->size - out->len < len) {
        size = ngx_max(len, NGX_HTTP_WS_PROXY_OUT_SIZE
                            - offsetof(ngx_http_ws_proxy_out_t, data));

        out = ngx_alloc(offsetof(ngx_http_ws_proxy_out_t, data) + size,
                        px->session->connection->log);
        if (out == NULL) {
            return NGX_ERROR;
        }

        out->next = NULL;
        out->size = size;
        out->len = 0;
        out->pos = 0;

        *px->out_last = out;
        px->out_last = &out->next;
    }

    p = out->data + out->len;
    out->len += len;

    if (data) {
        ngx_memcpy(p, data, len);
    }

    if (room) {
        *room = p;
    }

    px->out_bytes += len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_proxy_take_core_output(ngx_http_ws_proxy_t *px)
{
    size_t          len;
    const uint8_t  *data;

    wscore_session_output(px->core, &data, &len);

    if (len == 0) {
        return NGX_OK;
    }

    if (ngx_http_ws_proxy_queue(px, data, len, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    wscore_session_output_consumed(px->core, len);

    return NGX_OK;
}


static void
ngx_http_ws_proxy_write_handler(ngx_event_t *wev)
{
    ngx_connection_t     *c;
    ngx_http_ws_proxy_t  *px;

    c = wev->data;
    px = c->data;

    ngx_http_ws_proxy_flush(px);
}


/*
 * The queue is written when the handlers of this event-loop pass are
 * done (a posted write event), so whatever they queue in between goes
 * out together. A socket that is full has its write event armed already.
 */
static void
ngx_http_ws_proxy_flush_later(ngx_http_ws_proxy_t *px)
{
    ngx_event_t  *wev;

    wev = px->connection->write;

    if (wev->ready && !wev->posted) {
        ngx_post_event(wev, &ngx_posted_events);
    }
}


/*
 * Writes what the upstream's queue holds; below a quarter of the send
 * buffer the client is read again.
 */
static void
ngx_http_ws_proxy_flush(ngx_http_ws_proxy_t *px)
{
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_http_ws_session_t    *ws;
    ngx_http_ws_proxy_out_t  *out;

    c = px->connection;
    ws = px->session;

    if (c == NULL) {
        return;
    }

    while (px->out) {
        out = px->out;

        if (!c->write->ready) {
            break;
        }

        n = c->send(c, out->data + out->pos, out->len - out->pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_http_ws_proxy_upstream_lost(px, "cannot write to the "
                                            "upstream");
            return;
        }

        px->bytes_to += n;
        ngx_http_ws_proxy_metric(px, proxy_bytes,
                                 NGX_HTTP_WS_TO_UPSTREAM) += n;
        out->pos += n;

        if (out->pos < out->len) {
            continue;
        }

        px->out = out->next;

        if (px->out == NULL) {
            px->out_last = &px->out;
        }

        px->out_bytes -= out->len;
        ngx_free(out);
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_ws_proxy_upstream_lost(px, "write event failed");
        return;
    }

    if (px->client_paused
        && px->out_bytes <= ws->conf->send_buffer / 4)
    {
        px->client_paused = 0;
        ngx_http_ws_session_resume_reading(ws);
    }

    /* our close is out and theirs is in: the link is done */
    if (px->out == NULL
        && wscore_session_state(px->core) == WSCORE_STATE_CLOSED)
    {
        ngx_http_ws_proxy_close_upstream(px);
    }
}


/* The session's reads_stopped hook: the upstream's queue is full. */
ngx_uint_t
ngx_http_ws_proxy_relay_full(ngx_http_ws_proxy_t *px)
{
    if (px->connection == NULL) {
        /* the link is gone: the client's close answer must still be read */
        px->client_paused = 0;
        return 0;
    }

    if (px->out_bytes > px->session->conf->send_buffer / 2) {
        px->client_paused = 1;
        return 1;
    }

    return px->client_paused;
}


/* The client's queue drained: what the upstream sent is read again. */
void
ngx_http_ws_proxy_relay_resume_upstream(ngx_http_ws_proxy_t *px)
{
    ngx_connection_t  *c;

    c = px->connection;

    if (!px->upstream_paused || c == NULL) {
        return;
    }

    px->upstream_paused = 0;

    ngx_post_event(c->read, &ngx_posted_events);
}


/*
 * The upstream is gone without a close (or cannot be written): the client
 * gets 1014, bad gateway (RFC 6455's registry: a gateway got an invalid
 * response from its upstream), and the log says which connection.
 */
static void
ngx_http_ws_proxy_upstream_lost(ngx_http_ws_proxy_t *px, const char *why)
{
    ngx_connection_t  *c;

    c = px->session->connection;

    if (px->connection == NULL) {
        /* said already (a failed write inside a failing step) */
        return;
    }

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "ws proxy: upstream %V lost: %s, closing the client with "
                  "1014 (connection %uA)", &px->addr, why, c->number);

    px->closed_by = NGX_HTTP_WS_PROXY_CLOSED_UPSTREAM;
    px->close_code = WSCORE_CLOSE_ABNORMAL;

    ngx_http_ws_proxy_close_upstream(px);
    ngx_http_ws_session_close(px->session, 1014, "bad gateway");
}


/*
 * The client's close: its code and reason go to the upstream, whose
 * answer answers the client (the upstream's CLOSE event). When the
 * upstream closed first and waits for the client's answer, this is it.
 * Without a link to ask, the client's own code answers at once.
 */
void
ngx_http_ws_proxy_relay_client_close(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev)
{
    size_t   n;
    u_char   reason[124];

    n = ngx_min(ev->len, sizeof(reason) - 1);

    if (n) {
        ngx_memcpy(reason, ev->data, n);
    }

    reason[n] = '\0';

    if (px->core == NULL || px->connection == NULL
        || (wscore_session_state(px->core) != WSCORE_STATE_OPEN
            && !wscore_session_close_pending(px->core)))
    {
        ngx_http_ws_proxy_answer_client(px, ev->close_code);
        return;
    }

    if (wscore_session_state(px->core) == WSCORE_STATE_OPEN) {
        px->close_code = ev->close_code;
        px->closed_by = NGX_HTTP_WS_PROXY_CLOSED_PROXY;
    }

    wscore_session_close(px->core, ev->close_code, (const char *) reason,
                         ngx_current_msec);

    if (ngx_http_ws_proxy_take_core_output(px) != NGX_OK) {
        ngx_http_ws_proxy_upstream_lost(px, "out of memory");
        return;
    }

    ngx_http_ws_proxy_flush(px);
    ngx_http_ws_proxy_arm_timer(px);

    /* both closed at once: the upstream's close is the client's answer */
    if (px->closed_by == NGX_HTTP_WS_PROXY_CLOSED_UPSTREAM) {
        ngx_http_ws_proxy_answer_client(px, px->close_code);
    }
}


/* Answers the client's close, if it still waits for an answer. */
static void
ngx_http_ws_proxy_answer_client(ngx_http_ws_proxy_t *px, ngx_uint_t code)
{
    ngx_http_ws_session_t  *ws;

    ws = px->session;

    if (ws->finalized || !wscore_session_close_pending(ws->core)) {
        return;
    }

    if (code == WSCORE_CLOSE_ABNORMAL) {
        code = WSCORE_CLOSE_NO_STATUS;
    }

    ngx_http_ws_session_close(ws, code, NULL);
}


/*
 * The client's session ends: an upstream still open gets the client's
 * close code, or 1001 when the client vanished or the server is going
 * away, and what is queued for it is written as far as the socket takes.
 */
void
ngx_http_ws_proxy_relay_end(ngx_http_ws_proxy_t *px)
{
    ngx_uint_t              code;
    ngx_http_ws_session_t  *ws;

    ws = px->session;

    if (px->done) {
        return;
    }

    px->done = 1;

    if (px->core && px->connection
        && (wscore_session_state(px->core) == WSCORE_STATE_OPEN
            || wscore_session_close_pending(px->core)))
    {
        code = ws->close_code;

        if (ws->closed_by != NGX_HTTP_WS_CLOSED_BY_CLIENT
            || code == WSCORE_CLOSE_ABNORMAL)
        {
            code = WSCORE_CLOSE_GOING_AWAY;
        }

        if (wscore_session_state(px->core) == WSCORE_STATE_OPEN) {
            px->close_code = code;
            px->closed_by = NGX_HTTP_WS_PROXY_CLOSED_PROXY;
        }

        wscore_session_close(px->core, (uint16_t) code,
                             code == WSCORE_CLOSE_GOING_AWAY
                             ? "going away" : NULL,
                             ngx_current_msec);

        if (ngx_http_ws_proxy_take_core_output(px) == NGX_OK) {
            ngx_http_ws_proxy_flush(px);
        }
    }

    ngx_http_ws_proxy_close_upstream(px);
}


static void
ngx_http_ws_proxy_relay_free(ngx_http_ws_proxy_t *px)
{
    ngx_http_ws_proxy_out_t  *out, *next;

    if (px->timer.timer_set) {
        ngx_del_timer(&px->timer);
    }

    for (out = px->out; out; out = next) {
        next = out->next;
        ngx_free(out);
    }

    px->out = NULL;
    px->out_last = &px->out;
    px->out_bytes = 0;

    if (px->core) {
        wscore_session_destroy(px->core);
        px->core = NULL;
    }

    if (px->deflater) {
        wscore_deflater_destroy(px->deflater);
        px->deflater = NULL;
    }
}
