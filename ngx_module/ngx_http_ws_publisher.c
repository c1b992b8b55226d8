
/*
 * ngx_ws: the HTTP publish API ("ws_publisher").
 *
 * POST publishes the request body to the location's channel and answers
 * with the message's sequence number and the channel's subscriber count;
 * GET answers the channel's figures alone. Access control is NGINX's own
 * (allow/deny, auth_request, auth_basic) in the same location.
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


static void ngx_http_ws_publisher_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_publisher_body_bytes(ngx_http_request_t *r,
    u_char **data, size_t *len);
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
        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r, ngx_http_ws_publisher_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
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


static void
ngx_http_ws_publisher_body(ngx_http_request_t *r)
{
    u_char                      *data;
    size_t                       len;
    ngx_int_t                    rc;
    ngx_str_t                    channel;
    ngx_uint_t                   opcode;
    ngx_http_ws_loc_conf_t      *wscf;
    ngx_http_ws_channel_info_t   info;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    rc = ngx_http_ws_publisher_channel(r, &channel);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    data = NULL;
    len = 0;

    if (r->request_body && r->request_body->bufs) {
        if (ngx_http_ws_publisher_body_bytes(r, &data, &len) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (wscf->max_message_size && len > wscf->max_message_size) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: publish of %uz bytes to channel \"%V\" is over "
                      "ws_max_message_size", len, &channel);
        ngx_http_finalize_request(r,
            ngx_http_ws_publisher_reply(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        &channel, NULL,
                                        "message too large"));
        return;
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


/*
 * The body in one piece. It may come as several buffers (what arrived
 * with the headers, then the rest) and partly in a temporary file (past
 * client_body_buffer_size); one buffer in memory is used as it is.
 */
static ngx_int_t
ngx_http_ws_publisher_body_bytes(ngx_http_request_t *r, u_char **data,
    size_t *len)
{
    u_char       *p;
    size_t        size, total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        *data = cl->buf->pos;
        *len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += (size_t) ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, total ? total : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *data = p;
    *len = total;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            size = (size_t) (b->file_last - b->file_pos);
            n = ngx_read_file(b->file, p, size, b->file_pos);

            if (n != (ssize_t) size) {
                return NGX_ERROR;
            }

        } else {
            size = b->last - b->pos;
            ngx_memcpy(p, b->pos, size);
        }

        p += size;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_publisher_channel(ngx_http_request_t *r, ngx_str_t *channel)
{
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);

    if (ngx_http_complex_value(r, wscf->publisher, channel) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_ws_channels_name_valid(channel)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: invalid channel name \"%V\" in publish request",
                      channel);
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


/* Channel names need no JSON escaping: see ngx_http_ws_channels_name_valid */
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
