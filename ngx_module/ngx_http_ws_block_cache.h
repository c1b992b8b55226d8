
/*
 * ngx_ws: blocks of one size kept by a worker for reuse
 * (ngx_http_ws_block_cache.c).
 */


#ifndef _NGX_HTTP_WS_BLOCK_CACHE_H_INCLUDED_
#define _NGX_HTTP_WS_BLOCK_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


typedef struct ngx_http_ws_block_cache_s  ngx_http_ws_block_cache_t;

/*
 * A worker's spare blocks of size bytes. Define one static, zeroed but
 * for size: NGX_HTTP_WS_BLOCK_CACHE(size).
 */
struct ngx_http_ws_block_cache_s {
    void                        *free;    /* linked through their first bytes */
    size_t                       size;
    ngx_uint_t                   n;
    ngx_uint_t                   fewest;  /* n at its lowest since the decay */
    ngx_http_ws_block_cache_t   *next;    /* the worker's caches, once used */
    unsigned                     listed:1;
};

#define NGX_HTTP_WS_BLOCK_CACHE(size)  { NULL, size, 0, 0, NULL, 0 }


void *ngx_http_ws_block_cache_get(ngx_http_ws_block_cache_t *cache,
    ngx_log_t *log);
void ngx_http_ws_block_cache_put(ngx_http_ws_block_cache_t *cache,
    void *block);

/* Bytes the worker keeps in spare blocks, all caches together. */
size_t ngx_http_ws_block_cache_bytes(void);

void ngx_http_ws_block_cache_exit_process(void);


#endif /* _NGX_HTTP_WS_BLOCK_CACHE_H_INCLUDED_ */
