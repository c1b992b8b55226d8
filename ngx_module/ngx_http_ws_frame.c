
/*
 * ngx_ws: frames ready for the wire.
 *
 * A message is encoded once into a reference-counted buffer, header and
 * payload, and every connection it goes to queues that same buffer (see
 * ngx_http_ws_output.c): a broadcast costs one reference per recipient,
 * not one copy. Memory comes from the heap, not a pool: a pool only grows,
 * a WebSocket lives for days.
 */


#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_block_cache.h"
#include "ngx_http_ws_hot.h"


/*
 * Frames that fit one of four sizes are allocated at that size from the
 * worker's spare blocks of it (ngx_http_ws_block_cache.c): an echo takes
 * and frees a reply per message. A frame's fields take 16 bytes and its
 * header up to 10: the second and the last class hold a 1 KiB and a
 * 16 KiB payload, the first any control frame (125 bytes at most).
 */
#define NGX_HTTP_WS_FRAME_CLASSES  4

static ngx_http_ws_block_cache_t
    ngx_http_ws_frame_blocks[NGX_HTTP_WS_FRAME_CLASSES] = {
    NGX_HTTP_WS_BLOCK_CACHE(256),
    NGX_HTTP_WS_BLOCK_CACHE(1024 + 64),
    NGX_HTTP_WS_BLOCK_CACHE(4096),
    NGX_HTTP_WS_BLOCK_CACHE(16384 + 64)
};

/* A server frame's header for len payload bytes (RFC 6455 section 5.2) */
#define ngx_http_ws_frame_header_len(len)                                     \
    ((len) < 126 ? 2 : (len) <= 0xffff ? 4 : WSCORE_MAX_HEADER_LEN)

#define ngx_http_ws_frame_size(len)                                           \
    (offsetof(ngx_http_ws_frame_t, data) + (len))

/*
 * Where a frame lies in a block taken from the core: its fields and a
 * 10-byte header end where the payload starts (the core's headroom). Not
 * 0, which marks a frame of our own, and a multiple of 8 for its fields.
 */
#define NGX_HTTP_WS_FRAME_LENT                                                \
    (WSCORE_MESSAGE_HEADROOM - WSCORE_MAX_HEADER_LEN                          \
     - offsetof(ngx_http_ws_frame_t, data))

_Static_assert(WSCORE_MESSAGE_HEADROOM > WSCORE_MAX_HEADER_LEN
               + offsetof(ngx_http_ws_frame_t, data)
               && NGX_HTTP_WS_FRAME_LENT % 8 == 0,
               "the core's headroom does not fit a frame's fields and header");


static ngx_http_ws_frame_t *ngx_http_ws_frame_new(ngx_log_t *log,
    wscore_opcode_e opcode, ngx_uint_t fin, ngx_uint_t rsv1, size_t len,
    u_char **payload);
static ngx_http_ws_frame_t *ngx_http_ws_frame_get(ngx_log_t *log,
    size_t len);
static void ngx_http_ws_frame_free(ngx_http_ws_frame_t *frame);
static ngx_http_ws_block_cache_t *ngx_http_ws_frame_blocks_for(size_t len);


/* The spare blocks a frame of len data bytes takes, NULL: too big for any */
NGX_HTTP_WS_HOT
static ngx_http_ws_block_cache_t *
ngx_http_ws_frame_blocks_for(size_t len)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_WS_FRAME_CLASSES; k++) {
        if (ngx_http_ws_frame_size(len) <= ngx_http_ws_frame_blocks[k].size) {
            return &ngx_http_ws_frame_blocks[k];
        }
    }

    return NULL;
}


/*
 * A frame of len data bytes; the caller sets refs and writes all len
 * bytes, so nothing of a block's earlier use can show through.
 */
NGX_HTTP_WS_HOT
static ngx_http_ws_frame_t *
ngx_http_ws_frame_get(ngx_log_t *log, size_t len)
{
    ngx_http_ws_frame_t        *frame;
    ngx_http_ws_block_cache_t  *blocks;

    blocks = ngx_http_ws_frame_blocks_for(len);

    if (blocks) {
        frame = ngx_http_ws_block_cache_get(blocks, log);

    } else {
        frame = ngx_alloc(ngx_http_ws_frame_size(len), log);
    }

    if (frame) {
        frame->lent = 0;
        frame->len = len;
    }

    return frame;
}


/* len is set once, in ngx_http_ws_frame_get(): it tells the block's size */
NGX_HTTP_WS_HOT
static void
ngx_http_ws_frame_free(ngx_http_ws_frame_t *frame)
{
    ngx_http_ws_block_cache_t  *blocks;

    if (frame->lent) {
        wscore_message_free((u_char *) frame - frame->lent);
        return;
    }

    blocks = ngx_http_ws_frame_blocks_for(frame->len);

    if (blocks) {
        ngx_http_ws_block_cache_put(blocks, frame);

    } else {
        ngx_free(frame);
    }
}


/* A frame with room for len payload bytes, which the caller writes. */
NGX_HTTP_WS_HOT
ngx_http_ws_frame_t *
ngx_http_ws_frame_alloc(ngx_log_t *log, wscore_opcode_e opcode, size_t len,
    u_char **payload)
{
    return ngx_http_ws_frame_new(log, opcode, 1, 0, len, payload);
}


/* The same with RSV1 set: a permessage-deflate message (RFC 7692). */
ngx_http_ws_frame_t *
ngx_http_ws_frame_alloc_compressed(ngx_log_t *log, wscore_opcode_e opcode,
    size_t len, u_char **payload)
{
    return ngx_http_ws_frame_new(log, opcode, 1, 1, len, payload);
}


NGX_HTTP_WS_HOT
static ngx_http_ws_frame_t *
ngx_http_ws_frame_new(ngx_log_t *log, wscore_opcode_e opcode,
    ngx_uint_t fin, ngx_uint_t rsv1, size_t len, u_char **payload)
{
    size_t                hlen;
    ngx_http_ws_frame_t  *frame;

    /*
     * The header is encoded in place, not through a copy (a memcpy() call
     * of a few bytes was a tenth of the frame's cost): every frame has
     * room for the longest header, as a spare block is at least 256 bytes
     * and any other larger still.
     */
    hlen = ngx_http_ws_frame_header_len(len);

    frame = ngx_http_ws_frame_get(log, hlen + len);
    if (frame == NULL) {
        return NULL;
    }

    frame->refs = 1;

    if (wscore_frame_header_encode(frame->data, opcode, (int) fin,
                                   (int) rsv1, len)
        != hlen)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "ws: frame header length");
        ngx_http_ws_frame_free(frame);
        return NULL;
    }

    *payload = frame->data + hlen;

    return frame;
}


ngx_http_ws_frame_t *
ngx_http_ws_frame_create(ngx_log_t *log, wscore_opcode_e opcode,
    const u_char *payload, size_t len)
{
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_alloc(log, opcode, len, &p);

    if (frame && len) {
        ngx_memcpy(p, payload, len);
    }

    return frame;
}


/*
 * The frame of a message over 64 KiB that the core reassembled (the
 * MESSAGE event just reported, len bytes), built around its payload where
 * it lies: the core's buffer keeps room in front of it for the frame's
 * fields and its 10-byte header, so the message is not copied again (at
 * 1 MiB that copy was a third of an echo's instructions). Smaller
 * messages are copied into a frame of their own (cached or small). NULL:
 * not such a message, copy it.
 */
ngx_http_ws_frame_t *
ngx_http_ws_frame_from_message(ngx_log_t *log, wscore_session_t *core,
    wscore_opcode_e opcode, size_t len)
{
    u_char               *block;
    ngx_http_ws_frame_t  *frame;

    if (ngx_http_ws_frame_header_len(len) != WSCORE_MAX_HEADER_LEN) {
        return NULL;
    }

    block = wscore_session_take_message(core);
    if (block == NULL) {
        return NULL;
    }

    frame = (ngx_http_ws_frame_t *) (block + NGX_HTTP_WS_FRAME_LENT);

    frame->refs = 1;
    frame->lent = NGX_HTTP_WS_FRAME_LENT;
    frame->len = WSCORE_MAX_HEADER_LEN + len;

    if (wscore_frame_header_encode(frame->data, opcode, 1, 0, len)
        != WSCORE_MAX_HEADER_LEN)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "ws: frame header length");
        wscore_message_free(block);
        return NULL;
    }

    return frame;
}


/*
 * One frame of a message sent in pieces (a proxy streams large messages):
 * opcode is the message's on its first frame, continuation after.
 */
ngx_http_ws_frame_t *
ngx_http_ws_frame_create_fragment(ngx_log_t *log, wscore_opcode_e opcode,
    ngx_uint_t fin, const u_char *payload, size_t len)
{
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_new(log, opcode, fin, 0, len, &p);

    if (frame && len) {
        ngx_memcpy(p, payload, len);
    }

    return frame;
}


NGX_HTTP_WS_HOT
void
ngx_http_ws_frame_release(ngx_http_ws_frame_t *frame)
{
    if (--frame->refs == 0) {
        ngx_http_ws_frame_free(frame);
    }
}


/* A frame of bytes that are already framed (control frames from the core). */
ngx_http_ws_frame_t *
ngx_http_ws_frame_wrap(ngx_log_t *log, const u_char *data, size_t len)
{
    ngx_http_ws_frame_t  *frame;

    frame = ngx_http_ws_frame_get(log, len);
    if (frame == NULL) {
        return NULL;
    }

    frame->refs = 1;
    ngx_memcpy(frame->data, data, len);

    return frame;
}
