
/*
 * ngx_ws: waking workers when messages are queued for them
 * (ngx_http_ws_ipc.c).
 */


#ifndef _NGX_HTTP_WS_IPC_H_INCLUDED_
#define _NGX_HTTP_WS_IPC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_ws_zone.h"


ngx_int_t ngx_http_ws_ipc_init_module(ngx_cycle_t *cycle);
/* A message of this worker's queue, to its subscribers. */
typedef void (*ngx_http_ws_ipc_deliver_pt)(ngx_http_ws_msg_t *msg);

ngx_int_t ngx_http_ws_ipc_init_process(ngx_cycle_t *cycle,
    ngx_http_ws_ipc_deliver_pt deliver);
void ngx_http_ws_ipc_exit_process(ngx_cycle_t *cycle);
void ngx_http_ws_ipc_notify(ngx_uint_t slot);


#endif /* _NGX_HTTP_WS_IPC_H_INCLUDED_ */
