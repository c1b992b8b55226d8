
/*
 * ngx_ws: the heap's free pages back to the kernel after handshakes
 * (ngx_http_ws_heap_trim.c).
 */


#ifndef _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_
#define _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/* A handshake's request was freed: trim the heap a little later. */
void ngx_http_ws_heap_trim_soon(void);


#endif /* _NGX_HTTP_WS_HEAP_TRIM_H_INCLUDED_ */
