
/*
 * ngx_ws: the message hook (ws_backend_message).
 *
 * Each data message a client of a raw-protocol location sends is POSTed
 * to the hook's location (the payload as the body, WS-Opcode and the
 * identity headers), on a request made for the call
 * (ngx_http_ws_backend_call.c). The hook is a filter in front of what the
 * location does with a message (echo, publish to its channel), like
 * nchan's publisher upstream; what its answer means is the core's rule
 * (wscore_message_verdict):
 *
 *   2xx with a body   the body goes instead of the message (WS-Opcode
 *                     may change the opcode)
 *   304               the message goes its usual way unchanged
 *   204, empty 2xx    the message is dropped
 *   4xx               refused: the body to the sender alone, or a close
 *                     with 1008 (ws_backend_message_refused)
 *   5xx, no answer    failed: dropped, or a close with 1011
 *                     (ws_backend_message_failed); logged when failures
 *                     start and stop, counted always
 *
 * A 2xx or 304 answer may also carry WS-Subscribe, WS-Unsubscribe (this
 * connection's channels), WS-Publish (the message, as it went on, to
 * these channels too) and WS-Close (close once the message is handled).
 * The JSON protocol's rpc and send are read the same way; their reply
 * (ngx_http_ws_backend_rpc.c) takes the place of the message's usual way.
 *
 * A JSON-protocol publish ({"op":"publish"}) is filtered the same way,
 * its channel the usual way: what its answer lets through is published
 * there and acknowledged with its number, a drop is acknowledged without
 * one, and a refusal or failure is the request's error reply
 * (ngx_http_ws_backend_rpc_error), whatever ws_backend_message_refused
 * and ws_backend_message_failed say: the protocol has a way to say it.
 *
 * Order: answers are applied in the order the messages came, whatever
 * order the backend answers in: a message's entry waits at the head of
 * the session's queue until its answer is there. At most
 * ws_backend_message_inflight calls run at a time; messages past that
 * wait in the queue, and the client is not read while the queue is that
 * long (back-pressure), so the queue holds at most the bound plus what
 * one read brought. An answer is copied out of its call (the call's pool
 * goes once it is over): its body, bounded by
 * subrequest_output_buffer_size, and the values of its WS-* headers.
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_echo.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_zone.h"


/*
 * The answer's headers that act: three lists (repeated headers are one
 * list, RFC 9110 section 5.3), then two that may come once.
 */
enum {
    NGX_HTTP_WS_ANSWER_SUBSCRIBE = 0,
    NGX_HTTP_WS_ANSWER_UNSUBSCRIBE,
    NGX_HTTP_WS_ANSWER_PUBLISH,
    NGX_HTTP_WS_ANSWER_OPCODE,
    NGX_HTTP_WS_ANSWER_CLOSE,
    NGX_HTTP_WS_ANSWER_OTHER
};

#define NGX_HTTP_WS_ANSWER_LISTS  NGX_HTTP_WS_ANSWER_OPCODE

/* a close frame's reason: 125 bytes less the code */
#define NGX_HTTP_WS_CLOSE_REASON_MAX  123


static ngx_int_t ngx_http_ws_backend_message_start(
    ngx_http_ws_backend_state_t *st, ngx_http_ws_backend_pending_t *p,
    const u_char *data, size_t len);
static ngx_int_t ngx_http_ws_backend_message_keep(
    ngx_http_ws_backend_pending_t *p, ngx_http_ws_backend_call_t *call,
    ngx_log_t *log);
static void ngx_http_ws_backend_message_done(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status);
static const char *ngx_http_ws_backend_message_read(
    ngx_http_ws_backend_pending_t *p, ngx_http_ws_backend_call_t *call,
    ngx_uint_t status, ngx_log_t *log);
static ngx_uint_t ngx_http_ws_backend_message_header(ngx_table_elt_t *h);
static const char *ngx_http_ws_backend_message_check(
    ngx_http_ws_backend_pending_t *p);
static void ngx_http_ws_backend_message_failing(
    ngx_http_ws_backend_conf_t *bcf, ngx_log_t *log, ngx_uint_t failed,
    ngx_uint_t status, const char *why);
static void ngx_http_ws_backend_message_apply(ngx_http_ws_backend_state_t *st);
static void ngx_http_ws_backend_message_act(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_pending_t *p);
static void ngx_http_ws_backend_message_refuse(ngx_http_ws_session_t *ws,
    ngx_http_ws_backend_conf_t *bcf, ngx_http_ws_backend_pending_t *p);
static void ngx_http_ws_backend_message_channels(ngx_http_ws_session_t *ws,
    ngx_http_ws_backend_pending_t *p);
static void ngx_http_ws_backend_message_publish(ngx_http_ws_session_t *ws,
    ngx_str_t *list, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len);
static void ngx_http_ws_backend_message_answer_json(
    ngx_http_ws_backend_pending_t *p, ngx_http_ws_backend_call_t *call);
static void ngx_http_ws_backend_message_free(
    ngx_http_ws_backend_pending_t *p);


static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_message_opcode =
    ngx_http_ws_backend_header_name("WS-Opcode", "ws-opcode");


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

    st = ngx_http_ws_session_backend(ws);

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

    /* memcpy() must not be given NULL, even for no bytes */
    p->id.data = q;
    p->id.len = id.len;

    if (id.len) {
        q = ngx_cpymem(q, id.data, id.len);
    }

    p->name.data = q;
    p->name.len = name.len;

    if (name.len) {
        q = ngx_cpymem(q, name.data, name.len);
    }

    if (last_seq) {
        p->has_last_seq = 1;
        p->last_seq = *last_seq;
    }

    if (!now) {
        p->payload = q;

        if (len) {
            ngx_memcpy(q, data, len);
        }
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
        ngx_http_ws_backend_message_free(p);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The client is not read while this many messages wait for answers. */
ngx_uint_t
ngx_http_ws_backend_reads_stopped(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_backend_state_t  *st;

    st = ngx_http_ws_session_backend(ws);

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

    st = ngx_http_ws_session_backend(ws);

    return st != NULL && st->queued > 0;
}


/*
 * Makes and starts the call of an entry; data is its payload: the
 * entry's own bytes (p->payload, referenced) or the caller's (copied).
 */
static ngx_int_t
ngx_http_ws_backend_message_start(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_pending_t *p, const u_char *data, size_t len)
{
    u_char                      *body;
    ngx_int_t                    rc;
    ngx_str_t                    type, value, *uri, *ptype;
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

        rc = ngx_http_ws_backend_call_named_header(call,
                                    &ngx_http_ws_backend_message_opcode,
                                    &value);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_ws_backend_identity(st, c->number, call);
    }

    if (rc == NGX_OK) {
        if (data == p->payload) {
            rc = ngx_http_ws_backend_call_body_ref(call, p->payload, len,
                                                   ptype);

        } else {
            body = ngx_http_ws_backend_call_body(call, len, ptype);

            if (body == NULL) {
                rc = NGX_ERROR;

            } else if (len) {
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

    const char                   *why;
    ngx_log_t                    *log;
    ngx_uint_t                    hook;
    ngx_http_ws_backend_state_t  *st;

    p->answered = 1;
    p->call = NULL;
    p->status = status;

    st = p->state;

    hook = (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE)
           ? NGX_HTTP_WS_BACKEND_SUBSCRIBE : NGX_HTTP_WS_BACKEND_MESSAGE;

    if (st == NULL) {
        /* the session has ended: nobody to answer */
        ngx_http_ws_backend_count(hook, status);
        ngx_http_ws_backend_message_free(p);
        return;
    }

    st->inflight--;
    log = st->session->connection->log;

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE) {
        /* allowed or not: its reply (ngx_http_ws_backend_rpc.c) */
        ngx_http_ws_backend_count(hook, status);
        ngx_http_ws_backend_rpc_answer(p, call, NULL, log);
        ngx_http_ws_backend_message_apply(st);
        return;
    }

    /* a message, publish, rpc or send: the answer's WS-* headers act */
    why = ngx_http_ws_backend_message_read(p, call, status, log);

    /* a kept message is sent on (raw), published (a publish, WS-Publish) */
    if (why == NULL && p->verdict == WSCORE_MESSAGE_KEEP
        && (p->kind == NGX_HTTP_WS_BACKEND_CALL_RAW
            || p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH
            || p->lists[NGX_HTTP_WS_ANSWER_PUBLISH].len)
        && ngx_http_ws_backend_message_keep(p, call, log) != NGX_OK)
    {
        why = "no memory";
    }

    if (why) {
        /* an answer that breaks the rules is neither of its status' kind */
        p->verdict = WSCORE_MESSAGE_FAIL;
        ngx_http_ws_backend_count(NGX_HTTP_WS_BACKEND_MESSAGE, 0);

    } else {
        ngx_http_ws_backend_count(NGX_HTTP_WS_BACKEND_MESSAGE, status);
    }

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_RPC
        || p->kind == NGX_HTTP_WS_BACKEND_CALL_SEND)
    {
        /* the reply, an ack or an error */
        ngx_http_ws_backend_rpc_answer(p, call, why, log);
        ngx_http_ws_backend_message_apply(st);
        return;
    }

    ngx_http_ws_backend_message_failing(st->conf, log,
                                        p->verdict == WSCORE_MESSAGE_FAIL,
                                        status, why);

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH) {
        ngx_http_ws_backend_message_answer_json(p, call);

        if (why) {
            /* what the publisher is told: the backend's answer was bad */
            p->status = NGX_HTTP_BAD_GATEWAY;
        }

        if (p->verdict == WSCORE_MESSAGE_FAIL) {
            ngx_http_ws_backend_rpc_error(p, "unavailable", NULL, log);

        } else if (p->verdict == WSCORE_MESSAGE_REFUSE) {
            ngx_http_ws_backend_rpc_error(p, "rejected",
                                          p->body.len ? &p->body : NULL,
                                          log);
        }
    }

    ngx_http_ws_backend_message_apply(st);
}


/*
 * A 304 sends the message on unchanged: a message whose call started at
 * once has its only copy in the call's body, which goes with the call;
 * kept now. The second copy is made for 304 answers alone.
 */
static ngx_int_t
ngx_http_ws_backend_message_keep(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call, ngx_log_t *log)
{
    ngx_str_t  sent;

    if (p->payload || p->len == 0) {
        return NGX_OK;
    }

    ngx_http_ws_backend_call_sent(call, &sent);

    if (sent.len != p->len) {
        return NGX_ERROR;
    }

    p->payload = ngx_alloc(p->len, log);
    if (p->payload == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p->payload, sent.data, sent.len);
    p->payload_heap = 1;

    return NGX_OK;
}


/*
 * Reads the answer into the entry: its verdict, and what the answer
 * carries copied to one heap block. NULL, or why the answer is refused.
 */
static const char *
ngx_http_ws_backend_message_read(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call, ngx_uint_t status, ngx_log_t *log)
{
    u_char           *q;
    size_t            size;
    uint16_t          code;
    ngx_str_t         body, *value, single[2];
    ngx_uint_t        i, kind, n[NGX_HTTP_WS_ANSWER_OTHER];
    ngx_list_t       *headers;
    wscore_str_t      reason;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    (void) ngx_http_ws_backend_call_answer(call, &body);

    p->verdict = wscore_message_verdict(status, body.len);
    p->answer_opcode = p->opcode;

    if (p->verdict == WSCORE_MESSAGE_FAIL) {
        return NULL;
    }

    if (p->verdict != WSCORE_MESSAGE_REPLACE
        && p->verdict != WSCORE_MESSAGE_REFUSE)
    {
        body.len = 0;
    }

    /* sizes first: one block for the body and every value */
    ngx_memzero(n, sizeof(n));
    ngx_memzero(single, sizeof(single));
    size = body.len;

    headers = ngx_http_ws_backend_call_headers(call);

    /* a refusal's headers do nothing: only its body is read */
    if (p->verdict == WSCORE_MESSAGE_REFUSE) {
        headers = NULL;
    }

    for (part = headers ? &headers->part : NULL; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0) {
                continue;
            }

            kind = ngx_http_ws_backend_message_header(&h[i]);

            if (kind == NGX_HTTP_WS_ANSWER_OTHER) {
                continue;
            }

            if (kind >= NGX_HTTP_WS_ANSWER_LISTS) {
                if (n[kind]++) {
                    return kind == NGX_HTTP_WS_ANSWER_OPCODE
                           ? "WS-Opcode given twice" : "WS-Close given twice";
                }

                single[kind - NGX_HTTP_WS_ANSWER_LISTS] = h[i].value;
                continue;
            }

            size += h[i].value.len + 1;
            n[kind]++;
        }
    }

    size += single[1].len;

    if (size) {
        p->answer = ngx_alloc(size, log);
        if (p->answer == NULL) {
            return "no memory";
        }
    }

    q = p->answer;

    /* no copy of nothing: memcpy() wants pointers even for 0 bytes */
    if (body.len) {
        p->body.data = q;
        p->body.len = body.len;
        q = ngx_cpymem(q, body.data, body.len);
    }

    for (kind = 0; kind < NGX_HTTP_WS_ANSWER_LISTS; kind++) {
        value = &p->lists[kind];
        value->data = q;

        for (part = n[kind] ? &headers->part : NULL; part; part = part->next)
        {
            h = part->elts;

            for (i = 0; i < part->nelts; i++) {
                if (h[i].hash == 0
                    || ngx_http_ws_backend_message_header(&h[i]) != kind)
                {
                    continue;
                }

                if (q != value->data) {
                    *q++ = ',';
                }

                q = ngx_cpymem(q, h[i].value.data, h[i].value.len);
            }
        }

        value->len = q - value->data;
    }

    if (n[NGX_HTTP_WS_ANSWER_OPCODE]) {
        i = wscore_answer_opcode((const char *) single[0].data,
                                 single[0].len);
        if (i == 0) {
            return "WS-Opcode is neither \"text\" nor \"binary\"";
        }

        p->answer_opcode = i;
    }

    if (n[NGX_HTTP_WS_ANSWER_CLOSE]) {
        value = &single[1];

        if (value->len) {
            ngx_memcpy(q, value->data, value->len);
        }

        if (!wscore_close_request_parse((const char *) q, value->len, &code,
                                        &reason))
        {
            return "WS-Close is not \"<close code> [reason]\" with a code "
                   "a server may send";
        }

        p->close_code = code;
        p->close_reason.data = (u_char *) reason.data;
        p->close_reason.len = reason.len;
    }

    return ngx_http_ws_backend_message_check(p);
}


/* Which of the answer's headers h is: a list, WS-Opcode, WS-Close, other. */
static ngx_uint_t
ngx_http_ws_backend_message_header(ngx_table_elt_t *h)
{
    static ngx_str_t  names[] = {
        ngx_string("ws-subscribe"),
        ngx_string("ws-unsubscribe"),
        ngx_string("ws-publish"),
        ngx_string("ws-opcode"),
        ngx_string("ws-close")
    };

    ngx_uint_t  i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (h->key.len == names[i].len
            && ngx_strncasecmp(h->key.data, names[i].data, names[i].len) == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_WS_ANSWER_OTHER;
}


/* What must hold before anything of the answer is done. */
static const char *
ngx_http_ws_backend_message_check(ngx_http_ws_backend_pending_t *p)
{
    size_t        left, used;
    ngx_str_t     channel;
    ngx_uint_t    kind;
    const char   *q;
    wscore_str_t  element;

    if (p->verdict == WSCORE_MESSAGE_REFUSE) {
        /* the sender of a raw message gets it as a text message; a
         * publisher's error says "refused by the backend" instead of a
         * body that is not text (an rpc's error says something of its own) */
        if (!wscore_utf8_valid(p->body.data, p->body.len)) {
            if (p->kind == NGX_HTTP_WS_BACKEND_CALL_RAW) {
                return "the refusal's body is not UTF-8 text";
            }

            if (p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH) {
                p->body.len = 0;
            }
        }

        return NULL;
    }

    if (p->verdict == WSCORE_MESSAGE_REPLACE
        && p->answer_opcode == WSCORE_OP_TEXT
        && !wscore_utf8_valid(p->body.data, p->body.len))
    {
        return "a text message's body is not UTF-8";
    }

    for (kind = 0; kind < NGX_HTTP_WS_ANSWER_LISTS; kind++) {
        q = (const char *) p->lists[kind].data;
        left = p->lists[kind].len;

        while ((used = wscore_list_next(q, left, &element)) != 0) {
            q += used;
            left -= used;

            channel.data = (u_char *) element.data;
            channel.len = element.len;

            if (!wscore_channel_name_valid(element.data, element.len)) {
                return "a WS-Subscribe, WS-Unsubscribe or WS-Publish "
                       "channel name is invalid";
            }

            /* a connection's own channel is for publishing to it */
            if (kind != NGX_HTTP_WS_ANSWER_PUBLISH
                && ngx_http_ws_zone_is_direct(&channel))
            {
                return "WS-Subscribe or WS-Unsubscribe names a \"conn:\" "
                       "channel";
            }
        }
    }

    return NULL;
}


/* Failures are logged when they start and when they stop, not each. */
static void
ngx_http_ws_backend_message_failing(ngx_http_ws_backend_conf_t *bcf,
    ngx_log_t *log, ngx_uint_t failed, ngx_uint_t status, const char *why)
{
    if (!failed) {
        if (bcf->message_failing) {
            bcf->message_failing = 0;
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "ws: message hook \"%V\" answers again",
                          &bcf->message);
        }

        return;
    }

    if (bcf->message_failing) {
        return;
    }

    bcf->message_failing = 1;

    if (why) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws: message hook \"%V\" answer refused: %s; further "
                      "failures are counted, not logged", &bcf->message, why);

    } else {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws: message hook \"%V\" failed with %ui; further "
                      "failures are counted, not logged", &bcf->message,
                      status);
    }
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

        /*
         * Out of the queue first: what the answer does may end the
         * session, and its end frees what is still queued.
         */
        if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE) {
            ngx_http_ws_backend_rpc_apply(p, ws);

        } else {
            ngx_http_ws_backend_message_act(st, p);
        }

        ngx_http_ws_backend_message_free(p);

        if (ws->finalized) {
            return;
        }
    }

    for (p = st->pending; p && st->inflight < st->conf->message_inflight;
         p = p->next)
    {
        if (p->started) {
            continue;
        }

        if (ngx_http_ws_backend_message_start(st, p, p->payload, p->len)
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

    ngx_http_ws_session_flush(ws);
}


/* What one answer does, in its message's turn. */
static void
ngx_http_ws_backend_message_act(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_pending_t *p)
{
    u_char                      close_reason[NGX_HTTP_WS_CLOSE_REASON_MAX + 1];
    ngx_uint_t                  json;
    wscore_str_t                id;
    wscore_event_t              ev;
    ngx_http_ws_session_t      *ws;
    ngx_http_ws_control_ack_t   ack;

    ws = st->session;

    /* a close frame has gone (WS-Close, the client's close): no data
     * message may follow it */
    if (wscore_session_state(ws->core) != WSCORE_STATE_OPEN) {
        return;
    }

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH
        && (p->verdict == WSCORE_MESSAGE_FAIL
            || p->verdict == WSCORE_MESSAGE_REFUSE))
    {
        /* its error, made with the answer: the connection goes on */
        if (p->reply) {
            (void) ngx_http_ws_session_push(ws, p->reply, NULL);
        }

        return;
    }

    if ((p->kind == NGX_HTTP_WS_BACKEND_CALL_RPC
         || p->kind == NGX_HTTP_WS_BACKEND_CALL_SEND)
        && (p->verdict == WSCORE_MESSAGE_FAIL
            || p->verdict == WSCORE_MESSAGE_REFUSE))
    {
        /* rpc or send: the error is the reply, and nothing else is done */
        ngx_http_ws_backend_rpc_apply(p, ws);
        return;
    }

    switch (p->verdict) {

    case WSCORE_MESSAGE_FAIL:
        if (st->conf->message_failed == NGX_HTTP_WS_BACKEND_CLOSE) {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR,
                                      "backend failed");
        }

        return;

    case WSCORE_MESSAGE_REFUSE:
        ngx_http_ws_backend_message_refuse(ws, st->conf, p);
        return;

    default:
        break;
    }

    /* 2xx and 304: the connection's channels first, as the backend saw
     * the message coming from a connection about to have them */
    ngx_http_ws_backend_message_channels(ws, p);

    if (ws->finalized) {
        return;
    }

    ngx_memzero(&ev, sizeof(wscore_event_t));
    ev.type = WSCORE_EVENT_MESSAGE;

    /* a publish's data is JSON; a body instead of it, when it says so */
    json = 0;

    if (p->verdict == WSCORE_MESSAGE_KEEP) {
        ev.opcode = (wscore_opcode_e) p->opcode;
        ev.data = p->payload ? p->payload : (const uint8_t *) "";
        ev.len = p->len;
        json = (p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH);

    } else if (p->verdict == WSCORE_MESSAGE_REPLACE) {
        ev.opcode = (wscore_opcode_e) p->answer_opcode;
        ev.data = p->body.data;
        ev.len = p->body.len;
        json = p->answer_json;
    }

    id.data = p->id.len ? (const char *) p->id.data : NULL;
    id.len = p->id.len;

    if (ev.data == NULL && p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH) {
        /* dropped: taken, and nothing published (an ack without seq) */
        ngx_memzero(&ack, sizeof(ngx_http_ws_control_ack_t));
        ack.id = id;
        ngx_http_ws_control_ack(ws, &ack, 0);
    }

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_RPC
        || p->kind == NGX_HTTP_WS_BACKEND_CALL_SEND)
    {
        /*
         * rpc or send: the ack goes to the sender; what WS-Publish
         * publishes is the request's data (304) or the answer's body
         * (2xx), a request without either publishes nothing.
         */
        ngx_http_ws_backend_rpc_apply(p, ws);

        if (ws->finalized) {
            return;
        }

        /* the request's data is JSON; an answer's body is when it said
         * so and parsed */
        if (ev.data && ev.len) {
            ngx_http_ws_backend_message_publish(ws,
                                   &p->lists[NGX_HTTP_WS_ANSWER_PUBLISH],
                                   ev.opcode,
                                   p->verdict == WSCORE_MESSAGE_KEEP
                                   || p->answer_json,
                                   (u_char *) ev.data, ev.len);
        }

    } else if (ev.data) {
        /*
         * Its usual way: a publish's channel; the location's channel,
         * echo or both. Where the location does neither, the backend's
         * answer is for the sender: it is echoed.
         */
        if (p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH) {
            ngx_http_ws_control_publish_allowed(ws, id, &p->name, ev.opcode,
                                                json, (u_char *) ev.data,
                                                ev.len);

        } else if (ws->conf->handler) {
            ws->conf->handler->message(ws, &ev);

        } else {
            ngx_http_ws_echo_message(ws, &ev);
        }

        if (ws->finalized) {
            return;
        }

        ngx_http_ws_backend_message_publish(ws,
                                   &p->lists[NGX_HTTP_WS_ANSWER_PUBLISH],
                                   ev.opcode, json, (u_char *) ev.data,
                                   ev.len);
    }

    if (p->close_code) {
        if (p->close_reason.len) {
            ngx_memcpy(close_reason, p->close_reason.data,
                       p->close_reason.len);
        }

        close_reason[p->close_reason.len] = '\0';

        ngx_http_ws_session_close(ws, p->close_code,
                                  (const char *) close_reason);
    }
}


/* A 4xx: the body to the sender alone, or the connection closed 1008. */
static void
ngx_http_ws_backend_message_refuse(ngx_http_ws_session_t *ws,
    ngx_http_ws_backend_conf_t *bcf, ngx_http_ws_backend_pending_t *p)
{
    size_t                len;
    u_char                reason[NGX_HTTP_WS_CLOSE_REASON_MAX + 1];
    ngx_http_ws_frame_t  *frame;

    if (bcf->message_refused == NGX_HTTP_WS_BACKEND_CLOSE) {
        len = wscore_utf8_prefix((const char *) p->body.data, p->body.len,
                                 NGX_HTTP_WS_CLOSE_REASON_MAX);
        if (len) {
            ngx_memcpy(reason, p->body.data, len);
        }

        reason[len] = '\0';

        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: message hook refused a message, closing with 1008");

        ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                                  (const char *) reason);
        return;
    }

    if (p->body.len == 0) {
        return;
    }

    frame = ngx_http_ws_frame_create(ws->connection->log, WSCORE_OP_TEXT,
                                     p->body.data, p->body.len);
    if (frame == NULL) {
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
        return;
    }

    if (ngx_http_ws_session_send(ws, frame) != NGX_OK) {
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
    }

    ngx_http_ws_frame_release(frame);
}


/* WS-Subscribe and WS-Unsubscribe: this connection's channels. */
static void
ngx_http_ws_backend_message_channels(ngx_http_ws_session_t *ws,
    ngx_http_ws_backend_pending_t *p)
{
    size_t                    left, used;
    ngx_int_t                 rc;
    ngx_str_t                 channel, *list;
    const char               *q;
    wscore_str_t              element;
    ngx_http_ws_main_conf_t  *wmcf;

    list = p->lists;

    if (list[NGX_HTTP_WS_ANSWER_SUBSCRIBE].len == 0
        && list[NGX_HTTP_WS_ANSWER_UNSUBSCRIBE].len == 0)
    {
        return;
    }

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    if (wmcf->zone == NULL) {
        ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                      "ws: message hook answered WS-Subscribe or "
                      "WS-Unsubscribe, but channels need ws_zone");
        return;
    }

    /* a raw location without channels of its own has no list yet: the
     * connection's pool holds it, as detaching the request would */
    if (ws->subscriptions == NULL && list[0].len) {
        ws->subscriptions = ngx_array_create(ws->connection->pool, 2,
                                    sizeof(ngx_http_ws_subscription_t));
        if (ws->subscriptions == NULL) {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
            return;
        }
    }

    q = (const char *) list[NGX_HTTP_WS_ANSWER_UNSUBSCRIBE].data;
    left = list[NGX_HTTP_WS_ANSWER_UNSUBSCRIBE].len;

    while ((used = wscore_list_next(q, left, &element)) != 0) {
        q += used;
        left -= used;

        channel.data = (u_char *) element.data;
        channel.len = element.len;

        (void) ngx_http_ws_channels_remove(ws, &channel);
    }

    q = (const char *) list[NGX_HTTP_WS_ANSWER_SUBSCRIBE].data;
    left = list[NGX_HTTP_WS_ANSWER_SUBSCRIBE].len;

    while ((used = wscore_list_next(q, left, &element)) != 0) {
        q += used;
        left -= used;

        channel.data = (u_char *) element.data;
        channel.len = element.len;

        rc = ngx_http_ws_channels_add(ws, &channel, 1, NULL);

        if (rc == NGX_BUSY) {
            ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                          "ws: message hook's WS-Subscribe over "
                          "ws_max_subscriptions, \"%V\" not joined",
                          &channel);

        } else if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                          "ws: cannot subscribe to \"%V\" for the message "
                          "hook", &channel);
        }
    }
}


/* WS-Publish: the message, as it went on, to these channels as well. */
static void
ngx_http_ws_backend_message_publish(ngx_http_ws_session_t *ws,
    ngx_str_t *list, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len)
{
    size_t                       left, used;
    ngx_int_t                    rc;
    ngx_str_t                    channel;
    const char                  *q;
    wscore_str_t                 element;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_channel_info_t   info;

    if (list->len == 0) {
        return;
    }

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    if (wmcf->zone == NULL) {
        ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                      "ws: message hook answered WS-Publish, but channels "
                      "need ws_zone");
        return;
    }

    q = (const char *) list->data;
    left = list->len;

    while ((used = wscore_list_next(q, left, &element)) != 0) {
        q += used;
        left -= used;

        channel.data = (u_char *) element.data;
        channel.len = element.len;

        rc = ngx_http_ws_channels_publish(ws->main_conf, ws->connection->log,
                                          &channel, opcode, json, data, len,
                                          &info);

        if (rc != NGX_OK && rc != NGX_AGAIN) {
            ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                          "ws: %s, cannot publish to channel \"%V\" for the "
                          "message hook",
                          rc == NGX_BUSY ? "redis is down"
                                         : "ws_zone is full", &channel);
        }
    }
}


/*
 * A publish's text body instead of its data is published as JSON when
 * the answer says it is (application/json, +json) and it parses, else as
 * a string: the reading of an rpc's answer.
 */
static void
ngx_http_ws_backend_message_answer_json(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call)
{
    ngx_str_t  type;

    if (p->verdict != WSCORE_MESSAGE_REPLACE
        || p->answer_opcode != WSCORE_OP_TEXT)
    {
        return;
    }

    ngx_http_ws_backend_call_answer_type(call, &type);

    p->answer_json = wscore_media_type_is_json((const char *) type.data,
                                               type.len)
                     && wscore_ctl_json_valid(ngx_http_ws_control_parser(),
                                              (const char *) p->body.data,
                                              p->body.len);
}


static void
ngx_http_ws_backend_message_free(ngx_http_ws_backend_pending_t *p)
{
    if (p->answer) {
        ngx_free(p->answer);
    }

    if (p->reply) {
        ngx_http_ws_frame_release(p->reply);
    }

    if (p->payload_heap) {
        ngx_free(p->payload);
    }

    ngx_free(p);
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

        ngx_http_ws_backend_message_free(p);
    }

    st->pending = NULL;
    st->pending_last = &st->pending;
    st->queued = 0;
    st->inflight = 0;
}
