
/*
 * ngx_ws: fixed-size blocks in pages of their own.
 *
 * A session lives as long as its connection, yet it is made in the middle
 * of the handshake, among the request's pool and header buffers that are
 * freed once the 101 is out. From malloc() every session would sit in the
 * holes those leave and keep partly-empty heap pages resident, which an
 * idle connection pays for in its memory (Pss) as much as for its own
 * bytes. Here sessions are packed side by side in 64 KiB areas mapped
 * for them alone: no malloc header, no rounding, no neighbours with
 * other lifetimes. A page of an area is touched only once a slot in it
 * is first used, a freed slot is the next one taken, and an area whose
 * slots are all free is unmapped (unless it is the only one left).
 */


#include "ngx_http_ws_slots.h"

#include <sys/mman.h>


#define NGX_HTTP_WS_SLOTS_AREA   (64 * 1024)


/* at the start of each area, which is aligned to its size */
struct ngx_http_ws_slot_area_s {
    ngx_http_ws_slot_area_t   *next;     /* in slots->with_room */
    ngx_http_ws_slot_area_t  **prev;
    void                      *free;     /* freed slots, singly linked */
    u_char                    *fresh;    /* the first slot never used */
    u_char                    *end;
    ngx_uint_t                 used;
    ngx_uint_t                 linked;   /* 1: in slots->with_room */
};


#define NGX_HTTP_WS_SLOTS_HEADER                                             \
    ngx_align(sizeof(ngx_http_ws_slot_area_t), 16)


static ngx_http_ws_slot_area_t *ngx_http_ws_slots_map(
    ngx_http_ws_slots_t *slots, ngx_log_t *log);
static void ngx_http_ws_slots_link(ngx_http_ws_slots_t *slots,
    ngx_http_ws_slot_area_t *area);
static void ngx_http_ws_slots_unlink(ngx_http_ws_slot_area_t *area);


/*
 * Under AddressSanitizer every block is the heap's, so that a use after
 * free or an overrun of a session is still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NGX_HTTP_WS_SLOTS_HEAP  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NGX_HTTP_WS_SLOTS_HEAP  1
#endif
#endif


void *
ngx_http_ws_slots_alloc(ngx_http_ws_slots_t *slots, size_t size,
    ngx_log_t *log)
{
    void                     *p;
    ngx_http_ws_slot_area_t  *area;

#if (NGX_HTTP_WS_SLOTS_HEAP)
    return ngx_calloc(size, log);
#endif

    size = ngx_align(size, 16);

    if (slots->size == 0) {
        slots->size = size;
    }

    if (size != slots->size
        || size > NGX_HTTP_WS_SLOTS_AREA - NGX_HTTP_WS_SLOTS_HEADER)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "ws: a block of %uz bytes from slots of %uz",
                      size, slots->size);
        return NULL;
    }

    area = slots->with_room;

    if (area == NULL) {
        area = ngx_http_ws_slots_map(slots, log);
        if (area == NULL) {
            return NULL;
        }
    }

    if (area->free) {
        p = area->free;
        area->free = *(void **) p;

    } else {
        p = area->fresh;
        area->fresh += size;
    }

    area->used++;

    if (area->free == NULL && area->fresh + size > area->end) {
        ngx_http_ws_slots_unlink(area);
    }

    ngx_memzero(p, size);

    return p;
}


void
ngx_http_ws_slots_free(ngx_http_ws_slots_t *slots, void *p)
{
    ngx_http_ws_slot_area_t  *area;

#if (NGX_HTTP_WS_SLOTS_HEAP)
    ngx_free(p);
    return;
#endif

    area = (ngx_http_ws_slot_area_t *)
               ((uintptr_t) p & ~((uintptr_t) NGX_HTTP_WS_SLOTS_AREA - 1));

    *(void **) p = area->free;
    area->free = p;
    area->used--;

    if (!area->linked) {
        ngx_http_ws_slots_link(slots, area);
        return;
    }

    /* the last area with room stays, for the next session */
    if (area->used == 0 && (slots->with_room != area || area->next)) {
        ngx_http_ws_slots_unlink(area);
        (void) munmap(area, NGX_HTTP_WS_SLOTS_AREA);
    }
}


/* A new area aligned to its size: map twice as much, unmap the rest. */
static ngx_http_ws_slot_area_t *
ngx_http_ws_slots_map(ngx_http_ws_slots_t *slots, ngx_log_t *log)
{
    u_char                   *p, *start;
    size_t                    head;
    ngx_http_ws_slot_area_t  *area;

    p = mmap(NULL, 2 * NGX_HTTP_WS_SLOTS_AREA, PROT_READ|PROT_WRITE,
             MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "ws: mmap(%uz) for sessions failed",
                      (size_t) 2 * NGX_HTTP_WS_SLOTS_AREA);
        return NULL;
    }

    start = ngx_align_ptr(p, NGX_HTTP_WS_SLOTS_AREA);
    head = start - p;

    if (head) {
        (void) munmap(p, head);
    }

    (void) munmap(start + NGX_HTTP_WS_SLOTS_AREA,
                  NGX_HTTP_WS_SLOTS_AREA - head);

    area = (ngx_http_ws_slot_area_t *) start;

    /* fresh from the kernel: already zero */
    area->fresh = start + NGX_HTTP_WS_SLOTS_HEADER;
    area->end = start + NGX_HTTP_WS_SLOTS_AREA;

    ngx_http_ws_slots_link(slots, area);

    return area;
}


static void
ngx_http_ws_slots_link(ngx_http_ws_slots_t *slots,
    ngx_http_ws_slot_area_t *area)
{
    area->next = slots->with_room;
    area->prev = &slots->with_room;

    if (area->next) {
        area->next->prev = &area->next;
    }

    slots->with_room = area;
    area->linked = 1;
}


static void
ngx_http_ws_slots_unlink(ngx_http_ws_slot_area_t *area)
{
    *area->prev = area->next;

    if (area->next) {
        area->next->prev = area->prev;
    }

    area->next = NULL;
    area->prev = NULL;
    area->linked = 0;
}
