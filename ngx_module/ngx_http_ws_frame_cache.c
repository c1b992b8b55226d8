
/*
 * ngx_ws: the worker's spare frame blocks, by size class.
 *
 * An echo allocates and frees a reply per message, and malloc and free
 * were the top costs left in its profile. Blocks of four sizes are kept
 * when freed and handed out again instead. How many a worker needs is
 * how many frames are alive at once, and that varies by orders of
 * magnitude: one or two for an echo written with send() at once, one per
 * connection when the writes of a loop pass go to the kernel together
 * (ws_io_uring) and 1,000 connections answer in the same pass. A fixed cap
 * on the cache (128 blocks of 4 KiB, until 2026-12-05) made the second
 * case bimodal: past the cap each reply went to malloc, glibc gave the
 * top of the heap back to the kernel at every pass's frees and faulted it
 * in again at the next pass's mallocs, the worker's passes grew longer,
 * and longer passes answered more connections at once: 1,000 connections
 * echoing 1 KiB settled at 35,000-55,000 messages a second instead of
 * 110,000 (page faults and malloc a third of the worker's time).
 *
 * So nothing caps the cache: it holds at most what was alive at once at
 * the busiest moment. What it holds is given back as it stops being used:
 * every NGX_HTTP_WS_FRAME_CACHE_DECAY the blocks of a class that stayed in
 * the cache the whole period (the fewest it held at any moment of the
 * period) go back to the heap, and the heap's free pages to the kernel.
 * A worker back to quiet keeps none after two periods.
 */


#include "ngx_http_ws_frame_cache.h"
#include "ngx_http_ws_heap_trim.h"
#include "ngx_http_ws_hot.h"


#define NGX_HTTP_WS_FRAME_CACHE_CLASSES  4
#define NGX_HTTP_WS_FRAME_CACHE_DECAY    10000


/*
 * A frame's fields take 16 bytes and its header up to 10: the second and
 * last classes hold a 1 KiB and a 16 KiB payload, the first any control
 * frame (125 bytes at most).
 */
static const size_t  ngx_http_ws_frame_cache_size[NGX_HTTP_WS_FRAME_CACHE_CLASSES]
                         = { 256, 1024 + 64, 4096, 16384 + 64 };


/*
 * Under AddressSanitizer a spare block is poisoned until it is handed out
 * again, so a use after the last release is still reported, as it would be
 * for memory given back to malloc.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ngx_http_ws_poison(p, size)    ASAN_POISON_MEMORY_REGION(p, size)
#define ngx_http_ws_unpoison(p, size)  ASAN_UNPOISON_MEMORY_REGION(p, size)
#else
#define ngx_http_ws_poison(p, size)
#define ngx_http_ws_unpoison(p, size)
#endif


typedef struct {
    void                      *free;    /* linked through their first bytes */
    ngx_uint_t                 n;
    ngx_uint_t                 fewest;  /* since the last decay */
} ngx_http_ws_frame_cache_class_t;


static ngx_int_t ngx_http_ws_frame_cache_class(size_t size);
static void *ngx_http_ws_frame_cache_pop(ngx_http_ws_frame_cache_class_t *c,
    size_t size);
static void ngx_http_ws_frame_cache_decay(ngx_event_t *ev);


static ngx_http_ws_frame_cache_class_t
    ngx_http_ws_frame_cache[NGX_HTTP_WS_FRAME_CACHE_CLASSES];

static ngx_event_t       ngx_http_ws_frame_cache_event;
/* what debug logging of the timer takes ev->data for (its fd) */
static ngx_connection_t  ngx_http_ws_frame_cache_dummy;


/* The class of a block of size bytes, -1 for one too big for any */
static ngx_int_t
ngx_http_ws_frame_cache_class(size_t size)
{
    ngx_int_t  k;

    for (k = 0; k < NGX_HTTP_WS_FRAME_CACHE_CLASSES; k++) {
        if (size <= ngx_http_ws_frame_cache_size[k]) {
            return k;
        }
    }

    return -1;
}


NGX_HTTP_WS_HOT
static void *
ngx_http_ws_frame_cache_pop(ngx_http_ws_frame_cache_class_t *c, size_t size)
{
    void  *block;

    block = c->free;
    ngx_http_ws_unpoison(block, size);
    ngx_memcpy(&c->free, block, sizeof(void *));

    return block;
}


NGX_HTTP_WS_HOT
void *
ngx_http_ws_frame_cache_get(size_t size, ngx_log_t *log)
{
    ngx_int_t                         k;
    ngx_http_ws_frame_cache_class_t  *c;

    k = ngx_http_ws_frame_cache_class(size);

    if (k < 0) {
        return ngx_alloc(size, log);
    }

    c = &ngx_http_ws_frame_cache[k];

    if (c->free == NULL) {
        return ngx_alloc(ngx_http_ws_frame_cache_size[k], log);
    }

    if (--c->n < c->fewest) {
        c->fewest = c->n;
    }

    return ngx_http_ws_frame_cache_pop(c, ngx_http_ws_frame_cache_size[k]);
}


NGX_HTTP_WS_HOT
void
ngx_http_ws_frame_cache_put(void *block, size_t size)
{
    ngx_int_t                         k;
    ngx_event_t                      *ev;
    ngx_http_ws_frame_cache_class_t  *c;

    k = ngx_http_ws_frame_cache_class(size);

    if (k < 0) {
        ngx_free(block);
        return;
    }

    c = &ngx_http_ws_frame_cache[k];

    ngx_memcpy(block, &c->free, sizeof(void *));
    c->free = block;
    c->n++;

    ngx_http_ws_poison(block, ngx_http_ws_frame_cache_size[k]);

    ev = &ngx_http_ws_frame_cache_event;

    if (ev->timer_set) {
        return;
    }

    /* a timer never keeps an exiting worker alive, see ngx_event_timer.c */
    ngx_http_ws_frame_cache_dummy.fd = (ngx_socket_t) -1;

    ev->handler = ngx_http_ws_frame_cache_decay;
    ev->data = &ngx_http_ws_frame_cache_dummy;
    ev->log = ngx_cycle->log;
    ev->cancelable = 1;

    ngx_add_timer(ev, NGX_HTTP_WS_FRAME_CACHE_DECAY);
}


/*
 * The blocks a class never dipped into during the period go back to the
 * heap; the period starts again with what is left.
 */
static void
ngx_http_ws_frame_cache_decay(ngx_event_t *ev)
{
    ngx_uint_t                        k, freed, left;
    ngx_http_ws_frame_cache_class_t  *c;

    freed = 0;
    left = 0;

    for (k = 0; k < NGX_HTTP_WS_FRAME_CACHE_CLASSES; k++) {
        c = &ngx_http_ws_frame_cache[k];

        while (c->fewest && c->free) {
            ngx_free(ngx_http_ws_frame_cache_pop(c,
                                         ngx_http_ws_frame_cache_size[k]));
            c->n--;
            c->fewest--;
            freed++;
        }

        c->fewest = c->n;
        left += c->n;
    }

    if (freed) {
        ngx_http_ws_heap_trim_soon();
    }

    if (left) {
        ngx_add_timer(ev, NGX_HTTP_WS_FRAME_CACHE_DECAY);
    }
}


size_t
ngx_http_ws_frame_cache_bytes(void)
{
    size_t      bytes;
    ngx_uint_t  k;

    bytes = 0;

    for (k = 0; k < NGX_HTTP_WS_FRAME_CACHE_CLASSES; k++) {
        bytes += ngx_http_ws_frame_cache[k].n * ngx_http_ws_frame_cache_size[k];
    }

    return bytes;
}


/* The worker's spare blocks go back to the heap when it exits. */
void
ngx_http_ws_frame_cache_exit_process(void)
{
    ngx_uint_t                        k;
    ngx_http_ws_frame_cache_class_t  *c;

    for (k = 0; k < NGX_HTTP_WS_FRAME_CACHE_CLASSES; k++) {
        c = &ngx_http_ws_frame_cache[k];

        while (c->free) {
            ngx_free(ngx_http_ws_frame_cache_pop(c,
                                         ngx_http_ws_frame_cache_size[k]));
        }

        c->n = 0;
        c->fewest = 0;
    }

    if (ngx_http_ws_frame_cache_event.timer_set) {
        ngx_del_timer(&ngx_http_ws_frame_cache_event);
    }
}
