
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


/* Worker slots a zone serves; more worker_processes are refused. */
#define NGX_HTTP_WS_MAX_WORKERS   64

/* Messages waiting for one worker; past this, that worker misses them. */
#define NGX_HTTP_WS_QUEUE_LEN     4096


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


typedef struct {
    ngx_str_node_t             sn;            /* name and crc32 */
    uint64_t                   seq;           /* last sequence number */
    ngx_uint_t                 subscribers;   /* across all workers */
    uint32_t                   per_worker[NGX_HTTP_WS_MAX_WORKERS];
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
    ngx_http_ws_msg_t        **ring;          /* NGX_HTTP_WS_QUEUE_LEN */
} ngx_http_ws_worker_queue_t;


typedef struct {
    ngx_rbtree_t               channels;
    ngx_rbtree_node_t          sentinel;
    ngx_uint_t                 nchannels;
    ngx_http_ws_worker_queue_t workers[NGX_HTTP_WS_MAX_WORKERS];
    void                      *metrics;       /* ngx_http_ws_metrics_shm_t */
    void                      *limits;        /* ngx_http_ws_limits.c */
    void                      *bans;          /* ngx_http_ws_ban.c */
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

/* The reserved channels of single connections: "conn:<connection id>". */
ngx_int_t ngx_http_ws_zone_is_direct(ngx_str_t *name);

/* delta +1 or -1; *seq (if not NULL) gets the channel's last sequence. */
ngx_int_t ngx_http_ws_zone_subscribe(ngx_shm_zone_t *zone, ngx_str_t *name,
    ngx_int_t delta, uint64_t *seq);

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

ngx_int_t ngx_http_ws_zone_register_worker(ngx_shm_zone_t *zone);

/* Moves up to n queued messages of this worker into msgs; returns count. */
ngx_uint_t ngx_http_ws_zone_take(ngx_shm_zone_t *zone,
    ngx_http_ws_msg_t **msgs, ngx_uint_t n);
void ngx_http_ws_zone_release(ngx_shm_zone_t *zone,
    ngx_http_ws_msg_t **msgs, ngx_uint_t n);


#endif /* _NGX_HTTP_WS_ZONE_H_INCLUDED_ */
