
/*
 * ngx_ws: rate limits and connection caps ("ws_limit_rate",
 * "ws_max_connections", "ws_max_connections_per_ip",
 * "ws_max_connections_per_user").
 *
 * Caps are checked before the 101: over the cap of the whole zone, or
 * when the worker is down to its reserve of free connections (which
 * keeps room for the sessions it has: their upstreams, their internal
 * requests), the server is full and says 503; over a per-client cap, that client is
 * asking too much and gets 429 (RFC 6585), so clients and load balancers
 * do not take one greedy client for an outage. Both carry Retry-After.
 *
 * Rates are token buckets (the core's wscore_bucket_take) charged per
 * message: one token per message for "r/s" and "r/m" rates, the payload
 * size for byte rates. Per connection they live in the request; per
 * client address and per user they live in ws_zone, shared by all
 * workers. Over the rate the message is dropped and counted, or the
 * session is closed with 1008; both are logged.
 */


#include "ngx_http_ws_limits.h"
#include "ngx_http_ws_capacity.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_keyed_table.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


/* What counting a connection against the caps found (else: a cap index). */
#define NGX_HTTP_WS_LIMITS_UNDER     3
#define NGX_HTTP_WS_LIMITS_FULL      4

#define NGX_HTTP_WS_RETRY_AFTER      "10"

/* Idle rate entries older than this are full buckets: forget them. */
#define NGX_HTTP_WS_LIMIT_IDLE_MS    60000

#define NGX_HTTP_WS_LIMIT_RATE       'r'
#define NGX_HTTP_WS_LIMIT_COUNT      'c'
#define NGX_HTTP_WS_LIMIT_SLOT       's'    /* a count's share of a worker */

#define NGX_HTTP_WS_LIMIT_KEY_LEN    (1 + 4 + NGX_HTTP_WS_MAX_CHANNEL_LEN)


/*
 * One key in the zone: a shared bucket (forgettable: an idle one is full
 * again), or a connection count (kept while it counts).
 */
typedef struct {
    ngx_http_ws_keyed_entry_t  entry;
    ngx_uint_t                 count;         /* connections */
    wscore_bucket_t            bucket;
    ngx_msec_t                 last;
    u_char                     key[1];
} ngx_http_ws_limit_node_t;


/* The caps one request counted, released when the request ends. */
typedef struct {
    ngx_shm_zone_t            *zone;
    ngx_uint_t                 n;
    u_char                     keys[3][NGX_HTTP_WS_LIMIT_KEY_LEN];
    size_t                     lens[3];
} ngx_http_ws_limits_held_t;


static ngx_http_ws_limit_node_t *ngx_http_ws_limits_lookup(
    ngx_http_ws_zone_ctx_t *zctx, ngx_http_ws_keyed_table_t *limits,
    u_char *key, size_t len, ngx_uint_t create);
static void ngx_http_ws_limits_delete(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_keyed_table_t *limits, ngx_http_ws_limit_node_t *node);
static ngx_uint_t ngx_http_ws_limits_idle(ngx_http_ws_keyed_entry_t *entry);
static size_t ngx_http_ws_limits_key(u_char *buf, u_char type, uint32_t id,
    ngx_str_t *value);
static ngx_int_t ngx_http_ws_limits_client(ngx_connection_t *c,
    ngx_http_ws_security_ctx_t *ctx, ngx_uint_t scope, ngx_str_t *value);
static void ngx_http_ws_limits_release(void *data);
static void ngx_http_ws_limits_slot_add(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_keyed_table_t *limits, u_char *key, size_t len,
    ngx_int_t delta);
static uint32_t ngx_http_ws_limits_id(ngx_conf_t *cf, ngx_uint_t n);
static void ngx_http_ws_limits_keys(ngx_http_request_t *r,
    ngx_http_ws_limits_conf_t *lcf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_limits_held_t *held, ngx_http_ws_cap_t **caps,
    ngx_uint_t *scope);
static ngx_uint_t ngx_http_ws_limits_count(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_limits_held_t *held, ngx_http_ws_cap_t **caps,
    ngx_uint_t *scope);
static ngx_int_t ngx_http_ws_limits_refuse(ngx_http_request_t *r,
    ngx_uint_t over, ngx_http_ws_refusal_t *refusal);
static void ngx_http_ws_limits_need_zone(ngx_conf_t *cf);
static ngx_shm_zone_t *ngx_http_ws_limits_zone(void **main_conf);


/*
 * A couple of idle buckets are forgotten on every new entry; a full zone
 * makes room from the least recently used buckets, idle or not.
 */
static const ngx_http_ws_keyed_policy_t  ngx_http_ws_limits_policy = {
    offsetof(ngx_http_ws_limit_node_t, key),
    ngx_http_ws_limits_idle,
    2,
    16
};


/*
 * ws_limit_rate connection|ip|user 100r/s|10r/m|64k/s|1m/m
 *               [burst=N|size] [drop|close];
 */
char *
ngx_http_ws_limits_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                     *p, *slash;
    ssize_t                     size;
    ngx_str_t                  *value, s;
    ngx_int_t                   n;
    ngx_uint_t                  i, per_min;
    ngx_http_ws_rate_t         *rate;
    ngx_http_ws_limits_conf_t  *lcf;

    lcf = (ngx_http_ws_limits_conf_t *) ((char *) conf + cmd->offset);

    if (lcf->rates == NGX_CONF_UNSET_PTR) {
        lcf->rates = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_ws_rate_t));
        if (lcf->rates == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rate = ngx_array_push(lcf->rates);
    if (rate == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rate, sizeof(ngx_http_ws_rate_t));

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "connection") == 0) {
        rate->scope = NGX_HTTP_WS_LIMIT_CONNECTION;

    } else if (ngx_strcmp(value[1].data, "ip") == 0) {
        rate->scope = NGX_HTTP_WS_LIMIT_IP;

    } else if (ngx_strcmp(value[1].data, "user") == 0) {
        rate->scope = NGX_HTTP_WS_LIMIT_USER;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid scope \"%V\" in \"ws_limit_rate\", it "
                           "must be \"connection\", \"ip\" or \"user\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the rate: N r/s, N r/m (messages) or size/s, size/m (bytes) */
    slash = ngx_strlchr(value[2].data, value[2].data + value[2].len, '/');

    if (slash == NULL || slash + 2 != value[2].data + value[2].len
        || (slash[1] != 's' && slash[1] != 'm') || slash == value[2].data)
    {
        goto bad_rate;
    }

    per_min = (slash[1] == 's') ? 60 : 1;

    if (slash[-1] == 'r') {
        n = ngx_atoi(value[2].data, slash - 1 - value[2].data);
        if (n <= 0) {
            goto bad_rate;
        }

        rate->bytes = 0;
        rate->rate_per_min = (uint64_t) n * per_min;

    } else {
        s.data = value[2].data;
        s.len = slash - value[2].data;
        size = ngx_parse_size(&s);
        if (size <= 0) {
            goto bad_rate;
        }

        rate->bytes = 1;
        rate->rate_per_min = (uint64_t) size * per_min;
    }

    /* one second's worth by default, and never less than one message */
    rate->burst = (rate->rate_per_min + 59) / 60;
    rate->action = NGX_HTTP_WS_LIMIT_CLOSE;
    rate->text = value[2];

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            size = rate->bytes ? ngx_parse_size(&s) : ngx_atoi(s.data, s.len);

            if (size <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst \"%V\" in "
                                   "\"ws_limit_rate\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            rate->burst = (uint64_t) size;
            continue;
        }

        if (ngx_strcmp(value[i].data, "drop") == 0) {
            rate->action = NGX_HTTP_WS_LIMIT_DROP;
            continue;
        }

        if (ngx_strcmp(value[i].data, "close") == 0) {
            rate->action = NGX_HTTP_WS_LIMIT_CLOSE;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"ws_limit_rate\", "
                           "expected \"burst=\", \"drop\" or \"close\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    rate->id = ngx_http_ws_limits_id(cf, lcf->rates->nelts);

    if (rate->scope != NGX_HTTP_WS_LIMIT_CONNECTION) {
        ngx_http_ws_limits_need_zone(cf);
    }

    /* the scope and the rate, for the log lines */
    p = ngx_pnalloc(cf->pool, value[1].len + 1 + value[2].len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    rate->text.data = p;
    p = ngx_cpymem(p, value[1].data, value[1].len);
    *p++ = ' ';
    p = ngx_cpymem(p, value[2].data, value[2].len);
    rate->text.len = p - rate->text.data;

    return NGX_CONF_OK;

bad_rate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid rate \"%V\" in \"ws_limit_rate\", expected "
                       "messages (\"100r/s\", \"10r/m\") or bytes (\"64k/s\", "
                       "\"1m/m\")", &value[2]);
    return NGX_CONF_ERROR;
}


/* ws_max_connections N; ws_max_connections_per_ip N; ..._per_user N; */
char *
ngx_http_ws_limits_max_connections(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t           n;
    ngx_str_t          *value;
    ngx_http_ws_cap_t  *cap;

    cap = (ngx_http_ws_cap_t *) (p + cmd->offset);

    if (cap->max != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\", it must be a "
                           "number greater than 0", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    cap->max = (ngx_uint_t) n;
    cap->id = ngx_http_ws_limits_id(cf, 0);

    /* the zone's own cap, not a client's */
    if (ngx_strcmp(cmd->name.data, "ws_max_connections") == 0) {
        ngx_http_ws_capacity_note_cap(cf, cap->max);
    }

    ngx_http_ws_limits_need_zone(cf);

    return NGX_CONF_OK;
}


void
ngx_http_ws_limits_conf_init(ngx_http_ws_limits_conf_t *lcf)
{
    lcf->rates = NGX_CONF_UNSET_PTR;
    lcf->reserve_connections = NGX_CONF_UNSET_UINT;
    lcf->max_conns.max = NGX_CONF_UNSET_UINT;
    lcf->max_per_ip.max = NGX_CONF_UNSET_UINT;
    lcf->max_per_user.max = NGX_CONF_UNSET_UINT;
}


char *
ngx_http_ws_limits_merge(ngx_conf_t *cf, ngx_http_ws_limits_conf_t *prev,
    ngx_http_ws_limits_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->rates, prev->rates, NULL);
    ngx_conf_merge_uint_value(conf->reserve_connections,
                              prev->reserve_connections, 0);

    if (conf->max_conns.max == NGX_CONF_UNSET_UINT) {
        conf->max_conns = prev->max_conns;
    }

    if (conf->max_per_ip.max == NGX_CONF_UNSET_UINT) {
        conf->max_per_ip = prev->max_per_ip;
    }

    if (conf->max_per_user.max == NGX_CONF_UNSET_UINT) {
        conf->max_per_user = prev->max_per_user;
    }

    return NGX_CONF_OK;
}


/*
 * Caps and per-ip or per-user rates are counted in ws_zone, which is only
 * known once the http block is read: the first such directive is named.
 */
static void
ngx_http_ws_limits_need_zone(ngx_conf_t *cf)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "connection caps and per-ip or per-user rates are "
                          "counted in \"ws_zone\", which the http block "
                          "does not define, in %V:%ui");
}


/*
 * Whether this worker is refusing upgrades for want of free connections:
 * a storm of upgrades would otherwise write a line per refusal, so the
 * log says when the worker goes under its reserve and when it is back.
 */
static ngx_uint_t  ngx_http_ws_limits_in_reserve;


/*
 * The connections this worker can still open: its free connections, or
 * fewer when descriptors run out first (worker_rlimit_nofile under
 * worker_connections). Then accept() fails with EMFILE, which NGINX logs
 * and retries every accept_mutex_delay while clients wait in the listen
 * queue, taken by no one: the reserve must see that coming. Each
 * connection in use holds a descriptor; the other descriptors (logs, the
 * event queue, cached files) are counted once per worker, at its first
 * check, from /proc/self/fd where there is one (taken as none elsewhere).
 */
static ngx_uint_t
ngx_http_ws_limits_free_connections(ngx_log_t *log)
{
    ngx_str_t       path;
    ngx_dir_t       dir;
    ngx_uint_t      used, free, fds;
    struct rlimit   rlmt;

    static ngx_uint_t  counted, nofile, others;

    free = ngx_cycle->free_connection_n;
    used = ngx_cycle->connection_n - ngx_cycle->free_connection_n;

    if (!counted) {
        counted = 1;

        if (getrlimit(RLIMIT_NOFILE, &rlmt) == 0
            && rlmt.rlim_cur != RLIM_INFINITY)
        {
            nofile = (ngx_uint_t) rlmt.rlim_cur;
        }

        ngx_str_set(&path, "/proc/self/fd");
        fds = 0;

        if (ngx_open_dir(&path, &dir) == NGX_OK) {
            while (ngx_read_dir(&dir) == NGX_OK) {
                if (ngx_de_name(&dir)[0] != '.') {
                    fds++;
                }
            }

            (void) ngx_close_dir(&dir);

            /* the directory's own descriptor, closed now */
            fds = fds ? fds - 1 : 0;
        }

        others = fds > used ? fds - used : 0;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                       "ws: %ui descriptors allowed, %ui open beside "
                       "%ui connections", nofile, others, used);
    }

    if (nofile == 0) {
        return free;
    }

    if (nofile <= others + used) {
        return 0;
    }

    return ngx_min(free, nofile - others - used);
}


/* The caps, before the upgrade: NGX_OK, NGX_DECLINED, NGX_ERROR. */
ngx_int_t
ngx_http_ws_limits_check(ngx_http_request_t *r,
    ngx_http_ws_limits_conf_t *lcf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_uint_t                  over, free, scope[3];
    ngx_shm_zone_t             *zone;
    ngx_http_ws_cap_t          *caps[3];
    ngx_pool_cleanup_t         *cln;
    ngx_http_ws_limits_held_t  *held;

    if (lcf->reserve_connections) {
        free = ngx_http_ws_limits_free_connections(r->connection->log);

        if (free < lcf->reserve_connections) {
            if (!ngx_http_ws_limits_in_reserve) {
                ngx_http_ws_limits_in_reserve = 1;
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "ws: %ui free connections in this worker, "
                              "under ws_reserve_connections %ui, refusing "
                              "with 503", free, lcf->reserve_connections);
            }

            return ngx_http_ws_limits_refuse(r, NGX_HTTP_WS_LIMITS_FULL,
                                             refusal);
        }

        if (ngx_http_ws_limits_in_reserve) {
            ngx_http_ws_limits_in_reserve = 0;
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "ws: %ui free connections in this worker again, "
                          "ws_reserve_connections %ui kept, taking upgrades",
                          free, lcf->reserve_connections);
        }
    }

    if (lcf->max_conns.max == NGX_CONF_UNSET_UINT
        && lcf->max_per_ip.max == NGX_CONF_UNSET_UINT
        && lcf->max_per_user.max == NGX_CONF_UNSET_UINT)
    {
        return NGX_OK;
    }

    zone = ngx_http_ws_limits_zone(r->main_conf);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_ws_limits_held_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    held = cln->data;
    held->zone = zone;
    held->n = 0;

    ngx_http_ws_limits_keys(r, lcf, ctx, held, caps, scope);

    over = ngx_http_ws_limits_count(zone->data, held, caps, scope);

    switch (over) {

    case NGX_HTTP_WS_LIMITS_UNDER:
        /* counted: the cleanup takes the connection off again */
        cln->handler = ngx_http_ws_limits_release;
        return NGX_OK;

    case NGX_HTTP_WS_LIMITS_FULL:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: ws_zone is full, cannot count connections");
        break;

    case 1:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ws: %ui connections from this address, the "
                      "ws_max_connections_per_ip limit, refusing with 429",
                      lcf->max_per_ip.max);
        break;

    case 2:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ws: user \"%V\" has %ui connections, the "
                      "ws_max_connections_per_user limit, refusing with 429",
                      &ctx->jwt.user, lcf->max_per_user.max);
        break;

    default:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ws: %ui connections, the ws_max_connections limit, "
                      "refusing with 503", lcf->max_conns.max);
        break;
    }

    return ngx_http_ws_limits_refuse(r, over, refusal);
}


/*
 * The keys of the caps that apply, into held, outside the lock; caps[]
 * and scope[] get the cap of each key and its index in (all, per ip,
 * per user).
 */
static void
ngx_http_ws_limits_keys(ngx_http_request_t *r,
    ngx_http_ws_limits_conf_t *lcf, ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_limits_held_t *held, ngx_http_ws_cap_t **caps,
    ngx_uint_t *scope)
{
    ngx_str_t   value;
    ngx_uint_t  i;

    caps[0] = &lcf->max_conns;
    caps[1] = &lcf->max_per_ip;
    caps[2] = &lcf->max_per_user;
    scope[0] = 0;
    scope[1] = NGX_HTTP_WS_LIMIT_IP;
    scope[2] = NGX_HTTP_WS_LIMIT_USER;

    for (i = 0; i < 3; i++) {
        if (caps[i]->max == NGX_CONF_UNSET_UINT) {
            continue;
        }

        ngx_str_null(&value);

        if (scope[i]
            && ngx_http_ws_limits_client(r->connection, ctx, scope[i],
                                         &value) != NGX_OK)
        {
            /* no user (no token): the per-user cap does not apply */
            continue;
        }

        held->lens[held->n] = ngx_http_ws_limits_key(held->keys[held->n],
                                                     NGX_HTTP_WS_LIMIT_COUNT,
                                                     caps[i]->id, &value);
        caps[held->n] = caps[i];
        scope[held->n] = i;
        held->n++;
    }
}


/*
 * Counts the connection under every key of held, all or none, under the
 * zone's lock: NGX_HTTP_WS_LIMITS_UNDER when counted, the index of the
 * first cap reached (0 all, 1 per ip, 2 per user), or
 * NGX_HTTP_WS_LIMITS_FULL when the zone has no room to count.
 */
static ngx_uint_t
ngx_http_ws_limits_count(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_limits_held_t *held, ngx_http_ws_cap_t **caps,
    ngx_uint_t *scope)
{
    ngx_uint_t                  i, over;
    ngx_http_ws_limit_node_t   *node[3];
    ngx_http_ws_keyed_table_t  *limits;

    node[0] = NULL;
    node[1] = NULL;
    node[2] = NULL;

    ngx_shmtx_lock(&zctx->shpool->mutex);

    limits = ngx_http_ws_keyed_table(zctx->shpool, &zctx->sh->limits);
    over = NGX_HTTP_WS_LIMITS_UNDER;

    for (i = 0; limits && i < held->n; i++) {
        node[i] = ngx_http_ws_limits_lookup(zctx, limits, held->keys[i],
                                            held->lens[i], 1);
        if (node[i] == NULL) {
            break;
        }

        if (node[i]->count >= caps[i]->max
            && over == NGX_HTTP_WS_LIMITS_UNDER)
        {
            over = scope[i];
        }
    }

    if (limits == NULL || i < held->n) {
        /* the zone is full: nothing counted, so nothing to let in */
        over = NGX_HTTP_WS_LIMITS_FULL;
    }

    for (i = 0; limits && i < held->n; i++) {
        if (over == NGX_HTTP_WS_LIMITS_UNDER) {
            node[i]->count++;
            ngx_http_ws_limits_slot_add(zctx, limits, held->keys[i],
                                        held->lens[i], 1);

        } else if (node[i] && node[i]->count == 0) {
            ngx_http_ws_limits_delete(zctx, limits, node[i]);
        }
    }

    if (over != NGX_HTTP_WS_LIMITS_UNDER) {
        held->n = 0;
    }

    ngx_shmtx_unlock(&zctx->shpool->mutex);

    return over;
}


/* 429 when the client is over its own cap, 503 otherwise; Retry-After. */
static ngx_int_t
ngx_http_ws_limits_refuse(ngx_http_request_t *r, ngx_uint_t over,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t  retry;

    ngx_str_set(&retry, NGX_HTTP_WS_RETRY_AFTER);

    if (ngx_http_ws_response_add_header(r, "Retry-After", &retry) != NGX_OK) {
        return NGX_ERROR;
    }

    if (over == 1 || over == 2) {
        refusal->status = NGX_HTTP_TOO_MANY_REQUESTS;
        refusal->reason = "too many connections from this client";
        ngx_str_set(&r->headers_out.status_line, "429 Too Many Requests");

    } else {
        refusal->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        refusal->reason = "server at its connection limit";
    }

    return NGX_DECLINED;
}


/*
 * Charges one received message to every rate of the location: NGX_OK to
 * deliver it, NGX_DECLINED when it is dropped or the session closes.
 * A token awaited as the first message was taken before (the security
 * module's message hook).
 */
ngx_int_t
ngx_http_ws_limits_message(ngx_http_ws_session_t *ws,
    ngx_http_ws_limits_conf_t *lcf, wscore_event_t *ev)
{
    size_t                       klen;
    uint64_t                     cost;
    ngx_int_t                    ok;
    ngx_str_t                    value;
    ngx_uint_t                   i;
    ngx_shm_zone_t              *zone;
    wscore_bucket_t             *b;
    ngx_http_request_t          *r;
    ngx_http_ws_rate_t          *rate;
    ngx_http_ws_zone_ctx_t      *zctx;
    ngx_http_ws_limit_node_t    *node;
    ngx_http_ws_keyed_table_t   *limits;
    ngx_http_ws_security_ctx_t  *ctx;
    u_char                       key[1 + 4 + NGX_SOCKADDRLEN
                                     + NGX_HTTP_WS_MAX_CHANNEL_LEN];

    r = ws->request;

    if (lcf->rates == NULL) {
        return NGX_OK;
    }

    /* without the request the buckets came with the state: detach */
    ctx = r ? ngx_http_ws_security_ctx(r)
            : (ws->rare ? ws->rare->security_ctx : NULL);
    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->buckets == NULL) {
        ctx->buckets = ngx_pcalloc(r->pool, lcf->rates->nelts
                                            * sizeof(wscore_bucket_t));
        if (ctx->buckets == NULL) {
            return NGX_OK;
        }
    }

    rate = lcf->rates->elts;

    for (i = 0; i < lcf->rates->nelts; i++) {
        cost = rate[i].bytes ? (uint64_t) ev->len : 1;

        /* a streamed message's later pieces cost their bytes only */
        if (ev->type == WSCORE_EVENT_FRAGMENT && !ev->first
            && !rate[i].bytes)
        {
            continue;
        }

        if (rate[i].scope == NGX_HTTP_WS_LIMIT_CONNECTION) {
            b = &ctx->buckets[i];
            ok = wscore_bucket_take(b, rate[i].rate_per_min, rate[i].burst,
                                    cost, ngx_current_msec);

        } else {
            if (ngx_http_ws_limits_client(ws->connection, ctx, rate[i].scope,
                                          &value)
                != NGX_OK)
            {
                continue;
            }

            klen = ngx_http_ws_limits_key(key, NGX_HTTP_WS_LIMIT_RATE,
                                          rate[i].id, &value);

            zone = ngx_http_ws_limits_zone(ws->main_conf);
            zctx = zone->data;

            ngx_shmtx_lock(&zctx->shpool->mutex);

            limits = ngx_http_ws_keyed_table(zctx->shpool,
                                             &zctx->sh->limits);
            node = limits ? ngx_http_ws_limits_lookup(zctx, limits, key,
                                                      klen, 1)
                          : NULL;

            if (node == NULL) {
                /* a full zone must not stop the traffic: let it through */
                ngx_shmtx_unlock(&zctx->shpool->mutex);
                continue;
            }

            /* the lookup made it the last bucket to be forgotten */
            ok = wscore_bucket_take(&node->bucket, rate[i].rate_per_min,
                                    rate[i].burst, cost, ngx_current_msec);
            node->last = ngx_current_msec;

            ngx_shmtx_unlock(&zctx->shpool->mutex);
        }

        if (ok) {
            continue;
        }

        ctx->rate_limited++;
        ngx_http_ws_metric_inc(rate_limited);

        if (rate[i].action == NGX_HTTP_WS_LIMIT_DROP) {
            if (ctx->rate_limited == 1) {
                ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                              "ws: over ws_limit_rate %V, dropping "
                              "messages", &rate[i].text);
            }

            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_WARN, ws->connection->log, 0,
                      "ws: over ws_limit_rate %V, closing with 1008",
                      &rate[i].text);

        ws->broke_rule = 1;

        ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                                  "rate limit exceeded");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Before the request of a WebSocket is freed: the connections it counts
 * against ws_max_connections* stay counted until the connection closes.
 */
ngx_int_t
ngx_http_ws_limits_detach(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln, *moved;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler != ngx_http_ws_limits_release) {
            continue;
        }

        moved = ngx_pool_cleanup_add(r->connection->pool,
                                     sizeof(ngx_http_ws_limits_held_t));
        if (moved == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(moved->data, cln->data,
                   sizeof(ngx_http_ws_limits_held_t));
        moved->handler = ngx_http_ws_limits_release;
        cln->handler = NULL;
    }

    return NGX_OK;
}


/* 1 if a cleanup of the request pool is one that detach moves. */
ngx_uint_t
ngx_http_ws_limits_cleanup(ngx_pool_cleanup_pt handler)
{
    return handler == ngx_http_ws_limits_release;
}


static ngx_shm_zone_t *
ngx_http_ws_limits_zone(void **main_conf)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_module);

    return wmcf->zone;
}


/* The client's address or user as a key part; NGX_DECLINED if none. */
static ngx_int_t
ngx_http_ws_limits_client(ngx_connection_t *c,
    ngx_http_ws_security_ctx_t *ctx, ngx_uint_t scope, ngx_str_t *value)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    if (scope == NGX_HTTP_WS_LIMIT_USER) {
        if (ctx->jwt.user.len == 0) {
            return NGX_DECLINED;
        }

        *value = ctx->jwt.user;
        return NGX_OK;
    }

    /* the address bytes, as $binary_remote_addr has them */
    switch (c->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) c->sockaddr;
        value->data = sin6->sin6_addr.s6_addr;
        value->len = 16;
        return NGX_OK;
#endif

    case AF_INET:
        sin = (struct sockaddr_in *) c->sockaddr;
        value->data = (u_char *) &sin->sin_addr;
        value->len = 4;
        return NGX_OK;

    default:
        /* unix sockets: one client */
        ngx_str_set(value, "unix");
        return NGX_OK;
    }
}


static size_t
ngx_http_ws_limits_key(u_char *buf, u_char type, uint32_t id,
    ngx_str_t *value)
{
    u_char  *p;
    size_t   len;

    len = ngx_min(value->len, NGX_HTTP_WS_MAX_CHANNEL_LEN);

    p = buf;
    *p++ = type;
    p = ngx_cpymem(p, &id, sizeof(uint32_t));

    if (len) {
        p = ngx_cpymem(p, value->data, len);
    }

    return p - buf;
}


/*
 * Called with the lock held: the entry of a key, or (create) a new one
 * if none; buckets are forgettable, connection counts are not.
 */
static ngx_http_ws_limit_node_t *
ngx_http_ws_limits_lookup(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_keyed_table_t *limits, u_char *key, size_t len,
    ngx_uint_t create)
{
    if (!create) {
        return (ngx_http_ws_limit_node_t *)
                   ngx_http_ws_keyed_find(limits, key, len);
    }

    return (ngx_http_ws_limit_node_t *)
               ngx_http_ws_keyed_get(zctx->shpool, limits,
                                     &ngx_http_ws_limits_policy, key, len,
                                     key[0] == NGX_HTTP_WS_LIMIT_RATE);
}


static void
ngx_http_ws_limits_delete(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_keyed_table_t *limits, ngx_http_ws_limit_node_t *node)
{
    ngx_http_ws_keyed_delete(zctx->shpool, limits, &node->entry);
}


/* An idle bucket is full again: forgetting it changes nothing. */
static ngx_uint_t
ngx_http_ws_limits_idle(ngx_http_ws_keyed_entry_t *entry)
{
    ngx_http_ws_limit_node_t  *node = (ngx_http_ws_limit_node_t *) entry;

    return ngx_current_msec - node->last >= NGX_HTTP_WS_LIMIT_IDLE_MS;
}


static void
ngx_http_ws_limits_release(void *data)
{
    ngx_http_ws_limits_held_t  *held = data;

    ngx_uint_t                  i;
    ngx_http_ws_zone_ctx_t     *zctx;
    ngx_http_ws_limit_node_t   *node;
    ngx_http_ws_keyed_table_t  *limits;

    zctx = held->zone->data;

    ngx_shmtx_lock(&zctx->shpool->mutex);

    limits = zctx->sh->limits;

    for (i = 0; limits && i < held->n; i++) {
        node = ngx_http_ws_limits_lookup(zctx, limits, held->keys[i],
                                         held->lens[i], 0);
        if (node == NULL) {
            continue;
        }

        if (node->count > 0) {
            node->count--;
        }

        if (node->count == 0) {
            ngx_http_ws_limits_delete(zctx, limits, node);
        }

        ngx_http_ws_limits_slot_add(zctx, limits, held->keys[i],
                                    held->lens[i], -1);
    }

    ngx_shmtx_unlock(&zctx->shpool->mutex);
}


/*
 * Each connection count is also kept per process, under a key of its own
 * ('s', the process's queue slot in the zone, the count's key): a worker killed by SIGKILL or a
 * crash never releases its connections, and its replacement takes them
 * off the counts by these (ngx_http_ws_limits_forget_worker), or every
 * crash would lower ws_max_connections for good. Called with the lock
 * held. A slot entry the zone has no room for leaves that connection
 * out of the repair, not out of the cap.
 */
static void
ngx_http_ws_limits_slot_add(ngx_http_ws_zone_ctx_t *zctx,
    ngx_http_ws_keyed_table_t *limits, u_char *key, size_t len,
    ngx_int_t delta)
{
    u_char                     buf[2 + NGX_HTTP_WS_LIMIT_KEY_LEN];
    ngx_uint_t                 own;
    ngx_http_ws_limit_node_t  *slot;

    own = ngx_http_ws_zone_own_slot();
    if (own == NGX_HTTP_WS_NO_SLOT) {
        return;
    }

    buf[0] = NGX_HTTP_WS_LIMIT_SLOT;
    buf[1] = (u_char) own;
    ngx_memcpy(buf + 2, key, len);

    slot = ngx_http_ws_limits_lookup(zctx, limits, buf, len + 2, delta > 0);
    if (slot == NULL) {
        return;
    }

    if (delta > 0) {
        slot->count++;
        return;
    }

    if (slot->count > 0) {
        slot->count--;
    }

    if (slot->count == 0) {
        ngx_http_ws_limits_delete(zctx, limits, slot);
    }
}


/*
 * The connections the dead process of this zone slot still counted, taken
 * off the counts; called by the process that found it dead, with the
 * zone's lock held. Returns how many counts (a connection is in one per
 * cap) it took off. A slot is a process's own, never shared with the old
 * worker of a reload, whose connections still count.
 */
ngx_uint_t
ngx_http_ws_limits_forget_worker(ngx_http_ws_zone_ctx_t *zctx,
    ngx_uint_t slot)
{
    ngx_uint_t                  forgotten;
    ngx_rbtree_t               *tree;
    ngx_rbtree_node_t          *rn, *next;
    ngx_http_ws_limit_node_t   *node, *count;
    ngx_http_ws_keyed_table_t  *limits;

    limits = zctx->sh->limits;

    if (limits == NULL) {
        return 0;
    }

    tree = &limits->rbtree;

    if (tree->root == tree->sentinel) {
        return 0;
    }

    forgotten = 0;

    /* first the counts, then the entries: nothing deleted mid-walk */
    for (rn = ngx_rbtree_min(tree->root, tree->sentinel);
         rn;
         rn = ngx_rbtree_next(tree, rn))
    {
        node = (ngx_http_ws_limit_node_t *) rn;

        if (node->entry.sn.str.len < 2
            || node->key[0] != NGX_HTTP_WS_LIMIT_SLOT
            || node->key[1] != (u_char) slot)
        {
            continue;
        }

        count = ngx_http_ws_limits_lookup(zctx, limits, node->key + 2,
                                          node->entry.sn.str.len - 2, 0);
        if (count) {
            count->count -= ngx_min(count->count, node->count);
        }

        forgotten += node->count;
        node->count = 0;
    }

    for (rn = ngx_rbtree_min(tree->root, tree->sentinel);
         rn;
         rn = next)
    {
        next = ngx_rbtree_next(tree, rn);
        node = (ngx_http_ws_limit_node_t *) rn;

        if (node->count == 0 && node->key[0] != NGX_HTTP_WS_LIMIT_RATE) {
            ngx_http_ws_limits_delete(zctx, limits, node);
        }
    }

    return forgotten;
}


/*
 * Keys of a directive in the zone: a hash of where it is written, so the
 * same configuration reloaded counts in the same entries, and old
 * workers' sessions still count against the new caps.
 */
static uint32_t
ngx_http_ws_limits_id(ngx_conf_t *cf, ngx_uint_t n)
{
    uint32_t  crc;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, cf->conf_file->file.name.data,
                     cf->conf_file->file.name.len);
    ngx_crc32_update(&crc, (u_char *) &cf->conf_file->line,
                     sizeof(ngx_uint_t));
    ngx_crc32_update(&crc, (u_char *) &n, sizeof(ngx_uint_t));
    ngx_crc32_final(crc);

    return crc;
}
