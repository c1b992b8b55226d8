
/*
 * ngx_ws: frames ready for the wire (ngx_http_ws_frame.c).
 */


#ifndef _NGX_HTTP_WS_FRAME_H_INCLUDED_
#define _NGX_HTTP_WS_FRAME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <wscore.h>


/*
 * A frame ready for the wire, shared by every connection it is queued on:
 * encoded once, reference counted, freed by the last sender. lent is 0 for
 * a frame of our own, else the bytes before it in a block taken from the
 * core (ngx_http_ws_frame_from_message), which goes back to the core.
 */
typedef struct {
    uint32_t                   refs;
    uint32_t                   lent;
    size_t                     len;
    u_char                     data[1];
} ngx_http_ws_frame_t;


ngx_http_ws_frame_t *ngx_http_ws_frame_create(ngx_log_t *log,
    wscore_opcode_e opcode, const u_char *payload, size_t len);
ngx_http_ws_frame_t *ngx_http_ws_frame_create_fragment(ngx_log_t *log,
    wscore_opcode_e opcode, ngx_uint_t fin, const u_char *payload,
    size_t len);
ngx_http_ws_frame_t *ngx_http_ws_frame_alloc(ngx_log_t *log,
    wscore_opcode_e opcode, size_t len, u_char **payload);
ngx_http_ws_frame_t *ngx_http_ws_frame_alloc_compressed(ngx_log_t *log,
    wscore_opcode_e opcode, size_t len, u_char **payload);
ngx_http_ws_frame_t *ngx_http_ws_frame_from_message(ngx_log_t *log,
    wscore_session_t *core, wscore_opcode_e opcode, size_t len);
ngx_http_ws_frame_t *ngx_http_ws_frame_wrap(ngx_log_t *log,
    const u_char *data, size_t len);
void ngx_http_ws_frame_release(ngx_http_ws_frame_t *frame);


#endif /* _NGX_HTTP_WS_FRAME_H_INCLUDED_ */
