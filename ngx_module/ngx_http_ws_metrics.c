
/*
 * ngx_ws: the counters behind ws_status and ws_health.
 *
 * The hooks in the session, handshake, output and channel code are one
 * call each and cost a few adds on the worker's own slot (no lock, no
 * atomic: only this worker writes it). A scrape sums the slots of all
 * workers. Handshake answers other than 101 are counted in the log phase,
 * so the statuses of NGINX's own access modules (401, 403, 503 of
 * limit_conn) on a ws_listen location are counted too.
 */


#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"


static ngx_int_t ngx_http_ws_metrics_log_handler(ngx_http_request_t *r);
static void ngx_http_ws_metrics_handshake(ngx_uint_t status);
static ngx_uint_t ngx_http_ws_metrics_location(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf);
static ngx_http_ws_metrics_slot_t *ngx_http_ws_metrics_claim(
    ngx_http_ws_zone_ctx_t *ctx, ngx_http_ws_metrics_shm_t *shm);
static ngx_inline void ngx_http_ws_metrics_observe(
    ngx_http_ws_histogram_t *h, ngx_msec_t ms, ngx_uint_t n);
static ngx_uint_t ngx_http_ws_metrics_close_index(ngx_uint_t code);


static ngx_http_ws_metrics_slot_t   ngx_http_ws_metrics_local;

ngx_http_ws_metrics_slot_t  *ngx_http_ws_metrics = &ngx_http_ws_metrics_local;

static ngx_http_ws_metrics_shm_t  *ngx_http_ws_metrics_shm;
static ngx_http_ws_zone_ctx_t     *ngx_http_ws_metrics_zone;


/* Upper bounds; the last bucket (+Inf) has none. */
const ngx_uint_t  ngx_http_ws_metrics_bucket_ms[NGX_HTTP_WS_METRICS_BUCKETS]
    = { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 0 };

/* The statuses counted one by one; 0 stands for any other. */
const ngx_uint_t  ngx_http_ws_handshake_statuses[NGX_HTTP_WS_HANDSHAKE_STATUSES]
    = { 101, 400, 401, 403, 404, 405, 426, 429, 499, 500, 501, 503, 0 };


ngx_int_t
ngx_http_ws_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ws_metrics_log_handler;

    return NGX_OK;
}


ngx_int_t
ngx_http_ws_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_zone_ctx_t      *ctx;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_metrics_shm_t   *shm;
    ngx_http_ws_metrics_slot_t  *slot;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL || wmcf->zone == NULL) {
        return NGX_OK;
    }

    ctx = wmcf->zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    shm = ctx->sh->metrics;

    if (shm == NULL) {
        shm = ngx_slab_calloc_locked(ctx->shpool,
                                     sizeof(ngx_http_ws_metrics_shm_t));
        if (shm == NULL) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "ws: ws_zone \"%V\" is full, no room for the "
                          "metrics of ws_status",
                          &wmcf->zone->shm.name);
            return NGX_OK;
        }

        /* label 0 gathers the locations (and classes) past the table */
        shm->nlocations = 1;
        shm->nclasses = 1;
        ctx->sh->metrics = shm;
    }

    slot = ngx_http_ws_metrics_claim(ctx, shm);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (slot == NULL) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "ws: no metrics slot in ws_zone \"%V\" for this "
                      "worker, its figures are left out of ws_status",
                      &wmcf->zone->shm.name);
        return NGX_OK;
    }

    ngx_http_ws_metrics_shm = shm;
    ngx_http_ws_metrics_zone = ctx;
    ngx_http_ws_metrics = slot;

    return NGX_OK;
}


/*
 * Called with the slab mutex held. A slot keeps its counters when its
 * worker leaves, so totals never go down. A worker that died without
 * closing its connections (a crash) left its gauge up: every dead
 * worker's slot is cleared of it and freed here, when its replacement
 * starts.
 */
static ngx_http_ws_metrics_slot_t *
ngx_http_ws_metrics_claim(ngx_http_ws_zone_ctx_t *ctx,
    ngx_http_ws_metrics_shm_t *shm)
{
    ngx_uint_t                   i, free, unused;
    ngx_http_ws_metrics_slot_t  *slot;

    free = NGX_HTTP_WS_METRICS_SLOTS;
    unused = NGX_HTTP_WS_METRICS_SLOTS;

    for (i = 0; i < NGX_HTTP_WS_METRICS_SLOTS; i++) {
        slot = shm->slots[i];

        if (slot == NULL) {
            if (unused == NGX_HTTP_WS_METRICS_SLOTS) {
                unused = i;
            }

            continue;
        }

        if (slot->pid && kill(slot->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            ngx_memzero(slot->connections, sizeof(slot->connections));
            slot->pid = 0;
        }

        if (slot->pid == 0 && free == NGX_HTTP_WS_METRICS_SLOTS) {
            free = i;
        }
    }

    if (free < NGX_HTTP_WS_METRICS_SLOTS) {
        slot = shm->slots[free];
        slot->pid = ngx_pid;
        return slot;
    }

    if (unused == NGX_HTTP_WS_METRICS_SLOTS) {
        return NULL;
    }

    slot = ngx_slab_calloc_locked(ctx->shpool,
                                  sizeof(ngx_http_ws_metrics_slot_t));
    if (slot == NULL) {
        return NULL;
    }

    slot->pid = ngx_pid;
    shm->slots[unused] = slot;

    return slot;
}


void
ngx_http_ws_metrics_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_ws_metrics != &ngx_http_ws_metrics_local) {
        ngx_http_ws_metrics->pid = 0;
        ngx_http_ws_metrics = &ngx_http_ws_metrics_local;
    }
}


static ngx_int_t
ngx_http_ws_metrics_log_handler(ngx_http_request_t *r)
{
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    /* a 101 was counted when it went out */
    if (wscf->enabled && r == r->main
        && r->headers_out.status != NGX_HTTP_SWITCHING_PROTOCOLS)
    {
        ngx_http_ws_metrics_handshake(r->headers_out.status);
    }

    return NGX_OK;
}


static void
ngx_http_ws_metrics_handshake(ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_WS_HANDSHAKE_STATUSES - 1; i++) {
        if (ngx_http_ws_handshake_statuses[i] == status) {
            break;
        }
    }

    ngx_http_ws_metrics->handshakes[i]++;
}


/*
 * The label index of a ws_listen location, found or added in the zone's
 * table the first time this worker serves the location, then kept in the
 * worker's copy of the location configuration.
 */
static ngx_uint_t
ngx_http_ws_metrics_location(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf)
{
    size_t                        slen, llen;
    ngx_uint_t                    i;
    ngx_http_ws_metrics_shm_t    *shm;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_core_srv_conf_t     *cscf;
    ngx_http_ws_metrics_label_t  *server, *location;

    if (wscf->metrics_location) {
        return wscf->metrics_location - 1;
    }

    shm = ngx_http_ws_metrics_shm;

    if (shm == NULL) {
        wscf->metrics_location = 1;
        return 0;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    slen = ngx_min(cscf->server_name.len, NGX_HTTP_WS_METRICS_LABEL_LEN);
    llen = ngx_min(clcf->name.len, NGX_HTTP_WS_METRICS_LABEL_LEN);

    ngx_shmtx_lock(&ngx_http_ws_metrics_zone->shpool->mutex);

    for (i = 1; i < shm->nlocations; i++) {
        server = &shm->servers[i];
        location = &shm->locations[i];

        if (server->len == slen && location->len == llen
            && ngx_memcmp(server->data, cscf->server_name.data, slen) == 0
            && ngx_memcmp(location->data, clcf->name.data, llen) == 0)
        {
            break;
        }
    }

    if (i == shm->nlocations) {
        if (i < NGX_HTTP_WS_METRICS_LOCATIONS) {
            shm->servers[i].len = (u_char) slen;
            ngx_memcpy(shm->servers[i].data, cscf->server_name.data, slen);
            shm->locations[i].len = (u_char) llen;
            ngx_memcpy(shm->locations[i].data, clcf->name.data, llen);
            shm->nlocations++;

        } else {
            i = 0;
        }
    }

    ngx_shmtx_unlock(&ngx_http_ws_metrics_zone->shpool->mutex);

    wscf->metrics_location = i + 1;

    return i;
}


/* The (server, location) label index of a request of a ws_listen location */
ngx_uint_t
ngx_http_ws_metrics_location_of(ngx_http_request_t *r)
{
    return ngx_http_ws_metrics_location(r,
                          ngx_http_get_module_loc_conf(r, ngx_http_ws_module));
}


void
ngx_http_ws_metrics_session_start(ngx_http_ws_session_t *ws)
{
    ngx_uint_t  loc;

    loc = ngx_http_ws_metrics_location(ws->request, ws->conf);

    ngx_http_ws_metrics_handshake(NGX_HTTP_SWITCHING_PROTOCOLS);
    ngx_http_ws_metrics->connections[loc]++;
    ngx_http_ws_metrics->upgrades[loc]++;

    ws->counted = 1;
}


/* From the finalizer or, if the request ends some other way, cleanup. */
void
ngx_http_ws_metrics_session_end(ngx_http_ws_session_t *ws)
{
    ngx_uint_t  code;

    if (!ws->counted) {
        return;
    }

    ws->counted = 0;

    ngx_http_ws_metrics->connections[ws->conf->metrics_location - 1]--;

    code = ws->core ? wscore_session_close_code(ws->core)
                    : WSCORE_CLOSE_ABNORMAL;

    ngx_http_ws_metrics->closes[ws->closed_by]
                               [ngx_http_ws_metrics_close_index(code)]++;
}


static ngx_uint_t
ngx_http_ws_metrics_close_index(ngx_uint_t code)
{
    if (code >= 1000 && code <= 1015) {
        return code - 1000;
    }

    if (code >= 3000 && code <= 3999) {
        return 16;
    }

    if (code >= 4000 && code <= 4999) {
        return 17;
    }

    return 18;
}


/* The first close frame decides; later ones are the answer to it. */
void
ngx_http_ws_metrics_closed_by(ngx_http_ws_session_t *ws, ngx_uint_t who)
{
    if (ws->closed_by == NGX_HTTP_WS_CLOSED_BY_NONE) {
        ws->closed_by = who;
    }
}


NGX_HTTP_WS_HOT
void
ngx_http_ws_metrics_event(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_uint_t  reason;

    switch (ev->type) {

    case WSCORE_EVENT_MESSAGE:
        ngx_http_ws_metrics->messages[NGX_HTTP_WS_IN]
            [ev->opcode == WSCORE_OP_TEXT ? NGX_HTTP_WS_OP_TEXT
                                          : NGX_HTTP_WS_OP_BINARY]++;
        break;

    case WSCORE_EVENT_FRAGMENT:
        /* a streamed message counts once, at its first piece */
        if (ev->first) {
            ngx_http_ws_metrics->messages[NGX_HTTP_WS_IN]
                [ev->opcode == WSCORE_OP_TEXT ? NGX_HTTP_WS_OP_TEXT
                                              : NGX_HTTP_WS_OP_BINARY]++;
        }

        break;

    case WSCORE_EVENT_PONG:
        ngx_http_ws_metrics->pongs_received++;
        break;

    case WSCORE_EVENT_CLOSE:
        ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_CLIENT);
        break;

    case WSCORE_EVENT_ERROR:
        ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_SERVER);

        switch (ev->close_code) {
        case WSCORE_CLOSE_PROTOCOL_ERROR:
            reason = NGX_HTTP_WS_REJECT_PROTOCOL;
            break;
        case WSCORE_CLOSE_INVALID_PAYLOAD:
            reason = NGX_HTTP_WS_REJECT_UTF8;
            break;
        case WSCORE_CLOSE_MESSAGE_TOO_BIG:
            reason = NGX_HTTP_WS_REJECT_TOO_BIG;
            break;
        default:
            reason = NGX_HTTP_WS_REJECT_OTHER;
            break;
        }

        ngx_http_ws_metrics->rejected[reason]++;
        break;

    default: /* WSCORE_EVENT_NONE, WSCORE_EVENT_PING */
        break;
    }
}


void
ngx_http_ws_metrics_timer(ngx_http_ws_session_t *ws,
    wscore_timer_result_e result)
{
    switch (result) {

    case WSCORE_TIMER_PING_SENT:
        ngx_http_ws_metrics->pings_sent++;
        break;

    case WSCORE_TIMER_UNRESPONSIVE:
        ngx_http_ws_metrics->ping_timeouts++;
        ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_SERVER);
        break;

    case WSCORE_TIMER_IDLE:
        ngx_http_ws_metrics->idle_timeouts++;
        ngx_http_ws_metrics_closed_by(ws, NGX_HTTP_WS_CLOSED_BY_SERVER);
        break;

    default:
        break;
    }
}


/*
 * An entry left the output queue whole: its frame, or the frames of a
 * cork (all alike in their first byte, queued in the same millisecond).
 * Data frames count as messages out (the module sends each message as one
 * frame) and give the send delay: for echo, the time from receiving a
 * message to writing the reply.
 */
NGX_HTTP_WS_HOT
void
ngx_http_ws_metrics_frame_sent(ngx_http_ws_out_t *out)
{
    ngx_uint_t  opcode;

    opcode = out->frame->data[0] & 0x0f;

    if (opcode != WSCORE_OP_TEXT && opcode != WSCORE_OP_BINARY) {
        return;
    }

    ngx_http_ws_metrics->messages[NGX_HTTP_WS_OUT]
        [opcode == WSCORE_OP_TEXT ? NGX_HTTP_WS_OP_TEXT
                                  : NGX_HTTP_WS_OP_BINARY] += out->frames;

    ngx_http_ws_metrics_observe(&ngx_http_ws_metrics->send_delay,
                                ngx_current_msec - out->queued, out->frames);
}


/*
 * The class of a channel: its name up to the first ':' ("room" of
 * "room:lobby", "conn" of "conn:17"), or the whole name without one.
 */
static ngx_uint_t
ngx_http_ws_metrics_class(u_char *name, size_t len)
{
    u_char                     *colon;
    ngx_uint_t                  i;
    ngx_http_ws_metrics_shm_t  *shm;

    shm = ngx_http_ws_metrics_shm;

    if (shm == NULL) {
        return 0;
    }

    colon = ngx_strlchr(name, name + len, ':');

    if (colon) {
        len = colon - name;
    }

    len = ngx_min(len, NGX_HTTP_WS_METRICS_CLASS_LEN);

    for ( ;; ) {
        for (i = 1; i < shm->nclasses; i++) {
            if (shm->classes[i].len == len
                && ngx_memcmp(shm->classes[i].data, name, len) == 0)
            {
                return i;
            }
        }

        if (shm->nclasses >= NGX_HTTP_WS_METRICS_CLASSES) {
            return 0;
        }

        /* a new class: looked for again under the lock, then appended */
        ngx_shmtx_lock(&ngx_http_ws_metrics_zone->shpool->mutex);

        if (i == shm->nclasses && i < NGX_HTTP_WS_METRICS_CLASSES) {
            shm->classes[i].len = (u_char) len;
            ngx_memcpy(shm->classes[i].data, name, len);
            ngx_memory_barrier();
            shm->nclasses++;
            ngx_shmtx_unlock(&ngx_http_ws_metrics_zone->shpool->mutex);
            return i;
        }

        ngx_shmtx_unlock(&ngx_http_ws_metrics_zone->shpool->mutex);
    }
}


void
ngx_http_ws_metrics_published(ngx_str_t *channel, ngx_int_t rc)
{
    if (rc == NGX_OK) {
        ngx_http_ws_metrics->class_publishes
            [ngx_http_ws_metrics_class(channel->data, channel->len)]++;
    }

    ngx_http_ws_metrics->publishes
        [ngx_http_ws_zone_is_direct(channel) ? NGX_HTTP_WS_PUBLISH_DIRECT
                                                : NGX_HTTP_WS_PUBLISH_CHANNEL]
        [rc == NGX_OK ? NGX_HTTP_WS_PUBLISH_OK
                      : NGX_HTTP_WS_PUBLISH_ZONE_FULL]++;
}


/* A message reached this worker's subscribers: fan-out and its lag. */
void
ngx_http_ws_metrics_delivered(ngx_http_ws_msg_t *msg, ngx_uint_t delivered)
{
    ngx_http_ws_metrics->deliveries += delivered;
    ngx_http_ws_metrics->class_deliveries
        [ngx_http_ws_metrics_class(msg->data, msg->channel_len)] += delivered;

    ngx_http_ws_metrics_observe(&ngx_http_ws_metrics->publish_delay,
                                ngx_current_msec - msg->published, 1);
}


/* n observations of ms each; inline: once per frame sent */
static ngx_inline void
ngx_http_ws_metrics_observe(ngx_http_ws_histogram_t *h, ngx_msec_t ms,
    ngx_uint_t n)
{
    ngx_uint_t  i;

    /* the clock of another worker may be a little behind or ahead */
    if ((ngx_msec_int_t) ms < 0) {
        ms = 0;
    }

    h->count += n;
    h->sum_ms += ms * n;

    /* the usual case: within the millisecond the cached clock resolves */
    if (ms <= 1) {
        h->buckets[0] += n;
        return;
    }

    for (i = 1; i < NGX_HTTP_WS_METRICS_BUCKETS - 1; i++) {
        if (ms <= ngx_http_ws_metrics_bucket_ms[i]) {
            break;
        }
    }

    h->buckets[i] += n;
}


/*
 * Adds up every slot. The counters are read while their workers write
 * them: each 64-bit value is read whole, and the sum is as consistent as
 * a scrape needs.
 */
ngx_int_t
ngx_http_ws_metrics_sum(ngx_http_request_t *r, ngx_http_ws_metrics_sum_t *sum,
    ngx_http_ws_metrics_shm_t **shmp)
{
    uint64_t                    *dst, *src;
    ngx_uint_t                   i, j, n;
    ngx_http_ws_metrics_shm_t   *shm;
    ngx_http_ws_metrics_slot_t  *slot;

    ngx_memzero(sum, sizeof(ngx_http_ws_metrics_sum_t));

    shm = ngx_http_ws_metrics_shm;
    *shmp = shm;

    if (shm == NULL) {
        return NGX_DECLINED;
    }

    n = (sizeof(ngx_http_ws_metrics_slot_t)
         - offsetof(ngx_http_ws_metrics_slot_t, messages))
        / sizeof(uint64_t);

    dst = (uint64_t *) &sum->total.messages;

    for (i = 0; i < NGX_HTTP_WS_METRICS_SLOTS; i++) {
        slot = shm->slots[i];

        if (slot == NULL) {
            continue;
        }

        if (slot->pid) {
            sum->workers++;
        }

        src = (uint64_t *) &slot->messages;

        for (j = 0; j < n; j++) {
            dst[j] += src[j];
        }
    }

    sum->nlocations = shm->nlocations;

    for (i = 0; i < sum->nlocations; i++) {
        sum->connections += sum->total.connections[i];
    }

    return NGX_OK;
}
