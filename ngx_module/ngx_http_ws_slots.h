
/*
 * ngx_ws: fixed-size blocks in pages of their own (ngx_http_ws_slots.c).
 */


#ifndef _NGX_HTTP_WS_SLOTS_H_INCLUDED_
#define _NGX_HTTP_WS_SLOTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * One worker's supply of blocks of one size (the sessions'). Zeroed
 * memory is a valid empty supply; the size is set by the first alloc.
 */
typedef struct ngx_http_ws_slot_area_s  ngx_http_ws_slot_area_t;

typedef struct {
    size_t                     size;
    ngx_http_ws_slot_area_t   *with_room; /* areas with a free slot */
} ngx_http_ws_slots_t;


/* A zeroed block of size bytes (16-byte aligned); NULL: no memory. */
void *ngx_http_ws_slots_alloc(ngx_http_ws_slots_t *slots, size_t size,
    ngx_log_t *log);
void ngx_http_ws_slots_free(ngx_http_ws_slots_t *slots, void *p);


#endif /* _NGX_HTTP_WS_SLOTS_H_INCLUDED_ */
