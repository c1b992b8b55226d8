
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


static ngx_int_t ngx_http_ws_backend_message_start(
    ngx_http_ws_backend_state_t *st, ngx_http_ws_backend_pending_t *p,
    const u_char *data, size_t len);
static void ngx_http_ws_backend_message_done(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status);
static void ngx_http_ws_backend_message_apply(ngx_http_ws_backend_state_t *st);
static void ngx_http_ws_backend_pending_free(ngx_http_ws_backend_pending_t *p);


/*
 * A message the client sent: NGX_DECLINED when the location has no
 * message hook (the message goes its usual way), NGX_OK when the hook
 * took it, NGX_ERROR when it could not (the caller closes with 1011).
 */
ngx_int_t
ngx_http_ws_backend_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    wscore_str_t                  none;
    ngx_http_ws_backend_state_t  *st;

    st = ws->backend;

    if (st == NULL || st->conf->message.len == 0) {
        return NGX_DECLINED;
    }

    none.data = NULL;
    none.len = 0;

    return ngx_http_ws_backend_enqueue(st, NGX_HTTP_WS_BACKEND_CALL_RAW,
                                       ev->opcode, ev->data, ev->len, none,
                                       none, NULL);
}


/*
 * Queues a call with its payload (data, len: the core's or the parser's,
 * valid only now), its request id and its method or channel.
 *
 * The payload is copied once: straight into the call's body when the
 * call can start now, else into the entry, whose bytes the call's body
 * then points at (the entry outlives its call: it is freed only once the
 * call's done handler has run).
 */
ngx_int_t
ngx_http_ws_backend_enqueue(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_call_kind_e kind, ngx_uint_t opcode,
    const u_char *data, size_t len, wscore_str_t id, wscore_str_t name,
    uint64_t *last_seq)
{
    u_char                          *q;
    size_t                           size;
    ngx_uint_t                       now;
    ngx_http_ws_backend_pending_t   *p, **tail;

    /* the queue starts waiting calls as soon as one ends: room now means
     * nothing waits before this one */
    now = (st->inflight < st->conf->message_inflight);

    size = sizeof(ngx_http_ws_backend_pending_t) + id.len + name.len;

    if (!now) {
        size += len;
    }

    p = ngx_calloc(size, st->session->connection->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->state = st;
    p->kind = kind;
    p->opcode = opcode;
    p->len = len;

    q = (u_char *) (p + 1);

    p->id.data = q;
    p->id.len = id.len;
    q = ngx_cpymem(q, id.data, id.len);

    p->name.data = q;
    p->name.len = name.len;
    q = ngx_cpymem(q, name.data, name.len);

    if (last_seq) {
        p->has_last_seq = 1;
        p->last_seq = *last_seq;
    }

    if (!now) {
        p->body = q;
        ngx_memcpy(q, data, len);
    }

    tail = st->pending_last;
    *tail = p;
    st->pending_last = &p->next;
    st->queued++;

    if (now && ngx_http_ws_backend_message_start(st, p, data, len) != NGX_OK) {
        /* never started: out of the queue again, it would block it */
        *tail = NULL;
        st->pending_last = tail;
        st->queued--;
        ngx_http_ws_backend_pending_free(p);
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

    /* a 1001 waiting for the calls in flight: no new ones */
    return st != NULL
           && (st->queued >= st->conf->message_inflight
               || ws->shutdown_later);
}


/* At shutdown, the 1001 waits for the answers to the calls queued. */
ngx_uint_t
ngx_http_ws_backend_busy(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_backend_state_t  *st;

    st = ws->backend;

    return st != NULL && st->queued > 0;
}


/*
 * Makes and starts the call of an entry; data is its payload: the
 * entry's own bytes (p->body, referenced) or the caller's (copied).
 */
static ngx_int_t
ngx_http_ws_backend_message_start(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_pending_t *p, const u_char *data, size_t len)
{
    u_char                      *body;
    ngx_int_t                    rc;
    ngx_str_t                    type, key, value, *uri, *ptype;
    ngx_connection_t            *c;
    ngx_http_ws_session_t       *ws;
    ngx_http_ws_backend_call_t  *call;

    ws = st->session;
    c = ws->connection;

    uri = (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE)
          ? &st->conf->subscribe : &st->conf->message;

    call = ngx_http_ws_backend_call_create(c, ws->main_conf, st->srv_conf,
                                           ws->loc_conf, uri);
    if (call == NULL) {
        return NGX_ERROR;
    }

    ptype = &type;

    if (p->kind != NGX_HTTP_WS_BACKEND_CALL_RAW) {
        /* JSON data of the request; a subscribe has none */
        ngx_str_set(&type, "application/json");

        if (len == 0) {
            ptype = NULL;
        }

        rc = ngx_http_ws_backend_rpc_headers(p, call);

    } else {
        if (p->opcode == WSCORE_OP_TEXT) {
            ngx_str_set(&type, "text/plain; charset=utf-8");
            ngx_str_set(&value, "text");

        } else {
            ngx_str_set(&type, "application/octet-stream");
            ngx_str_set(&value, "binary");
        }

        ngx_str_set(&key, "WS-Opcode");
        rc = ngx_http_ws_backend_call_header(call, &key, &value);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_ws_backend_identity(st, c->number, call);
    }

    if (rc == NGX_OK) {
        if (data == p->body) {
            rc = ngx_http_ws_backend_call_body_ref(call, p->body, len,
                                                   ptype);

        } else {
            body = ngx_http_ws_backend_call_body(call, len, ptype);

            if (body == NULL) {
                rc = NGX_ERROR;

            } else {
                ngx_memcpy(body, data, len);
            }
        }
    }

    if (rc != NGX_OK) {
        ngx_http_ws_backend_call_destroy(call);
        return NGX_ERROR;
    }

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

    ngx_http_ws_backend_count(p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE
                              ? NGX_HTTP_WS_BACKEND_SUBSCRIBE
                              : NGX_HTTP_WS_BACKEND_MESSAGE, status);

    p->answered = 1;
    p->call = NULL;
    p->status = status;

    st = p->state;

    if (st == NULL) {
        /* the session has ended: nobody to answer */
        ngx_http_ws_backend_pending_free(p);
        return;
    }

    st->inflight--;

    if (p->kind != NGX_HTTP_WS_BACKEND_CALL_RAW) {
        ngx_http_ws_backend_rpc_answer(p, call, st->session->connection->log);

    } else if (status == NGX_HTTP_OK
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

        if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE && p->allowed) {
            ngx_http_ws_backend_rpc_apply(p, ws);
        }

        if (p->reply) {
            (void) ngx_http_ws_session_push(ws, p->reply, NULL);
        }

        ngx_http_ws_backend_pending_free(p);
    }

    for (p = st->pending; p && st->inflight < st->conf->message_inflight;
         p = p->next)
    {
        if (p->started) {
            continue;
        }

        if (ngx_http_ws_backend_message_start(st, p, p->body, p->len)
            != NGX_OK)
        {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
            return;
        }
    }

    if (st->queued == 0 && ws->shutdown_later) {
        /* the last answer is out: the 1001 follows it (and may end the
         * session, so nothing of it is touched after) */
        ngx_http_ws_session_idle(ws);
        return;
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

        ngx_http_ws_backend_pending_free(p);
    }

    st->pending = NULL;
    st->pending_last = &st->pending;
    st->queued = 0;
    st->inflight = 0;
}


static void
ngx_http_ws_backend_pending_free(ngx_http_ws_backend_pending_t *p)
{
    if (p->reply) {
        ngx_http_ws_frame_release(p->reply);
    }

    if (p->answer.data) {
        ngx_free(p->answer.data);
    }

    ngx_free(p);
}
