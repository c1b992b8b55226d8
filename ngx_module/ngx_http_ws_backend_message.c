
/*
 * ngx_ws: the message hook (ws_backend_message).
 *
 * Each data message a client of a raw-protocol location sends is POSTed
 * to the hook's location (the payload as the body, WS-Opcode and the
 * identity headers), on a request made for the call
 * (ngx_http_ws_backend_call.c). The answer decides, like nchan's
 * publisher upstream: 200 with a body replies that body to the sender
 * (same opcode), 200 without one or 204 drop the message, anything else
 * drops it too and is counted.
 *
 * Order: answers are applied in the order the messages came, whatever
 * order the backend answers in: a message's entry waits at the head of
 * the session's queue until its answer is there. At most
 * ws_backend_message_inflight calls run at a time; messages past that
 * wait in the queue, and the client is not read while the queue is that
 * long (back-pressure), so the queue holds at most the bound plus what
 * one read brought.
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_metrics.h"


struct ngx_http_ws_backend_pending_s {
    ngx_http_ws_backend_pending_t  *next;
    ngx_http_ws_backend_state_t    *state;      /* NULL: session gone */
    ngx_http_ws_backend_call_t     *call;       /* NULL: not started, or
                                                   answered */
    ngx_http_ws_frame_t            *reply;
    ngx_uint_t                      status;
    size_t                          len;        /* of the payload after */
    unsigned                        opcode:4;
    unsigned                        started:1;
    unsigned                        answered:1;
};


static ngx_int_t ngx_http_ws_backend_message_start(
    ngx_http_ws_backend_state_t *st, ngx_http_ws_backend_pending_t *p,
    u_char *data, size_t len);
static void ngx_http_ws_backend_message_done(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status);
static void ngx_http_ws_backend_message_apply(ngx_http_ws_backend_state_t *st);


/*
 * A message the client sent: NGX_DECLINED when the location has no
 * message hook (the message goes its usual way), NGX_OK when the hook
 * took it, NGX_ERROR when it could not (the caller closes with 1011).
 */
ngx_int_t
ngx_http_ws_backend_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    u_char                         *copy;
    ngx_http_ws_backend_state_t    *st;
    ngx_http_ws_backend_pending_t  *p;

    st = ws->backend;

    if (st == NULL || st->conf->message.len == 0) {
        return NGX_DECLINED;
    }

    p = ngx_calloc(sizeof(ngx_http_ws_backend_pending_t) + ev->len,
                   ws->connection->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->state = st;
    p->opcode = ev->opcode;
    p->len = ev->len;

    /* the payload is the core's until the next call: kept with the entry
     * until the call can start */
    copy = (u_char *) (p + 1);
    ngx_memcpy(copy, ev->data, ev->len);

    *st->pending_last = p;
    st->pending_last = &p->next;
    st->queued++;

    if (st->inflight < st->conf->message_inflight
        && ngx_http_ws_backend_message_start(st, p, copy, ev->len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The client is not read while this many messages wait for answers. */
ngx_uint_t
ngx_http_ws_backend_reads_stopped(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_backend_state_t  *st;

    st = ws->backend;

    return st != NULL && st->queued >= st->conf->message_inflight;
}


static ngx_int_t
ngx_http_ws_backend_message_start(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_pending_t *p, u_char *data, size_t len)
{
    u_char                      *body;
    ngx_str_t                    type, key, value;
    ngx_connection_t            *c;
    ngx_http_ws_session_t       *ws;
    ngx_http_ws_backend_call_t  *call;

    ws = st->session;
    c = ws->connection;

    call = ngx_http_ws_backend_call_create(c, ws->main_conf, st->srv_conf,
                                           ws->loc_conf, &st->conf->message);
    if (call == NULL) {
        return NGX_ERROR;
    }

    if (p->opcode == WSCORE_OP_TEXT) {
        ngx_str_set(&type, "text/plain; charset=utf-8");
        ngx_str_set(&value, "text");

    } else {
        ngx_str_set(&type, "application/octet-stream");
        ngx_str_set(&value, "binary");
    }

    ngx_str_set(&key, "WS-Opcode");

    body = ngx_http_ws_backend_call_body(call, len, &type);

    if (body == NULL
        || ngx_http_ws_backend_call_header(call, &key, &value) != NGX_OK
        || ngx_http_ws_backend_identity(st, c->number, call) != NGX_OK)
    {
        ngx_http_ws_backend_call_destroy(call);
        return NGX_ERROR;
    }

    ngx_memcpy(body, data, len);

    p->call = call;
    p->started = 1;
    st->inflight++;

    if (ngx_http_ws_backend_call_start(call, ngx_http_ws_backend_message_done,
                                       p)
        != NGX_OK)
    {
        p->call = NULL;
        p->started = 0;
        st->inflight--;
        ngx_http_ws_backend_call_destroy(call);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_ws_backend_message_done(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status)
{
    ngx_http_ws_backend_pending_t  *p = data;

    ngx_str_t                     body;
    ngx_http_ws_backend_state_t  *st;

    ngx_http_ws_backend_count(NGX_HTTP_WS_BACKEND_MESSAGE, status);

    p->answered = 1;
    p->call = NULL;
    p->status = status;

    st = p->state;

    if (st == NULL) {
        /* the session has ended: nobody to answer */
        ngx_free(p);
        return;
    }

    st->inflight--;

    if (status == NGX_HTTP_OK
        && ngx_http_ws_backend_call_answer(call, &body) == NGX_OK
        && body.len)
    {
        if (p->opcode == WSCORE_OP_TEXT
            && !wscore_utf8_valid(body.data, body.len))
        {
            ngx_log_error(NGX_LOG_ERR, st->session->connection->log, 0,
                          "ws: message hook answered a text message with "
                          "invalid UTF-8, dropped");

        } else {
            p->reply = ngx_http_ws_frame_create(
                                   st->session->connection->log,
                                   (wscore_opcode_e) p->opcode,
                                   body.data, body.len);
        }
    }

    ngx_http_ws_backend_message_apply(st);
}


/*
 * Applies the answers at the head of the queue, in the order of the
 * messages, starts the calls that waited for room, and lets the client
 * be read again when the queue is short enough.
 */
static void
ngx_http_ws_backend_message_apply(ngx_http_ws_backend_state_t *st)
{
    ngx_uint_t                      stopped;
    ngx_http_ws_session_t          *ws;
    ngx_http_ws_backend_pending_t  *p;

    ws = st->session;
    stopped = (st->queued >= st->conf->message_inflight);

    while (st->pending && st->pending->answered) {
        p = st->pending;
        st->pending = p->next;

        if (st->pending == NULL) {
            st->pending_last = &st->pending;
        }

        st->queued--;

        if (p->reply) {
            (void) ngx_http_ws_session_push(ws, p->reply, NULL);
            ngx_http_ws_frame_release(p->reply);
        }

        ngx_free(p);
    }

    for (p = st->pending; p && st->inflight < st->conf->message_inflight;
         p = p->next)
    {
        if (p->started) {
            continue;
        }

        if (ngx_http_ws_backend_message_start(st, p, (u_char *) (p + 1),
                                              p->len)
            != NGX_OK)
        {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
            return;
        }
    }

    if (stopped && st->queued < st->conf->message_inflight) {
        ngx_http_ws_session_resume_reading(ws);
    }
}


/* The session has ended: calls in flight finish for nobody. */
void
ngx_http_ws_backend_message_end(ngx_http_ws_backend_state_t *st)
{
    ngx_http_ws_backend_pending_t  *p, *next;

    for (p = st->pending; p; p = next) {
        next = p->next;

        if (p->started && !p->answered) {
            p->state = NULL;
            continue;
        }

        if (p->reply) {
            ngx_http_ws_frame_release(p->reply);
        }

        ngx_free(p);
    }

    st->pending = NULL;
    st->pending_last = &st->pending;
    st->queued = 0;
    st->inflight = 0;
}
