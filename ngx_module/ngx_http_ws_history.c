
/*
 * ngx_ws: channel history and resume ("ws_channel_history").
 *
 * The zone keeps the last messages of every channel (ngx_http_ws_zone.c,
 * as references to the messages it already holds). A control-protocol
 * client that subscribes with "last_seq" (or connects to a ws_subscribe
 * location with ?last_seq=N) gets, right after its ack, every message it
 * missed that is still kept, in order, then the live stream; what is no
 * longer kept is reported as a gap:
 *
 *   {"op":"gap","channel":"room:a","from":18,"to":41}
 *
 * A cross-node channel's history is each node's own, filled by the node's
 * Redis subscription; messages the node missed while Redis was away are
 * holes in it, reported as gaps like the rest.
 */


#include "ngx_http_ws_module.h"


static void ngx_http_ws_history_gap(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t from, uint64_t to);
static void ngx_http_ws_history_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_msg_t *msg);


/* ws_channel_history number time; */
char *
ngx_http_ws_channel_history(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_main_conf_t *wmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (wmcf->history_max) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n < 1 || n > 65536) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_channel_history\" number \"%V\", "
                           "it must be between 1 and 65536", &value[1]);
        return NGX_CONF_ERROR;
    }

    wmcf->history_max = n;

    n = ngx_parse_time(&value[2], 0);

    if (n == NGX_ERROR || n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_channel_history\" time \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    wmcf->history_time = (ngx_msec_t) n;

    return NGX_CONF_OK;
}


/*
 * ?last_seq=N on a ws_subscribe location of the JSON protocol: resume
 * each configured channel after N (raw clients never see numbers).
 */
void
ngx_http_ws_history_resume(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t since)
{
    ngx_int_t  n;
    ngx_str_t  arg;

    /* channels are joined before the request is freed, or with it kept */
    if (ws->conf->protocol != NGX_HTTP_WS_PROTOCOL_JSON
        || ws->request == NULL
        || ngx_http_arg(ws->request, (u_char *) "last_seq", 8, &arg)
           != NGX_OK)
    {
        return;
    }

    n = ngx_atoi(arg.data, arg.len);

    if (n == NGX_ERROR) {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: invalid last_seq \"%V\" ignored", &arg);
        return;
    }

    ngx_http_ws_history_replay(ws, channel, (uint64_t) n, since);
}


/*
 * Sends what the client missed of a channel: numbers after last_seq up to
 * "since", the channel's number when the client subscribed (later ones
 * come live). Queued on the session like any channel message, so
 * ws_send_buffer and ws_slow_consumer bound a long replay too.
 */
void
ngx_http_ws_history_replay(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t last_seq, uint64_t since)
{
    uint64_t                  expected;
    ngx_uint_t                i, n, count;
    ngx_http_ws_msg_t       **msgs;
    ngx_http_ws_zone_ctx_t   *ctx;
    ngx_http_ws_main_conf_t  *wmcf;

    if (last_seq >= since) {
        return;
    }

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);
    ctx = wmcf->zone->data;

    n = ctx->history_max;
    count = 0;
    msgs = NULL;

    if (n) {
        msgs = ngx_alloc(n * sizeof(ngx_http_ws_msg_t *),
                         ws->connection->log);
        if (msgs == NULL) {
            n = 0;
        }
    }

    if (n) {
        count = ngx_http_ws_zone_history(wmcf->zone, channel, last_seq, since,
                                         msgs, n);
    }

    expected = last_seq + 1;

    for (i = 0; i < count; i++) {
        if (msgs[i]->seq > expected) {
            ngx_http_ws_history_gap(ws, channel, expected, msgs[i]->seq - 1);
        }

        ngx_http_ws_history_send(ws, msgs[i]);
        expected = msgs[i]->seq + 1;
    }

    if (expected <= since) {
        ngx_http_ws_history_gap(ws, channel, expected, since);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ws->connection->log, 0,
                   "ws: resumed \"%V\" after %uL: %ui kept messages, "
                   "up to %uL", channel, last_seq, count, since);

    if (count) {
        ngx_http_ws_zone_release(wmcf->zone, msgs, count);
    }

    if (msgs) {
        ngx_free(msgs);
    }
}


static void
ngx_http_ws_history_send(ngx_http_ws_session_t *ws, ngx_http_ws_msg_t *msg)
{
    ngx_http_ws_frame_t  *frame;

    if (msg->opcode == WSCORE_OP_TEXT) {
        frame = ngx_http_ws_channels_envelope(msg);

    } else {
        frame = ngx_http_ws_frame_create(ws->connection->log, msg->opcode,
                                         msg->data + msg->channel_len,
                                         msg->len);
    }

    if (frame) {
        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
    }
}


/* Channel names need no JSON escaping: see ngx_http_ws_channel_name_valid */
static void
ngx_http_ws_history_gap(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t from, uint64_t to)
{
    u_char                buf[NGX_HTTP_WS_MAX_CHANNEL_LEN + 2 * NGX_INT64_LEN
                              + 64];
    u_char               *last;
    ngx_http_ws_frame_t  *frame;

    last = ngx_snprintf(buf, sizeof(buf), "{\"op\":\"gap\",\"channel\":\"%V\","
                        "\"from\":%uL,\"to\":%uL}", channel, from, to);

    frame = ngx_http_ws_frame_create(ws->connection->log, WSCORE_OP_TEXT,
                                     buf, last - buf);
    if (frame) {
        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
    }
}
