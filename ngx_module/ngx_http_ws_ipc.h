
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
/* Messages of this worker's queue, in its order, to their subscribers. */
typedef void (*ngx_http_ws_ipc_deliver_pt)(ngx_http_ws_msg_t **msgs,
    ngx_uint_t n);

ngx_int_t ngx_http_ws_ipc_init_process(ngx_cycle_t *cycle,
    ngx_http_ws_ipc_deliver_pt deliver);
void ngx_http_ws_ipc_exit_process(ngx_cycle_t *cycle);
void ngx_http_ws_ipc_notify(ngx_uint_t slot, ngx_uint_t filling);

/*
 * Before a 1001: delivers what is queued for this worker, then gives the
 * last numbers of the channels named, cut where the queue was found
 * empty (ngx_http_ws_zone_cut()). NGX_OK (the zone locked until
 * ngx_http_ws_ipc_cut_done()), or NGX_DECLINED.
 */
ngx_int_t ngx_http_ws_ipc_cut(ngx_str_t *names, uint64_t *seqs,
    ngx_uint_t n);
/* After the 1001 of a cut is written: the zone is unlocked. */
void ngx_http_ws_ipc_cut_done(void);


#endif /* _NGX_HTTP_WS_IPC_H_INCLUDED_ */
