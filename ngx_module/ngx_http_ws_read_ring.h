
/*
 * ngx_ws: a connection's reads through the worker's io_uring
 * (ngx_http_ws_read_ring.c).
 */


#ifndef _NGX_HTTP_WS_READ_RING_H_INCLUDED_
#define _NGX_HTTP_WS_READ_RING_H_INCLUDED_


#include "ngx_http_ws_common.h"


typedef struct ngx_http_ws_read_op_s  ngx_http_ws_read_op_t;

/*
 * What a read brought: n bytes at buf, 0 at the end of the stream,
 * NGX_AGAIN for nothing (the read event waits for more), NGX_ERROR for a
 * broken connection (logged). buf is valid until it returns.
 */
typedef void (*ngx_http_ws_read_done_pt)(ngx_http_ws_session_t *ws,
    u_char *buf, ssize_t n);


ngx_int_t ngx_http_ws_read_ring(ngx_http_ws_session_t *ws,
    ngx_http_ws_read_done_pt done);
void ngx_http_ws_read_ring_cancel(ngx_http_ws_session_t *ws);
void ngx_http_ws_read_ring_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_WS_READ_RING_H_INCLUDED_ */
