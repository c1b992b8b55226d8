
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
 *
 * A ring belongs to a worker process, not to a worker number. On reload
 * the old worker 0 and the new worker 0 both live for a while: the old
 * one still holds subscribers until it has sent them their 1001. When
 * the new worker took over the old one's ring (as it once did, the slot
 * being the worker number), the old worker stopped receiving the moment
 * its successor started, ~100 ms before it was told to quit, and its
 * subscribers missed every message acknowledged in between. So each
 * process claims a free slot of its own at start and frees it at exit,
 * and a channel records which slots have subscribers: the old worker
 * keeps receiving its channels' messages until its last subscriber has
 * left.
 */


#include "ngx_http_ws_zone.h"
#include "ngx_http_ws_common.h"


static ngx_int_t ngx_http_ws_zone_init(ngx_shm_zone_t *shm_zone, void *data);
static ngx_http_ws_channel_t *ngx_http_ws_channel_lookup(
    ngx_http_ws_zone_ctx_t *ctx, ngx_str_t *name, ngx_uint_t create);
static void ngx_http_ws_history_keep(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch, ngx_http_ws_msg_t *msg);
static void ngx_http_ws_history_expire(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch);
static ngx_uint_t ngx_http_ws_zone_free_slot(ngx_http_ws_zone_ctx_t *ctx,
    ngx_uint_t slot, ngx_uint_t *channels);
static void ngx_http_ws_zone_forget_worker(ngx_http_ws_zone_ctx_t *ctx,
    ngx_uint_t slot);
static void ngx_http_ws_zone_count_slot(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch, ngx_uint_t slot, ngx_int_t delta);


#define ngx_http_ws_slot_isset(ch, i)                                       \
    ((ch)->slots[(i) / 64] & ((uint64_t) 1 << ((i) % 64)))


/* what a publish found of a worker's queue, logged after the unlock */
#define NGX_HTTP_WS_QUEUE_NOTE_FULL   1
#define NGX_HTTP_WS_QUEUE_NOTE_ROOM   2

/* this process's queue slot in the zone */
static ngx_uint_t  ngx_http_ws_zone_slot = NGX_HTTP_WS_NO_SLOT;



static void ngx_http_ws_zone_wake_none(ngx_uint_t slot, ngx_uint_t filling);
static void ngx_http_ws_zone_log_queue(ngx_uint_t note, ngx_pid_t pid,
    ngx_uint_t lost);

static ngx_http_ws_zone_wake_pt    ngx_http_ws_zone_wake =
    ngx_http_ws_zone_wake_none;
static ngx_http_ws_zone_repair_pt  ngx_http_ws_zone_repair;


void
ngx_http_ws_zone_on_wake(ngx_http_ws_zone_wake_pt wake)
{
    ngx_http_ws_zone_wake = wake;
}


void
ngx_http_ws_zone_on_dead_slot(ngx_http_ws_zone_repair_pt repair)
{
    ngx_http_ws_zone_repair = repair;
}


/* Until the interprocess notification is set up there is no one to wake. */
static void
ngx_http_ws_zone_wake_none(ngx_uint_t slot, ngx_uint_t filling)
{
}


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
    ngx_int_t delta, ngx_uint_t local, uint64_t *seq)
{
    ngx_uint_t               slot;
    ngx_http_ws_channel_t   *ch;
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;
    slot = ngx_http_ws_zone_slot;

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

    } else if (ch->subscribers > 0) {
        ch->subscribers--;
    }

    if (slot != NGX_HTTP_WS_NO_SLOT) {
        ngx_http_ws_zone_count_slot(ctx, ch, slot, delta);

        if (local) {
            ch->slots[slot / 64] |= (uint64_t) 1 << (slot % 64);

        } else {
            ch->slots[slot / 64] &= ~((uint64_t) 1 << (slot % 64));
        }
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
    ngx_uint_t                   i, n, direct, waiting, own_filling;
    ngx_uint_t                   targets[NGX_HTTP_WS_SLOTS];
    ngx_uint_t                   notes[NGX_HTTP_WS_SLOTS];
    ngx_uint_t                   lost[NGX_HTTP_WS_SLOTS];
    ngx_pid_t                    pids[NGX_HTTP_WS_SLOTS];
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

    for (i = 0; i < NGX_HTTP_WS_SLOTS; i++) {
        if (ctx->sh->workers[i].ring && ctx->sh->workers[i].pid
            && (direct || ngx_http_ws_slot_isset(ch, i)))
        {
            targets[n++] = i;
        }
    }

    msg = NULL;

    /* with ws_channel_history a message is kept even if nobody listens */
    if (n || (ch && ctx->history_max)) {
        msg = ngx_slab_alloc_locked(ctx->shpool,
                                    ngx_http_ws_msg_size(channel->len, len));

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

    ngx_http_ws_msg_fill(msg, channel, opcode, json, data, len, info->seq);

    if (ch && ctx->history_max) {
        ngx_http_ws_history_keep(ctx, ch, msg);
    }

    own_filling = 0;

    /* push in lock order: every worker sees a channel in publish order */
    for (i = 0; i < n; i++) {
        q = &ctx->sh->workers[targets[i]];
        notes[i] = 0;

        if (q->tail - q->head >= NGX_HTTP_WS_QUEUE_LEN) {
            q->dropped++;

            if (q->overflowing++ == 0) {
                notes[i] = NGX_HTTP_WS_QUEUE_NOTE_FULL;
                pids[i] = q->pid;
            }

            targets[i] = NGX_HTTP_WS_NO_SLOT;       /* no wakeup needed */
            continue;
        }

        if (q->overflowing) {
            notes[i] = NGX_HTTP_WS_QUEUE_NOTE_ROOM;
            pids[i] = q->pid;
            lost[i] = q->overflowing;
            q->overflowing = 0;
        }

        q->ring[q->tail % NGX_HTTP_WS_QUEUE_LEN] = msg;
        msg->refs++;
        waiting = ++q->tail - q->head;

        /*
         * Wake the worker only when its queue turns non-empty; this
         * process's own queue also when it is filling: nobody else
         * empties it, so a burst read in one handler would overflow it.
         */
        if (waiting == NGX_HTTP_WS_QUEUE_FILLING
            && targets[i] == ngx_http_ws_zone_slot)
        {
            own_filling = 1;

        } else if (waiting != 1) {
            targets[i] = NGX_HTTP_WS_NO_SLOT;
        }
    }

    if (msg->refs == 0) {
        ngx_slab_free_locked(ctx->shpool, msg);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    for (i = 0; i < n; i++) {
        if (notes[i]) {
            ngx_http_ws_zone_log_queue(notes[i], pids[i], lost[i]);
        }
    }

    for (i = 0; i < n; i++) {
        if (targets[i] != NGX_HTTP_WS_NO_SLOT) {
            ngx_http_ws_zone_wake(targets[i],
                                  own_filling
                                  && targets[i] == ngx_http_ws_zone_slot);
        }
    }

    return NGX_OK;
}


/* A worker's queue filled up or has room again: logged once each. */
static void
ngx_http_ws_zone_log_queue(ngx_uint_t note, ngx_pid_t pid, ngx_uint_t lost)
{
    if (note == NGX_HTTP_WS_QUEUE_NOTE_FULL) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ws: the channel queue of worker process %P is full "
                      "(%d messages waiting): its subscribers miss what is "
                      "published until it catches up", pid,
                      NGX_HTTP_WS_QUEUE_LEN);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "ws: the channel queue of worker process %P has room "
                  "again; %ui messages were dropped for it", pid, lost);
}


void
ngx_http_ws_msg_fill(ngx_http_ws_msg_t *msg, ngx_str_t *channel,
    ngx_uint_t opcode, ngx_uint_t json, u_char *data, size_t len,
    uint64_t seq)
{
    msg->refs = 0;
    msg->seq = seq;
    msg->published = ngx_current_msec;
    msg->opcode = (u_char) opcode;
    msg->json = json ? 1 : 0;
    msg->channel_len = (u_short) channel->len;
    msg->len = len;
    ngx_memcpy(msg->data, channel->data, channel->len);
    ngx_memcpy(msg->data + channel->len, data, len);
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
 * A slot is claimed by a process, never by a worker number: a free one,
 * or one whose process has died (SIGKILL, a crash) without freeing it,
 * which is cleared first. The master reaps a dead worker before it
 * starts its replacement, so that replacement finds the slot free.
 */
ngx_uint_t
ngx_http_ws_zone_register_worker(ngx_shm_zone_t *zone, ngx_uint_t nslots)
{
    ngx_uint_t                   i, slot;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    ctx = zone->data;
    slot = NGX_HTTP_WS_NO_SLOT;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < NGX_HTTP_WS_SLOTS; i++) {
        q = &ctx->sh->workers[i];

        if (q->pid && q->pid != ngx_pid
            && kill(q->pid, 0) == -1 && ngx_errno == NGX_ESRCH)
        {
            ngx_http_ws_zone_forget_worker(ctx, i);
        }

        if (q->pid == 0 && slot == NGX_HTTP_WS_NO_SLOT && i < nslots) {
            slot = i;
        }
    }

    if (slot == NGX_HTTP_WS_NO_SLOT) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_HTTP_WS_NO_SLOT;
    }

    q = &ctx->sh->workers[slot];

    q->ring = ngx_slab_calloc_locked(ctx->shpool,
                                     NGX_HTTP_WS_QUEUE_LEN
                                     * sizeof(ngx_http_ws_msg_t *));
    if (q->ring == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_HTTP_WS_NO_SLOT;
    }

    q->head = 0;
    q->tail = 0;
    q->pid = ngx_pid;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_http_ws_zone_slot = slot;

    return slot;
}


ngx_uint_t
ngx_http_ws_zone_own_slot(void)
{
    return ngx_http_ws_zone_slot;
}


/*
 * At exit: what is still queued here is let go, and the ring too, so a
 * zone that saw any number of reloads is back to what it held before.
 */
void
ngx_http_ws_zone_unregister_worker(ngx_shm_zone_t *zone)
{
    ngx_http_ws_zone_ctx_t  *ctx;

    if (ngx_http_ws_zone_slot == NGX_HTTP_WS_NO_SLOT) {
        return;
    }

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (ctx->sh->workers[ngx_http_ws_zone_slot].pid == ngx_pid) {
        /* the sessions have unsubscribed: nothing is left to take off */
        (void) ngx_http_ws_zone_free_slot(ctx, ngx_http_ws_zone_slot, NULL);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_http_ws_zone_slot = NGX_HTTP_WS_NO_SLOT;
}


/*
 * Mutex held: the slot's messages, ring, channel marks and subscriber
 * counts go. Returns the subscriptions taken off the channels' totals
 * and, in *channels, how many channels had some.
 */
static ngx_uint_t
ngx_http_ws_zone_free_slot(ngx_http_ws_zone_ctx_t *ctx, ngx_uint_t slot,
    ngx_uint_t *channels)
{
    ngx_uint_t                   subscriptions, nchannels;
    ngx_rbtree_node_t           *node;
    ngx_http_ws_msg_t           *msg;
    ngx_http_ws_channel_t       *ch;
    ngx_http_ws_slot_count_t    *sc, **link;
    ngx_http_ws_worker_queue_t  *q;

    q = &ctx->sh->workers[slot];

    if (q->ring) {
        while (q->head != q->tail) {
            msg = q->ring[q->head++ % NGX_HTTP_WS_QUEUE_LEN];

            if (--msg->refs == 0) {
                ngx_slab_free_locked(ctx->shpool, msg);
            }
        }

        ngx_slab_free_locked(ctx->shpool, q->ring);
        q->ring = NULL;
    }

    q->head = 0;
    q->tail = 0;
    q->pid = 0;

    subscriptions = 0;
    nchannels = 0;

    if (ctx->sh->channels.root != ctx->sh->channels.sentinel) {

        for (node = ngx_rbtree_min(ctx->sh->channels.root,
                                   ctx->sh->channels.sentinel);
             node;
             node = ngx_rbtree_next(&ctx->sh->channels, node))
        {
            ch = (ngx_http_ws_channel_t *) node;
            ch->slots[slot / 64] &= ~((uint64_t) 1 << (slot % 64));

            for (link = &ch->slot_counts; *link; link = &(*link)->next) {
                sc = *link;

                if (sc->slot != slot) {
                    continue;
                }

                subscriptions += sc->count;
                nchannels++;
                ch->subscribers -= ngx_min(ch->subscribers, sc->count);

                *link = sc->next;
                ngx_slab_free_locked(ctx->shpool, sc);
                break;
            }
        }
    }

    if (channels) {
        *channels = nchannels;
    }

    return subscriptions;
}


/*
 * Mutex held: a process of this slot died (SIGKILL, a crash) without
 * taking back what it held: its subscriptions (or the channels would
 * count them forever and queue their messages to the slot) and its
 * connections in the caps (or every crash would lower the caps for good).
 */
static void
ngx_http_ws_zone_forget_worker(ngx_http_ws_zone_ctx_t *ctx, ngx_uint_t slot)
{
    ngx_pid_t   pid;
    ngx_uint_t  subscriptions, channels, counts;

    pid = ctx->sh->workers[slot].pid;

    subscriptions = ngx_http_ws_zone_free_slot(ctx, slot, &channels);
    counts = ngx_http_ws_zone_repair ? ngx_http_ws_zone_repair(ctx, slot)
                                     : 0;

    if (subscriptions || counts) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: worker %P died with %ui subscriptions in %ui "
                      "channels and %ui connection counts, taken off",
                      pid, subscriptions, channels, counts);
    }
}


/*
 * Mutex held: this slot's subscribers of the channel, by delta. An entry
 * the zone has no room for leaves these subscribers out of the repair
 * after a crash, not out of the total.
 */
static void
ngx_http_ws_zone_count_slot(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_channel_t *ch, ngx_uint_t slot, ngx_int_t delta)
{
    ngx_http_ws_slot_count_t  *sc, **link;

    for (link = &ch->slot_counts; *link; link = &(*link)->next) {
        sc = *link;

        if (sc->slot != slot) {
            continue;
        }

        if (delta > 0) {
            sc->count++;
            return;
        }

        if (sc->count > 1) {
            sc->count--;
            return;
        }

        *link = sc->next;
        ngx_slab_free_locked(ctx->shpool, sc);
        return;
    }

    if (delta <= 0) {
        return;
    }

    sc = ngx_slab_alloc_locked(ctx->shpool, sizeof(ngx_http_ws_slot_count_t));
    if (sc == NULL) {
        return;
    }

    sc->slot = (uint32_t) slot;
    sc->count = 1;
    sc->next = ch->slot_counts;
    ch->slot_counts = sc;
}


ngx_uint_t
ngx_http_ws_zone_take(ngx_shm_zone_t *zone, ngx_http_ws_msg_t **msgs,
    ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    if (ngx_http_ws_zone_slot == NGX_HTTP_WS_NO_SLOT) {
        return 0;
    }

    ctx = zone->data;
    q = &ctx->sh->workers[ngx_http_ws_zone_slot];

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


ngx_int_t
ngx_http_ws_zone_cut(ngx_shm_zone_t *zone, ngx_str_t *names, uint64_t *seqs,
    ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_http_ws_channel_t       *ch;
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_worker_queue_t  *q;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (ngx_http_ws_zone_slot != NGX_HTTP_WS_NO_SLOT) {
        q = &ctx->sh->workers[ngx_http_ws_zone_slot];

        if (q->pid == ngx_pid && q->head != q->tail) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_AGAIN;
        }
    }

    for (i = 0; i < n; i++) {
        ch = ngx_http_ws_channel_lookup(ctx, &names[i], 0);
        seqs[i] = ch ? ch->seq : 0;
    }

    /* held until the 1001 is written: ngx_http_ws_zone_cut_done() */
    return NGX_OK;
}


void
ngx_http_ws_zone_cut_done(ngx_shm_zone_t *zone)
{
    ngx_http_ws_zone_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
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
