
/*
 * ngx_ws: the proxy's connect hook: a peer of the upstream{} group, and
 * the opening handshake with it, ngx_ws being the client (RFC 6455
 * section 4.1).
 *
 * The client's handshake waits (the hook returns NGX_DONE) while the
 * peer is chosen by the group's balancer (round robin, hash, least_conn,
 * with max_fails and backup), connected and sent a handshake carrying the
 * client's subprotocol offer, cookies, Authorization, Origin and
 * X-Forwarded-For/-Proto. The upstream's answer decides the client's:
 *
 *   101, checked by the core      the client gets its 101
 *   any other status              the client gets that status (a 1xx,
 *                                 2xx or 3xx, which a WebSocket client
 *                                 cannot use, is a 502)
 *   cannot connect, closed, bad   502, after the next peers were tried
 *   timed out                     504, after the next peers were tried
 */


#include "ngx_http_ws_proxy.h"
#include "ngx_http_ws_random.h"
#include "ngx_http_ws_handshake.h"
#include "ngx_http_ws_metrics.h"


/* the upstream's answer head: a 101's few headers fit easily */
#define NGX_HTTP_WS_PROXY_HEADER_SIZE  4096

/*
 * The pool of the balancer's state: the upstream object the balancers
 * write their peer into and their per-connection data (a round robin's
 * few words, a hash's key). Larger allocations come from the heap.
 */
#define NGX_HTTP_WS_PROXY_POOL_SIZE    1024


static void ngx_http_ws_proxy_request_cleanup(void *data);
static ngx_int_t ngx_http_ws_proxy_build_request(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_connect_peer(ngx_http_ws_proxy_t *px);
#if (NGX_SSL)
static void ngx_http_ws_proxy_handshaked(ngx_connection_t *c);
#endif
static void ngx_http_ws_proxy_send_handler(ngx_event_t *wev);
static void ngx_http_ws_proxy_answer_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_ws_proxy_read_answer(ngx_http_ws_proxy_t *px);
static ngx_int_t ngx_http_ws_proxy_check_answer(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_drop(ngx_http_ws_proxy_t *px);
static void ngx_http_ws_proxy_finish(ngx_http_ws_proxy_t *px,
    ngx_uint_t status);
static void ngx_http_ws_proxy_dummy_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_ws_proxy_test_connect(ngx_connection_t *c);


ngx_int_t
ngx_http_ws_proxy_connect(ngx_http_request_t *r, const char *accept)
{
    u_char                     rnd[16];
    ngx_int_t                  rc;
    ngx_str_t                  src, dst;
    ngx_pool_t                *pool;
    ngx_pool_cleanup_t        *cln;
    ngx_http_upstream_t       *u;
    ngx_http_ws_proxy_t       *px;
    ngx_http_ws_proxy_conf_t  *pcf;

    pcf = ngx_http_get_module_loc_conf(r, ngx_http_ws_proxy_module);

    /* called once: a hold of the handshake walks the hooks again */
    if (pcf->upstream == NULL
        || ngx_http_get_module_ctx(r, ngx_http_ws_proxy_module) != NULL)
    {
        return NGX_DECLINED;
    }

    /* on the heap: it outlives the request, which goes after the 101 */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    px = ngx_calloc(sizeof(ngx_http_ws_proxy_t), r->connection->log);
    if (px == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_ws_proxy_request_cleanup;
    cln->data = px;
    px->cleanup = cln;

    px->pool = ngx_create_pool(NGX_HTTP_WS_PROXY_POOL_SIZE,
                               r->connection->log);
    if (px->pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    px->request = r;
    px->conf = pcf;
    px->metrics_location = ngx_http_ws_metrics_location_of(r);
    px->start = ngx_current_msec;
    px->connect_time = (ngx_msec_t) -1;
    px->handshake_time = (ngx_msec_t) -1;
    px->out_last = &px->out;
    ngx_memcpy(px->accept, accept, WSCORE_ACCEPT_LEN);

    /* Sec-WebSocket-Key: 16 random bytes (RFC 6455 section 4.1) */
    if (ngx_http_ws_random_bytes(rnd, sizeof(rnd)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = rnd;
    src.len = sizeof(rnd);
    dst.data = px->key;
    ngx_encode_base64(&dst, &src);

    if (ngx_http_ws_proxy_build_request(px) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The balancers keep their per-request state in r->upstream->peer:
     * an upstream object is made for them, its peer taken over, and the
     * request left without one (NGINX's upstream code never runs on it).
     * They allocate from the request's pool, which is lent the link's own
     * meanwhile: their state (least_conn's count is given back when the
     * link closes) must outlive the request.
     */
    pool = r->pool;
    r->pool = px->pool;

    rc = ngx_http_upstream_create(r);

    u = r->upstream;

    if (rc == NGX_OK) {
        rc = pcf->upstream->peer.init(r, pcf->upstream);
    }

    r->pool = pool;

    if (rc != NGX_OK) {
        r->upstream = NULL;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    px->peer = &u->peer;
    px->peer->log = r->connection->log;
    px->peer->log_error = NGX_ERROR_ERR;
    r->upstream = NULL;

    ngx_http_set_ctx(r, px, ngx_http_ws_proxy_module);

    r->main->count++;

    ngx_http_ws_proxy_connect_peer(px);

    return NGX_DONE;
}


/*
 * The handshake failed, or the request ends while it still owns the link
 * (it was not freed after the 101): the link goes with it.
 */
static void
ngx_http_ws_proxy_request_cleanup(void *data)
{
    ngx_http_ws_proxy_t  *px = data;

    if (px->session) {
        px->session->rare->proxy = NULL;
    }

    ngx_http_ws_proxy_destroy(px);
}


ngx_uint_t
ngx_http_ws_proxy_owns_cleanup(ngx_pool_cleanup_pt handler)
{
    return handler == ngx_http_ws_proxy_request_cleanup;
}


/*
 * The request is freed after the 101: what of it the handshake used goes
 * with it, and the session owns the link from now on.
 */
void
ngx_http_ws_proxy_detach(ngx_http_ws_proxy_t *px)
{
    if (px->cleanup) {
        px->cleanup->handler = NULL;
        px->cleanup = NULL;
    }

    px->request = NULL;
    px->request_buf = NULL;
    px->header = NULL;
    ngx_str_null(&px->protocol);
}


/* The link, its balancer state and the link's memory. */
void
ngx_http_ws_proxy_destroy(ngx_http_ws_proxy_t *px)
{
    /* a link that was relaying: who sent the first close on it */
    if (px->upgraded) {
        ngx_http_ws_proxy_metric(px, proxy_closes, px->closed_by)++;
    }

    if (px->relay_free) {
        px->relay_free(px);
    }

    ngx_http_ws_proxy_close_upstream(px);

    if (px->pool) {
        ngx_destroy_pool(px->pool);
    }

    ngx_free(px);
}


void
ngx_http_ws_proxy_close_upstream(ngx_http_ws_proxy_t *px)
{
    if (px->timer.timer_set) {
        ngx_del_timer(&px->timer);
    }

    if (px->connection == NULL) {
        return;
    }

    ngx_http_ws_proxy_drop(px);

    if (px->peer->free && px->peer->connection) {
        px->peer->free(px->peer, px->peer->data, 0);
    }

    px->peer->connection = NULL;
}


/* Closes the socket to the upstream (TLS without waiting for its close). */
static void
ngx_http_ws_proxy_drop(ngx_http_ws_proxy_t *px)
{
    ngx_connection_t  *c;

    c = px->connection;

    if (c == NULL) {
        return;
    }

    px->connection = NULL;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    if (c->pool) {
        ngx_destroy_pool(c->pool);
        c->pool = NULL;
    }

    ngx_close_connection(c);
}


/*
 * The upstream's request line and headers: the client's URI (or the
 * URL's), a key of our own, and what an application behind a proxy
 * expects to see of its client: Host of the URL, X-Forwarded-For and
 * -Proto, and the client's subprotocol offer, cookies, Authorization,
 * Origin and User-Agent. ws_proxy_set_header replaces any of those (an
 * empty value leaves it out) or adds its own.
 */
typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  value;
} ngx_http_ws_proxy_header_t;


static ngx_int_t
ngx_http_ws_proxy_build_request(ngx_http_ws_proxy_t *px)
{
    size_t                           len;
    u_char                          *p;
    ngx_buf_t                       *b;
    ngx_str_t                       *uri, args, value;
    ngx_uint_t                       i, j, n;
    wscore_str_t                     client;
    ngx_http_request_t              *r;
    ngx_http_ws_proxy_conf_t        *pcf;
    ngx_http_ws_proxy_header_t       hdr[16];
    ngx_http_ws_proxy_set_header_t  *set;

    static const char  *forwarded[] = {
        "Sec-WebSocket-Protocol", "Cookie", "Authorization", "Origin",
        "User-Agent"
    };

    r = px->request;
    pcf = px->conf;
    n = 0;

    if (pcf->uri.len) {
        uri = &pcf->uri;
        args = r->args;

    } else {
        uri = &r->unparsed_uri;
        ngx_str_null(&args);
    }

    ngx_str_set(&hdr[n].name, "Host");
    hdr[n++].value = pcf->host;

    /* X-Forwarded-For: what the client's request had, then the client */
    ngx_http_ws_handshake_header(r, "X-Forwarded-For", &client);

    ngx_str_set(&hdr[n].name, "X-Forwarded-For");
    hdr[n].value.len = (client.data ? client.len + 2 : 0)
                       + r->connection->addr_text.len;
    hdr[n].value.data = ngx_pnalloc(r->pool, hdr[n].value.len);
    if (hdr[n].value.data == NULL) {
        return NGX_ERROR;
    }

    p = hdr[n].value.data;

    if (client.data) {
        p = ngx_cpymem(p, client.data, client.len);
        *p++ = ','; *p++ = ' ';
    }

    ngx_memcpy(p, r->connection->addr_text.data,
               r->connection->addr_text.len);
    n++;

    ngx_str_set(&hdr[n].name, "X-Forwarded-Proto");
#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&hdr[n].value, "https");
    } else
#endif
    {
        ngx_str_set(&hdr[n].value, "http");
    }
    n++;

    for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
        ngx_http_ws_handshake_header(r, forwarded[i], &client);

        if (client.data) {
            hdr[n].name.data = (u_char *) forwarded[i];
            hdr[n].name.len = ngx_strlen(forwarded[i]);
            hdr[n].value.data = (u_char *) client.data;
            hdr[n].value.len = client.len;
            n++;
        }
    }

    /* what ws_proxy_set_header sets replaces the header of that name */
    set = pcf->set_headers ? pcf->set_headers->elts : NULL;

    for (i = 0; set && i < pcf->set_headers->nelts; i++) {
        if (ngx_http_complex_value(r, &set[i].value, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        for (j = 0; j < n; j++) {
            if (hdr[j].name.len == set[i].name.len
                && ngx_strncasecmp(hdr[j].name.data, set[i].name.data,
                                   set[i].name.len) == 0)
            {
                break;
            }
        }

        if (j == n) {
            if (n == sizeof(hdr) / sizeof(hdr[0])) {
                return NGX_ERROR;
            }

            n++;
        }

        hdr[j].name = set[i].name;
        hdr[j].value = value;
    }

    len = sizeof("GET ") - 1 + uri->len + 1 + args.len
          + sizeof(" HTTP/1.1" CRLF) - 1
          + sizeof("Upgrade: websocket" CRLF) - 1
          + sizeof("Connection: Upgrade" CRLF) - 1
          + sizeof("Sec-WebSocket-Key: " CRLF) - 1 + sizeof(px->key)
          + sizeof("Sec-WebSocket-Version: 13" CRLF) - 1
          + sizeof(CRLF) - 1;

    if (px->conf->deflate) {
        len += sizeof("Sec-WebSocket-Extensions: "
                      WSCORE_CLIENT_DEFLATE_OFFER CRLF) - 1;
    }

    for (i = 0; i < n; i++) {
        if (hdr[i].value.len) {
            len += hdr[i].name.len + sizeof(": " CRLF) - 1 + hdr[i].value.len;
        }
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, "GET ", 4);
    b->last = ngx_cpymem(b->last, uri->data, uri->len);

    if (args.len) {
        *b->last++ = '?';
        b->last = ngx_cpymem(b->last, args.data, args.len);
    }

    b->last = ngx_sprintf(b->last,
                          " HTTP/1.1" CRLF
                          "Upgrade: websocket" CRLF
                          "Connection: Upgrade" CRLF
                          "Sec-WebSocket-Key: %*s" CRLF
                          "Sec-WebSocket-Version: 13" CRLF,
                          sizeof(px->key), px->key);

    if (px->conf->deflate) {
        b->last = ngx_cpymem(b->last, "Sec-WebSocket-Extensions: "
                             WSCORE_CLIENT_DEFLATE_OFFER CRLF,
                             sizeof("Sec-WebSocket-Extensions: "
                                    WSCORE_CLIENT_DEFLATE_OFFER CRLF) - 1);
    }

    for (i = 0; i < n; i++) {
        /* an empty value leaves the header out, as in proxy_set_header */
        if (hdr[i].value.len) {
            b->last = ngx_sprintf(b->last, "%V: %V" CRLF, &hdr[i].name,
                                  &hdr[i].value);
        }
    }

    *b->last++ = CR; *b->last++ = LF;

    px->request_buf = b;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws proxy: handshake request:\n\"%*s\"",
                   (size_t) (b->last - b->pos), b->pos);

    return NGX_OK;
}


static void
ngx_http_ws_proxy_connect_peer(ngx_http_ws_proxy_t *px)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = px->request;

    px->request_buf->pos = px->request_buf->start;
    px->peer->start_time = ngx_current_msec;

    rc = ngx_event_connect_peer(px->peer);

    if (px->peer->name) {
        px->addr = *px->peer->name;
    }

    if (rc == NGX_ERROR) {
        ngx_http_ws_proxy_finish(px, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws proxy: no live upstreams");
        ngx_http_ws_proxy_finish(px, NGX_HTTP_BAD_GATEWAY);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                               "cannot connect");
        return;
    }

    /* NGX_OK or NGX_AGAIN */

    c = px->peer->connection;
    px->connection = c;

    c->data = px;
    c->log = r->connection->log;
    c->read->log = c->log;
    c->write->log = c->log;

    c->pool = ngx_create_pool(128, r->connection->log);
    if (c->pool == NULL) {
        ngx_http_ws_proxy_finish(px, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    c->write->handler = ngx_http_ws_proxy_send_handler;
    c->read->handler = ngx_http_ws_proxy_answer_handler;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, px->conf->connect_timeout);
        return;
    }

    ngx_http_ws_proxy_send_handler(c->write);
}


#if (NGX_SSL)

/* A TLS handshake to the upstream that did not end at once has ended. */
static void
ngx_http_ws_proxy_handshaked(ngx_connection_t *c)
{
    const char           *why;
    ngx_http_ws_proxy_t  *px;

    px = c->data;

    if (c->write->timedout || c->read->timedout) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_GATEWAY_TIME_OUT,
                                          "TLS handshake timed out");
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                          "TLS handshake failed");
        return;
    }

    why = ngx_http_ws_proxy_tls_verify(c, px->conf);

    if (why) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY, why);
        return;
    }

    ngx_http_ws_proxy_upstream_ready(px);
}

#endif


/* TLS is up and verified: the handshake request goes out. */
void
ngx_http_ws_proxy_upstream_ready(ngx_http_ws_proxy_t *px)
{
    ngx_connection_t  *c;

    c = px->connection;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    c->write->handler = ngx_http_ws_proxy_send_handler;
    c->read->handler = ngx_http_ws_proxy_answer_handler;

    ngx_http_ws_proxy_send_handler(c->write);
}


/* Connected (or not): the handshake request goes out. */
static void
ngx_http_ws_proxy_send_handler(ngx_event_t *wev)
{
    ssize_t               n;
    const char           *why;
    ngx_buf_t            *b;
    ngx_connection_t     *c;
    ngx_http_ws_proxy_t  *px;

    c = wev->data;
    px = c->data;
    b = px->request_buf;

    if (wev->timedout) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_GATEWAY_TIME_OUT,
                               px->connected ? "handshake timed out"
                                             : "connect timed out");
        return;
    }

    if (!px->connected) {
        if (ngx_http_ws_proxy_test_connect(c) != NGX_OK) {
            ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                   "cannot connect");
            return;
        }

        px->connected = 1;
        px->connect_time = ngx_current_msec - px->start;
        ngx_http_ws_proxy_metric(px, proxy_connects,
                                 NGX_HTTP_WS_PROXY_CONNECT_OK)++;

#if (NGX_SSL)
        if (px->conf->tls && c->ssl == NULL) {
            switch (ngx_http_ws_proxy_tls_start(px,
                                                ngx_http_ws_proxy_handshaked,
                                                &why))
            {
            case NGX_AGAIN:
                return;     /* ngx_http_ws_proxy_handshaked() follows */

            case NGX_OK:
                break;

            default:
                ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                                  why);
                return;
            }
        }
#endif
    }

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (!wev->timer_set) {
                ngx_add_timer(wev, px->conf->handshake_timeout);
            }

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_ws_proxy_finish(px, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                   "cannot send the handshake");
            return;
        }

        b->pos += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_http_ws_proxy_dummy_handler;

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, px->conf->handshake_timeout);
    }

    if (c->read->ready) {
        ngx_http_ws_proxy_answer_handler(c->read);
    }
}


static void
ngx_http_ws_proxy_answer_handler(ngx_event_t *rev)
{
    ssize_t               n;
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_ws_proxy_t  *px;

    c = rev->data;
    px = c->data;
    r = px->request;

    if (rev->timedout) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_GATEWAY_TIME_OUT,
                               "handshake timed out");
        return;
    }

    if (px->request_buf->pos < px->request_buf->last) {
        /* its answer before our request went out: read it afterwards */
        return;
    }

    if (px->header == NULL) {
        px->header = ngx_create_temp_buf(r->pool,
                                         NGX_HTTP_WS_PROXY_HEADER_SIZE);
        if (px->header == NULL) {
            ngx_http_ws_proxy_finish(px, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        r->state = 0;
    }

    b = px->header;

    for ( ;; ) {
        if (b->last == b->end) {
            ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                   "the upstream's answer head is too big");
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_ws_proxy_finish(px, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                                   "the upstream closed the connection "
                                   "before its answer");
            return;
        }

        b->last += n;

        rc = ngx_http_ws_proxy_read_answer(px);

        if (rc == NGX_AGAIN) {
            continue;
        }

        break;
    }

    if (rc == NGX_ERROR) {
        ngx_http_ws_proxy_upstream_failed(px, NGX_HTTP_BAD_GATEWAY,
                               "the upstream sent an invalid answer");
        return;
    }

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    px->handshake_time = ngx_current_msec - px->start;

    if (px->status != NGX_HTTP_SWITCHING_PROTOCOLS) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws proxy: upstream %V refused the handshake with %ui",
                      &px->addr, px->status);

        ngx_http_ws_proxy_close_upstream(px);
        ngx_http_ws_proxy_finish(px, px->status >= NGX_HTTP_BAD_REQUEST
                                     && px->status < 600
                                     ? px->status : NGX_HTTP_BAD_GATEWAY);
        return;
    }

    if (ngx_http_ws_proxy_check_answer(px) != NGX_OK) {
        ngx_http_ws_proxy_close_upstream(px);
        ngx_http_ws_proxy_finish(px, NGX_HTTP_BAD_GATEWAY);
        return;
    }

    /* frames before the client is ready wait in the socket */
    c->read->handler = ngx_http_ws_proxy_dummy_handler;
    px->upgraded = 1;

    ngx_http_ws_proxy_finish(px, NGX_OK);
}


/*
 * Parses the status line and headers with NGINX's own parsers (the
 * request's parse state is free: its own headers were read long ago).
 * NGX_OK once the head is whole, NGX_AGAIN, or NGX_ERROR.
 */
static ngx_int_t
ngx_http_ws_proxy_read_answer(ngx_http_ws_proxy_t *px)
{
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_http_status_t    status;
    ngx_http_request_t  *r;

    r = px->request;
    b = px->header;

    if (px->status == 0) {
        ngx_memzero(&status, sizeof(ngx_http_status_t));
        b->pos = b->start;
        r->state = 0;

        rc = ngx_http_parse_status_line(r, b, &status);

        if (rc == NGX_AGAIN) {
            b->pos = b->start;
            r->state = 0;
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        px->status = status.code;
        r->state = 0;
    }

    for ( ;; ) {
        rc = ngx_http_parse_header_line(r, b, 1);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            return NGX_OK;
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        return NGX_ERROR;
    }
}


/*
 * The 101's headers, read again from the buffer now that it is whole,
 * go to the core, which decides whether it completes our handshake.
 */
static ngx_int_t
ngx_http_ws_proxy_check_answer(ngx_http_ws_proxy_t *px)
{
    int                           agreed;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_buf_t                    *b, copy;
    const char                   *why;
    wscore_str_t                 *field, offered;
    ngx_http_request_t           *r;
    ngx_http_status_t             status;
    wscore_handshake_response_t   resp;

    r = px->request;
    b = px->header;

    ngx_memzero(&resp, sizeof(resp));
    resp.status = (int) px->status;

    copy = *b;
    copy.pos = copy.start;
    ngx_memzero(&status, sizeof(ngx_http_status_t));
    r->state = 0;

    if (ngx_http_parse_status_line(r, &copy, &status) != NGX_OK) {
        return NGX_ERROR;
    }

    r->state = 0;

    for ( ;; ) {
        rc = ngx_http_parse_header_line(r, &copy, 1);

        if (rc != NGX_OK) {
            break;
        }

        len = r->header_name_end - r->header_name_start;
        field = NULL;

#define ngx_http_ws_proxy_is(name)                                           \
        (len == sizeof(name) - 1                                             \
         && ngx_strncasecmp(r->header_name_start, (u_char *) name, len) == 0)

        if (ngx_http_ws_proxy_is("Upgrade")) {
            field = &resp.upgrade;

        } else if (ngx_http_ws_proxy_is("Connection")) {
            field = &resp.connection;

        } else if (ngx_http_ws_proxy_is("Sec-WebSocket-Accept")) {
            field = &resp.accept;

        } else if (ngx_http_ws_proxy_is("Sec-WebSocket-Protocol")) {
            field = &resp.protocol;

        } else if (ngx_http_ws_proxy_is("Sec-WebSocket-Extensions")) {
            field = &resp.extensions;
        }

#undef ngx_http_ws_proxy_is

        if (field == NULL) {
            continue;
        }

        if (field->data) {
            /* a repeated field: refused rather than joined */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "ws proxy: upstream %V repeated \"%*s\" in its 101",
                          &px->addr, len, r->header_name_start);
            return NGX_ERROR;
        }

        field->data = (const char *) r->header_start;
        field->len = r->header_end - r->header_start;
    }

    /* what is left after the head is the upstream's first frames */
    b->pos = copy.pos;

    ngx_http_ws_handshake_header(r, "Sec-WebSocket-Protocol", &offered);

    /*
     * With ws_proxy_deflate the core checks that an extension answered is
     * a valid agreement to our offer; without, that none is.
     */
    agreed = 0;

    if (px->conf->deflate) {
        rc = wscore_handshake_check_response_deflate(&resp,
                                                     (const char *) px->key,
                                                     sizeof(px->key),
                                                     offered, &px->deflate,
                                                     &agreed, &why);

    } else {
        rc = wscore_handshake_check_response(&resp, (const char *) px->key,
                                             sizeof(px->key), offered,
                                             &why);
    }

    px->deflating = agreed ? 1 : 0;

    if (rc != WSCORE_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws proxy: upstream %V sent a bad 101: %s",
                      &px->addr, why);
        return NGX_ERROR;
    }

    if (resp.protocol.data) {
        px->protocol.data = ngx_pnalloc(r->pool, resp.protocol.len);
        if (px->protocol.data == NULL) {
            return NGX_ERROR;
        }

        px->protocol.len = resp.protocol.len;
        ngx_memcpy(px->protocol.data, resp.protocol.data, resp.protocol.len);
    }

    return NGX_OK;
}


/*
 * This peer failed: the balancer hears of it (max_fails), and the next
 * one is tried while the group has tries left, as proxy_next_upstream's
 * default "error timeout" does.
 */
void
ngx_http_ws_proxy_upstream_failed(ngx_http_ws_proxy_t *px, ngx_uint_t status,
    const char *why)
{
    ngx_log_error(NGX_LOG_ERR, px->request->connection->log, 0,
                  "ws proxy: upstream %V: %s", &px->addr, why);

    if (!px->connected) {
        ngx_http_ws_proxy_metric(px, proxy_connects,
                                 NGX_HTTP_WS_PROXY_CONNECT_FAILED)++;
    }

    if (px->connection) {
        ngx_http_ws_proxy_drop(px);
        px->peer->connection = NULL;
    }

    px->peer->free(px->peer, px->peer->data, NGX_PEER_FAILED);

    px->connected = 0;
    px->status = 0;

    if (px->header) {
        px->header->pos = px->header->start;
        px->header->last = px->header->start;
    }

    if (px->peer->tries == 0) {
        ngx_http_ws_proxy_finish(px, status);
        return;
    }

    ngx_http_ws_proxy_connect_peer(px);
}


/*
 * The handshake's outcome: NGX_OK sends the client its 101, a status
 * answers it with that status.
 */
static void
ngx_http_ws_proxy_finish(ngx_http_ws_proxy_t *px, ngx_uint_t status)
{
    ngx_int_t            rc;
    ngx_uint_t           result;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = px->request;
    c = r->connection;

    /* how it ended, as the metrics count it */
    if (status == NGX_OK) {
        result = NGX_HTTP_WS_PROXY_HANDSHAKE_101;

    } else if (px->status != 0 && status == px->status) {
        result = status < NGX_HTTP_INTERNAL_SERVER_ERROR
                 ? NGX_HTTP_WS_PROXY_HANDSHAKE_4XX
                 : NGX_HTTP_WS_PROXY_HANDSHAKE_5XX;

    } else if (px->status != 0) {
        result = NGX_HTTP_WS_PROXY_HANDSHAKE_INVALID;

    } else if (status == NGX_HTTP_GATEWAY_TIME_OUT) {
        result = NGX_HTTP_WS_PROXY_HANDSHAKE_TIMEOUT;

    } else if (status == NGX_HTTP_BAD_GATEWAY) {
        result = NGX_HTTP_WS_PROXY_HANDSHAKE_UNREACHABLE;

    } else {
        result = NGX_HTTP_WS_PROXY_HANDSHAKE_ERROR;
    }

    ngx_http_ws_proxy_metric(px, proxy_handshakes, result)++;

    if (status != NGX_OK) {
        ngx_http_ws_proxy_close_upstream(px);
        ngx_http_finalize_request(r, status);

    } else {
        rc = ngx_http_ws_handshake_resume(r, (const char *) px->accept);
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* A non-blocking connect's outcome is the socket's pending error. */
static ngx_int_t
ngx_http_ws_proxy_test_connect(ngx_connection_t *c)
{
    ngx_err_t  err;

    err = ngx_http_ws_connect_error(c);

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_ws_proxy_dummy_handler(ngx_event_t *ev)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "ws proxy: upstream event before the relay");
}
