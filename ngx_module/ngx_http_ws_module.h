
/*
 * ngx_ws: a WebSocket listener for NGINX.
 *
 * Types shared by the files of the module: the location configuration and
 * the per-connection session. The protocol work is done by the C++ core
 * behind wscore.h; these files own I/O, lifetime and configuration.
 */


#ifndef _NGX_HTTP_WS_MODULE_H_INCLUDED_
#define _NGX_HTTP_WS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <wscore.h>

#include "ngx_http_ws_zone.h"
#include "ngx_http_ws_metrics.h"


/* Longest channel name (the zone stores its length in 16 bits). */
#define NGX_HTTP_WS_MAX_CHANNEL_LEN  255

#define NGX_HTTP_WS_SLOW_CONSUMER_CLOSE  0
#define NGX_HTTP_WS_SLOW_CONSUMER_DROP   1

#define NGX_HTTP_WS_PROTOCOL_RAW   0
#define NGX_HTTP_WS_PROTOCOL_JSON  1


typedef struct {
    ngx_shm_zone_t            *zone;             /* ws_zone */
    ngx_uint_t                 channels_used;
    ngx_str_t                  channels_file;    /* where, for the error */
    ngx_uint_t                 channels_line;
    ngx_str_t                  status_file;      /* ws_status, ws_health */
    ngx_uint_t                 status_line;      /* ready: needs ws_zone */
    ngx_uint_t                 history_max;      /* ws_channel_history */
    ngx_msec_t                 history_time;
} ngx_http_ws_main_conf_t;


typedef struct ngx_http_ws_health_conf_s  ngx_http_ws_health_conf_t;


typedef struct {
    ngx_flag_t                 enabled;          /* ws_listen */
    ngx_flag_t                 echo;             /* ws_echo */
    size_t                     max_message_size;
    size_t                     max_frame_size;
    size_t                     send_buffer;
    ngx_msec_t                 ping_interval;
    ngx_uint_t                 ping_max_missed;
    ngx_msec_t                 idle_timeout;
    ngx_msec_t                 close_timeout;
    ngx_str_t                  fallback;         /* uri or @name */
    ngx_array_t               *subscribe;        /* complex values */
    ngx_http_complex_value_t  *publish;
    ngx_http_complex_value_t  *publisher;        /* ws_publisher */
    ngx_uint_t                 slow_consumer;
    ngx_uint_t                 protocol;         /* ws_protocol */
    ngx_array_t               *channels_allow;   /* patterns, ngx_str_t */
    ngx_uint_t                 max_subscriptions;
    ngx_uint_t                 metrics_location; /* label index + 1 */
    ngx_http_ws_health_conf_t *health;           /* ws_health */

    /* permessage-deflate (ws_deflate*) */
    ngx_flag_t                 deflate;
    ngx_uint_t                 deflate_server_max_window_bits;
    ngx_uint_t                 deflate_client_max_window_bits;
    ngx_flag_t                 deflate_server_no_context_takeover;
    ngx_uint_t                 deflate_level;
    ngx_uint_t                 deflate_mem_level;
    size_t                     deflate_min_size;
} ngx_http_ws_loc_conf_t;


/*
 * A frame ready for the wire, shared by every connection it is queued on:
 * encoded once, reference counted, freed by the last sender.
 */
typedef struct {
    ngx_uint_t                 refs;
    size_t                     len;
    u_char                     data[1];
} ngx_http_ws_frame_t;


/*
 * Compressed forms of one message made during one delivery, by compressor
 * settings: subscribers without server context takeover share them.
 */
#define NGX_HTTP_WS_DEFLATE_CACHE  4

typedef struct {
    ngx_uint_t                 key[NGX_HTTP_WS_DEFLATE_CACHE];
    ngx_http_ws_frame_t       *frame[NGX_HTTP_WS_DEFLATE_CACHE];
    ngx_uint_t                 n;
} ngx_http_ws_deflate_cache_t;


typedef struct ngx_http_ws_out_s  ngx_http_ws_out_t;

struct ngx_http_ws_out_s {
    ngx_http_ws_out_t         *next;
    ngx_http_ws_frame_t       *frame;
    size_t                     pos;              /* bytes already sent */
    ngx_msec_t                 queued;           /* for the send delay */
};


/*
 * A channel a session receives, with the channel's sequence number when
 * it subscribed: messages at or before it were published earlier and are
 * not for this subscriber, even if a worker queue delivers them late. The
 * router keeps the same number per subscription and does the filtering.
 */
typedef struct {
    ngx_str_t                  name;
    uint64_t                   since;
    ngx_uint_t                 resuming;         /* a Redis replay's token */
    unsigned                   heap:1;           /* name from ngx_alloc */
} ngx_http_ws_subscription_t;


/* main_conf[] of a request, for code that runs without one */
#define ngx_http_ws_main_conf_of(main_conf, module)                          \
    ((main_conf)[module.ctx_index])
#define ngx_http_ws_session_main_conf(ws, module)                            \
    ((ws)->main_conf[module.ctx_index])
#define ngx_http_ws_session_loc_conf(ws, module)                             \
    ((ws)->loc_conf[module.ctx_index])


/* ngx_http_ws_log_record.c: what the access-log line needs at close */
typedef struct ngx_http_ws_log_record_s  ngx_http_ws_log_record_t;


/* c->data of a detached session: not NGX_HTTP_MODULE, the request's */
#define NGX_HTTP_WS_SESSION_SIGNATURE  0x5357474E  /* "NGWS" */


typedef struct {
    /* first, as in ngx_http_request_t: c->data may be either */
    uint32_t                   signature;

    /* beside the signature, in the 4 bytes its alignment leaves */
    unsigned                   upgraded:1;
    unsigned                   subscribed:1;     /* in the router and zone */
    unsigned                   paused:1;         /* back-pressure */
    unsigned                   backlogged:1;     /* paused, not yet drained */
    unsigned                   shutting_down:1;
    unsigned                   finalized:1;
    unsigned                   flush_posted:1;
    unsigned                   counted:1;        /* in the metrics gauge */
    unsigned                   closed_by:2;      /* NGX_HTTP_WS_CLOSED_BY */
    unsigned                   deflate_on:1;
    unsigned                   detach_later:1;   /* put off, not refused */

    ngx_http_request_t        *request;          /* NULL once detached */
    ngx_connection_t          *connection;
    ngx_http_ws_log_record_t  *log_record;

    /*
     * Configuration and guard state, from the request while there is one,
     * then kept here: the request is freed once the 101 is out (idle memory).
     */
    void                     **main_conf;
    void                     **loc_conf;
    void                      *security_ctx;     /* once detached */
    ngx_pool_cleanup_t        *request_cleanup;  /* in r->pool until then */
    wscore_session_t          *core;
    ngx_http_ws_loc_conf_t    *conf;

    /* queued output: a list of (frame, offset), oldest first */
    ngx_http_ws_out_t         *out;
    ngx_http_ws_out_t        **out_last;
    size_t                     out_bytes;

    /* the one timer of this connection, at the core's next deadline */
    ngx_event_t                timer;
    /* a deadline of a guard (token expiry), kept by the same timer */
    ngx_msec_t                 guard_at;
    void                     (*guard)(void *session);

    /*
     * Frees the request (detach) or ends the session (finalize) after the
     * current handler has returned.
     */
    ngx_event_t                finalizer;

    ngx_msec_t                 start;
    uint64_t                   messages_in;
    uint64_t                   messages_out;
    uint64_t                   bytes_in;
    uint64_t                   bytes_out;
    off_t                      sent_at_upgrade;
    ngx_uint_t                 close_code;
    ngx_msec_t                 duration;

    ngx_array_t               *subscriptions;    /* of subscription_t */
    ngx_str_t                  publish;          /* channel, or empty */
    ngx_str_t                  direct;           /* "conn:<id>" */
    u_char                     direct_name[sizeof("conn:") + NGX_ATOMIC_T_LEN];
    uint64_t                   dropped;          /* slow-consumer drops */

    /* permessage-deflate, when negotiated */
    wscore_deflate_params_t    deflate;
    wscore_deflater_t         *deflater;         /* own, context takeover */

    /* backend hooks: ngx_http_ws_backend_state_t, where a hook is set */
    void                      *backend;
} ngx_http_ws_session_t;


extern ngx_module_t  ngx_http_ws_module;


/* ngx_http_ws_handshake.c */
ngx_int_t ngx_http_ws_handshake(ngx_http_request_t *r);

/*
 * ngx_http_ws_header_list.c: every occurrence of a request header, or the
 * elements of a list-valued one
 */
typedef struct {
    ngx_list_part_t           *part;
    ngx_uint_t                 i;
    u_char                    *p;
    u_char                    *last;
    ngx_str_t                  name;
} ngx_http_ws_header_list_t;

void ngx_http_ws_header_list_init(ngx_http_ws_header_list_t *list,
    ngx_http_request_t *r, const char *name);
ngx_table_elt_t *ngx_http_ws_header_list_next_header(
    ngx_http_ws_header_list_t *list);
ngx_uint_t ngx_http_ws_header_list_next(ngx_http_ws_header_list_t *list,
    ngx_str_t *element);

/* ngx_http_ws_session.c */
ngx_http_ws_session_t *ngx_http_ws_session_create(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf);
ngx_int_t ngx_http_ws_session_start(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_session_push(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_session_close(ngx_http_ws_session_t *ws, ngx_uint_t code,
    const char *reason);
void ngx_http_ws_session_set_guard(ngx_http_ws_session_t *ws,
    ngx_msec_t delay, void (*guard)(void *session));
void ngx_http_ws_session_retry_detach(ngx_http_ws_session_t *ws);

/* ngx_http_ws_channels.c */
ngx_int_t ngx_http_ws_channels_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_channels_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_ws_channel_is_direct(ngx_str_t *name);
ngx_http_ws_log_record_t *ngx_http_ws_log_record_take(ngx_http_request_t *r);
void ngx_http_ws_log_record_write(ngx_http_ws_log_record_t *rec,
    ngx_connection_t *c, ngx_http_ws_session_t *ws, void *security_ctx);

ngx_int_t ngx_http_ws_channels_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_channels_subscribe(ngx_http_ws_session_t *ws);
void ngx_http_ws_channels_unsubscribe(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_channels_publish(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_channel_info_t *info);
ngx_int_t ngx_http_ws_channels_detach(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_channels_add(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t copy, uint64_t *since);
ngx_int_t ngx_http_ws_channels_remove(ngx_http_ws_session_t *ws,
    ngx_str_t *name);
ngx_int_t ngx_http_ws_channel_allowed(ngx_http_ws_loc_conf_t *wscf,
    ngx_str_t *name);

ngx_http_ws_frame_t *ngx_http_ws_channels_envelope(ngx_http_ws_msg_t *msg);

/* ngx_http_ws_history.c */
char *ngx_http_ws_channel_history(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_history_resume(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t since);
void ngx_http_ws_history_replay(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t last_seq, uint64_t since, wscore_str_t *ack);

/* ngx_http_ws_channels.c: a subscription held back during a replay */
ngx_int_t ngx_http_ws_channels_hold(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t token);
ngx_int_t ngx_http_ws_channels_go_live(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t token, uint64_t since);

/* ngx_http_ws_control.c */
wscore_ctl_parser_t *ngx_http_ws_control_parser(void);
void ngx_http_ws_control_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
void ngx_http_ws_control_ack(ngx_http_ws_session_t *ws, wscore_str_t id,
    uint64_t seq);
void ngx_http_ws_channels_deliver(ngx_http_ws_msg_t *msg);

/* ngx_http_ws_response.c */
ngx_int_t ngx_http_ws_send_response(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, ngx_buf_t *b);

/* ngx_http_ws_publisher.c */
ngx_int_t ngx_http_ws_publisher_handler(ngx_http_request_t *r);

/* ngx_http_ws_deflate.c */
ngx_int_t ngx_http_ws_queue_message(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_deflate_cache_release(ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_deflate_cleanup(ngx_http_ws_session_t *ws);
void ngx_http_ws_deflate_exit_process(ngx_cycle_t *cycle);

/* ngx_http_ws_output.c */
ngx_http_ws_frame_t *ngx_http_ws_frame_create(ngx_log_t *log,
    wscore_opcode_e opcode, const u_char *payload, size_t len);
ngx_http_ws_frame_t *ngx_http_ws_frame_alloc(ngx_log_t *log,
    wscore_opcode_e opcode, size_t len, u_char **payload);
ngx_http_ws_frame_t *ngx_http_ws_frame_alloc_compressed(ngx_log_t *log,
    wscore_opcode_e opcode, size_t len, u_char **payload);
void ngx_http_ws_frame_release(ngx_http_ws_frame_t *frame);
ngx_int_t ngx_http_ws_queue_frame(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
ngx_int_t ngx_http_ws_queue_bytes(ngx_http_ws_session_t *ws,
    const u_char *data, size_t len);
ngx_int_t ngx_http_ws_flush(ngx_http_ws_session_t *ws);
void ngx_http_ws_out_free(ngx_http_ws_session_t *ws);
void ngx_http_ws_output_exit_process(ngx_cycle_t *cycle);

/* ngx_http_ws_metrics.c, ngx_http_ws_status.c, ngx_http_ws_health.c */
ngx_int_t ngx_http_ws_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_ws_metrics_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_metrics_exit_process(ngx_cycle_t *cycle);
void ngx_http_ws_metrics_session_start(ngx_http_ws_session_t *ws);
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
char *ngx_http_ws_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_ws_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_http_ws_variables.c */
ngx_int_t ngx_http_ws_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_WS_MODULE_H_INCLUDED_ */
