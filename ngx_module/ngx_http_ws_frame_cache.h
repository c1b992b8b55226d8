
/*
 * ngx_ws: the worker's spare frame blocks, by size class
 * (ngx_http_ws_frame_cache.c).
 */


#ifndef _NGX_HTTP_WS_FRAME_CACHE_H_INCLUDED_
#define _NGX_HTTP_WS_FRAME_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * A block of at least size bytes. Blocks of a cached class are that
 * class's size; ngx_http_ws_frame_cache_put() must be told the same size
 * the block was asked for.
 */
void *ngx_http_ws_frame_cache_get(size_t size, ngx_log_t *log);
void ngx_http_ws_frame_cache_put(void *block, size_t size);

/* Bytes the worker keeps in spare blocks now. */
size_t ngx_http_ws_frame_cache_bytes(void);

void ngx_http_ws_frame_cache_exit_process(void);


#endif /* _NGX_HTTP_WS_FRAME_CACHE_H_INCLUDED_ */
