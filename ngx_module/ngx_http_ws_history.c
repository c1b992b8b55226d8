
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
 * A cross-node channel's history is also kept in Redis, in a stream the
 * publish script appends to (ngx_http_ws_redis.c): a node that was not
 * running, or cut off, when messages were published still has them for
 * its clients. Resuming such a channel asks Redis, without waiting: the
 * subscription is held back (live messages skipped, they stay in the
 * zone's ring) until the answer, which is merged with the ring (the
 * ring's copy preferred), holes reported as gaps, and then the
 * subscription goes live after the last number replayed. If Redis is
 * down or does not answer in time, the ring alone is replayed, as for a
 * channel of this node.
 *
 * A control-protocol resume is acknowledged here, right before the
 * replay, with the number the replay ends at: the node's own may be
 * behind Redis's (a node that just started has seen nothing yet), and an
 * ack that said less than the replay that follows would contradict it.
 */


#include "ngx_http_ws_history.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


typedef struct {
    ngx_connection_t            *connection;
    ngx_atomic_uint_t            number;
    ngx_http_ws_session_t       *ws;
    ngx_uint_t                   token;
    uint64_t                     last_seq;
    uint64_t                     since;
    ngx_str_t                    channel;
    ngx_http_ws_history_ack_t    reply;       /* its strings in name */
    unsigned                     ack:1;       /* a control-protocol one */
    u_char                       name[1];     /* the channel, the id, the
                                                 hook's data */
} ngx_http_ws_history_fetch_t;


static ngx_int_t ngx_http_ws_history_fetch(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t last_seq, uint64_t since,
    ngx_http_ws_history_ack_t *ack);
static void ngx_http_ws_history_fetched(void *data, ngx_uint_t ok,
    uint64_t top, ngx_http_ws_redis_entry_t *entries, ngx_uint_t nentries);
static uint64_t ngx_http_ws_history_merge(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t last_seq, uint64_t since,
    ngx_http_ws_redis_entry_t *entries, ngx_uint_t nentries);
static void ngx_http_ws_history_gap(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t from, uint64_t to);
static void ngx_http_ws_history_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_msg_t *msg);
static void ngx_http_ws_history_send_entry(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, ngx_http_ws_redis_entry_t *e);


/* Redis unavailable for history: logged once until it works again. */
static ngx_uint_t  ngx_http_ws_history_redis_failed;
static ngx_uint_t  ngx_http_ws_history_tokens;

/* the JSON protocol's ack writer (ngx_http_ws_history_on_ack) */
static ngx_http_ws_history_ack_pt  ngx_http_ws_history_ack;


void
ngx_http_ws_history_on_ack(ngx_http_ws_history_ack_pt ack)
{
    ngx_http_ws_history_ack = ack;
}


/* ws_channel_history number time; */
char *
ngx_http_ws_history_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
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

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "\"ws_channel_history\" needs \"ws_zone\" in the "
                          "http block: the history is kept there, "
                          "in %V:%ui");

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

    ngx_http_ws_history_replay(ws, channel, (uint64_t) n, since, NULL);
}


/*
 * Sends what the client missed of a channel: numbers after last_seq up to
 * "since", the channel's number when the client subscribed (later ones
 * come live). Queued on the session like any channel message, so
 * ws_send_buffer and ws_slow_consumer bound a long replay too. With ack
 * (the id of a control-protocol subscribe), the ack goes first, with the
 * number the replay ends at.
 */
void
ngx_http_ws_history_replay(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t last_seq, uint64_t since, ngx_http_ws_history_ack_t *ack)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    /*
     * A cross-node channel: this node's number may be behind Redis's (the
     * node started late, or was cut off), so Redis is asked even when the
     * ring seems to cover everything.
     */
    if (wmcf->history_max
        && ngx_http_ws_redis_channel(ws->main_conf, channel)
        && ngx_http_ws_history_fetch(ws, channel, last_seq, since, ack)
           == NGX_OK)
    {
        return;
    }

    if (ack && ngx_http_ws_history_ack) {
        ngx_http_ws_history_ack(ws, ack, since);
    }

    if (last_seq >= since) {
        return;
    }

    (void) ngx_http_ws_history_merge(ws, channel, last_seq, since, NULL, 0);
}


static ngx_int_t
ngx_http_ws_history_fetch(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t last_seq, uint64_t since, ngx_http_ws_history_ack_t *ack)
{
    u_char                       *q;
    size_t                        id_len, data_len;
    ngx_http_ws_main_conf_t      *wmcf;
    ngx_http_ws_history_fetch_t  *f;

    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    /* the id is in the client's message, the data in the hook's answer:
     * both kept until Redis answers */
    id_len = ack ? ack->id.len : 0;
    data_len = ack ? ack->data.len : 0;

    f = ngx_alloc(offsetof(ngx_http_ws_history_fetch_t, name) + channel->len
                  + id_len + data_len, ws->connection->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->connection = ws->connection;
    f->number = ws->connection->number;
    f->ws = ws;
    f->token = ++ngx_http_ws_history_tokens;
    f->last_seq = last_seq;
    f->since = since;
    f->channel.data = f->name;
    f->channel.len = channel->len;
    ngx_memcpy(f->name, channel->data, channel->len);

    f->ack = (ack != NULL);
    q = f->name + channel->len;

    f->reply.id.data = id_len ? (const char *) q : NULL;
    f->reply.id.len = id_len;

    if (id_len) {
        q = ngx_cpymem(q, ack->id.data, id_len);
    }

    f->reply.data.data = data_len ? (const char *) q : NULL;
    f->reply.data.len = data_len;
    f->reply.data_json = ack ? ack->data_json : 0;

    if (data_len) {
        ngx_memcpy(q, ack->data.data, data_len);
    }

    if (f->token == 0) {
        f->token = ++ngx_http_ws_history_tokens;
    }

    if (ngx_http_ws_channels_hold(ws, channel, f->token) != NGX_OK) {
        ngx_free(f);
        return NGX_ERROR;
    }

    if (ngx_http_ws_redis_history(ws->main_conf, ws->connection->log,
                                  channel, last_seq,
                                  wmcf->history_max,
                                  ngx_http_ws_history_fetched, f)
        != NGX_OK)
    {
        if (!ngx_http_ws_history_redis_failed) {
            ngx_http_ws_history_redis_failed = 1;
            ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                          "ws: redis is down, resuming \"%V\" from this "
                          "node's history only: what it lacks is reported "
                          "as gaps", channel);
        }

        (void) ngx_http_ws_channels_go_live(ws, channel, f->token, since);
        ngx_free(f);
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ws->connection->log, 0,
                   "ws: resuming \"%V\" after %uL: asking redis",
                   channel, last_seq);

    return NGX_OK;
}


static void
ngx_http_ws_history_fetched(void *data, ngx_uint_t ok, uint64_t top,
    ngx_http_ws_redis_entry_t *entries, ngx_uint_t nentries)
{
    ngx_http_ws_history_fetch_t  *f = data;

    uint64_t                     upto;
    ngx_http_ws_session_t       *ws;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_channel_info_t   info;

    /* the client may have gone while Redis answered */
    if (f->connection->fd == (ngx_socket_t) -1
        || f->connection->number != f->number)
    {
        ngx_free(f);
        return;
    }

    ws = f->ws;

    if (!ok) {
        if (!ngx_http_ws_history_redis_failed) {
            ngx_http_ws_history_redis_failed = 1;
            ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                          "ws: redis did not answer a history read of "
                          "\"%V\": resuming from this node's history "
                          "only, what it lacks is reported as gaps",
                          &f->channel);
        }

        top = 0;
        nentries = 0;

    } else {
        ngx_http_ws_history_redis_failed = 0;
    }

    /* what this node has now: live messages skipped meanwhile included */
    wmcf = ngx_http_ws_session_main_conf(ws, ngx_http_ws_module);

    upto = f->since;

    if (ngx_http_ws_zone_channel_info(wmcf->zone, &f->channel, &info)
        == NGX_OK && info.seq > upto)
    {
        upto = info.seq;
    }

    if (top > upto) {
        upto = top;
    }

    /* every subscribe is answered, even one undone while Redis answered */
    if (f->ack && ngx_http_ws_history_ack) {
        ngx_http_ws_history_ack(ws, &f->reply, upto);
    }

    /* still subscribed, and not subscribed again meanwhile? */
    if (ngx_http_ws_channels_go_live(ws, &f->channel, f->token, upto)
        != NGX_OK)
    {
        ngx_free(f);
        return;
    }

    if (f->last_seq < upto) {
        (void) ngx_http_ws_history_merge(ws, &f->channel, f->last_seq, upto,
                                         entries, nentries);
    }

    ngx_free(f);
}


/*
 * Sends numbers (last_seq, upto] from the ring and, for what it lacks,
 * from Redis's entries (oldest first), and gaps for what neither has.
 */
static uint64_t
ngx_http_ws_history_merge(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t last_seq, uint64_t upto, ngx_http_ws_redis_entry_t *entries,
    ngx_uint_t nentries)
{
    uint64_t                  expected, seq;
    ngx_uint_t                i, j, n, count;
    ngx_http_ws_msg_t       **msgs;
    ngx_http_ws_zone_ctx_t   *ctx;
    ngx_http_ws_main_conf_t  *wmcf;

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
        count = ngx_http_ws_zone_history(wmcf->zone, channel, last_seq, upto,
                                         msgs, n);
    }

    expected = last_seq + 1;
    i = 0;
    j = 0;

    while (i < count || j < nentries) {

        if (j < nentries
            && (entries[j].seq < expected || entries[j].seq > upto))
        {
            j++;
            continue;
        }

        if (i < count && (j == nentries || msgs[i]->seq <= entries[j].seq)) {
            seq = msgs[i]->seq;

            if (seq > expected) {
                ngx_http_ws_history_gap(ws, channel, expected, seq - 1);
            }

            ngx_http_ws_history_send(ws, msgs[i]);
            i++;

        } else {
            seq = entries[j].seq;

            if (seq > expected) {
                ngx_http_ws_history_gap(ws, channel, expected, seq - 1);
            }

            ngx_http_ws_history_send_entry(ws, channel, &entries[j]);
            j++;
        }

        expected = seq + 1;
    }

    if (expected <= upto) {
        ngx_http_ws_history_gap(ws, channel, expected, upto);
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ws->connection->log, 0,
                   "ws: resumed \"%V\" after %uL: %ui kept messages, "
                   "%ui from redis, up to %uL", channel, last_seq, count,
                   nentries, upto);

    if (count) {
        ngx_http_ws_zone_release(wmcf->zone, msgs, count);
    }

    if (msgs) {
        ngx_free(msgs);
    }

    return expected;
}


/* A message from Redis, in the same envelope as a live one. */
static void
ngx_http_ws_history_send_entry(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    ngx_http_ws_redis_entry_t *e)
{
    ngx_http_ws_msg_t    *msg;
    ngx_http_ws_frame_t  *frame;

    if (e->opcode != WSCORE_OP_TEXT) {
        frame = ngx_http_ws_frame_create(ws->connection->log, e->opcode,
                                         e->data, e->len);

    } else {
        msg = ngx_alloc(ngx_http_ws_msg_size(channel->len, e->len),
                        ws->connection->log);
        if (msg == NULL) {
            return;
        }

        ngx_http_ws_msg_fill(msg, channel, e->opcode, e->json, e->data,
                             e->len, e->seq);

        frame = ngx_http_ws_channels_envelope(msg);
        ngx_free(msg);
    }

    if (frame) {
        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
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


static void
ngx_http_ws_history_gap(ngx_http_ws_session_t *ws, ngx_str_t *channel,
    uint64_t from, uint64_t to)
{
    u_char                buf[NGX_HTTP_WS_MAX_CHANNEL_LEN + 2 * NGX_INT64_LEN
                              + 64];
    size_t                len;
    wscore_str_t          name;
    ngx_http_ws_frame_t  *frame;

    name.data = (const char *) channel->data;
    name.len = channel->len;

    len = wscore_ctl_write_gap((char *) buf, sizeof(buf), name, from, to);
    if (len > sizeof(buf)) {
        return;
    }

    frame = ngx_http_ws_frame_create(ws->connection->log, WSCORE_OP_TEXT,
                                     buf, len);
    if (frame) {
        (void) ngx_http_ws_session_push(ws, frame, NULL);
        ngx_http_ws_frame_release(frame);
    }
}
