
/*
 * ngx_ws: the JSON protocol's requests that a backend answers.
 *
 *   {"op":"rpc","method":"whoami","id":7,"data":...}   ws_backend_message
 *   {"op":"send","id":8,"data":...}                    ws_backend_message
 *   {"op":"subscribe","channel":"c","id":9}            ws_backend_subscribe
 *   {"op":"publish","channel":"c","id":10,"data":...}  ws_backend_message
 *
 * (A publish's answer is read as a raw message's, in
 * ngx_http_ws_backend_message.c: it filters what is published.)
 *
 * Each is a call in the connection's queue (ngx_http_ws_backend_message.c),
 * so it keeps the order, the in-flight bound and the back-pressure of raw
 * messages. The answer becomes the request's one reply, in the shapes the
 * protocol already has: an ack (with the answer as "data") or an error
 * (with the HTTP status). The core writes the JSON and checks that an
 * answer said to be JSON is. An rpc's or send's answer is read as a raw
 * message's, so its WS-* headers act the same way around the reply.
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_metrics.h"


static ngx_int_t ngx_http_ws_backend_rpc_header(
    ngx_http_ws_backend_call_t *call, ngx_http_ws_backend_header_name_t *name,
    ngx_str_t *value);
static void ngx_http_ws_backend_rpc_allowed(ngx_http_ws_backend_pending_t *p,
    ngx_str_t *body, ngx_uint_t json, ngx_log_t *log);
static void ngx_http_ws_backend_rpc_failing(ngx_http_ws_backend_pending_t *p,
    ngx_uint_t failing, const char *why, ngx_log_t *log);


static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_rpc_op =
    ngx_http_ws_backend_header_name("WS-Op", "ws-op");
static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_rpc_method =
    ngx_http_ws_backend_header_name("WS-Method", "ws-method");
static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_rpc_channel =
    ngx_http_ws_backend_header_name("WS-Channel", "ws-channel");
static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_rpc_id =
    ngx_http_ws_backend_header_name("WS-Request-Id", "ws-request-id");


static ngx_str_t  ngx_http_ws_backend_rpc_ops[] = {
    ngx_null_string,
    ngx_string("rpc"),
    ngx_string("send"),
    ngx_string("subscribe"),
    ngx_string("publish")
};


/*
 * ngx_http_ws_control_backend: a request of the JSON protocol that a hook
 * of this location takes. NGX_DECLINED when none does.
 */
ngx_int_t
ngx_http_ws_backend_control(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req)
{
    wscore_str_t                     name, data;
    ngx_http_ws_backend_state_t     *st;
    ngx_http_ws_backend_call_kind_e  kind;

    st = ngx_http_ws_session_backend(ws);

    if (st == NULL) {
        return NGX_DECLINED;
    }

    data.data = NULL;
    data.len = 0;

    switch (req->op) {

    case WSCORE_CTL_RPC:
    case WSCORE_CTL_SEND:
        if (st->conf->message.len == 0) {
            return NGX_DECLINED;
        }

        kind = (req->op == WSCORE_CTL_RPC) ? NGX_HTTP_WS_BACKEND_CALL_RPC
                                           : NGX_HTTP_WS_BACKEND_CALL_SEND;
        name = req->method;

        if (req->data.data) {
            data = req->data;
        }

        break;

    case WSCORE_CTL_PUBLISH:
        if (st->conf->message.len == 0) {
            return NGX_DECLINED;
        }

        kind = NGX_HTTP_WS_BACKEND_CALL_PUBLISH;
        name = req->channel;
        data = req->data;
        break;

    case WSCORE_CTL_SUBSCRIBE:
        if (st->conf->subscribe.len == 0) {
            return NGX_DECLINED;
        }

        kind = NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE;
        name = req->channel;
        break;

    default:
        return NGX_DECLINED;
    }

    return ngx_http_ws_backend_enqueue(st, kind, WSCORE_OP_TEXT,
                                       (const u_char *) data.data, data.len,
                                       req->id, name,
                                       req->has_last_seq ? &req->last_seq
                                                         : NULL);
}


/* WS-Op, and WS-Method, WS-Channel, WS-Request-Id where they apply. */
ngx_int_t
ngx_http_ws_backend_rpc_headers(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call)
{
    /* a constant: not copied */
    if (ngx_http_ws_backend_call_named_header(call,
                                       &ngx_http_ws_backend_rpc_op,
                                       &ngx_http_ws_backend_rpc_ops[p->kind])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_RPC
        && ngx_http_ws_backend_rpc_header(call,
                                          &ngx_http_ws_backend_rpc_method,
                                          &p->name)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if ((p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE
         || p->kind == NGX_HTTP_WS_BACKEND_CALL_PUBLISH)
        && ngx_http_ws_backend_rpc_header(call,
                                          &ngx_http_ws_backend_rpc_channel,
                                          &p->name)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the id as the client wrote it: 7, or "a-b" with its quotes */
    if (p->id.len
        && ngx_http_ws_backend_rpc_header(call, &ngx_http_ws_backend_rpc_id,
                                          &p->id)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* value is copied: the header must live in the call's pool */
static ngx_int_t
ngx_http_ws_backend_rpc_header(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_backend_header_name_t *name, ngx_str_t *value)
{
    ngx_str_t    v;
    ngx_pool_t  *pool;

    pool = ngx_http_ws_backend_call_pool(call);

    v.len = value->len;
    v.data = ngx_pnalloc(pool, v.len + 1);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(v.data, value->data, v.len);

    return ngx_http_ws_backend_call_named_header(call, name, &v);
}


/*
 * The answer of a call (its done handler; the answer lives in the call's
 * pool until this returns): the reply, made now, sent when the call's
 * turn comes. A subscribe's 2xx keeps its data: the channel is joined
 * in turn too. An rpc's or a send's answer has been read as a message's
 * (ngx_http_ws_backend_message.c): its verdict, body and WS-* headers are
 * in p, and why says what broke the rules, if anything did.
 */
void
ngx_http_ws_backend_rpc_answer(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call, const char *why, ngx_log_t *log)
{
    ngx_str_t                 body, type;
    ngx_uint_t                json;
    wscore_message_verdict_e  verdict;

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE) {
        if (ngx_http_ws_backend_call_answer(call, &body) != NGX_OK) {
            ngx_str_null(&body);
        }

        /* the message hook's reading of a status, as for raw messages */
        verdict = wscore_message_verdict(p->status, body.len);

    } else {
        verdict = p->verdict;
        body = p->body;

        /* a binary answer (WS-Opcode: binary) is for WS-Publish alone */
        if (verdict == WSCORE_MESSAGE_REPLACE
            && p->answer_opcode != WSCORE_OP_TEXT)
        {
            body.len = 0;
        }
    }

    if (why) {
        p->status = NGX_HTTP_BAD_GATEWAY;
        ngx_http_ws_backend_rpc_failing(p, 1, why, log);
        ngx_http_ws_backend_rpc_error(p, "unavailable", NULL, log);
        return;
    }

    if (verdict == WSCORE_MESSAGE_DROP || verdict == WSCORE_MESSAGE_KEEP) {
        /* nothing to reply with but that it was taken */
        body.len = 0;
    }

    if (verdict == WSCORE_MESSAGE_REPLACE || verdict == WSCORE_MESSAGE_DROP
        || verdict == WSCORE_MESSAGE_KEEP)
    {
        ngx_http_ws_backend_rpc_failing(p, 0, NULL, log);

        json = 0;

        if (body.len) {
            ngx_http_ws_backend_call_answer_type(call, &type);

            json = wscore_media_type_is_json((const char *) type.data,
                                             type.len)
                   && wscore_ctl_json_valid(ngx_http_ws_control_parser(),
                                            (const char *) body.data,
                                            body.len);

            if (!json && !wscore_utf8_valid(body.data, body.len)) {
                /* nothing a JSON reply can carry: as a failed call */
                p->verdict = WSCORE_MESSAGE_FAIL;
                p->status = NGX_HTTP_BAD_GATEWAY;
                ngx_http_ws_backend_rpc_failing(p, 1,
                                        "neither JSON nor UTF-8 text", log);
                ngx_http_ws_backend_rpc_error(p, "unavailable", NULL, log);
                return;
            }
        }

        /* WS-Publish publishes JSON as JSON (ngx_http_ws_backend_message.c) */
        p->answer_json = json;

        ngx_http_ws_backend_rpc_allowed(p, &body, json, log);
        return;
    }

    if (verdict == WSCORE_MESSAGE_REFUSE) {
        ngx_http_ws_backend_rpc_failing(p, 0, NULL, log);

        /* a refusal: the backend's body says why, when it can be read */
        ngx_http_ws_backend_rpc_error(p, p->kind
                                      == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE
                                      ? "forbidden" : "rejected",
                                      (body.len
                                       && wscore_utf8_valid(body.data,
                                                            body.len))
                                      ? &body : NULL, log);
        return;
    }

    /* 5xx, the backend down or slow (502, 504), a 1xx or 3xx but 304 */
    ngx_http_ws_backend_rpc_failing(p, 1, NULL, log);
    ngx_http_ws_backend_rpc_error(p, "unavailable", NULL, log);
}


static void
ngx_http_ws_backend_rpc_allowed(ngx_http_ws_backend_pending_t *p,
    ngx_str_t *body, ngx_uint_t json, ngx_log_t *log)
{
    size_t        len;
    u_char       *out;
    wscore_str_t  id, data;

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE) {
        p->allowed = 1;
        p->answer_json = json;

        if (body->len) {
            p->answer = ngx_alloc(body->len, log);
            if (p->answer == NULL) {
                p->allowed = 0;
                p->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
                ngx_http_ws_backend_rpc_error(p, "unavailable", NULL, log);
                return;
            }

            ngx_memcpy(p->answer, body->data, body->len);
            p->body.data = p->answer;
            p->body.len = body->len;
        }

        return;
    }

    id.data = p->id.len ? (const char *) p->id.data : NULL;
    id.len = p->id.len;
    data.data = (const char *) body->data;
    data.len = body->len;

    len = wscore_ctl_write_ack_data(NULL, 0, id, 0, data, json);

    p->reply = ngx_http_ws_frame_alloc(log, WSCORE_OP_TEXT, len, &out);

    if (p->reply) {
        (void) wscore_ctl_write_ack_data((char *) out, len, id, 0, data,
                                         json);
    }
}


void
ngx_http_ws_backend_rpc_error(ngx_http_ws_backend_pending_t *p,
    const char *code, ngx_str_t *message, ngx_log_t *log)
{
    size_t        len;
    u_char       *out;
    wscore_str_t  id, text;

    id.data = p->id.len ? (const char *) p->id.data : NULL;
    id.len = p->id.len;

    if (message) {
        text.data = (const char *) message->data;
        text.len = message->len;

    } else if (p->status >= NGX_HTTP_BAD_REQUEST
               && p->status < NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        text.data = p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE
                    ? "channel not allowed by the backend"
                    : "refused by the backend";
        text.len = ngx_strlen(text.data);

    } else {
        text.data = "the backend did not answer, try again later";
        text.len = ngx_strlen(text.data);
    }

    len = wscore_ctl_write_status_error(NULL, 0, id, code, p->status, text);

    p->reply = ngx_http_ws_frame_alloc(log, WSCORE_OP_TEXT, len, &out);

    if (p->reply) {
        (void) wscore_ctl_write_status_error((char *) out, len, id, code,
                                             p->status, text);
    }
}


/*
 * A failing hook is logged when it starts failing and when it recovers;
 * why: what broke the rules in an answer, NULL for a failed call.
 */
static void
ngx_http_ws_backend_rpc_failing(ngx_http_ws_backend_pending_t *p,
    ngx_uint_t failing, const char *why, ngx_log_t *log)
{
    ngx_str_t                   *uri;
    ngx_http_ws_backend_conf_t  *bcf;

    bcf = p->state->conf;

    if (p->kind == NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE) {
        uri = &bcf->subscribe;

        if (bcf->subscribe_failing == failing) {
            return;
        }

        bcf->subscribe_failing = failing;

    } else {
        uri = &bcf->message;

        if (bcf->rpc_failing == failing) {
            return;
        }

        bcf->rpc_failing = failing;
    }

    if (failing && why) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws: %V hook \"%V\" answer refused: %s; further "
                      "failures are counted, not logged",
                      &ngx_http_ws_backend_rpc_ops[p->kind], uri, why);

    } else if (failing) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws: %V hook \"%V\" failed with %ui; further failures "
                      "are counted, not logged",
                      &ngx_http_ws_backend_rpc_ops[p->kind], uri, p->status);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "ws: %V hook \"%V\" answers again",
                      &ngx_http_ws_backend_rpc_ops[p->kind], uri);
    }
}


/*
 * A request's answer in its turn: the reply made when it came, or for a
 * subscribe the backend allowed, the channel joined and acknowledged.
 */
void
ngx_http_ws_backend_rpc_apply(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_session_t *ws)
{
    wscore_str_t  id, data;

    if (p->reply) {
        (void) ngx_http_ws_session_push(ws, p->reply, NULL);
        return;
    }

    if (p->kind != NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE || !p->allowed) {
        return;
    }

    id.data = p->id.len ? (const char *) p->id.data : NULL;
    id.len = p->id.len;
    data.data = (const char *) p->body.data;
    data.len = p->body.len;

    ngx_http_ws_control_join(ws, id, &p->name,
                             p->has_last_seq ? &p->last_seq : NULL,
                             data, p->answer_json);
}
