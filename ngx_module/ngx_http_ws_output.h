
/*
 * ngx_ws: the output queue of a connection (ngx_http_ws_output.c).
 */


#ifndef _NGX_HTTP_WS_OUTPUT_H_INCLUDED_
#define _NGX_HTTP_WS_OUTPUT_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"


typedef struct ngx_http_ws_out_s       ngx_http_ws_out_t;
typedef struct ngx_http_ws_out_send_s  ngx_http_ws_out_send_t;

/*
 * An entry of a connection's queue: a frame shared with the other
 * connections it goes to, or a cork, a buffer of the entry's own holding
 * several small frames (see ngx_http_ws_output.c).
 */
struct ngx_http_ws_out_s {
    ngx_http_ws_out_t         *next;
    ngx_http_ws_frame_t       *frame;
    size_t                     pos;              /* bytes already sent */
    ngx_msec_t                 queued;           /* for the send delay */
    ngx_uint_t                 frames;           /* in it; > 1: a cork */
};


ngx_int_t ngx_http_ws_output_queue(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
ngx_int_t ngx_http_ws_output_queue_bytes(ngx_http_ws_session_t *ws,
    const u_char *data, size_t len);
ngx_int_t ngx_http_ws_output_send_lone(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
ngx_int_t ngx_http_ws_output_flush(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_output_flush_now(ngx_http_ws_session_t *ws);
void ngx_http_ws_output_free(ngx_http_ws_session_t *ws);


#endif /* _NGX_HTTP_WS_OUTPUT_H_INCLUDED_ */
