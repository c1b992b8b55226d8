
/*
 * ngx_ws: the shared memory zone.
 *
 * One slab pool holds the channel registry (an rbtree of names with their
 * sequence numbers and per-worker subscriber counts) and one bounded ring
 * of message pointers per worker slot. A publish copies the message into
 * the zone once, pushes it onto the ring of every worker that has
 * subscribers, and wakes those workers; each reads it once, frames it
 * once, and the last one frees it. Everything is under the slab mutex,
 * which NGINX force-unlocks if a worker dies holding it.
 */


#include "ngx_http_ws_zone.h"
#include "ngx_http_ws_limits.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_ipc.h"


static ngx_int_t ngx_http_ws_zone_init(ngx_shm_zone_t *shm_zone, void *data);
static ngx_http_ws_channel_t *ngx_http_ws_channel_lookup(
    ngx_http_ws_zone_ctx_t *ctx, ngx_str_t *name, ngx_uint_t create);
static void ngx_http_ws_history_keep(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch, ngx_http_ws_msg_t *msg);
static void ngx_http_ws_zone_forget_worker(ngx_http_ws_zone_ctx_t *ctx,
    ngx_pid_t pid);
static void ngx_http_ws_history_expire(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch);


char *
ngx_http_ws_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_main_conf_t *wmcf = conf;

    ssize_t                  size;
    ngx_str_t               *value;
    ngx_http_ws_zone_ctx_t  *ctx;

    if (wmcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_zone\" size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (32 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_zone\" \"%V\" is too small, "
                           "it must be at least %uik",
                           &value[1], 32 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_zone_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->zone = ngx_shared_memory_add(cf, &value[1], size,
                                       &ngx_http_ws_module);
    if (wmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    wmcf->zone->init = ngx_http_ws_zone_init;
    wmcf->zone->data = ctx;

    return NGX_CONF_OK;
}


/*
 * On reload the zone (same name and size) is kept: channels, sequence
 * numbers and queued messages carry over to the new workers.
 */
static ngx_int_t
ngx_http_ws_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ws_zone_ctx_t  *octx = data;

    size_t                   len;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_ws_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->channels, &ctx->sh->sentinel,
                    ngx_str_rbtree_insert_value);

    len = sizeof(" in ws_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in ws_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is answered per publish; no "no memory" alert per try */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


/* Called with the slab mutex held. */
static ngx_http_ws_channel_t *
ngx_http_ws_channel_lookup(ngx_http_ws_zone_ctx_t *ctx, ngx_str_t *name,
    ngx_uint_t create)
{
    uint32_t                hash;
    ngx_str_node_t         *sn;
    ngx_http_ws_channel_t  *ch;

    hash = ngx_crc32_short(name->data, name->len);

    sn = ngx_str_rbtree_lookup(&ctx->sh->channels, name, hash);

    if (sn) {
        return (ngx_http_ws_channel_t *) sn;
    }

    if (!create) {
        return NULL;
    }

    ch = ngx_slab_calloc_locked(ctx->shpool,
                                offsetof(ngx_http_ws_channel_t, name)
                                + name->len);
    if (ch == NULL) {
        return NULL;
    }

    ngx_memcpy(ch->name, name->data, name->len);

    ch->sn.node.key = hash;
    ch->sn.str.len = name->len;
    ch->sn.str.data = ch->name;

    ngx_rbtree_insert(&ctx->sh->channels, &ch->sn.node);
    ctx->sh->nchannels++;

    return ch;
}


ngx_int_t
ngx_http_ws_zone_subscribe(ngx_shm_zone_t *zone, ngx_str_t *name,
    ngx_int_t delta, uint64_t *seq)
{
    ngx_http_ws_channel_t   *ch;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ch = ngx_http_ws_channel_lookup(ctx, name, delta > 0);

    if (ch == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return (delta > 0) ? NGX_DECLINED : NGX_OK;
    }

    if (seq) {
        *seq = ch->seq;
    }

    if (delta > 0) {
        ch->subscribers++;
        ch->per_worker[ngx_worker]++;

    } else if (ch->per_worker[ngx_worker] > 0) {
        ch->subscribers--;
        ch->per_worker[ngx_worker]--;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


/* The reserved channels of single connections: "conn:<connection id>". */
ngx_int_t
ngx_http_ws_zone_is_direct(ngx_str_t *name)
{
    return name->len > 5 && ngx_strncmp(name->data, "conn:", 5) == 0;
}


ngx_int_t
ngx_http_ws_zone_publish(ngx_shm_zone_t *zone, ngx_str_t *channel,
    ngx_uint_t opcode, ngx_uint_t json, u_char *data, size_t len,
    ngx_http_ws_channel_info_t *info)
{
    return ngx_http_ws_zone_publish_seq(zone, channel, 0, opcode, json, data,
                                        len, info);
}


/*
 * seq 0 numbers the message here; a message numbered elsewhere (by Redis
 * for a cross-node channel) keeps its number, and one at or below the
 * channel's last is a duplicate: NGX_DONE, nothing delivered.
 */
ngx_int_t
ngx_http_ws_zone_publish_seq(ngx_shm_zone_t *zone, ngx_str_t *channel,
    uint64_t seq, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_channel_info_t *info)
{
    ngx_uint_t                   i, n, direct;
    ngx_uint_t                   targets[NGX_HTTP_WS_MAX_WORKERS];
    ngx_http_ws_msg_t           *msg;
    ngx_http_ws_channel_t       *ch;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    ctx = zone->data;

    direct = ngx_http_ws_zone_is_direct(channel);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /*
     * A direct channel ("conn:<id>") has no registry entry: which worker
     * holds the connection is not recorded, so every worker gets the
     * message and the one that has it delivers it.
     */
    ch = NULL;

    if (!direct) {
        ch = ngx_http_ws_channel_lookup(ctx, channel, 1);

        if (ch == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }

        if (seq && seq <= ch->seq) {
            info->seq = ch->seq;
            info->subscribers = ch->subscribers;
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DONE;
        }
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_WS_MAX_WORKERS; i++) {
        if (ctx->sh->workers[i].ring
            && (direct ? ctx->sh->workers[i].pid != 0 : ch->per_worker[i]))
        {
            targets[n++] = i;
        }
    }

    msg = NULL;

    /* with ws_channel_history a message is kept even if nobody listens */
    if (n || (ch && ctx->history_max)) {
        msg = ngx_slab_alloc_locked(ctx->shpool,
                                    offsetof(ngx_http_ws_msg_t, data)
                                    + channel->len + len);

        /* no room only for the history: the publish itself goes on */
        if (msg == NULL && n) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }
    }

    if (ch) {
        ch->seq = seq ? seq : ch->seq + 1;
        info->seq = ch->seq;
        info->subscribers = ch->subscribers;

    } else {
        info->seq = 0;
        info->subscribers = 0;
    }

    if (msg == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_OK;
    }

    msg->refs = 0;
    msg->seq = info->seq;
    msg->published = ngx_current_msec;
    msg->opcode = (u_char) opcode;
    msg->json = json ? 1 : 0;
    msg->channel_len = (u_short) channel->len;
    msg->len = len;
    ngx_memcpy(msg->data, channel->data, channel->len);
    ngx_memcpy(msg->data + channel->len, data, len);

    if (ch && ctx->history_max) {
        ngx_http_ws_history_keep(ctx, ch, msg);
    }

    /* push in lock order: every worker sees a channel in publish order */
    for (i = 0; i < n; i++) {
        q = &ctx->sh->workers[targets[i]];

        if (q->tail - q->head >= NGX_HTTP_WS_QUEUE_LEN) {
            q->dropped++;
            targets[i] = NGX_HTTP_WS_MAX_WORKERS;   /* no wakeup needed */
            continue;
        }

        q->ring[q->tail % NGX_HTTP_WS_QUEUE_LEN] = msg;
        msg->refs++;

        /* wake the worker only when its queue turns non-empty */
        if (q->tail++ != q->head) {
            targets[i] = NGX_HTTP_WS_MAX_WORKERS;
        }
    }

    if (msg->refs == 0) {
        ngx_slab_free_locked(ctx->shpool, msg);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    for (i = 0; i < n; i++) {
        if (targets[i] < NGX_HTTP_WS_MAX_WORKERS) {
            ngx_http_ws_ipc_notify(targets[i]);
        }
    }

    return NGX_OK;
}


/*
 * The last ws_channel_history messages of a channel, in a ring of message
 * references: a kept message is one more reader of the zone's copy, so
 * history costs no copy. Called with the slab mutex held.
 */
static void
ngx_http_ws_history_keep(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch, ngx_http_ws_msg_t *msg)
{
    ngx_http_ws_msg_t  *old;

    if (ch->history == NULL || ch->history_cap != ctx->history_max) {

        /* a reload changed the depth: start the ring over */
        while (ch->history && ch->history_len) {
            old = ch->history[ch->history_first];
            ch->history_first = (ch->history_first + 1) % ch->history_cap;
            ch->history_len--;

            if (--old->refs == 0) {
                ngx_slab_free_locked(ctx->shpool, old);
            }
        }

        if (ch->history) {
            ngx_slab_free_locked(ctx->shpool, ch->history);
        }

        ch->history = ngx_slab_alloc_locked(ctx->shpool, ctx->history_max
                                            * sizeof(ngx_http_ws_msg_t *));
        if (ch->history == NULL) {
            /* the zone is full: this channel keeps no history for now */
            return;
        }

        ch->history_cap = ctx->history_max;
        ch->history_first = 0;
        ch->history_len = 0;
    }

    ngx_http_ws_history_expire(ctx, ch);

    if (ch->history_len == ch->history_cap) {
        old = ch->history[ch->history_first];
        ch->history_first = (ch->history_first + 1) % ch->history_cap;
        ch->history_len--;

        if (--old->refs == 0) {
            ngx_slab_free_locked(ctx->shpool, old);
        }
    }

    ch->history[(ch->history_first + ch->history_len) % ch->history_cap] =
                                                                        msg;
    ch->history_len++;
    msg->refs++;
}


/* Drops kept messages older than the history time; mutex held. */
static void
ngx_http_ws_history_expire(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch)
{
    ngx_http_ws_msg_t  *old;

    while (ch->history_len) {
        old = ch->history[ch->history_first];

        if ((ngx_msec_int_t) (ngx_current_msec - old->published)
            < (ngx_msec_int_t) ctx->history_time)
        {
            return;
        }

        ch->history_first = (ch->history_first + 1) % ch->history_cap;
        ch->history_len--;

        if (--old->refs == 0) {
            ngx_slab_free_locked(ctx->shpool, old);
        }
    }
}


ngx_uint_t
ngx_http_ws_zone_history(ngx_shm_zone_t *zone, ngx_str_t *channel,
    uint64_t after, uint64_t upto, ngx_http_ws_msg_t **msgs, ngx_uint_t n)
{
    ngx_uint_t               i, count;
    ngx_http_ws_msg_t       *msg;
    ngx_http_ws_channel_t   *ch;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;
    count = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ch = ngx_http_ws_channel_lookup(ctx, channel, 0);

    if (ch && ch->history) {
        ngx_http_ws_history_expire(ctx, ch);

        for (i = 0; i < ch->history_len && count < n; i++) {
            msg = ch->history[(ch->history_first + i) % ch->history_cap];

            if (msg->seq > after && msg->seq <= upto) {
                msg->refs++;
                msgs[count++] = msg;
            }
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return count;
}


ngx_int_t
ngx_http_ws_zone_channel_info(ngx_shm_zone_t *zone, ngx_str_t *channel,
    ngx_http_ws_channel_info_t *info)
{
    ngx_http_ws_channel_t   *ch;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ch = ngx_http_ws_channel_lookup(ctx, channel, 0);

    if (ch) {
        info->seq = ch->seq;
        info->subscribers = ch->subscribers;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return ch ? NGX_OK : NGX_DECLINED;
}


/*
 * A new worker takes over its slot: after a reload the old worker of the
 * same number stops reading the queue once the slot names another pid.
 */
ngx_int_t
ngx_http_ws_zone_register_worker(ngx_shm_zone_t *zone)
{
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    ctx = zone->data;
    q = &ctx->sh->workers[ngx_worker];

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (q->ring == NULL) {
        q->ring = ngx_slab_calloc_locked(ctx->shpool,
                                         NGX_HTTP_WS_QUEUE_LEN
                                         * sizeof(ngx_http_ws_msg_t *));
        if (q->ring == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_ERROR;
        }
    }

    /*
     * A worker that was killed (SIGKILL, a crash) never took its
     * subscriptions back: its replacement, started in the same slot,
     * finds the previous pid gone and clears them, or the channels would
     * count those subscribers forever and keep queueing their messages
     * to this slot. A previous owner still running is the old worker of
     * a reload, draining: its subscriptions are real.
     */
    if (q->pid != 0 && q->pid != ngx_pid
        && kill(q->pid, 0) == -1 && ngx_errno == NGX_ESRCH)
    {
        ngx_http_ws_zone_forget_worker(ctx, q->pid);
    }

    q->pid = ngx_pid;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


/*
 * What this slot's dead owner held in the zone, taken off: its
 * subscriptions of every channel, its connections in the caps.
 */
static void
ngx_http_ws_zone_forget_worker(ngx_http_ws_zone_ctx_t *ctx, ngx_pid_t pid)
{
    ngx_uint_t              subscriptions, channels, counts;
    ngx_rbtree_t           *tree;
    ngx_rbtree_node_t      *node;
    ngx_http_ws_channel_t  *ch;

    tree = &ctx->sh->channels;

    subscriptions = 0;
    channels = 0;

    for (node = (tree->root == tree->sentinel)
                ? NULL : ngx_rbtree_min(tree->root, tree->sentinel);
         node;
         node = ngx_rbtree_next(tree, node))
    {
        ch = (ngx_http_ws_channel_t *) node;

        if (ch->per_worker[ngx_worker] == 0) {
            continue;
        }

        subscriptions += ch->per_worker[ngx_worker];
        channels++;

        ch->subscribers -= ngx_min(ch->subscribers,
                                   ch->per_worker[ngx_worker]);
        ch->per_worker[ngx_worker] = 0;
    }

    counts = ngx_http_ws_limits_forget_worker(ctx);

    if (subscriptions || counts) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: worker %P died with %ui subscriptions in %ui "
                      "channels and %ui connection counts, taken off",
                      pid, subscriptions, channels, counts);
    }
}


ngx_uint_t
ngx_http_ws_zone_take(ngx_shm_zone_t *zone, ngx_http_ws_msg_t **msgs,
    ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    ctx = zone->data;
    q = &ctx->sh->workers[ngx_worker];

    ngx_shmtx_lock(&ctx->shpool->mutex);

    i = 0;

    if (q->pid == ngx_pid) {
        while (i < n && q->head != q->tail) {
            msgs[i++] = q->ring[q->head++ % NGX_HTTP_WS_QUEUE_LEN];
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return i;
}


void
ngx_http_ws_zone_release(ngx_shm_zone_t *zone, ngx_http_ws_msg_t **msgs,
    ngx_uint_t n)
{
    ngx_uint_t               i;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < n; i++) {
        if (--msgs[i]->refs == 0) {
            ngx_slab_free_locked(ctx->shpool, msgs[i]);
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}
