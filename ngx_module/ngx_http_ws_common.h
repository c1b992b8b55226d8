
/*
 * ngx_ws: a WebSocket listener for NGINX.
 *
 * What every file of the WebSocket module shares: its main and location
 * configuration (set by the directives of ngx_http_ws_module.c), the
 * module itself, and the names of the types the files pass around. Each
 * file declares what it exports in a header of its own name; this one
 * has no file of its own, as ngx_http_lua_common.h has none. The protocol
 * work is done by the C++ core behind wscore.h; these files own I/O,
 * lifetime and configuration.
 */


#ifndef _NGX_HTTP_WS_COMMON_H_INCLUDED_
#define _NGX_HTTP_WS_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <wscore.h>

#include "ngx_http_ws_conf.h"


/* Longest channel name (the zone stores its length in 16 bits). */
#define NGX_HTTP_WS_MAX_CHANNEL_LEN  255

#define NGX_HTTP_WS_SLOW_CONSUMER_CLOSE  0
#define NGX_HTTP_WS_SLOW_CONSUMER_DROP   1

#define NGX_HTTP_WS_PROTOCOL_RAW   0
#define NGX_HTTP_WS_PROTOCOL_JSON  1


/*
 * A non-blocking connect's outcome, for the module's own clients (Redis,
 * the proxy's upstream, the hooks' direct calls): the socket's pending
 * error, 0 once connected.
 */
static ngx_inline ngx_err_t
ngx_http_ws_connect_error(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    return err;
}


/*
 * The types the files of the module pass around, defined in their own
 * headers (ngx_http_ws_session.h, ngx_http_ws_log_record.c,
 * ngx_http_ws_health.c, ngx_http_ws_deflate.h), as ngx_core.h names
 * NGINX's.
 */
typedef struct ngx_http_ws_session_s        ngx_http_ws_session_t;
typedef struct ngx_http_ws_handler_s        ngx_http_ws_handler_t;
typedef struct ngx_http_ws_log_record_s     ngx_http_ws_log_record_t;
typedef struct ngx_http_ws_health_conf_s    ngx_http_ws_health_conf_t;
typedef struct ngx_http_ws_deflate_cache_s  ngx_http_ws_deflate_cache_t;


/*
 * The features' session hooks (ngx_http_ws_hooks_t *), in the order they
 * registered; the hooks called for every message or read pass also sit in
 * lists of their own, holding only the features that set them, so the hot
 * path visits no NULL hook.
 */
typedef struct {
    ngx_array_t                all;
    ngx_array_t                message;
    ngx_array_t                reads_stopped;
} ngx_http_ws_hook_set_t;


typedef struct {
    ngx_shm_zone_t            *zone;             /* ws_zone */
    ngx_http_ws_conf_need_t    zone_need;        /* its first user */
    ngx_uint_t                 history_max;      /* ws_channel_history */
    ngx_msec_t                 history_time;
    ngx_http_ws_hook_set_t     hooks;
    /* the largest ws_max_connections, and where: checked at start */
    ngx_uint_t                 max_connections;
    ngx_http_ws_conf_where_t   max_connections_where;
    ngx_flag_t                 io_uring;         /* ws_io_uring */
} ngx_http_ws_main_conf_t;


typedef struct {
    ngx_flag_t                 enabled;          /* ws_listen */
    ngx_flag_t                 echo;             /* ws_echo */
    size_t                     max_message_size;
    size_t                     max_frame_size;
    ngx_http_ws_conf_where_t   max_frame_size_where;
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
    ngx_http_ws_conf_where_t   protocol_where;
    ngx_array_t               *channels_allow;   /* patterns, ngx_str_t */
    ngx_uint_t                 max_subscriptions;
    ngx_uint_t                 metrics_location; /* label index + 1 */
    ngx_http_ws_health_conf_t *health;           /* ws_health */
    ngx_http_ws_handler_t     *handler;          /* what messages get */

    /* permessage-deflate (ws_deflate*) */
    ngx_flag_t                 deflate;
    ngx_http_ws_conf_where_t   deflate_where;
    ngx_uint_t                 deflate_server_max_window_bits;
    ngx_uint_t                 deflate_client_max_window_bits;
    ngx_flag_t                 deflate_server_no_context_takeover;
    ngx_uint_t                 deflate_level;
    ngx_uint_t                 deflate_mem_level;
    size_t                     deflate_min_size;
} ngx_http_ws_loc_conf_t;


/* main_conf[] of a request, for code that runs without one */
#define ngx_http_ws_main_conf_of(main_conf, module)                          \
    ((main_conf)[module.ctx_index])
#define ngx_http_ws_session_main_conf(ws, module)                            \
    ((ws)->main_conf[module.ctx_index])
#define ngx_http_ws_session_loc_conf(ws, module)                             \
    ((ws)->loc_conf[module.ctx_index])


extern ngx_module_t  ngx_http_ws_module;


#endif /* _NGX_HTTP_WS_COMMON_H_INCLUDED_ */
