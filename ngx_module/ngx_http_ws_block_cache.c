
/*
 * ngx_ws: blocks of one size kept by a worker for reuse.
 *
 * A message takes a frame, a queue entry per connection it goes to and,
 * with ws_io_uring, a write record per connection, all freed once it is
 * written; malloc and free of them were among the top costs of every
 * profile. Freed blocks are kept and handed out again instead.
 *
 * How many to keep is how many were alive at once, and that varies by
 * orders of magnitude: one frame for an echo written at once, one per
 * connection when 1,000 connections are answered in one loop pass and
 * their writes go to the kernel together, eight entries per subscriber
 * with eight publishes in flight. Fixed caps failed in both directions:
 * 4,096 entries made a fan-out of 8 messages to 1,000 subscribers malloc
 * and free half its entries every pass (a quarter of its instructions),
 * 128 frame blocks of 4 KiB made the 1 KiB echo to 1,000 connections
 * bimodal (past the cap each reply went to malloc, glibc gave the top of
 * the heap back at a pass's frees and faulted it in again at the next
 * pass's mallocs, longer passes answered more connections at once: 35,000
 * to 55,000 echoes a second instead of 100,000, page faults and malloc a
 * third of the worker's time).
 *
 * So a cache has no cap: it holds at most what was alive at once at the
 * busiest moment. What it holds goes back as it stops being used: every
 * NGX_HTTP_WS_BLOCK_CACHE_DECAY the blocks of a cache that stayed spare
 * the whole period (the fewest it held at any moment) go back to the
 * heap, then the heap's free pages to the kernel; a worker back to quiet
 * keeps none after two periods.
 */


#include "ngx_http_ws_block_cache.h"
#include "ngx_http_ws_heap_trim.h"
#include "ngx_http_ws_hot.h"


#define NGX_HTTP_WS_BLOCK_CACHE_DECAY  10000


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


static void *ngx_http_ws_block_cache_pop(ngx_http_ws_block_cache_t *cache);
static void ngx_http_ws_block_cache_list(ngx_http_ws_block_cache_t *cache);
static void ngx_http_ws_block_cache_decay(ngx_event_t *ev);


/* the caches that ever kept a block, for the decay and the exit */
static ngx_http_ws_block_cache_t  *ngx_http_ws_block_caches;

static ngx_event_t       ngx_http_ws_block_cache_event;
/* what debug logging of the timer takes ev->data for (its fd) */
static ngx_connection_t  ngx_http_ws_block_cache_dummy;


NGX_HTTP_WS_HOT
static void *
ngx_http_ws_block_cache_pop(ngx_http_ws_block_cache_t *cache)
{
    void  *block;

    block = cache->free;
    ngx_http_ws_unpoison(block, cache->size);
    ngx_memcpy(&cache->free, block, sizeof(void *));
    cache->n--;

    return block;
}


NGX_HTTP_WS_HOT
void *
ngx_http_ws_block_cache_get(ngx_http_ws_block_cache_t *cache, ngx_log_t *log)
{
    if (cache->free == NULL) {
        return ngx_alloc(cache->size, log);
    }

    if (cache->n <= cache->fewest) {
        cache->fewest = cache->n - 1;
    }

    return ngx_http_ws_block_cache_pop(cache);
}


NGX_HTTP_WS_HOT
void
ngx_http_ws_block_cache_put(ngx_http_ws_block_cache_t *cache, void *block)
{
    ngx_memcpy(block, &cache->free, sizeof(void *));
    cache->free = block;
    cache->n++;

    ngx_http_ws_poison(block, cache->size);

    if (!cache->listed) {
        ngx_http_ws_block_cache_list(cache);
    }
}


static void
ngx_http_ws_block_cache_list(ngx_http_ws_block_cache_t *cache)
{
    ngx_event_t  *ev;

    cache->listed = 1;
    cache->next = ngx_http_ws_block_caches;
    ngx_http_ws_block_caches = cache;

    ev = &ngx_http_ws_block_cache_event;

    if (ev->timer_set) {
        return;
    }

    ngx_http_ws_block_cache_dummy.fd = (ngx_socket_t) -1;

    ev->handler = ngx_http_ws_block_cache_decay;
    ev->data = &ngx_http_ws_block_cache_dummy;
    ev->log = ngx_cycle->log;

    /* a timer that never keeps an exiting worker alive */
    ev->cancelable = 1;

    ngx_add_timer(ev, NGX_HTTP_WS_BLOCK_CACHE_DECAY);
}


/*
 * The blocks a cache never dipped into during the period go back to the
 * heap; the next period starts with what is left.
 */
static void
ngx_http_ws_block_cache_decay(ngx_event_t *ev)
{
    ngx_uint_t                  freed;
    ngx_http_ws_block_cache_t  *cache;

    freed = 0;

    for (cache = ngx_http_ws_block_caches; cache; cache = cache->next) {

        while (cache->fewest && cache->free) {
            ngx_free(ngx_http_ws_block_cache_pop(cache));
            cache->fewest--;
            freed++;
        }

        cache->fewest = cache->n;
    }

    if (freed) {
        ngx_http_ws_heap_trim_soon();
    }

    ngx_add_timer(ev, NGX_HTTP_WS_BLOCK_CACHE_DECAY);
}


size_t
ngx_http_ws_block_cache_bytes(void)
{
    size_t                      bytes;
    ngx_http_ws_block_cache_t  *cache;

    bytes = 0;

    for (cache = ngx_http_ws_block_caches; cache; cache = cache->next) {
        bytes += cache->n * cache->size;
    }

    return bytes;
}


/* The worker's spare blocks go back to the heap when it exits. */
void
ngx_http_ws_block_cache_exit_process(void)
{
    ngx_http_ws_block_cache_t  *cache;

    for (cache = ngx_http_ws_block_caches; cache; cache = cache->next) {

        while (cache->free) {
            ngx_free(ngx_http_ws_block_cache_pop(cache));
        }

        cache->fewest = 0;
    }

    if (ngx_http_ws_block_cache_event.timer_set) {
        ngx_del_timer(&ngx_http_ws_block_cache_event);
    }
}
