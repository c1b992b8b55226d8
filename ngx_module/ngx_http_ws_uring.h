
/*
 * ngx_ws: the worker's io_uring, for writes to many sockets in one system
 * call (ngx_http_ws_uring.c).
 */


#ifndef _NGX_HTTP_WS_URING_H_INCLUDED_
#define _NGX_HTTP_WS_URING_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/socket.h>


typedef struct ngx_http_ws_uring_op_s  ngx_http_ws_uring_op_t;

/* res: what the system call would have returned, or -errno */
typedef void (*ngx_http_ws_uring_done_pt)(ngx_http_ws_uring_op_t *op,
    int32_t res);

/*
 * One operation handed to the ring, embedded in its owner's structure; it
 * and the memory it names stay valid until done() is called.
 */
struct ngx_http_ws_uring_op_s {
    ngx_http_ws_uring_done_pt  done;
    void                      *sqe;     /* until submitted */
    ngx_uint_t                 batch;   /* the submission it goes in */
};


/* A ring is set up in this worker: writes may go through it. */
extern ngx_uint_t  ngx_http_ws_uring_on;


ngx_int_t ngx_http_ws_uring_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_uring_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_ws_uring_send(ngx_http_ws_uring_op_t *op, ngx_socket_t fd,
    const void *buf, size_t len);
ngx_int_t ngx_http_ws_uring_sendmsg(ngx_http_ws_uring_op_t *op,
    ngx_socket_t fd, const struct msghdr *msg);
void ngx_http_ws_uring_cancel(ngx_http_ws_uring_op_t *op);


#endif /* _NGX_HTTP_WS_URING_H_INCLUDED_ */
