
/*
 * ngx_ws: the anomaly guard ("ws_ban", "ws_ban_allow").
 *
 * A client that keeps breaking the rules (protocol errors, oversized
 * messages, rate limits that close, refused first-message tokens) costs a
 * handshake, a session and a close each time, and is usually a broken
 * client in a reconnect loop or a probe. Each WebSocket the server closes
 * for such a reason is a strike against the client's address, counted in
 * ws_zone so that all workers see the same count; "count" strikes within
 * "window" ban the address for "duration": its upgrades are answered 429
 * with Retry-After until then, before any other check runs. Each ban is
 * logged once, by the worker that starts it; the refusals are counted,
 * not logged. Addresses of ws_ban_allow are never counted.
 *
 * Entries live in a keyed table in the zone (ngx_http_ws_keyed_table.c);
 * an entry whose window and ban are both over is forgotten when new
 * entries come, and when the zone is full the oldest goes first, so the
 * table never fills the zone.
 */


#include "ngx_http_ws_ban.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_keyed_table.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_zone.h"


typedef struct {
    ngx_http_ws_keyed_entry_t  entry;
    ngx_uint_t                 strikes;
    ngx_msec_t                 window_start;
    ngx_msec_t                 banned_until;  /* 0: not banned */
    ngx_msec_t                 forget_at;     /* window and ban over */
    u_char                     key[1];
} ngx_http_ws_ban_node_t;


static size_t ngx_http_ws_ban_key(u_char *buf, uint32_t id,
    struct sockaddr *sa);
static ngx_uint_t ngx_http_ws_ban_expired(ngx_http_ws_keyed_entry_t *entry);
static ngx_shm_zone_t *ngx_http_ws_ban_zone(void **main_conf);


/*
 * An entry whose window and ban are both over is forgotten when new ones
 * come (a couple per new one); a full zone loses the oldest, ban or not.
 */
static const ngx_http_ws_keyed_policy_t  ngx_http_ws_ban_policy = {
    offsetof(ngx_http_ws_ban_node_t, key),
    ngx_http_ws_ban_expired,
    2,
    1
};


/* ws_ban count window duration | off; */
char *
ngx_http_ws_ban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                   *p;
    ngx_int_t                 n;
    ngx_str_t                *value;
    ngx_msec_t                window, duration;
    ngx_http_ws_ban_conf_t   *bcf;
    ngx_http_ws_main_conf_t  *wmcf;
    u_char                    where[NGX_MAX_PATH + NGX_INT_T_LEN + 1];

    bcf = (ngx_http_ws_ban_conf_t *) ((char *) conf + cmd->offset);

    if (bcf->rule.count != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"ws_ban\", it must "
                               "be \"off\" or \"<count> <window> "
                               "<duration>\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        bcf->rule.count = 0;
        return NGX_CONF_OK;
    }

    /* NGX_CONF_TAKE13: three here */
    n = ngx_atoi(value[1].data, value[1].len);

    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid count \"%V\" in \"ws_ban\", it must be "
                           "a number greater than 0", &value[1]);
        return NGX_CONF_ERROR;
    }

    window = ngx_parse_time(&value[2], 0);

    if (window == (ngx_msec_t) NGX_ERROR || window == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid window \"%V\" in \"ws_ban\", it must be "
                           "a time above 0 (\"1m\", \"30s\")", &value[2]);
        return NGX_CONF_ERROR;
    }

    duration = ngx_parse_time(&value[3], 0);

    if (duration == (ngx_msec_t) NGX_ERROR || duration < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid duration \"%V\" in \"ws_ban\", it must "
                           "be a time of 1s or more (Retry-After counts "
                           "seconds)", &value[3]);
        return NGX_CONF_ERROR;
    }

    bcf->rule.count = n;
    bcf->rule.window = window;
    bcf->rule.duration = duration;

    /* each ws_ban counts apart: its place in the configuration names it */
    p = ngx_snprintf(where, sizeof(where), "%V:%ui",
                     &cf->conf_file->file.name, cf->conf_file->line);
    bcf->rule.id = ngx_crc32_short(where, p - where);

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "\"ws_ban\" counts closes in \"ws_zone\", which "
                          "the http block does not define, in %V:%ui");

    return NGX_CONF_OK;
}


/* ws_ban_allow address | CIDR | all ...; */
char *
ngx_http_ws_ban_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_int_t                rc;
    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_cidr_t              *cidr;
    ngx_http_ws_ban_conf_t  *bcf;

    bcf = (ngx_http_ws_ban_conf_t *) ((char *) conf + cmd->offset);

    if (bcf->allow == NGX_CONF_UNSET_PTR) {
        bcf->allow = ngx_array_create(cf->pool, 4, sizeof(ngx_cidr_t));
        if (bcf->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(bcf->allow);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_strcmp(value[i].data, "all") == 0) {
            /* 0.0.0.0/0 and ::/0 */
            ngx_memzero(cidr, sizeof(ngx_cidr_t));
            cidr->family = AF_INET;
#if (NGX_HAVE_INET6)
            cidr = ngx_array_push(bcf->allow);
            if (cidr == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(cidr, sizeof(ngx_cidr_t));
            cidr->family = AF_INET6;
#endif
            continue;
        }

        rc = ngx_ptocidr(&value[i], cidr);

        if (rc == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address \"%V\" in \"ws_ban_allow\", "
                               "it must be an address, a CIDR block or "
                               "\"all\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "low address bits of %V are meaningless",
                               &value[i]);
        }
    }

    return NGX_CONF_OK;
}


void
ngx_http_ws_ban_conf_init(ngx_http_ws_ban_conf_t *bcf)
{
    bcf->rule.count = NGX_CONF_UNSET_UINT;
    bcf->allow = NGX_CONF_UNSET_PTR;
}


char *
ngx_http_ws_ban_merge(ngx_conf_t *cf, ngx_http_ws_ban_conf_t *prev,
    ngx_http_ws_ban_conf_t *conf)
{
    if (conf->rule.count == NGX_CONF_UNSET_UINT) {
        conf->rule = prev->rule;
    }

    if (conf->rule.count == NGX_CONF_UNSET_UINT) {
        conf->rule.count = 0;
    }

    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);

    return NGX_CONF_OK;
}


/*
 * Before every other guard: a banned address gets 429 with the seconds
 * left of its ban, NGX_DECLINED; anyone else NGX_OK.
 */
ngx_int_t
ngx_http_ws_ban_check(ngx_http_request_t *r, ngx_http_ws_ban_conf_t *bcf,
    ngx_http_ws_refusal_t *refusal)
{
    size_t                      len;
    ngx_msec_t                  left;
    ngx_str_t                   retry;
    ngx_shm_zone_t             *zone;
    ngx_http_ws_ban_node_t     *node;
    ngx_http_ws_zone_ctx_t     *zctx;
    ngx_http_ws_keyed_table_t  *bans;
    u_char                      key[4 + 16];

    if (bcf->rule.count == 0) {
        return NGX_OK;
    }

    /* a ban from before the address joined the list (a reload) */
    if (bcf->allow
        && ngx_cidr_match(r->connection->sockaddr, bcf->allow)
           == NGX_OK)
    {
        return NGX_OK;
    }

    len = ngx_http_ws_ban_key(key, bcf->rule.id, r->connection->sockaddr);

    if (len == 0) {
        return NGX_OK;
    }

    zone = ngx_http_ws_ban_zone(r->main_conf);
    zctx = zone->data;
    left = 0;

    ngx_shmtx_lock(&zctx->shpool->mutex);

    bans = ngx_http_ws_keyed_table(zctx->shpool, &zctx->sh->bans);
    node = bans ? (ngx_http_ws_ban_node_t *)
                      ngx_http_ws_keyed_find(bans, key, len)
                : NULL;

    if (node && node->banned_until
        && (ngx_msec_int_t) (node->banned_until - ngx_current_msec) > 0)
    {
        left = node->banned_until - ngx_current_msec;
    }

    ngx_shmtx_unlock(&zctx->shpool->mutex);

    if (left == 0) {
        return NGX_OK;
    }

    ngx_http_ws_metric_inc(ban_refused);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws: address banned for %M ms more, refusing with 429",
                   left);

    /* the header keeps pointing at it: from the request's pool */
    retry.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (retry.data == NULL) {
        return NGX_ERROR;
    }

    retry.len = ngx_sprintf(retry.data, "%M", (left + 999) / 1000)
                - retry.data;

    if (ngx_http_ws_response_add_header(r, "Retry-After", &retry) != NGX_OK) {
        return NGX_ERROR;
    }

    refusal->status = NGX_HTTP_TOO_MANY_REQUESTS;
    refusal->reason = "too many connections closed for breaking the rules";
    ngx_str_set(&r->headers_out.status_line, "429 Too Many Requests");

    return NGX_DECLINED;
}


/*
 * A session ends: if the server closed it because the client broke a
 * rule, a strike against its address; the strike that reaches the count
 * within the window starts the ban.
 */
void
ngx_http_ws_ban_close(ngx_http_ws_session_t *ws, ngx_http_ws_ban_conf_t *bcf)
{
    size_t                      len;
    ngx_uint_t                  banned, strikes;
    ngx_connection_t           *c;
    ngx_shm_zone_t             *zone;
    ngx_http_ws_ban_node_t     *node;
    ngx_http_ws_zone_ctx_t     *zctx;
    ngx_http_ws_keyed_table_t  *bans;
    u_char                      key[4 + 16];

    if (!ws->broke_rule) {
        return;
    }

    if (bcf->rule.count == 0) {
        return;
    }

    c = ws->connection;

    if (bcf->allow
        && ngx_cidr_match(c->sockaddr, bcf->allow) == NGX_OK)
    {
        return;
    }

    len = ngx_http_ws_ban_key(key, bcf->rule.id, c->sockaddr);

    if (len == 0) {
        return;
    }

    zone = ngx_http_ws_ban_zone(ws->main_conf);
    zctx = zone->data;
    banned = 0;
    strikes = 0;

    ngx_shmtx_lock(&zctx->shpool->mutex);

    bans = ngx_http_ws_keyed_table(zctx->shpool, &zctx->sh->bans);
    node = bans ? (ngx_http_ws_ban_node_t *)
                      ngx_http_ws_keyed_get(zctx->shpool, bans,
                                            &ngx_http_ws_ban_policy, key,
                                            len, 1)
                : NULL;

    if (node) {
        if (node->strikes == 0
            || ngx_current_msec - node->window_start >= bcf->rule.window)
        {
            node->strikes = 0;
            node->window_start = ngx_current_msec;
        }

        strikes = ++node->strikes;

        if (strikes >= bcf->rule.count) {
            node->strikes = 0;
            node->banned_until = ngx_current_msec + bcf->rule.duration;
            banned = 1;
        }

        node->forget_at = ngx_max(node->window_start + bcf->rule.window,
                                  node->banned_until);
    }

    ngx_shmtx_unlock(&zctx->shpool->mutex);

    if (node == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ws: ws_zone is full, cannot count a close for "
                      "ws_ban");
        return;
    }

    if (banned) {
        ngx_http_ws_metric_inc(bans);

        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "ws: %V banned for %M s after %ui connections closed "
                      "for breaking the rules within %M s (ws_ban)",
                      &c->addr_text, bcf->rule.duration / 1000, strikes,
                      bcf->rule.window / 1000);
    }
}


/* id, then the raw address (4 or 16 bytes); 0 for other families. */
static size_t
ngx_http_ws_ban_key(u_char *buf, uint32_t id, struct sockaddr *sa)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    ngx_memcpy(buf, &id, 4);

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        ngx_memcpy(buf + 4, &sin->sin_addr, 4);
        return 8;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        ngx_memcpy(buf + 4, &sin6->sin6_addr, 16);
        return 20;
#endif

    default:
        return 0;
    }
}


/* Called with the lock held: forgotten once its window and ban are over. */
static ngx_uint_t
ngx_http_ws_ban_expired(ngx_http_ws_keyed_entry_t *entry)
{
    ngx_http_ws_ban_node_t  *node = (ngx_http_ws_ban_node_t *) entry;

    return (ngx_msec_int_t) (node->forget_at - ngx_current_msec) <= 0;
}


static ngx_shm_zone_t *
ngx_http_ws_ban_zone(void **main_conf)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_ws_main_conf_of(main_conf, ngx_http_ws_module);

    return wmcf->zone;
}
