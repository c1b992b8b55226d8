
/*
 * ngx_ws: cross-node channels through Redis.
 *
 * "ws_redis" names the server, "ws_redis_channels" the channels that are
 * shared by every node using it. A publish to such a channel is not
 * delivered here directly: it goes to Redis, where one script numbers it
 * (INCR of the channel's counter) and publishes it, atomically, so every
 * node sees the channel's messages in the same order with the same
 * sequence numbers. Worker 0 of every node holds the node's one Redis
 * subscription and puts what arrives into ws_zone, which carries it to
 * the workers with subscribers, once per worker, as for a local publish.
 * The publishing node gets its own messages back the same way: no
 * message is delivered twice, and no node id is needed to tell.
 *
 * The zone drops a message whose number is not above the channel's last
 * one: during a reload the old and the new worker 0 are both subscribed
 * for a moment, and each message is still delivered once.
 *
 * While this worker's link to Redis is down, publishes to cross-node
 * channels are refused (HTTP 503, a control-protocol error, close 1013
 * for ws_publish), never queued: a publisher learns at once and can retry.
 */


#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_redis_link.h"
#include "ngx_http_ws_redis_tls.h"
#include "ngx_http_ws_zone.h"

#include <ngx_sha1.h>


#define NGX_HTTP_WS_REDIS_DEFAULT_PORT     6379
#define NGX_HTTP_WS_REDIS_BACKOFF_MAX      3000


typedef struct {
    ngx_http_ws_redis_server_t  *server;        /* ws_redis, or NULL */
    ngx_array_t                 *channels;      /* patterns, ngx_str_t */
    ngx_str_t                    prefix;        /* of keys and channels */
    ngx_str_t                    seq_prefix;    /* prefix "seq:" */
    ngx_str_t                    msg_prefix;    /* prefix "msg:" */
    ngx_str_t                    msg_pattern;   /* prefix "msg:*" */
    ngx_str_t                    hist_prefix;   /* prefix "hist:" */
    ngx_str_t                    history_max;   /* ARGV of the history */
    ngx_str_t                    history_time;  /* script, or empty */
    ngx_http_ws_redis_ssl_conf_t  ssl;          /* ws_redis_ssl_* */
} ngx_http_ws_redis_main_conf_t;


typedef struct {
    ngx_http_ws_redis_done_pt    done;
    void                        *data;
} ngx_http_ws_redis_publish_t;


typedef struct {
    ngx_http_ws_redis_history_pt  done;
    void                         *data;
} ngx_http_ws_redis_fetch_t;


static void ngx_http_ws_redis_publish_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static void ngx_http_ws_redis_history_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static ngx_uint_t ngx_http_ws_redis_history_entry(redisReply *e,
    ngx_http_ws_redis_entry_t *entry);
static void ngx_http_ws_redis_script_digests(void);
static void ngx_http_ws_redis_load_scripts(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_script_loaded(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static ngx_uint_t ngx_http_ws_redis_refused(ngx_http_ws_redis_link_t *link,
    redisReply *reply, const char *what);
static void ngx_http_ws_redis_subscribe(ngx_http_ws_redis_link_t *link);
static void ngx_http_ws_redis_subscribed(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static void ngx_http_ws_redis_message(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data);
static void *ngx_http_ws_redis_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ws_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_ws_redis_resolve(ngx_conf_t *cf,
    ngx_http_ws_redis_server_t *srv, ngx_str_t *address);
static ngx_int_t ngx_http_ws_redis_param(ngx_http_ws_redis_main_conf_t *rmcf,
    ngx_http_ws_redis_server_t *srv, ngx_str_t *param);
static ngx_int_t ngx_http_ws_redis_keys(ngx_conf_t *cf,
    ngx_http_ws_redis_main_conf_t *rmcf);
static char *ngx_http_ws_redis_channels(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_redis_ssl_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_ws_redis_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_redis_init_process(ngx_cycle_t *cycle);
static void ngx_http_ws_redis_exit_process(ngx_cycle_t *cycle);


/*
 * KEYS[1] the channel's counter, ARGV[1] the Redis channel, ARGV[2] the
 * message ("<flag><payload>"), ARGV[3] the last number the publishing
 * node saw: a Redis that lost its data (restarted without persistence)
 * continues above it instead of numbering from 1 again.
 */
#define NGX_HTTP_WS_REDIS_PUBLISH                                            \
    "local s = redis.call('INCR', KEYS[1]) "                                 \
    "local floor = tonumber(ARGV[3]) "                                       \
    "if s <= floor then s = floor + 1 redis.call('SET', KEYS[1], s) end "    \
    "redis.call('PUBLISH', ARGV[1], s .. ' ' .. ARGV[2]) "

static const char  ngx_http_ws_redis_publish_script[] =
    NGX_HTTP_WS_REDIS_PUBLISH
    "return s";


/*
 * The same with ws_channel_history, KEYS[2] the channel's history stream,
 * ARGV[4] and ARGV[5] the history's number and time in milliseconds: the
 * message is also added to the stream in the same script, so the stream
 * holds exactly the numbers that were published, in order. Entry ids are
 * Redis's own (time-based), so that MINID trims by age; the stream expires
 * a minute after the history time, so an idle channel's stream goes away.
 * A separate script so that channels without history do not run its
 * commands. TIME before a write needs effects
 * replication: Redis 7 always does it, 6.2 only when asked, before any
 * write.
 */
static const char  ngx_http_ws_redis_publish_history_script[] =
    "redis.replicate_commands() "
    NGX_HTTP_WS_REDIS_PUBLISH
    "local t = redis.call('TIME') "
    "local age = tonumber(ARGV[5]) "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', "
               "'s', s, 'm', ARGV[2]) "
    "if now > age then "
      "redis.call('XTRIM', KEYS[2], 'MINID', '~', "
                 "string.format('%d', now - age)) "
    "end "
    "redis.call('PEXPIRE', KEYS[2], age + 60000) "
    "return s";


/*
 * KEYS[1] the channel's counter, KEYS[2] its history stream, ARGV[1] the
 * client's last number, ARGV[2] ws_channel_history's number. Returns the
 * channel's last number and the entries after the client's, newest
 * first: the stream holds consecutive numbers, so they are the last
 * (top - last) entries at most, and no more than the history keeps.
 */
static const char  ngx_http_ws_redis_history_script[] =
    "local top = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "local n = top - tonumber(ARGV[1]) "
    "if n > tonumber(ARGV[2]) then n = tonumber(ARGV[2]) end "
    "if n <= 0 then return {top} end "
    "return {top, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', n)}";


/*
 * The scripts go to Redis once per connection (SCRIPT LOAD, right after
 * the handshake, before anything that runs them); every publish and
 * history read then names its script by SHA1 (EVALSHA) instead of
 * carrying its text.
 */
#define NGX_HTTP_WS_REDIS_PUBLISH_SCRIPT          0
#define NGX_HTTP_WS_REDIS_PUBLISH_HISTORY_SCRIPT  1
#define NGX_HTTP_WS_REDIS_HISTORY_SCRIPT          2

typedef struct {
    const char                  *text;
    size_t                       len;
    u_char                       sha1[40];      /* hex, set at start */
} ngx_http_ws_redis_script_t;

static ngx_http_ws_redis_script_t  ngx_http_ws_redis_scripts[] = {
    { ngx_http_ws_redis_publish_script,
      sizeof(ngx_http_ws_redis_publish_script) - 1, "" },
    { ngx_http_ws_redis_publish_history_script,
      sizeof(ngx_http_ws_redis_publish_history_script) - 1, "" },
    { ngx_http_ws_redis_history_script,
      sizeof(ngx_http_ws_redis_history_script) - 1, "" },
};


static ngx_command_t  ngx_http_ws_redis_commands[] = {

    { ngx_string("ws_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_ws_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_redis_channels"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_ws_redis_channels,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_redis_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_redis_main_conf_t, ssl.verify),
      NULL },

    { ngx_string("ws_redis_ssl_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_redis_main_conf_t, ssl.name),
      NULL },

    { ngx_string("ws_redis_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_redis_ssl_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_redis_main_conf_t, ssl.trusted_certificate),
      NULL },

    { ngx_string("ws_redis_ssl_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_redis_ssl_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_redis_main_conf_t, ssl.certificate),
      NULL },

    { ngx_string("ws_redis_ssl_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_redis_ssl_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_redis_main_conf_t, ssl.certificate_key),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ws_redis_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_ws_redis_postconfiguration,   /* postconfiguration */

    ngx_http_ws_redis_create_main_conf,    /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_ws_redis_module = {
    NGX_MODULE_V1,
    &ngx_http_ws_redis_module_ctx,         /* module context */
    ngx_http_ws_redis_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_ws_redis_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_ws_redis_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* this worker's links: every worker publishes, worker 0 also subscribes */
static ngx_http_ws_redis_link_t        ngx_http_ws_redis_publisher;
static ngx_http_ws_redis_link_t        ngx_http_ws_redis_subscriber;
static ngx_http_ws_redis_main_conf_t  *ngx_http_ws_redis_conf;
static ngx_shm_zone_t                 *ngx_http_ws_redis_zone;


ngx_int_t
ngx_http_ws_redis_configured(void)
{
    return ngx_http_ws_redis_conf != NULL;
}


ngx_int_t
ngx_http_ws_redis_connected(void)
{
    return ngx_http_ws_redis_conf != NULL
           && ngx_http_ws_redis_publisher.connected;
}


ngx_int_t
ngx_http_ws_redis_channel(void **main_conf, ngx_str_t *channel)
{
    ngx_str_t                      *pattern;
    ngx_uint_t                      i;
    ngx_http_ws_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_redis_module);

    if (rmcf->channels == NULL || ngx_http_ws_zone_is_direct(channel)) {
        return 0;
    }

    pattern = rmcf->channels->elts;

    for (i = 0; i < rmcf->channels->nelts; i++) {
        if (wscore_channel_pattern_match((const char *) pattern[i].data,
                                         pattern[i].len,
                                         (const char *) channel->data,
                                         channel->len))
        {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_ws_redis_publish(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_redis_done_pt done, void *done_data)
{
    u_char                         *key, *hist, *target, *message;
    u_char                          floor[NGX_INT64_LEN];
    int                             argc;
    size_t                          argvlen[10];
    ngx_int_t                       rc;
    const char                     *argv[10];
    ngx_http_ws_redis_script_t     *script;
    ngx_http_ws_redis_publish_t    *pub;
    ngx_http_ws_main_conf_t        *wmcf;
    ngx_http_ws_channel_info_t      info;
    ngx_http_ws_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_redis_module);
    wmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_module);

    if (!ngx_http_ws_redis_publisher.connected) {
        ngx_http_ws_metric_inc(redis_refused);
        return NGX_ERROR;
    }

    if (ngx_http_ws_zone_channel_info(wmcf->zone, channel, &info) != NGX_OK)
    {
        info.seq = 0;
    }

    /*
     * Key and channel names, and the message with its one-byte flag, in a
     * buffer freed right after hiredis has copied the command: not in the
     * request pool, which for a WebSocket lives as long as the connection
     * and would grow with every message it publishes.
     */
    key = ngx_alloc(rmcf->seq_prefix.len + channel->len
                    + rmcf->hist_prefix.len + channel->len
                    + rmcf->msg_prefix.len + channel->len + 1 + len,
                    log);
    if (key == NULL) {
        return NGX_ERROR;
    }

    hist = ngx_cpymem(ngx_cpymem(key, rmcf->seq_prefix.data,
                                 rmcf->seq_prefix.len),
                      channel->data, channel->len);
    target = ngx_cpymem(ngx_cpymem(hist, rmcf->hist_prefix.data,
                                   rmcf->hist_prefix.len),
                        channel->data, channel->len);
    message = ngx_cpymem(ngx_cpymem(target, rmcf->msg_prefix.data,
                                    rmcf->msg_prefix.len),
                         channel->data, channel->len);

    message[0] = (opcode == WSCORE_OP_BINARY) ? 'b' : (json ? 'j' : 't');
    ngx_memcpy(message + 1, data, len);

    pub = NULL;

    if (done) {
        pub = ngx_alloc(sizeof(ngx_http_ws_redis_publish_t),
                        log);
        if (pub == NULL) {
            ngx_free(key);
            return NGX_ERROR;
        }

        pub->done = done;
        pub->data = done_data;
    }

    /* with history: one more key (the stream) and its two bounds */
    script = &ngx_http_ws_redis_scripts[rmcf->history_max.len
                                        ? NGX_HTTP_WS_REDIS_PUBLISH_HISTORY_SCRIPT
                                        : NGX_HTTP_WS_REDIS_PUBLISH_SCRIPT];
    argc = 0;

    argv[argc] = "EVALSHA";
    argvlen[argc++] = 7;
    argv[argc] = (const char *) script->sha1;
    argvlen[argc++] = 40;
    argv[argc] = rmcf->history_max.len ? "2" : "1";
    argvlen[argc++] = 1;
    argv[argc] = (const char *) key;
    argvlen[argc++] = hist - key;

    if (rmcf->history_max.len) {
        argv[argc] = (const char *) hist;
        argvlen[argc++] = target - hist;
    }

    argv[argc] = (const char *) target;
    argvlen[argc++] = message - target;
    argv[argc] = (const char *) message;
    argvlen[argc++] = 1 + len;
    argv[argc] = (const char *) floor;
    argvlen[argc++] = ngx_sprintf(floor, "%uL", info.seq) - floor;

    if (rmcf->history_max.len) {
        argv[argc] = (const char *) rmcf->history_max.data;
        argvlen[argc++] = rmcf->history_max.len;
        argv[argc] = (const char *) rmcf->history_time.data;
        argvlen[argc++] = rmcf->history_time.len;
    }

    /* the link copies the command into its output buffer here */
    rc = ngx_http_ws_redis_link_command(&ngx_http_ws_redis_publisher,
                                        ngx_http_ws_redis_publish_reply, pub,
                                        argc, argv, argvlen);

    ngx_free(key);

    if (rc != NGX_OK && pub) {
        ngx_free(pub);
    }

    return rc;
}


static void
ngx_http_ws_redis_publish_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    ngx_http_ws_redis_publish_t  *pub = data;

    uint64_t  seq;

    seq = 0;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        seq = (uint64_t) reply->integer;

    } else {
        (void) ngx_http_ws_redis_refused(link, reply, "a publish");
    }

    if (pub) {
        pub->done(pub->data, seq);
        ngx_free(pub);
    }
}


/*
 * Asks Redis for a cross-node channel's history after last_seq, at most
 * "max" entries. done() runs once, later (ok 0 if Redis failed or timed
 * out). NGX_ERROR now when Redis is down or saturated.
 */
ngx_int_t
ngx_http_ws_redis_history(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, uint64_t last_seq, ngx_uint_t max,
    ngx_http_ws_redis_history_pt done, void *data)
{
    u_char                         *key, *hist, *end;
    u_char                          last[NGX_INT64_LEN], count[NGX_INT_T_LEN];
    size_t                          argvlen[7];
    ngx_int_t                       rc;
    const char                     *argv[7];
    ngx_http_ws_redis_script_t     *script;
    ngx_http_ws_redis_fetch_t      *fetch;
    ngx_http_ws_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_redis_module);

    if (!ngx_http_ws_redis_publisher.connected) {
        return NGX_ERROR;
    }

    key = ngx_alloc(rmcf->seq_prefix.len + rmcf->hist_prefix.len
                    + 2 * channel->len, log);
    fetch = ngx_alloc(sizeof(ngx_http_ws_redis_fetch_t), log);

    if (key == NULL || fetch == NULL) {
        ngx_free(key);
        ngx_free(fetch);
        return NGX_ERROR;
    }

    fetch->done = done;
    fetch->data = data;

    hist = ngx_cpymem(ngx_cpymem(key, rmcf->seq_prefix.data,
                                 rmcf->seq_prefix.len),
                      channel->data, channel->len);
    end = ngx_cpymem(ngx_cpymem(hist, rmcf->hist_prefix.data,
                                rmcf->hist_prefix.len),
                     channel->data, channel->len);

    script = &ngx_http_ws_redis_scripts[NGX_HTTP_WS_REDIS_HISTORY_SCRIPT];

    argv[0] = "EVALSHA";
    argvlen[0] = 7;
    argv[1] = (const char *) script->sha1;
    argvlen[1] = 40;
    argv[2] = "2";
    argvlen[2] = 1;
    argv[3] = (const char *) key;
    argvlen[3] = hist - key;
    argv[4] = (const char *) hist;
    argvlen[4] = end - hist;
    argv[5] = (const char *) last;
    argvlen[5] = ngx_sprintf(last, "%uL", last_seq) - last;
    argv[6] = (const char *) count;
    argvlen[6] = ngx_sprintf(count, "%ui", max) - count;

    rc = ngx_http_ws_redis_link_command(&ngx_http_ws_redis_publisher,
                                        ngx_http_ws_redis_history_reply,
                                        fetch, 7, argv, argvlen);

    ngx_free(key);

    if (rc != NGX_OK) {
        ngx_free(fetch);
    }

    return rc;
}


/* {top} or {top, {{id, {"s", seq, "m", "<flag><payload>"}}, ...}} */
static void
ngx_http_ws_redis_history_reply(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    ngx_http_ws_redis_fetch_t  *fetch = data;

    size_t                      i, n;
    uint64_t                    top;
    redisReply                 *list;
    ngx_http_ws_redis_entry_t  *entries;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0)
    {
        (void) ngx_http_ws_redis_refused(link, reply, "a history read");

        fetch->done(fetch->data, 0, 0, NULL, 0);
        ngx_free(fetch);
        return;
    }

    top = (uint64_t) reply->element[0]->integer;
    entries = NULL;
    n = 0;

    if (reply->elements > 1 && reply->element[1]->type == REDIS_REPLY_ARRAY
        && reply->element[1]->elements)
    {
        list = reply->element[1];

        entries = ngx_alloc(list->elements
                            * sizeof(ngx_http_ws_redis_entry_t), link->log);
        if (entries == NULL) {
            fetch->done(fetch->data, 0, 0, NULL, 0);
            ngx_free(fetch);
            return;
        }

        /* newest first from XREVRANGE: handed over oldest first */
        for (i = list->elements; i > 0; i--) {
            if (ngx_http_ws_redis_history_entry(list->element[i - 1],
                                                &entries[n]))
            {
                n++;
            }
        }
    }

    fetch->done(fetch->data, 1, top, entries, n);

    if (entries) {
        ngx_free(entries);
    }

    ngx_free(fetch);
}


static ngx_uint_t
ngx_http_ws_redis_history_entry(redisReply *e,
    ngx_http_ws_redis_entry_t *entry)
{
    u_char      *p, *last;
    size_t       i;
    redisReply  *fields, *f, *v;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return 0;
    }

    fields = e->element[1];
    entry->seq = 0;
    entry->data = NULL;

    for (i = 0; i + 1 < fields->elements; i += 2) {
        f = fields->element[i];
        v = fields->element[i + 1];

        if (f->type != REDIS_REPLY_STRING || f->len != 1
            || v->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        if (f->str[0] == 's') {
            p = (u_char *) v->str;
            last = p + v->len;

            while (p < last && *p >= '0' && *p <= '9') {
                entry->seq = entry->seq * 10 + (*p++ - '0');
            }

        } else if (f->str[0] == 'm' && v->len >= 1) {
            entry->json = (v->str[0] == 'j');
            entry->opcode = (v->str[0] == 'b') ? WSCORE_OP_BINARY
                                               : WSCORE_OP_TEXT;
            entry->data = (u_char *) v->str + 1;
            entry->len = v->len - 1;
        }
    }

    return entry->seq && entry->data;
}


/* An error reply is logged; NOSCRIPT also renews the connection. */
static ngx_uint_t
ngx_http_ws_redis_refused(ngx_http_ws_redis_link_t *link, redisReply *reply,
    const char *what)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return 0;
    }

    ngx_log_error(NGX_LOG_ERR, link->log, 0,
                  "ws: redis %V refused %s: %*s",
                  &link->server->name, what, (size_t) reply->len,
                  reply->str);

    if (reply->len >= 8 && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        /* SCRIPT FLUSH, or a failover to a server without them */
        ngx_http_ws_redis_link_drop(link, "its scripts were flushed: "
                                    "loading them again");
    }

    return 1;
}


/* The hex SHA1 that EVALSHA names each script by. */
static void
ngx_http_ws_redis_script_digests(void)
{
    u_char                       digest[20];
    ngx_uint_t                   i;
    ngx_sha1_t                   sha1;
    ngx_http_ws_redis_script_t  *script;

    for (i = 0; i < sizeof(ngx_http_ws_redis_scripts)
                    / sizeof(ngx_http_ws_redis_script_t); i++)
    {
        script = &ngx_http_ws_redis_scripts[i];

        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, script->text, script->len);
        ngx_sha1_final(digest, &sha1);

        (void) ngx_hex_dump(script->sha1, digest, sizeof(digest));
    }
}


/*
 * The command link's first commands after the handshake: Redis runs a
 * connection's commands in order, so every EVALSHA sent after these finds
 * its script, and the link is up at once.
 */
static void
ngx_http_ws_redis_load_scripts(ngx_http_ws_redis_link_t *link)
{
    size_t       argvlen[3];
    ngx_uint_t   i, n;
    const char  *argv[3];

    n = sizeof(ngx_http_ws_redis_scripts) / sizeof(ngx_http_ws_redis_script_t);

    argv[0] = "SCRIPT";
    argvlen[0] = 6;
    argv[1] = "LOAD";
    argvlen[1] = 4;

    for (i = 0; i < n; i++) {
        argv[2] = ngx_http_ws_redis_scripts[i].text;
        argvlen[2] = ngx_http_ws_redis_scripts[i].len;

        if (ngx_http_ws_redis_link_command(link,
                                           ngx_http_ws_redis_script_loaded,
                                           &ngx_http_ws_redis_scripts[i],
                                           3, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_ws_redis_link_drop(link, "SCRIPT LOAD failed");
            return;
        }
    }

    ngx_http_ws_redis_link_up(link);
}


static void
ngx_http_ws_redis_script_loaded(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    ngx_http_ws_redis_script_t  *script = data;

    if (reply == NULL || ngx_http_ws_redis_refused(link, reply, "a script"))
    {
        return;
    }

    /* Redis's SHA1 of the script is the one EVALSHA sends */
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40
        || ngx_strncasecmp((u_char *) reply->str, script->sha1, 40) != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, link->log, 0,
                      "ws: redis %V loaded a script under another SHA1",
                      &link->server->name);
    }
}


static void
ngx_http_ws_redis_subscribe(ngx_http_ws_redis_link_t *link)
{
    ngx_http_ws_redis_main_conf_t  *rmcf = link->data;

    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "PSUBSCRIBE";
    argvlen[0] = 10;
    argv[1] = (const char *) rmcf->msg_pattern.data;
    argvlen[1] = rmcf->msg_pattern.len;

    /* the messages of the pattern come to link->push */
    if (ngx_http_ws_redis_link_command(link, ngx_http_ws_redis_subscribed,
                                       NULL, 2, argv, argvlen)
        != NGX_OK)
    {
        ngx_http_ws_redis_link_drop(link, "PSUBSCRIBE failed");
    }
}


/* ["psubscribe", pattern, count]: only now is the node really up */
static void
ngx_http_ws_redis_subscribed(ngx_http_ws_redis_link_t *link,
    redisReply *reply, void *data)
{
    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 10
        && ngx_strncmp(reply->element[0]->str, "psubscribe", 10) == 0)
    {
        ngx_http_ws_redis_link_up(link);
        return;
    }

    /* NOPERM: an ACL user whose channels do not cover the prefix */
    (void) ngx_http_ws_redis_refused(link, reply, "PSUBSCRIBE");

    ngx_http_ws_redis_link_drop(link, "PSUBSCRIBE refused");
}


/* ["pmessage", pattern, "<prefix>msg:<channel>", "<seq> <flag><data>"] */
static void
ngx_http_ws_redis_message(ngx_http_ws_redis_link_t *link, redisReply *reply,
    void *data)
{
    ngx_http_ws_redis_main_conf_t  *rmcf = data;

    u_char                      *p, *last;
    uint64_t                     seq;
    ngx_int_t                    rc;
    ngx_str_t                    channel;
    ngx_uint_t                   opcode, json;
    redisReply                  *name, *body;
    ngx_http_ws_channel_info_t   info;

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len != 8
        || ngx_strncmp(reply->element[0]->str, "pmessage", 8) != 0
        || ngx_http_ws_redis_zone == NULL)
    {
        return;
    }

    name = reply->element[2];
    body = reply->element[3];

    if (name->type != REDIS_REPLY_STRING || body->type != REDIS_REPLY_STRING
        || (size_t) name->len <= rmcf->msg_prefix.len)
    {
        return;
    }

    channel.data = (u_char *) name->str + rmcf->msg_prefix.len;
    channel.len = name->len - rmcf->msg_prefix.len;

    p = (u_char *) body->str;
    last = p + body->len;
    seq = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        seq = seq * 10 + (*p++ - '0');
    }

    if (seq == 0 || last - p < 2 || *p != ' '
        || !wscore_channel_name_valid((const char *) channel.data,
                                      channel.len))
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws: malformed message from redis on \"%*s\" ignored",
                      (size_t) name->len, name->str);
        return;
    }

    p++;

    json = (*p == 'j');
    opcode = (*p == 'b') ? WSCORE_OP_BINARY : WSCORE_OP_TEXT;
    p++;

    rc = ngx_http_ws_zone_publish_seq(ngx_http_ws_redis_zone, &channel, seq,
                                      opcode, json, p, last - p, &info);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: ws_zone is full, message %uL of channel \"%V\" "
                      "from redis is lost on this node", seq, &channel);
    }
}


static void *
ngx_http_ws_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ws_redis_main_conf_t  *rmcf;

    /*
     * set by ngx_pcalloc():
     *
     *     rmcf->server = NULL;
     *     rmcf->channels = NULL;
     *     rmcf->ssl.name = { 0, NULL };
     *     rmcf->ssl.certificate = { 0, NULL };
     *     ...
     */

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_redis_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    rmcf->ssl.verify = NGX_CONF_UNSET;

    return rmcf;
}


/* ws_redis host:port|unix:/path [ssl] [user=] [password=] [db=]
 *          [timeout=] [prefix=] */
static char *
ngx_http_ws_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_redis_main_conf_t *rmcf = conf;

    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_redis_server_t  *srv;

    if (rmcf->server) {
        return "is duplicate";
    }

    srv = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_redis_server_t));
    if (srv == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    srv->name = value[1];
    srv->timeout = 2000;
    srv->backoff_max = NGX_HTTP_WS_REDIS_BACKOFF_MAX;
    ngx_str_set(&rmcf->prefix, "ngx_ws:");

    if (ngx_http_ws_redis_resolve(cf, srv, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_ws_redis_param(rmcf, srv, &value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"ws_redis\" parameter \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (srv->user.len && srv->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_redis\" user= needs password=");
        return NGX_CONF_ERROR;
    }

    srv->ping_interval = srv->timeout;

    if (ngx_http_ws_redis_keys(cf, rmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    rmcf->server = srv;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "\"ws_redis\" needs \"ws_zone\" in the http "
                          "block: messages from redis reach the workers "
                          "through it, in %V:%ui");

    return NGX_CONF_OK;
}


/* Resolved here, once: a worker never waits for a name lookup. */
static ngx_int_t
ngx_http_ws_redis_resolve(ngx_conf_t *cf, ngx_http_ws_redis_server_t *srv,
    ngx_str_t *address)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *address;
    u.default_port = NGX_HTTP_WS_REDIS_DEFAULT_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_redis\" address \"%V\"%s%s",
                           address, u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_ERROR;
    }

    srv->sockaddr = u.addrs[0].sockaddr;
    srv->socklen = u.addrs[0].socklen;
    srv->host = u.host;

    /* "[::1]": the address itself is what a certificate names */
    if (srv->host.len > 2 && srv->host.data[0] == '[') {
        srv->host.data++;
        srv->host.len -= 2;
    }

    return NGX_OK;
}


/* One of ssl, password=, user=, db=, timeout=, prefix=: NGX_ERROR if bad. */
static ngx_int_t
ngx_http_ws_redis_param(ngx_http_ws_redis_main_conf_t *rmcf,
    ngx_http_ws_redis_server_t *srv, ngx_str_t *param)
{
    u_char     *p;
    ngx_int_t   n;
    ngx_str_t   s;

    if (ngx_strcmp(param->data, "ssl") == 0) {
        srv->ssl = 1;
        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "password=", 9) == 0) {
        srv->password.data = param->data + 9;
        srv->password.len = param->len - 9;

        return srv->password.len ? NGX_OK : NGX_ERROR;
    }

    if (ngx_strncmp(param->data, "user=", 5) == 0) {
        srv->user.data = param->data + 5;
        srv->user.len = param->len - 5;

        return srv->user.len ? NGX_OK : NGX_ERROR;
    }

    if (ngx_strncmp(param->data, "db=", 3) == 0) {
        n = ngx_atoi(param->data + 3, param->len - 3);

        if (n == NGX_ERROR || n > 1023) {
            return NGX_ERROR;
        }

        srv->db = n;
        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "timeout=", 8) == 0) {
        s.data = param->data + 8;
        s.len = param->len - 8;

        n = ngx_parse_time(&s, 0);

        if (n == NGX_ERROR || n == 0) {
            return NGX_ERROR;
        }

        srv->timeout = (ngx_msec_t) n;
        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "prefix=", 7) == 0) {
        rmcf->prefix.data = param->data + 7;
        rmcf->prefix.len = param->len - 7;

        for (p = rmcf->prefix.data;
             p < rmcf->prefix.data + rmcf->prefix.len;
             p++)
        {
            /* no glob characters: the prefix is part of a pattern */
            if (*p <= 0x20 || *p >= 0x7f || *p == '*' || *p == '?'
                || *p == '[' || *p == ']' || *p == '\\')
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;
    }

    return NGX_ERROR;
}


/* The Redis keys of the module, under its prefix, made once. */
static ngx_int_t
ngx_http_ws_redis_keys(ngx_conf_t *cf, ngx_http_ws_redis_main_conf_t *rmcf)
{
    rmcf->seq_prefix.len = rmcf->prefix.len + 4;
    rmcf->seq_prefix.data = ngx_pnalloc(cf->pool, rmcf->seq_prefix.len);
    rmcf->msg_prefix.len = rmcf->prefix.len + 4;
    rmcf->msg_prefix.data = ngx_pnalloc(cf->pool, rmcf->msg_prefix.len);
    rmcf->msg_pattern.len = rmcf->prefix.len + 5;
    rmcf->msg_pattern.data = ngx_pnalloc(cf->pool, rmcf->msg_pattern.len + 1);
    rmcf->hist_prefix.len = rmcf->prefix.len + 5;
    rmcf->hist_prefix.data = ngx_pnalloc(cf->pool, rmcf->hist_prefix.len);

    if (rmcf->seq_prefix.data == NULL || rmcf->msg_prefix.data == NULL
        || rmcf->msg_pattern.data == NULL || rmcf->hist_prefix.data == NULL)
    {
        return NGX_ERROR;
    }

    ngx_sprintf(rmcf->seq_prefix.data, "%Vseq:", &rmcf->prefix);
    ngx_sprintf(rmcf->msg_prefix.data, "%Vmsg:", &rmcf->prefix);
    ngx_sprintf(rmcf->msg_pattern.data, "%Vmsg:*%Z", &rmcf->prefix);
    ngx_sprintf(rmcf->hist_prefix.data, "%Vhist:", &rmcf->prefix);

    return NGX_OK;
}


static char *
ngx_http_ws_redis_channels(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_redis_main_conf_t *rmcf = conf;

    ngx_str_t   *value, *pattern;
    ngx_uint_t   i;

    if (rmcf->channels) {
        return "is duplicate";
    }

    rmcf->channels = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_str_t));
    if (rmcf->channels == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || value[i].len > NGX_HTTP_WS_MAX_CHANNEL_LEN
            || (value[i].len > 5
                && ngx_strncmp(value[i].data, "conn:", 5) == 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"ws_redis_channels\" pattern "
                               "\"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        pattern = ngx_array_push(rmcf->channels);
        *pattern = value[i];
    }

    return NGX_CONF_OK;
}


/* ws_redis_ssl_certificate and friends: a file, relative to the prefix */
static char *
ngx_http_ws_redis_ssl_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char       *rv;
    ngx_str_t  *file;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    file = (ngx_str_t *) ((u_char *) conf + cmd->offset);

    if (file->len == 0) {
        return "needs a file name";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ws_redis_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_ws_main_conf_t        *wmcf;
    ngx_http_ws_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_redis_module);
    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    if (rmcf->channels && rmcf->server == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_redis_channels\" needs \"ws_redis\" in the "
                      "http block");
        return NGX_ERROR;
    }

    if (ngx_http_ws_redis_tls_configure(cf, rmcf->server, &rmcf->ssl)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (rmcf->server == NULL) {
        return NGX_OK;
    }

    /* the history's bounds, as the publish script takes them: once here */
    if (wmcf->history_max) {
        rmcf->history_max.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
        rmcf->history_time.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);

        if (rmcf->history_max.data == NULL
            || rmcf->history_time.data == NULL)
        {
            return NGX_ERROR;
        }

        rmcf->history_max.len = ngx_sprintf(rmcf->history_max.data, "%ui",
                                            wmcf->history_max)
                                - rmcf->history_max.data;
        rmcf->history_time.len = ngx_sprintf(rmcf->history_time.data, "%M",
                                             wmcf->history_time)
                                 - rmcf->history_time.data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_redis_link_t       *link;
    ngx_http_ws_main_conf_t        *wmcf;
    ngx_http_ws_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ws_redis_module);
    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (rmcf == NULL || rmcf->server == NULL
        || ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    ngx_http_ws_redis_conf = rmcf;
    ngx_http_ws_redis_zone = wmcf->zone;

    link = &ngx_http_ws_redis_publisher;
    ngx_memzero(link, sizeof(ngx_http_ws_redis_link_t));
    link->server = rmcf->server;
    link->role = "publish";
    link->log = cycle->log;
    link->data = rmcf;
    link->ready = ngx_http_ws_redis_load_scripts;

    ngx_http_ws_redis_script_digests();

    /*
     * One subscription per node: it costs Redis one copy of each message
     * per node rather than per worker, and the zone fans it out to the
     * workers exactly as it does a local publish.
     */
    if (ngx_worker == 0) {
        link = &ngx_http_ws_redis_subscriber;
        ngx_memzero(link, sizeof(ngx_http_ws_redis_link_t));
        link->server = rmcf->server;
        link->role = "subscribe";
        link->log = cycle->log;
        link->data = rmcf;
        link->ready = ngx_http_ws_redis_subscribe;
        link->push = ngx_http_ws_redis_message;

        ngx_http_ws_redis_link_start(link);
    }

    ngx_http_ws_redis_link_start(&ngx_http_ws_redis_publisher);

    return NGX_OK;
}


static void
ngx_http_ws_redis_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_ws_redis_conf == NULL) {
        return;
    }

    ngx_http_ws_redis_link_stop(&ngx_http_ws_redis_subscriber);
    ngx_http_ws_redis_link_stop(&ngx_http_ws_redis_publisher);

    ngx_http_ws_redis_conf = NULL;
}
