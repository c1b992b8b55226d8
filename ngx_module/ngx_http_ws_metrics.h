
/*
 * ngx_ws: counters for ws_status (Prometheus text and JSON) and ws_health.
 *
 * Each worker writes its own slot of counters in the ws_zone, without a
 * lock: one writer per slot, plain adds on the hot path. A scrape sums
 * the slots of all workers. Slots are claimed by pid when a worker starts
 * and released when it exits, so the old workers of a reload and the new
 * ones never share a slot, and totals survive reloads. Without a zone the
 * hooks write to a slot of the process alone (ws_status and
 * "ws_health ready" then refuse the configuration).
 */


#ifndef _NGX_HTTP_WS_METRICS_H_INCLUDED_
#define _NGX_HTTP_WS_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <wscore.h>

#include "ngx_http_ws_capacity.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_zone.h"


/* Slots: two generations of NGX_HTTP_WS_MAX_WORKERS during a reload. */
#define NGX_HTTP_WS_METRICS_SLOTS       128

/* (server, location) labels of the connection gauge; 0 is "other". */
#define NGX_HTTP_WS_METRICS_LOCATIONS   32
#define NGX_HTTP_WS_METRICS_LABEL_LEN   120
/* Channel classes: the name up to its first ':' ("room" of "room:lobby"),
 * the first ones seen, so that a label set stays bounded. */
#define NGX_HTTP_WS_METRICS_CLASSES     16
#define NGX_HTTP_WS_METRICS_CLASS_LEN   32

/* Histogram buckets (upper bounds in ms), the last one is +Inf. */
#define NGX_HTTP_WS_METRICS_BUCKETS     12

#define NGX_HTTP_WS_IN                  0
#define NGX_HTTP_WS_OUT                 1

#define NGX_HTTP_WS_OP_TEXT             0
#define NGX_HTTP_WS_OP_BINARY           1

/* Who sent the first close frame; NONE: the TCP connection just ended. */
#define NGX_HTTP_WS_CLOSED_BY_NONE      0
#define NGX_HTTP_WS_CLOSED_BY_CLIENT    1
#define NGX_HTTP_WS_CLOSED_BY_SERVER    2
#define NGX_HTTP_WS_CLOSED_BY_N         3

/* Close codes 1000-1015 one by one, then 3xxx, 4xxx and other. */
#define NGX_HTTP_WS_CLOSE_CODES         19

/* Handshake statuses counted one by one; the last entry is "other". */
#define NGX_HTTP_WS_HANDSHAKE_STATUSES  13

/* Why a client's frame failed the connection (the close code we sent). */
#define NGX_HTTP_WS_REJECT_PROTOCOL     0       /* 1002 */
#define NGX_HTTP_WS_REJECT_UTF8         1       /* 1007 */
#define NGX_HTTP_WS_REJECT_TOO_BIG      2       /* 1009 */
#define NGX_HTTP_WS_REJECT_OTHER        3
#define NGX_HTTP_WS_REJECT_N            4

#define NGX_HTTP_WS_PUBLISH_CHANNEL     0
#define NGX_HTTP_WS_PUBLISH_DIRECT      1

/* Backend hook calls (ngx_http_ws_backend*.c): by hook, and by the class
 * of the answer: 2xx, 4xx, 5xx (NGINX's own 502 and 504 too), other. */
#define NGX_HTTP_WS_BACKEND_CONNECT     0
#define NGX_HTTP_WS_BACKEND_CLOSE       1
#define NGX_HTTP_WS_BACKEND_MESSAGE     2
#define NGX_HTTP_WS_BACKEND_SUBSCRIBE   3
#define NGX_HTTP_WS_BACKEND_HOOKS       4
#define NGX_HTTP_WS_BACKEND_RESULTS     5

/* The proxy (ws_proxy_pass), by location: connects to an upstream peer,
 * and how the upstream's handshake ended for the client. */
#define NGX_HTTP_WS_PROXY_CONNECT_OK        0
#define NGX_HTTP_WS_PROXY_CONNECT_FAILED    1
#define NGX_HTTP_WS_PROXY_HANDSHAKE_101     0
#define NGX_HTTP_WS_PROXY_HANDSHAKE_4XX     1   /* its refusal, relayed */
#define NGX_HTTP_WS_PROXY_HANDSHAKE_5XX     2
#define NGX_HTTP_WS_PROXY_HANDSHAKE_INVALID 3   /* an unusable answer: 502 */
#define NGX_HTTP_WS_PROXY_HANDSHAKE_UNREACHABLE 4  /* no peer answered: 502 */
#define NGX_HTTP_WS_PROXY_HANDSHAKE_TIMEOUT 5   /* 504 */
#define NGX_HTTP_WS_PROXY_HANDSHAKE_ERROR   6   /* ours: 500 */
#define NGX_HTTP_WS_PROXY_HANDSHAKE_N       7
#define NGX_HTTP_WS_TO_UPSTREAM             0
#define NGX_HTTP_WS_FROM_UPSTREAM           1

#define NGX_HTTP_WS_PUBLISH_OK          0
#define NGX_HTTP_WS_PUBLISH_ZONE_FULL   1


typedef struct {
    uint64_t                   buckets[NGX_HTTP_WS_METRICS_BUCKETS];
    uint64_t                   count;
    uint64_t                   sum_ms;
} ngx_http_ws_histogram_t;


/* One worker's counters; only that worker writes them. */
typedef struct {
    ngx_pid_t                  pid;             /* 0: free */

    /* this worker's alone: the sum starts after it, at "messages" */
    ngx_http_ws_capacity_t     capacity;

    /*
     * Counted per message: together at the slot's start, a few cache lines
     * of one page rather than lines on pages apart.
     */
    uint64_t                   messages[2][2];  /* direction, opcode */
    uint64_t                   bytes[2];        /* direction */
    ngx_http_ws_histogram_t    send_delay;      /* queued to written */
    uint64_t                   uring_operations; /* ws_io_uring: writes */
    uint64_t                   uring_submissions; /* and system calls */

    int64_t                    connections[NGX_HTTP_WS_METRICS_LOCATIONS];
    uint64_t                   upgrades[NGX_HTTP_WS_METRICS_LOCATIONS];
    uint64_t                   handshakes[NGX_HTTP_WS_HANDSHAKE_STATUSES];
    uint64_t                   closes[NGX_HTTP_WS_CLOSED_BY_N]
                                     [NGX_HTTP_WS_CLOSE_CODES];
    uint64_t                   rejected[NGX_HTTP_WS_REJECT_N];
    uint64_t                   pings_sent;
    uint64_t                   pongs_received;
    uint64_t                   ping_timeouts;
    uint64_t                   idle_timeouts;
    uint64_t                   backpressure_pauses;
    uint64_t                   slow_consumer_drops;
    uint64_t                   slow_consumer_closes;
    uint64_t                   publishes[2][2]; /* kind, result */
    uint64_t                   deliveries;
    uint64_t                   class_publishes[NGX_HTTP_WS_METRICS_CLASSES];
    uint64_t                   class_deliveries[NGX_HTTP_WS_METRICS_CLASSES];
    uint64_t                   rate_limited;    /* ws_limit_rate hits */
    uint64_t                   bans;            /* ws_ban: bans started */
    uint64_t                   ban_refused;     /* ... upgrades refused */
    uint64_t                   redis_up;        /* 1: publish link is up */
    uint64_t                   redis_disconnects;
    uint64_t                   redis_refused;   /* publishes, Redis down */
    uint64_t                   backend_calls[NGX_HTTP_WS_BACKEND_HOOKS]
                                            [NGX_HTTP_WS_BACKEND_RESULTS];

    uint64_t                   proxy_connects[NGX_HTTP_WS_METRICS_LOCATIONS]
                                             [2];
    uint64_t                   proxy_handshakes[NGX_HTTP_WS_METRICS_LOCATIONS]
                                       [NGX_HTTP_WS_PROXY_HANDSHAKE_N];
    uint64_t                   proxy_messages[NGX_HTTP_WS_METRICS_LOCATIONS]
                                             [2];  /* to, from upstream */
    uint64_t                   proxy_bytes[NGX_HTTP_WS_METRICS_LOCATIONS]
                                          [2];
    /* by who closed first: NGX_HTTP_WS_PROXY_CLOSED_* */
    uint64_t                   proxy_closes[NGX_HTTP_WS_METRICS_LOCATIONS]
                                           [3];
    ngx_http_ws_histogram_t    publish_delay;   /* publish to fan-out */
} ngx_http_ws_metrics_slot_t;


typedef struct {
    u_char                     len;
    u_char                     data[NGX_HTTP_WS_METRICS_LABEL_LEN];
} ngx_http_ws_metrics_label_t;


typedef struct {
    u_char                     len;
    u_char                     data[NGX_HTTP_WS_METRICS_CLASS_LEN];
} ngx_http_ws_metrics_class_t;


/* In the ws_zone; created by the first worker that starts. */
typedef struct {
    ngx_uint_t                 nlocations;
    ngx_http_ws_metrics_label_t  servers[NGX_HTTP_WS_METRICS_LOCATIONS];
    ngx_http_ws_metrics_label_t  locations[NGX_HTTP_WS_METRICS_LOCATIONS];
    /* class 0 gathers the classes past the table; appended under the
     * zone mutex, read without it (a class is written before counted) */
    ngx_uint_t                 nclasses;
    ngx_http_ws_metrics_class_t  classes[NGX_HTTP_WS_METRICS_CLASSES];
    ngx_http_ws_metrics_slot_t  *slots[NGX_HTTP_WS_METRICS_SLOTS];
} ngx_http_ws_metrics_shm_t;


/* The sum of every slot, made at scrape time. */
typedef struct {
    ngx_http_ws_metrics_slot_t   total;
    ngx_uint_t                   nlocations;
    ngx_uint_t                   workers;       /* slots in use */
    int64_t                      connections;   /* all locations */
} ngx_http_ws_metrics_sum_t;


/* Never NULL: the slot of this worker, or one of the process alone. */
extern ngx_http_ws_metrics_slot_t  *ngx_http_ws_metrics;

extern const ngx_uint_t  ngx_http_ws_metrics_bucket_ms[];
extern const ngx_uint_t  ngx_http_ws_handshake_statuses[];


#define ngx_http_ws_metric_inc(field)      ngx_http_ws_metrics->field++
#define ngx_http_ws_metric_add(field, n)   ngx_http_ws_metrics->field += (n)


ngx_int_t ngx_http_ws_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_ws_metrics_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_metrics_exit_process(ngx_cycle_t *cycle);
void ngx_http_ws_metrics_session_start(ngx_http_ws_session_t *ws);
ngx_uint_t ngx_http_ws_metrics_location_of(ngx_http_request_t *r);
void ngx_http_ws_metrics_session_end(ngx_http_ws_session_t *ws);
void ngx_http_ws_metrics_event(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
void ngx_http_ws_metrics_timer(ngx_http_ws_session_t *ws,
    wscore_timer_result_e result);
void ngx_http_ws_metrics_closed_by(ngx_http_ws_session_t *ws,
    ngx_uint_t who);
void ngx_http_ws_metrics_frame_sent(ngx_http_ws_out_t *out);
void ngx_http_ws_metrics_published(ngx_str_t *channel, ngx_int_t rc);
void ngx_http_ws_metrics_delivered(ngx_http_ws_msg_t *msg,
    ngx_uint_t delivered);
ngx_int_t ngx_http_ws_metrics_sum(ngx_http_request_t *r,
    ngx_http_ws_metrics_sum_t *sum, ngx_http_ws_metrics_shm_t **shm);


#endif /* _NGX_HTTP_WS_METRICS_H_INCLUDED_ */
