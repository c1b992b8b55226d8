
/*
 * ngx_ws: the JSON control protocol ("ws_protocol json").
 *
 * Each text message of the client is one request: subscribe, unsubscribe
 * or publish, with an optional id the reply echoes. The core parses and
 * writes the JSON; this file applies the location's rules (allow-list,
 * subscription limit) and answers with an ack or an error object. Errors
 * in a request never close the connection: the protocol has a way to say
 * what was wrong. Where a backend hook takes a request (a publish or an
 * rpc for the message hook, a subscribe for the subscribe hook), the
 * static rules are applied first, so the backend never sees a request
 * they refuse; its answer comes back through ngx_http_ws_control_join()
 * or ngx_http_ws_control_publish_allowed().
 */


#include "ngx_http_ws_control.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_history.h"
#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


/*
 * A publish waiting for Redis. The session may be gone by the time the
 * answer comes: the connection's number tells whether it is still the
 * same one (NGINX reuses connection structures, never their numbers).
 */
typedef struct {
    ngx_connection_t          *connection;
    ngx_atomic_uint_t          number;
    ngx_http_ws_session_t     *ws;
    size_t                     id_len;
    u_char                     id[1];
} ngx_http_ws_control_pending_t;


static void ngx_http_ws_control_auth(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req);
static ngx_int_t ngx_http_ws_control_channel_allowed(
    ngx_http_ws_session_t *ws, wscore_ctl_request_t *req,
    ngx_str_t *channel);
static void ngx_http_ws_control_forward(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req);
static ngx_int_t ngx_http_ws_control_to_backend(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, const char *refusal);
static void ngx_http_ws_control_subscribe(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel);
static void ngx_http_ws_control_add(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, uint64_t *last_seq,
    wscore_str_t data, ngx_uint_t data_json, ngx_uint_t later);
static void ngx_http_ws_control_unsubscribe(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel);
static void ngx_http_ws_control_publish(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel);
static void ngx_http_ws_control_post(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len, ngx_uint_t later);
static void ngx_http_ws_control_reply_error(ngx_http_ws_session_t *ws,
    wscore_str_t id, const char *code, const char *message);
static void ngx_http_ws_control_error(ngx_http_ws_session_t *ws,
    wscore_str_t id, const char *code, const char *message,
    ngx_uint_t later);
static void ngx_http_ws_control_reply(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_uint_t later);
static ngx_http_ws_frame_t *ngx_http_ws_control_ack_frame(
    ngx_http_ws_session_t *ws, wscore_str_t id, uint64_t seq);
static void ngx_http_ws_control_reply_ack(ngx_http_ws_session_t *ws,
    wscore_str_t id, uint64_t seq);
static void ngx_http_ws_control_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
static void ngx_http_ws_control_publish_redis(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len, ngx_uint_t later);
static void ngx_http_ws_control_published(void *data, uint64_t seq);
static void ngx_http_ws_control_parser_free(void *data);


ngx_http_ws_control_backend_pt  ngx_http_ws_control_backend;

/* what the security module hands this layer (ngx_http_ws_control_on_token) */
static ngx_http_ws_control_token_t  *ngx_http_ws_control_token;


void
ngx_http_ws_control_on_token(ngx_http_ws_control_token_t *token)
{
    ngx_http_ws_control_token = token;
}


/* The worker's control-protocol parser (the core's), made once. */
static wscore_ctl_parser_t  *ngx_http_ws_control_parser_handle;


/*
 * Made on first use and freed with the cycle; NULL when out of memory
 * (wscore_ctl_parse then answers "out of memory").
 */
wscore_ctl_parser_t *
ngx_http_ws_control_parser(void)
{
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_ws_control_parser_handle) {
        return ngx_http_ws_control_parser_handle;
    }

    cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ngx_http_ws_control_parser_handle = wscore_ctl_parser_create();

    cln->handler = ngx_http_ws_control_parser_free;
    cln->data = ngx_http_ws_control_parser_handle;

    return ngx_http_ws_control_parser_handle;
}


static void
ngx_http_ws_control_parser_free(void *data)
{
    wscore_ctl_parser_destroy(data);

    if (ngx_http_ws_control_parser_handle == data) {
        ngx_http_ws_control_parser_handle = NULL;
    }
}


/* ws_protocol json: each message is a request, answered in JSON. */
ngx_http_ws_handler_t  ngx_http_ws_control_handler = {
    ngx_http_ws_control_message,
    0,                                     /* place */
    NULL                                   /* close */
};


void
ngx_http_ws_control_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_str_t             channel;
    wscore_str_t          none;
    wscore_ctl_request_t  req;

    none.data = NULL;
    none.len = 0;

    if (ev->opcode != WSCORE_OP_TEXT) {
        ngx_http_ws_control_reply_error(ws, none, "unsupported",
                                        "binary messages are not part of "
                                        "the JSON protocol");
        return;
    }

    if (wscore_ctl_parse(ngx_http_ws_control_parser(),
                         (const char *) ev->data, ev->len, &req)
        != WSCORE_OK)
    {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: control request refused: %s", req.error);
        ngx_http_ws_control_reply_error(ws, req.id, "bad_request",
                                        req.error);
        return;
    }

    if (req.op == WSCORE_CTL_AUTH) {
        ngx_http_ws_control_auth(ws, &req);
        return;
    }

    if (req.op == WSCORE_CTL_RPC || req.op == WSCORE_CTL_SEND) {
        ngx_http_ws_control_forward(ws, &req);
        return;
    }

    channel.data = (u_char *) req.channel.data;
    channel.len = req.channel.len;

    if (ngx_http_ws_control_channel_allowed(ws, &req, &channel) != NGX_OK) {
        return;
    }

    switch (req.op) {

    case WSCORE_CTL_SUBSCRIBE:
        ngx_http_ws_control_subscribe(ws, &req, &channel);
        return;

    case WSCORE_CTL_UNSUBSCRIBE:
        ngx_http_ws_control_unsubscribe(ws, &req, &channel);
        return;

    default: /* WSCORE_CTL_PUBLISH */
        ngx_http_ws_control_publish(ws, &req, &channel);
        return;
    }
}


/* rpc and send: the message hook's (ngx_http_ws_backend_rpc.c) */
static void
ngx_http_ws_control_forward(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req)
{
    ngx_int_t  rc;

    rc = ngx_http_ws_control_backend ? ngx_http_ws_control_backend(ws, req)
                                     : NGX_DECLINED;

    if (rc == NGX_DECLINED) {
        ngx_http_ws_control_reply_error(ws, req->id, "unsupported",
                                        "no backend takes this request "
                                        "here");

    } else if (rc == NGX_ERROR) {
        ngx_http_ws_control_reply_error(ws, req->id, "unavailable",
                                        "cannot call the backend now");
    }
}


/* {"op":"auth","token":...}: a fresh token, checked by the security module */
static void
ngx_http_ws_control_auth(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req)
{
    ngx_str_t    token;
    const char  *error;

    token.data = (u_char *) req->token.data;
    token.len = req->token.len;
    error = "this endpoint does not use tokens";

    if (ngx_http_ws_control_token
        && ngx_http_ws_control_token->refresh(ws, &token, &error) == NGX_OK)
    {
        ngx_http_ws_control_reply_ack(ws, req->id, 0);

    } else {
        ngx_http_ws_control_reply_error(ws, req->id, "unauthorized", error);
    }
}


/*
 * The channel of a request: a valid name, allowed by the location and by
 * the token. NGX_OK, or NGX_DECLINED with the error sent.
 */
static ngx_int_t
ngx_http_ws_control_channel_allowed(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel)
{
    if (!wscore_channel_name_valid((const char *) channel->data,
                                   channel->len))
    {
        ngx_http_ws_control_reply_error(ws, req->id, "bad_channel",
                                        "channel names are 1-255 printable "
                                        "ASCII characters other than "
                                        "quote, backslash, * and ?");
        return NGX_DECLINED;
    }

    /* direct channels are for publishing: nobody subscribes to another's */
    if ((req->op == WSCORE_CTL_SUBSCRIBE
         && ngx_http_ws_zone_is_direct(channel))
        || (req->op != WSCORE_CTL_UNSUBSCRIBE
            && !ngx_http_ws_channels_allowed(ws->conf, channel)))
    {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: channel \"%V\" not allowed", channel);
        if (ngx_http_ws_control_token) {
            ngx_http_ws_control_token->channel_denied(ws);
        }

        ngx_http_ws_control_reply_error(ws, req->id, "forbidden",
                                        "channel not allowed");
        return NGX_DECLINED;
    }

    /* the token's own limits */
    if (req->op != WSCORE_CTL_UNSUBSCRIBE && ngx_http_ws_control_token
        && ngx_http_ws_control_token->channel_allowed(ws, channel) != NGX_OK)
    {
        ngx_http_ws_control_reply_error(ws, req->id, "forbidden",
                                        "channel not allowed by the token");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A request the static rules allowed, offered to the backend module's
 * hook for it: NGX_OK when the backend took it (its answer will be the
 * reply) or it could not be called (answered "unavailable" with
 * refusal), NGX_DECLINED when no hook takes it here: it goes its usual
 * way.
 */
static ngx_int_t
ngx_http_ws_control_to_backend(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, const char *refusal)
{
    ngx_int_t  rc;

    if (ngx_http_ws_control_backend == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_ws_control_backend(ws, req);

    if (rc == NGX_ERROR) {
        ngx_http_ws_control_reply_error(ws, req->id, "unavailable", refusal);
        return NGX_OK;
    }

    return rc;
}


/*
 * A subscribe the static rules allowed: joined at once, or once the
 * subscribe hook has allowed it too (ngx_http_ws_control_join()).
 */
static void
ngx_http_ws_control_subscribe(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel)
{
    wscore_str_t  none;

    if (ngx_http_ws_control_to_backend(ws, req, "cannot subscribe now")
        == NGX_OK)
    {
        return;
    }

    none.data = NULL;
    none.len = 0;

    ngx_http_ws_control_add(ws, req->id, channel,
                            req->has_last_seq ? &req->last_seq : NULL,
                            none, 0, 0);
}


void
ngx_http_ws_control_join(ngx_http_ws_session_t *ws, wscore_str_t id,
    ngx_str_t *channel, uint64_t *last_seq, wscore_str_t data,
    ngx_uint_t data_json)
{
    ngx_http_ws_control_add(ws, id, channel, last_seq, data, data_json, 1);
}


/*
 * later: outside the client's read pass (a backend's answer), so replies
 * are pushed and flushed like channel messages.
 */
static void
ngx_http_ws_control_add(ngx_http_ws_session_t *ws, wscore_str_t id,
    ngx_str_t *channel, uint64_t *last_seq, wscore_str_t data,
    ngx_uint_t data_json, ngx_uint_t later)
{
    size_t                      len;
    u_char                     *p;
    uint64_t                    since;
    ngx_int_t                   rc;
    const char                 *code, *message;
    ngx_http_ws_frame_t        *frame;
    ngx_http_ws_control_ack_t   ack;

    since = 0;
    rc = ngx_http_ws_channels_add(ws, channel, 1, &since);

    if (rc == NGX_BUSY || rc == NGX_ERROR) {
        code = (rc == NGX_BUSY) ? "too_many_subscriptions" : "unavailable";
        message = (rc == NGX_BUSY) ? "subscription limit reached"
                                   : "cannot subscribe now";

        len = wscore_ctl_write_error(NULL, 0, id, code, message);
        frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT,
                                        len, &p);
        if (frame) {
            (void) wscore_ctl_write_error((char *) p, len, id, code, message);
            ngx_http_ws_control_reply(ws, frame, later);
        }

        return;
    }

    /*
     * A resume is acknowledged by the replay, with the number it ends at:
     * for a cross-node channel, once Redis has said what that is.
     */
    if (last_seq) {
        ack.id = id;
        ack.data = data;
        ack.data_json = data_json;

        ngx_http_ws_history_replay(ws, channel, *last_seq, since, &ack);
        return;
    }

    /* the channel's last sequence number: the next message is after */
    len = wscore_ctl_write_ack_data(NULL, 0, id, since, data, data_json);
    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &p);
    if (frame) {
        (void) wscore_ctl_write_ack_data((char *) p, len, id, since, data,
                                         data_json);
        ngx_http_ws_control_reply(ws, frame, later);
    }
}


static void
ngx_http_ws_control_reply(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_uint_t later)
{
    if (later) {
        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
        return;
    }

    ngx_http_ws_control_send(ws, frame);
}


static void
ngx_http_ws_control_unsubscribe(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel)
{
    if (ngx_http_ws_channels_remove(ws, channel) != NGX_OK) {
        ngx_http_ws_control_reply_error(ws, req->id, "not_subscribed",
                                        "not subscribed to the channel");
        return;
    }

    ngx_http_ws_control_reply_ack(ws, req->id, 0);
}


/*
 * A publish the static rules allowed: published at once, or once the
 * message hook has let it through (ngx_http_ws_control_publish_allowed()).
 */
static void
ngx_http_ws_control_publish(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req, ngx_str_t *channel)
{
    if (ngx_http_ws_control_to_backend(ws, req, "cannot publish now")
        == NGX_OK)
    {
        return;
    }

    ngx_http_ws_control_post(ws, req->id, channel, WSCORE_OP_TEXT, 1,
                             (u_char *) req->data.data, req->data.len, 0);
}


void
ngx_http_ws_control_publish_allowed(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len)
{
    ngx_http_ws_control_post(ws, id, channel, opcode, json, data, len, 1);
}


/*
 * Publishes and acknowledges with the message's number. later: outside
 * the client's read pass (a backend's answer), so the reply is pushed
 * and flushed like a channel message.
 */
static void
ngx_http_ws_control_post(ngx_http_ws_session_t *ws, wscore_str_t id,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_uint_t later)
{
    ngx_int_t                   rc;
    ngx_http_ws_frame_t        *frame;
    ngx_http_ws_channel_info_t  info;

    if (ngx_http_ws_redis_channel(ws->main_conf, channel)) {
        ngx_http_ws_control_publish_redis(ws, id, channel, opcode, json,
                                          data, len, later);
        return;
    }

    rc = ngx_http_ws_channels_publish(ws->main_conf, ws->connection->log,
                                      channel, opcode, json, data, len,
                                      &info);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                      "ws: ws_zone is full, cannot publish to channel "
                      "\"%V\"", channel);
        ngx_http_ws_control_error(ws, id, "zone_full",
                                  "the server cannot take messages now",
                                  later);
        return;
    }

    frame = ngx_http_ws_control_ack_frame(ws, id, info.seq);

    if (frame) {
        ngx_http_ws_control_reply(ws, frame, later);
    }
}


/* A cross-node channel: the ack (with the number Redis gave) comes later. */
static void
ngx_http_ws_control_publish_redis(ngx_http_ws_session_t *ws,
    wscore_str_t id, ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len, ngx_uint_t later)
{
    ngx_http_ws_control_pending_t  *p;

    p = ngx_alloc(offsetof(ngx_http_ws_control_pending_t, id) + id.len,
                  ws->connection->log);
    if (p == NULL) {
        ngx_http_ws_control_error(ws, id, "unavailable",
                                  "cannot publish now", later);
        return;
    }

    p->connection = ws->connection;
    p->number = ws->connection->number;
    p->ws = ws;
    p->id_len = id.len;

    if (id.len) {
        ngx_memcpy(p->id, id.data, id.len);
    }

    if (ngx_http_ws_redis_publish(ws->main_conf, ws->connection->log,
                                  channel, opcode, json, data, len,
                                  ngx_http_ws_control_published, p)
        != NGX_OK)
    {
        ngx_free(p);
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: redis is down, cannot publish to channel "
                      "\"%V\"", channel);
        ngx_http_ws_control_error(ws, id, "unavailable",
                                  "cross-node delivery is down, try again "
                                  "later", later);
    }
}


static void
ngx_http_ws_control_published(void *data, uint64_t seq)
{
    ngx_http_ws_control_pending_t  *p = data;

    size_t                  len;
    u_char                 *out;
    wscore_str_t            id;
    ngx_http_ws_frame_t    *frame;
    ngx_http_ws_session_t  *ws;

    if (p->connection->fd == (ngx_socket_t) -1
        || p->connection->number != p->number)
    {
        ngx_free(p);
        return;
    }

    ws = p->ws;
    id.data = p->id_len ? (const char *) p->id : NULL;
    id.len = p->id_len;

    if (seq) {
        len = wscore_ctl_write_ack(NULL, 0, id, seq);

    } else {
        len = wscore_ctl_write_error(NULL, 0, id, "unavailable",
                                     "cross-node delivery failed, try "
                                     "again later");
    }

    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &out);
    if (frame) {
        if (seq) {
            (void) wscore_ctl_write_ack((char *) out, len, id, seq);

        } else {
            (void) wscore_ctl_write_error((char *) out, len, id,
                                          "unavailable", "cross-node "
                                          "delivery failed, try again "
                                          "later");
        }

        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
    }

    ngx_free(p);
}


/*
 * The ack of a subscribe with last_seq (ngx_http_ws_history.c), maybe
 * sent after Redis answered, outside this client's read event: pushed
 * like a channel message, so it is flushed, and ordered before the replay.
 */
void
ngx_http_ws_control_ack(ngx_http_ws_session_t *ws,
    ngx_http_ws_control_ack_t *ack, uint64_t seq)
{
    size_t                len;
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    len = wscore_ctl_write_ack_data(NULL, 0, ack->id, seq, ack->data,
                                    ack->data_json);

    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &p);
    if (frame == NULL) {
        return;
    }

    (void) wscore_ctl_write_ack_data((char *) p, len, ack->id, seq,
                                     ack->data, ack->data_json);

    (void) ngx_http_ws_session_push(ws, frame, NULL);
    ngx_http_ws_frame_release(frame);
}


/* {"op":"ack","id":…,"seq":…} in a frame of its own */
static ngx_http_ws_frame_t *
ngx_http_ws_control_ack_frame(ngx_http_ws_session_t *ws, wscore_str_t id,
    uint64_t seq)
{
    size_t                len;
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    len = wscore_ctl_write_ack(NULL, 0, id, seq);

    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &p);
    if (frame == NULL) {
        return NULL;
    }

    (void) wscore_ctl_write_ack((char *) p, len, id, seq);

    return frame;
}


static void
ngx_http_ws_control_reply_error(ngx_http_ws_session_t *ws, wscore_str_t id,
    const char *code, const char *message)
{
    ngx_http_ws_control_error(ws, id, code, message, 0);
}


static void
ngx_http_ws_control_error(ngx_http_ws_session_t *ws, wscore_str_t id,
    const char *code, const char *message, ngx_uint_t later)
{
    size_t                len;
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    len = wscore_ctl_write_error(NULL, 0, id, code, message);

    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &p);
    if (frame == NULL) {
        return;
    }

    (void) wscore_ctl_write_error((char *) p, len, id, code, message);

    ngx_http_ws_control_reply(ws, frame, later);
}


static void
ngx_http_ws_control_reply_ack(ngx_http_ws_session_t *ws, wscore_str_t id,
    uint64_t seq)
{
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_control_ack_frame(ws, id, seq);

    if (frame) {
        ngx_http_ws_control_send(ws, frame);
    }
}


/* Replies are the client's own output: bounded by reading less, like echo. */
static void
ngx_http_ws_control_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame)
{
    (void) ngx_http_ws_session_send(ws, frame);

    ngx_http_ws_frame_release(frame);
}
