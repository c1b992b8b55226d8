
/*
 * ngx_ws: the heap's free pages back to the kernel after handshakes and
 * spare blocks are freed (ngx_http_ws_heap_trim.c).
 */


#ifndef _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_
#define _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * Memory went back to the heap in bulk (a handshake's request, spare
 * blocks): trim the heap a little later.
 */
void ngx_http_ws_heap_trim_soon(void);


#endif /* _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_ */
