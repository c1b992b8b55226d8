
/*
 * ngx_ws: permessage-deflate on output, RFC 7692 (ngx_http_ws_deflate.c).
 */


#ifndef _NGX_HTTP_WS_DEFLATE_H_INCLUDED_
#define _NGX_HTTP_WS_DEFLATE_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_session.h"


/*
 * Compressed forms of one message made during one delivery, by compressor
 * settings: subscribers without server context takeover share them.
 */
#define NGX_HTTP_WS_DEFLATE_CACHE  4

struct ngx_http_ws_deflate_cache_s {
    ngx_uint_t                 key[NGX_HTTP_WS_DEFLATE_CACHE];
    ngx_http_ws_frame_t       *frame[NGX_HTTP_WS_DEFLATE_CACHE];
    ngx_uint_t                 n;
};


ngx_int_t ngx_http_ws_deflate_queue(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_deflate_cache_release(ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_deflate_exit_process(ngx_cycle_t *cycle);

extern ngx_http_ws_hooks_t  ngx_http_ws_deflate_hooks;


#endif /* _NGX_HTTP_WS_DEFLATE_H_INCLUDED_ */
