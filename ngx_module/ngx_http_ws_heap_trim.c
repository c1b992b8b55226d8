
/*
 * ngx_ws: the heap's free pages back to the kernel after handshakes.
 *
 * A handshake takes NGINX's request pool (4 KiB or more) and a 1 KiB
 * header buffer, both freed once the 101 is out (ngx_http_ws_detach()).
 * With many handshakes at once that memory is freed in the middle of the
 * heap, under the sessions made meanwhile, and glibc keeps it: for a
 * worker that took 10,000 connections, 256 handshakes at a time, giving
 * those pages back took its Pss down by about 60 bytes per connection
 * (1,204-1,214 to 1,144-1,154). A second after a request was
 * freed (so at most once a second, however many handshakes), malloc_trim()
 * gives the free whole pages back (madvise); the heap's layout stays, and
 * a later allocation there takes a fresh page from the kernel. The spare
 * blocks a worker stopped needing (ngx_http_ws_block_cache.c) go
 * back the same way.
 */


#include "ngx_http_ws_heap_trim.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif


#define NGX_HTTP_WS_HEAP_TRIM_DELAY  1000


#ifdef __GLIBC__

static void ngx_http_ws_heap_trim_handler(ngx_event_t *ev);


static ngx_event_t       ngx_http_ws_heap_trim_event;
/* what debug logging of the timer takes ev->data for (its fd) */
static ngx_connection_t  ngx_http_ws_heap_trim_dummy;


void
ngx_http_ws_heap_trim_soon(void)
{
    ngx_event_t  *ev;

    ev = &ngx_http_ws_heap_trim_event;

    if (ev->timer_set) {
        return;
    }

    ngx_http_ws_heap_trim_dummy.fd = (ngx_socket_t) -1;

    ev->handler = ngx_http_ws_heap_trim_handler;
    ev->data = &ngx_http_ws_heap_trim_dummy;
    ev->log = ngx_cycle->log;
    ev->cancelable = 1;

    ngx_add_timer(ev, NGX_HTTP_WS_HEAP_TRIM_DELAY);
}


static void
ngx_http_ws_heap_trim_handler(ngx_event_t *ev)
{
    (void) malloc_trim(0);
}

#else

void
ngx_http_ws_heap_trim_soon(void)
{
}

#endif
