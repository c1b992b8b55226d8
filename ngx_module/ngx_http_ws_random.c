
/*
 * ngx_ws: random bytes for the worker.
 *
 * RAND_bytes() has a fixed cost per call far above its cost per byte
 * (OpenSSL 3 locks its generator, checks for a fork and sets up its
 * cipher on every call): two calls for a handshake's trace and span ids
 * were a third of the handshake's instructions, and one per proxied frame
 * a tenth of a proxying worker's time. The bytes are drawn 4 KiB at a
 * time instead and handed out in order, each once. The buffer belongs to
 * the process that filled it: a process forked after a fill (NGINX forks
 * workers from the master, which draws nothing, but a module may fork)
 * throws it away rather than repeat its parent's bytes.
 */


#include "ngx_http_ws_random.h"

#include <openssl/rand.h>


#define NGX_HTTP_WS_RANDOM_SIZE  4096


static u_char      ngx_http_ws_random_buf[NGX_HTTP_WS_RANDOM_SIZE];
static size_t      ngx_http_ws_random_used = NGX_HTTP_WS_RANDOM_SIZE;
static ngx_pid_t   ngx_http_ws_random_owner;


ngx_int_t
ngx_http_ws_random_bytes(u_char *buf, size_t len)
{
    if (len > NGX_HTTP_WS_RANDOM_SIZE) {
        return RAND_bytes(buf, (int) len) == 1 ? NGX_OK : NGX_ERROR;
    }

    if (NGX_HTTP_WS_RANDOM_SIZE - ngx_http_ws_random_used < len
        || ngx_http_ws_random_owner != ngx_pid)
    {
        if (RAND_bytes(ngx_http_ws_random_buf, NGX_HTTP_WS_RANDOM_SIZE) != 1) {
            ngx_http_ws_random_used = NGX_HTTP_WS_RANDOM_SIZE;
            return NGX_ERROR;
        }

        ngx_http_ws_random_used = 0;
        ngx_http_ws_random_owner = ngx_pid;
    }

    ngx_memcpy(buf, ngx_http_ws_random_buf + ngx_http_ws_random_used, len);
    ngx_http_ws_random_used += len;

    return NGX_OK;
}
