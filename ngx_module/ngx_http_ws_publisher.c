
/*
 * ngx_ws: the HTTP publish API ("ws_publisher").
 *
 * POST publishes the request body to the location's channel and answers
 * with the message's sequence number and the channel's subscriber count;
 * GET answers the channel's figures alone. Access control is NGINX's own
 * (allow/deny, auth_request, auth_basic) in the same location.
 *
 * The body is bounded by ws_max_message_size, not by NGINX's
 * client_max_body_size (lifted for publisher locations at configuration):
 * a publish of any size a WebSocket may send is taken, and one over it
 * gets this API's own JSON 413. NGINX's bound, being checked while NGINX
 * reads in its own handler, could only answer with its HTML page. So the
 * body is read as it comes (request_body_no_buffering), where read errors
 * return to the caller, and gathered into one buffer at the head of
 * r->request_body->bufs, where a buffered body would be.
 */


#include "ngx_http_ws_publisher.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_redis.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_zone.h"


typedef struct {
    ngx_http_request_t        *request;
    ngx_str_t                  channel;
} ngx_http_ws_publisher_redis_t;


static ngx_int_t ngx_http_ws_publisher_post(ngx_http_request_t *r);
static void ngx_http_ws_publisher_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_publisher_gather(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_publisher_too_large(ngx_http_request_t *r,
    off_t len);
static void ngx_http_ws_publisher_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_publisher_channel(ngx_http_request_t *r,
    ngx_str_t *channel);
static void ngx_http_ws_publisher_redis(ngx_http_request_t *r,
    ngx_str_t *channel, ngx_uint_t opcode, u_char *data, size_t len);
static void ngx_http_ws_publisher_redis_done(void *data, uint64_t seq);
static ngx_int_t ngx_http_ws_publisher_reply(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *channel, ngx_http_ws_channel_info_t *info,
    const char *error);


ngx_int_t
ngx_http_ws_publisher_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   channel;
    ngx_http_ws_main_conf_t    *wmcf;
    ngx_http_ws_channel_info_t  info;

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_ws_publisher_post(r);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_ws_publisher_channel(r, &channel);

    if (rc != NGX_OK) {
        return rc;
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);

    if (ngx_http_ws_zone_channel_info(wmcf->zone, &channel, &info)
        != NGX_OK)
    {
        /* a channel nobody used yet: no subscribers, nothing published */
        info.seq = 0;
        info.subscribers = 0;
    }

    return ngx_http_ws_publisher_reply(r, NGX_HTTP_OK, &channel, &info, NULL);
}


static ngx_int_t
ngx_http_ws_publisher_post(ngx_http_request_t *r)
{
    off_t                    len;
    ngx_int_t                rc;
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    if (wscf->max_message_size
        && r->headers_in.content_length_n > (off_t) wscf->max_message_size)
    {
        /* refused unread, as NGINX refuses a body over its own bound:
         * no "100 Continue" invites a body that will not be taken (and
         * discarding counts the length down, so it is taken first) */
        len = r->headers_in.content_length_n;
        r->expect_tested = 1;

        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_ws_publisher_too_large(r, len);
    }

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_ws_publisher_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The body's post handler, then its read handler until the body is whole:
 * gathers what came, reads on while the socket has more, publishes at the
 * end. Every error is answered here, over the bound with JSON.
 */
static void
ngx_http_ws_publisher_read(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    for ( ;; ) {
        rc = ngx_http_ws_publisher_gather(r);

        if (rc != NGX_OK) {
            break;
        }

        if (!r->reading_body) {
            /* whole: nothing more to read for this request */
            r->read_event_handler = ngx_http_block_reading;
            ngx_http_ws_publisher_body(r);
            return;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            break;
        }

        /*
         * Nothing new past the gathered buffer: wait for the socket. New
         * buffers are gathered first, NGINX reads no more while they
         * hold its buffer.
         */
        if (rc == NGX_AGAIN
            && (rb->bufs == NULL
                || (rb->bufs->next == NULL
                    && rb->bufs->buf->tag
                       == (ngx_buf_tag_t) &ngx_http_ws_publisher_gather)))
        {
            r->read_event_handler = ngx_http_ws_publisher_read;
            return;
        }
    }

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        rc = ngx_http_ws_publisher_too_large(r, -1);
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * Moves the body's new buffers into the gathered one (tagged as ours, the
 * first of r->request_body->bufs), which is sized for Content-Length or,
 * for a chunked body, doubled as needed up to ws_max_message_size.
 */
static ngx_int_t
ngx_http_ws_publisher_gather(ngx_http_request_t *r)
{
    size_t                    len, have, want;
    ngx_buf_t                *all, *b;
    ngx_chain_t              *cl, *next;
    ngx_http_request_body_t  *rb;
    ngx_http_ws_loc_conf_t   *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);
    rb = r->request_body;

    if (rb == NULL || rb->bufs == NULL) {
        return NGX_OK;
    }

    all = NULL;
    cl = rb->bufs;

    if (cl->buf->tag == (ngx_buf_tag_t) &ngx_http_ws_publisher_gather) {
        all = cl->buf;
        cl = cl->next;
    }

    have = all ? (size_t) (all->last - all->pos) : 0;
    len = 0;

    for (next = cl; next; next = next->next) {
        len += next->buf->last - next->buf->pos;
    }

    if (wscf->max_message_size && have + len > wscf->max_message_size) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (all == NULL && len == 0) {
        /* an empty body, or only its end */
        rb->bufs = NULL;
        return NGX_OK;
    }

    if (all == NULL || (size_t) (all->end - all->last) < len) {

        if (!r->headers_in.chunked && r->headers_in.content_length_n > 0) {
            want = (size_t) r->headers_in.content_length_n;

        } else {
            want = ngx_max(2 * (have + len), 16384);

            if (wscf->max_message_size) {
                want = ngx_min(want, wscf->max_message_size);
            }
        }

        b = ngx_create_temp_buf(r->pool, ngx_max(want, have + len));
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->tag = (ngx_buf_tag_t) &ngx_http_ws_publisher_gather;

        if (all) {
            b->last = ngx_cpymem(b->last, all->pos, have);
            ngx_pfree(r->pool, all->start);
            rb->bufs->buf = b;

        } else {
            next = ngx_alloc_chain_link(r->pool);
            if (next == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            next->buf = b;
            next->next = cl;
            rb->bufs = next;
        }

        all = b;
    }

    /* memory buffers only: an unbuffered body never goes to a file */
    for ( /* void */ ; cl; cl = next) {
        next = cl->next;
        len = cl->buf->last - cl->buf->pos;

        /* the body's end may come as a buffer of no bytes, pos NULL */
        if (len) {
            all->last = ngx_cpymem(all->last, cl->buf->pos, len);
            cl->buf->pos = cl->buf->last;
        }

        ngx_free_chain(r->pool, cl);
    }

    rb->bufs->next = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_publisher_too_large(ngx_http_request_t *r, off_t len)
{
    ngx_int_t                rc;
    ngx_str_t                channel;
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    rc = ngx_http_ws_publisher_channel(r, &channel);

    if (rc != NGX_OK) {
        return rc;
    }

    if (len >= 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: publish of %O bytes to channel \"%V\" is over "
                      "ws_max_message_size %uz", len, &channel,
                      wscf->max_message_size);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: publish to channel \"%V\" is over "
                      "ws_max_message_size %uz", &channel,
                      wscf->max_message_size);
    }

    return ngx_http_ws_publisher_reply(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       &channel, NULL, "message too large");
}


static void
ngx_http_ws_publisher_body(ngx_http_request_t *r)
{
    u_char                      *data;
    size_t                       len;
    ngx_int_t                    rc;
    ngx_str_t                    channel;
    ngx_uint_t                   opcode;
    ngx_http_ws_channel_info_t   info;

    rc = ngx_http_ws_publisher_channel(r, &channel);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the body, whole and bounded, in one buffer (publisher_gather) */
    data = NULL;
    len = 0;

    if (r->request_body && r->request_body->bufs) {
        data = r->request_body->bufs->buf->pos;
        len = r->request_body->bufs->buf->last - data;
    }

    /* text for "text/..." and JSON bodies, binary for everything else */
    opcode = WSCORE_OP_BINARY;

    if (r->headers_in.content_type == NULL
        || ngx_strncasecmp(r->headers_in.content_type->value.data,
                           (u_char *) "text/", 5) == 0
        || ngx_strncasecmp(r->headers_in.content_type->value.data,
                           (u_char *) "application/json", 16) == 0)
    {
        opcode = WSCORE_OP_TEXT;
    }

    /* WebSocket text must be UTF-8 (RFC 6455 section 5.6): say so here,
     * not by having every subscriber fail the connection with 1007 */
    if (opcode == WSCORE_OP_TEXT && !wscore_utf8_valid(data, len)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: text publish to channel \"%V\" is not valid "
                      "UTF-8", &channel);
        ngx_http_finalize_request(r,
            ngx_http_ws_publisher_reply(r, NGX_HTTP_BAD_REQUEST, &channel,
                                        NULL, "text body is not valid "
                                        "UTF-8; send binary with "
                                        "another Content-Type"));
        return;
    }

    if (ngx_http_ws_redis_channel(r->main_conf, &channel)) {
        ngx_http_ws_publisher_redis(r, &channel, opcode, data, len);
        return;
    }

    rc = ngx_http_ws_channels_publish(r->main_conf, r->connection->log,
                                      &channel, opcode, 0, data, len, &info);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: ws_zone is full, cannot publish to channel "
                      "\"%V\"", &channel);
        ngx_http_finalize_request(r,
            ngx_http_ws_publisher_reply(r, 507, &channel, NULL,
                                        "ws_zone is full"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* a direct message is on its way; whether the connection still
     * exists is known only in the worker that holds it */
    ngx_http_finalize_request(r,
        ngx_http_ws_publisher_reply(r,
                                    ngx_http_ws_zone_is_direct(&channel)
                                    ? NGX_HTTP_ACCEPTED : NGX_HTTP_OK,
                                    &channel, &info, NULL));
}


/*
 * A cross-node channel: the answer waits for Redis, which numbers the
 * message; a Redis that is down, or does not answer in its timeout, is a
 * 503 the publisher can retry on.
 */
static void
ngx_http_ws_publisher_redis(ngx_http_request_t *r, ngx_str_t *channel,
    ngx_uint_t opcode, u_char *data, size_t len)
{
    ngx_http_ws_publisher_redis_t  *ctx;

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_ws_publisher_redis_t));
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->request = r;
    ctx->channel = *channel;

    if (ngx_http_ws_redis_publish(r->main_conf, r->connection->log,
                                  channel, opcode, 0, data, len,
                                  ngx_http_ws_publisher_redis_done, ctx)
        != NGX_OK)
    {
        ngx_http_ws_publisher_redis_done(ctx, 0);
    }

    /* the request lives on (its count from reading the body) until done */
}


static void
ngx_http_ws_publisher_redis_done(void *data, uint64_t seq)
{
    ngx_http_ws_publisher_redis_t  *ctx = data;

    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_ws_main_conf_t     *wmcf;
    ngx_http_ws_channel_info_t   info;

    r = ctx->request;
    c = r->connection;

    if (seq == 0) {
        /* the outage itself is logged once, by the link */
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: redis is down, cannot publish to channel \"%V\"",
                      &ctx->channel);
        ngx_http_finalize_request(r,
            ngx_http_ws_publisher_reply(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        &ctx->channel, NULL,
                                        "cross-node delivery is down, "
                                        "try again later"));
        ngx_http_run_posted_requests(c);
        return;
    }

    /* subscribers: this node's; the message reaches every node's */
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);

    if (ngx_http_ws_zone_channel_info(wmcf->zone, &ctx->channel, &info)
        != NGX_OK)
    {
        info.subscribers = 0;
    }

    info.seq = seq;

    ngx_http_finalize_request(r,
        ngx_http_ws_publisher_reply(r, NGX_HTTP_OK, &ctx->channel, &info,
                                    NULL));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_ws_publisher_channel(ngx_http_request_t *r, ngx_str_t *channel)
{
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    if (ngx_http_complex_value(r, wscf->publisher, channel) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!wscore_channel_name_valid((const char *) channel->data,
                                   channel->len))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: invalid channel name \"%V\" in publish request",
                      channel);
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


/* Channel names need no JSON escaping: see wscore_channel_name_valid */
static ngx_int_t
ngx_http_ws_publisher_reply(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *channel, ngx_http_ws_channel_info_t *info, const char *error)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, channel->len + NGX_INT64_LEN * 2 + 128);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (error) {
        b->last = ngx_sprintf(b->last, "{\"channel\":\"%V\",\"error\":\"%s\"}"
                              CRLF, channel, error);

    } else {
        b->last = ngx_sprintf(b->last, "{\"channel\":\"%V\",\"seq\":%uL,"
                              "\"subscribers\":%ui}" CRLF,
                              channel, info->seq, info->subscribers);
    }

    if (status == 507) {
        ngx_str_set(&r->headers_out.status_line, "507 Insufficient Storage");
    }

    return ngx_http_ws_response_send(r, status, "application/json", b);
}
