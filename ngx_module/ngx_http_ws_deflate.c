
/*
 * ngx_ws: permessage-deflate on output (RFC 7692).
 *
 * Data messages to a connection that negotiated the extension are
 * compressed when they have at least ws_deflate_min_size bytes. A
 * connection with server context takeover has a compressor of its own,
 * whose window carries over from message to message. One without it uses
 * a compressor per worker and setting, shared by every such connection:
 * it holds no zlib state of its own, and a channel message is compressed
 * once per worker and setting, the compressed frame queued on every such
 * subscriber like the plain frame (encode once, send many).
 *
 * Decompression of client messages is the core's (see the session).
 */


#include "ngx_http_ws_deflate.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_handshake.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_response.h"


/* Distinct compressor settings (window, level, memLevel) per worker. */
#define NGX_HTTP_WS_SHARED_DEFLATERS  16


typedef struct {
    ngx_uint_t                    key;
    wscore_deflater_t            *deflater;
} ngx_http_ws_shared_deflater_t;


static ngx_http_ws_frame_t *ngx_http_ws_deflate_frame(
    ngx_http_ws_session_t *ws, ngx_http_ws_frame_t *frame,
    ngx_http_ws_deflate_cache_t *cache);
static wscore_deflater_t *ngx_http_ws_shared_deflater(ngx_uint_t key,
    ngx_log_t *log);
static void ngx_http_ws_deflate_cleanup(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_deflate_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_refusal_t *refusal);


/* Agreed at the handshake, then in the way of every message sent. */
ngx_http_ws_hooks_t  ngx_http_ws_deflate_hooks = {
    NULL,                                  /* check */
    NULL,                                  /* connect */
    ngx_http_ws_deflate_prepare,           /* prepare */
    NULL,                                  /* accept */
    NULL,                                  /* headers */
    NULL,                                  /* open */
    NULL,                                  /* message */
    NULL,                                  /* reads_stopped */
    NULL,                                  /* detachable */
    NULL,                                  /* owns_cleanup */
    NULL,                                  /* detach */
    NULL,                                  /* log */
    NULL,                                  /* close */
    ngx_http_ws_deflate_cleanup,           /* free */
    NULL,                                  /* busy */
    NULL,                                  /* going_away */
    NULL,                                  /* gone_away */
    NULL                                   /* output_drained */
};


static ngx_http_ws_shared_deflater_t
    ngx_http_ws_shared_deflaters[NGX_HTTP_WS_SHARED_DEFLATERS];
static ngx_uint_t  ngx_http_ws_shared_deflaters_n;


#define ngx_http_ws_deflate_key(bits, level, mem)                             \
    (((bits) << 8) | ((level) << 4) | (mem))


/*
 * Queues a data message frame on ws, compressed where it applies: the
 * session's send once permessage-deflate is agreed.
 */
ngx_int_t
ngx_http_ws_deflate_queue(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache)
{
    ngx_int_t             rc;
    ngx_http_ws_frame_t  *out;

    if (!ws->deflate_on) {
        return ngx_http_ws_output_queue(ws, frame);
    }

    out = ngx_http_ws_deflate_frame(ws, frame, cache);
    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_ws_output_queue(ws, out);

    ngx_http_ws_frame_release(out);

    return rc;
}


/*
 * The frame to send ws for a plain, unfragmented data frame, with a
 * reference for the caller: the frame itself or a compressed copy.
 */
static ngx_http_ws_frame_t *
ngx_http_ws_deflate_frame(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache)
{
    u_char                  *payload, *p;
    size_t                   hlen, len, zlen;
    ngx_uint_t               i, key, shared;
    const uint8_t           *z;
    wscore_opcode_e          opcode;
    wscore_deflater_t       *d;
    ngx_http_ws_frame_t     *out;
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ws->conf;

    /* our own header: 2, 4 or 10 bytes by the 7-bit length field */
    hlen = (frame->data[1] & 0x7f) == 127 ? 10
           : (frame->data[1] & 0x7f) == 126 ? 4 : 2;
    opcode = frame->data[0] & 0x0f;
    payload = frame->data + hlen;
    len = frame->len - hlen;

    if (len < wscf->deflate_min_size) {
        frame->refs++;
        return frame;
    }

    shared = ws->rare->deflate.server_no_context_takeover;
    key = ngx_http_ws_deflate_key(ws->rare->deflate.server_max_window_bits,
                                  wscf->deflate_level,
                                  wscf->deflate_mem_level);

    if (shared) {
        if (cache) {
            for (i = 0; i < cache->n; i++) {
                if (cache->key[i] == key) {
                    cache->frame[i]->refs++;
                    return cache->frame[i];
                }
            }
        }

        d = ngx_http_ws_shared_deflater(key, ws->connection->log);

    } else {
        if (ws->rare->deflater == NULL) {
            ws->rare->deflater = wscore_deflater_create(
                                     ws->rare->deflate.server_max_window_bits,
                                     (int) wscf->deflate_level,
                                     (int) wscf->deflate_mem_level, 1);
            if (ws->rare->deflater == NULL) {
                ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                              "ws: cannot create a compressor");
                return NULL;
            }
        }

        d = ws->rare->deflater;
    }

    if (d == NULL
        || wscore_deflater_compress(d, payload, len, &z, &zlen)
           != WSCORE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ws->connection->log, 0,
                      "ws: compression failed, out of memory");
        return NULL;
    }

    if (shared && zlen >= len) {
        /*
         * Incompressible: without context takeover nothing ties the next
         * message to this one, so the plain frame is the smaller answer
         * (and is what the cache hands to the other subscribers). With
         * takeover the client must see what our window saw.
         */
        frame->refs++;
        out = frame;

    } else {
        /* made with the caller's reference */
        out = ngx_http_ws_frame_alloc_compressed(ws->connection->log, opcode,
                                                 zlen, &p);
        if (out == NULL) {
            return NULL;
        }

        ngx_memcpy(p, z, zlen);
    }

    if (shared && cache && cache->n < NGX_HTTP_WS_DEFLATE_CACHE) {
        cache->key[cache->n] = key;
        cache->frame[cache->n] = out;
        cache->n++;
        out->refs++;
    }

    return out;
}


void
ngx_http_ws_deflate_cache_release(ngx_http_ws_deflate_cache_t *cache)
{
    ngx_uint_t  i;

    for (i = 0; i < cache->n; i++) {
        ngx_http_ws_frame_release(cache->frame[i]);
    }

    cache->n = 0;
}


/*
 * Compressors without context takeover are reset after every message, so
 * one per setting serves the whole worker; made when first needed.
 */
static wscore_deflater_t *
ngx_http_ws_shared_deflater(ngx_uint_t key, ngx_log_t *log)
{
    ngx_uint_t                      i;
    ngx_http_ws_shared_deflater_t  *sd;

    for (i = 0; i < ngx_http_ws_shared_deflaters_n; i++) {
        if (ngx_http_ws_shared_deflaters[i].key == key) {
            return ngx_http_ws_shared_deflaters[i].deflater;
        }
    }

    if (ngx_http_ws_shared_deflaters_n == NGX_HTTP_WS_SHARED_DEFLATERS) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws: more than %d distinct ws_deflate settings",
                      NGX_HTTP_WS_SHARED_DEFLATERS);
        return NULL;
    }

    sd = &ngx_http_ws_shared_deflaters[ngx_http_ws_shared_deflaters_n];

    sd->deflater = wscore_deflater_create(key >> 8, (int) (key >> 4) & 0xf,
                                          (int) key & 0xf, 0);
    if (sd->deflater == NULL) {
        return NULL;
    }

    sd->key = key;
    ngx_http_ws_shared_deflaters_n++;

    return sd->deflater;
}


static void
ngx_http_ws_deflate_cleanup(ngx_http_ws_session_t *ws)
{
    if (ws->rare && ws->rare->deflater) {
        wscore_deflater_destroy(ws->rare->deflater);
        ws->rare->deflater = NULL;
    }
}


void
ngx_http_ws_deflate_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_ws_shared_deflaters_n; i++) {
        wscore_deflater_destroy(ngx_http_ws_shared_deflaters[i].deflater);
    }

    ngx_http_ws_shared_deflaters_n = 0;
}


/*
 * The negotiation (RFC 7692 section 7.1): the first acceptable offer is
 * answered; the rest, and unacceptable offers, are declined by omission.
 * Only a Sec-WebSocket-Extensions header that breaks the grammar of
 * RFC 6455 section 9.1 fails the handshake, with 400.
 */
static ngx_int_t
ngx_http_ws_deflate_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t                      key, value;
    wscore_str_t                   offers;
    ngx_http_ws_loc_conf_t        *wscf;
    wscore_deflate_policy_t        policy;
    wscore_deflate_negotiation_t   n;
    ngx_http_ws_session_rare_t    *rare;

    wscf = ws->conf;

    if (!wscf->deflate) {
        return NGX_OK;
    }

    ngx_http_ws_handshake_header(r, "Sec-WebSocket-Extensions", &offers);

    if (offers.data == NULL) {
        return NGX_OK;
    }

    policy.server_max_window_bits = wscf->deflate_server_max_window_bits;
    policy.client_max_window_bits = wscf->deflate_client_max_window_bits;
    policy.server_no_context_takeover =
                                   wscf->deflate_server_no_context_takeover;

    wscore_deflate_negotiate(&policy, offers.data, offers.len, &n);

    if (n.outcome == WSCORE_DEFLATE_MALFORMED) {
        refusal->status = NGX_HTTP_BAD_REQUEST;
        refusal->reason = n.reason;
        return NGX_DECLINED;
    }

    if (n.outcome == WSCORE_DEFLATE_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: permessage-deflate declined: %s", n.reason);
        return NGX_OK;
    }

    if (wscore_session_enable_deflate(ws->core, &n.params) != WSCORE_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rare = ngx_http_ws_session_rare(ws);
    if (rare == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rare->deflate = n.params;
    rare->send = ngx_http_ws_deflate_queue;
    ws->deflate_on = 1;

    value.len = n.answer_len;
    value.data = ngx_pnalloc(r->pool, n.answer_len);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(value.data, n.answer, n.answer_len);

    ngx_str_set(&key, "Sec-WebSocket-Extensions");

    if (ngx_http_ws_response_header(r, &key, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws: permessage-deflate agreed: \"%V\"", &value);

    return NGX_OK;
}
