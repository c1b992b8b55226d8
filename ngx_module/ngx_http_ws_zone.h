
/*
 * ngx_ws: the shared memory zone ("ws_zone"): channel registry, sequence
 * numbers and the bounded per-worker message queues that carry a publish
 * from any worker to the workers that have subscribers.
 */


#ifndef _NGX_HTTP_WS_ZONE_H_INCLUDED_
#define _NGX_HTTP_WS_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_ws_keyed_table.h"


/* Worker processes a zone serves; more worker_processes are refused. */
#define NGX_HTTP_WS_MAX_WORKERS   64

/*
 * Queue slots: one per live worker process, old ones of a reload
 * included, so two full generations fit (a slot is a process's, never a
 * worker number's: see ngx_http_ws_zone_register_worker()).
 */
#define NGX_HTTP_WS_SLOTS         (2 * NGX_HTTP_WS_MAX_WORKERS)
#define NGX_HTTP_WS_NO_SLOT       NGX_HTTP_WS_SLOTS

/* Messages waiting for one worker; past this, that worker misses them. */
#define NGX_HTTP_WS_QUEUE_LEN     4096

/*
 * A process's own publishes never fill its own queue: at this many
 * waiting, it is asked to deliver them at once (see ngx_http_ws_zone_wake_pt).
 */
#define NGX_HTTP_WS_QUEUE_FILLING (NGX_HTTP_WS_QUEUE_LEN / 2)


/* A published message in shared memory, read once by each target worker. */
typedef struct {
    ngx_uint_t                 refs;          /* workers yet to read it */
    uint64_t                   seq;
    ngx_msec_t                 published;
    u_char                     opcode;
    u_char                     json;          /* payload is a JSON value */
    u_short                    channel_len;
    size_t                     len;
    u_char                     data[1];       /* channel name, payload */
} ngx_http_ws_msg_t;

#define ngx_http_ws_msg_size(channel_len, len)                              \
    (offsetof(ngx_http_ws_msg_t, data) + (channel_len) + (len))

/* Fills a message of ngx_http_ws_msg_size() bytes, no reader yet. */
void ngx_http_ws_msg_fill(ngx_http_ws_msg_t *msg, ngx_str_t *channel,
    ngx_uint_t opcode, ngx_uint_t json, u_char *data, size_t len,
    uint64_t seq);


/*
 * One process's subscribers of a channel, kept so that the replacement of
 * a killed worker can take them off the total (the dead process cannot).
 * A short list: a channel has subscribers in a few processes at most.
 */
typedef struct ngx_http_ws_slot_count_s  ngx_http_ws_slot_count_t;

struct ngx_http_ws_slot_count_s {
    ngx_http_ws_slot_count_t  *next;
    uint32_t                   slot;
    uint32_t                   count;
};


typedef struct {
    ngx_str_node_t             sn;            /* name and crc32 */
    uint64_t                   seq;           /* last sequence number */
    ngx_uint_t                 subscribers;   /* across all workers */
    /* the slots whose process has subscribers of the channel */
    uint64_t                   slots[NGX_HTTP_WS_SLOTS / 64];
    ngx_http_ws_slot_count_t  *slot_counts;
    ngx_http_ws_msg_t        **history;       /* ring, or NULL */
    ngx_uint_t                 history_cap;
    ngx_uint_t                 history_first;
    ngx_uint_t                 history_len;
    u_char                     name[1];
} ngx_http_ws_channel_t;


typedef struct {
    ngx_pid_t                  pid;           /* worker owning the slot */
    ngx_uint_t                 head;          /* next to read */
    ngx_uint_t                 tail;          /* next to write */
    ngx_uint_t                 dropped;       /* lost to a full queue */
    ngx_uint_t                 overflowing;   /* dropped since it had room */
    ngx_http_ws_msg_t        **ring;          /* NGX_HTTP_WS_QUEUE_LEN */
} ngx_http_ws_worker_queue_t;


typedef struct {
    ngx_rbtree_t               channels;
    ngx_rbtree_node_t          sentinel;
    ngx_uint_t                 nchannels;
    ngx_http_ws_worker_queue_t workers[NGX_HTTP_WS_SLOTS];
    void                      *metrics;       /* ngx_http_ws_metrics_shm_t */
    ngx_http_ws_keyed_table_t *limits;        /* ngx_http_ws_limits.c */
    ngx_http_ws_keyed_table_t *bans;          /* ngx_http_ws_ban.c */
} ngx_http_ws_shctx_t;


typedef struct {
    ngx_http_ws_shctx_t       *sh;
    ngx_slab_pool_t           *shpool;
    ngx_uint_t                 history_max;   /* ws_channel_history */
    ngx_msec_t                 history_time;
} ngx_http_ws_zone_ctx_t;


typedef struct {
    uint64_t                   seq;
    ngx_uint_t                 subscribers;
} ngx_http_ws_channel_info_t;


char *ngx_http_ws_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/*
 * What the zone asks of the layers above it, given once per process (a
 * second call replaces the first): waking the process of a queue slot
 * whose queue turned non-empty (interprocess notification; "filling" set
 * when it is this process's own queue that reached
 * NGX_HTTP_WS_QUEUE_FILLING: its messages are to be delivered before the
 * next publish can fill it, since only this process empties it), and taking
 * back what a dead process of a slot still held in their own tables (the
 * connection caps), with the zone locked; it returns how many entries it
 * took back, for the log line.
 */
typedef void (*ngx_http_ws_zone_wake_pt)(ngx_uint_t slot,
    ngx_uint_t filling);
typedef ngx_uint_t (*ngx_http_ws_zone_repair_pt)(
    ngx_http_ws_zone_ctx_t *ctx, ngx_uint_t slot);

void ngx_http_ws_zone_on_wake(ngx_http_ws_zone_wake_pt wake);
void ngx_http_ws_zone_on_dead_slot(ngx_http_ws_zone_repair_pt repair);

/* The reserved channels of single connections: "conn:<connection id>". */
ngx_int_t ngx_http_ws_zone_is_direct(ngx_str_t *name);

/*
 * delta +1 or -1; local: this worker's subscribers of the channel after
 * the change; *seq (if not NULL) gets the channel's last sequence.
 */
ngx_int_t ngx_http_ws_zone_subscribe(ngx_shm_zone_t *zone, ngx_str_t *name,
    ngx_int_t delta, ngx_uint_t local, uint64_t *seq);

/* NGX_OK, NGX_DECLINED (zone full), NGX_ERROR; info filled on NGX_OK. */
ngx_int_t ngx_http_ws_zone_publish(ngx_shm_zone_t *zone, ngx_str_t *channel,
    ngx_uint_t opcode, ngx_uint_t json, u_char *data, size_t len,
    ngx_http_ws_channel_info_t *info);

/* The same with a sequence number given (0: the next); NGX_DONE: a dup. */
ngx_int_t ngx_http_ws_zone_publish_seq(ngx_shm_zone_t *zone,
    ngx_str_t *channel, uint64_t seq, ngx_uint_t opcode, ngx_uint_t json,
    u_char *data, size_t len, ngx_http_ws_channel_info_t *info);

/* NGX_OK, or NGX_DECLINED for an unknown channel. */
ngx_int_t ngx_http_ws_zone_channel_info(ngx_shm_zone_t *zone,
    ngx_str_t *channel, ngx_http_ws_channel_info_t *info);

/*
 * References to the kept messages of a channel numbered after "after" and
 * at most "upto", oldest first, at most n; release them with
 * ngx_http_ws_zone_release(). Returns the count.
 */
ngx_uint_t ngx_http_ws_zone_history(ngx_shm_zone_t *zone, ngx_str_t *channel,
    uint64_t after, uint64_t upto, ngx_http_ws_msg_t **msgs, ngx_uint_t n);

/*
 * Claims a queue slot for this process among the first nslots (those
 * that have an eventfd): its number, or NGX_HTTP_WS_NO_SLOT when all are
 * held by live processes. Released at exit.
 */
ngx_uint_t ngx_http_ws_zone_register_worker(ngx_shm_zone_t *zone,
    ngx_uint_t nslots);
void ngx_http_ws_zone_unregister_worker(ngx_shm_zone_t *zone);
/* This process's queue slot, or NGX_HTTP_WS_NO_SLOT. */
ngx_uint_t ngx_http_ws_zone_own_slot(void);

/*
 * The cut of a session going away: NGX_AGAIN while this worker's queue
 * holds messages (deliver them first), else NGX_OK with seqs[i] the last
 * number of names[i], taken under the same lock that found the queue
 * empty: every message numbered up to it was queued here, and delivered.
 * On NGX_OK the zone stays locked until ngx_http_ws_zone_cut_done(): no
 * publish is numbered, so none acknowledged, until the 1001 is written.
 * Nothing in between may lock the zone.
 */
ngx_int_t ngx_http_ws_zone_cut(ngx_shm_zone_t *zone, ngx_str_t *names,
    uint64_t *seqs, ngx_uint_t n);
void ngx_http_ws_zone_cut_done(ngx_shm_zone_t *zone);

/* Moves up to n queued messages of this worker into msgs; returns count. */
ngx_uint_t ngx_http_ws_zone_take(ngx_shm_zone_t *zone,
    ngx_http_ws_msg_t **msgs, ngx_uint_t n);
void ngx_http_ws_zone_release(ngx_shm_zone_t *zone,
    ngx_http_ws_msg_t **msgs, ngx_uint_t n);


#endif /* _NGX_HTTP_WS_ZONE_H_INCLUDED_ */
