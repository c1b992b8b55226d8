
/*
 * ngx_ws: how close a worker is to the limits that bound its WebSockets:
 * open descriptors against RLIMIT_NOFILE (worker_rlimit_nofile), NGINX
 * connections in use against worker_connections. Each worker writes its
 * own figures into its metrics slot once a second (ws_status shows them
 * per worker, "ws_health ready" can turn 503 near them), and at start a
 * warning says when those limits cannot hold the ws_max_connections of
 * the configuration.
 */


#ifndef _NGX_HTTP_WS_CAPACITY_H_INCLUDED_
#define _NGX_HTTP_WS_CAPACITY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* One worker's figures, in its metrics slot; never summed over workers. */
typedef struct {
    uint64_t                   descriptors;      /* open now */
    uint64_t                   descriptors_max;  /* RLIMIT_NOFILE */
    uint64_t                   connections;      /* NGINX connections used */
    uint64_t                   connections_max;  /* worker_connections */
    uint64_t                   spare_blocks;     /* bytes kept for reuse */
} ngx_http_ws_capacity_t;


void ngx_http_ws_capacity_note_cap(ngx_conf_t *cf, ngx_uint_t max);
ngx_int_t ngx_http_ws_capacity_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_ws_capacity_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_capacity_update(ngx_http_ws_capacity_t *cap);
ngx_uint_t ngx_http_ws_capacity_percent(uint64_t used, uint64_t max);


#endif /* _NGX_HTTP_WS_CAPACITY_H_INCLUDED_ */
