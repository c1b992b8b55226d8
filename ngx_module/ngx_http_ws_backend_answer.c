
/*
 * ngx_ws: the answers a direct hook connection reads, one after the
 * other as they were asked for (HTTP/1.1 pipelining): status line,
 * headers, then a body by Content-Length, chunked, or up to the close.
 *
 * NGINX's own line parsers do the bytes (ngx_http_parse_status_line,
 * _header_line, _chunked keep their state in a request of the
 * connection's). A line that is not whole yet is parsed again from its
 * start once more bytes came: nothing points into the read buffer between
 * two reads, so the connection may move what it has not parsed. Kept of
 * an answer: its status, its WS-* headers and Content-Type (copied into
 * the call's pool) and its body up to the call's bound; a longer body is
 * read and thrown away, failing that call alone.
 */


#include "ngx_http_ws_backend_client.h"


enum {
    ngx_http_ws_answer_status = 0,
    ngx_http_ws_answer_headers,
    ngx_http_ws_answer_body,
    ngx_http_ws_answer_done
};


static ngx_int_t ngx_http_ws_backend_answer_header(
    ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq);
static ngx_int_t ngx_http_ws_backend_answer_head_done(
    ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq);
static ngx_int_t ngx_http_ws_backend_answer_body(
    ngx_http_ws_backend_answer_parser_t *ap, ngx_buf_t *b,
    ngx_http_ws_backend_request_t *rq);
static void ngx_http_ws_backend_answer_keep(
    ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq, u_char *p, size_t n);


void
ngx_http_ws_backend_answer_reset(ngx_http_ws_backend_answer_parser_t *ap)
{
    ngx_http_request_t  *r;

    r = ap->r;
    ngx_memzero(ap, sizeof(ngx_http_ws_backend_answer_parser_t));
    ap->r = r;
    r->state = 0;
}


ngx_int_t
ngx_http_ws_backend_answer_parse(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_buf_t *b, ngx_http_ws_backend_request_t *rq)
{
    u_char              *line;
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ap->r;

    if (b->pos < b->last) {
        ap->started = 1;
    }

    for ( ;; ) {

        switch (ap->state) {

        case ngx_http_ws_answer_status:
            line = b->pos;
            ngx_memzero(&ap->status, sizeof(ngx_http_status_t));
            r->state = 0;

            rc = ngx_http_parse_status_line(r, b, &ap->status);

            if (rc == NGX_AGAIN) {
                b->pos = line;
                return NGX_AGAIN;
            }

            if (rc != NGX_OK) {
                rq->failure = "an invalid status line";
                return NGX_ERROR;
            }

            if (ap->status.code >= 100 && ap->status.code < 200) {
                /* informational: the answer follows it */
                ap->state = ngx_http_ws_answer_headers;
                rq->status = ap->status.code;
                break;
            }

            rq->status = ap->status.code;

            /* HTTP/1.0 and before: one answer per connection */
            if (ap->status.http_version < NGX_HTTP_VERSION_11) {
                ap->close = 1;
            }

            ap->state = ngx_http_ws_answer_headers;
            break;

        case ngx_http_ws_answer_headers:
            line = b->pos;
            r->state = 0;

            rc = ngx_http_parse_header_line(r, b, 1);

            if (rc == NGX_AGAIN) {
                b->pos = line;
                return NGX_AGAIN;
            }

            if (rc == NGX_OK) {
                if (rq->status < 200) {
                    break;
                }

                if (ngx_http_ws_backend_answer_header(ap, rq) != NGX_OK) {
                    return NGX_ERROR;
                }

                break;
            }

            if (rc != NGX_HTTP_PARSE_HEADER_DONE) {
                rq->failure = "an invalid header";
                return NGX_ERROR;
            }

            if (rq->status < 200) {
                rq->status = 0;
                ap->state = ngx_http_ws_answer_status;
                break;
            }

            if (ngx_http_ws_backend_answer_head_done(ap, rq) != NGX_OK) {
                return NGX_ERROR;
            }

            break;

        case ngx_http_ws_answer_body:
            rc = ngx_http_ws_backend_answer_body(ap, b, rq);

            if (rc != NGX_OK) {
                return rc;
            }

            ap->state = ngx_http_ws_answer_done;
            break;

        default: /* ngx_http_ws_answer_done */
            if (ap->discard) {
                rq->status = NGX_HTTP_BAD_GATEWAY;
                rq->failure = "an answer longer than "
                              "subrequest_output_buffer_size";
            }

            return NGX_OK;
        }
    }
}


/* The connection closed after the bytes parsed. */
ngx_int_t
ngx_http_ws_backend_answer_eof(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq)
{
    if (ap->state == ngx_http_ws_answer_body && ap->until_close) {

        if (ap->discard) {
            rq->status = NGX_HTTP_BAD_GATEWAY;
            rq->failure = "an answer longer than "
                          "subrequest_output_buffer_size";
        }

        ap->close = 1;

        return NGX_OK;
    }

    rq->failure = ap->started ? "the connection closed in an answer"
                              : "the connection closed before an answer";
    return NGX_ERROR;
}


/* A header line: those the hooks read are copied, the rest ignored. */
static ngx_int_t
ngx_http_ws_backend_answer_header(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq)
{
    off_t                n;
    size_t               len;
    u_char              *lc;
    ngx_str_t            name, value;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = ap->r;

    name.data = r->header_name_start;
    name.len = r->header_name_end - r->header_name_start;
    value.data = r->header_start;
    value.len = r->header_end - r->header_start;
    len = name.len;

    /*
     * The parser wrote the name in lower case, the whole of it when it is
     * shorter than NGX_HTTP_LC_HEADER_LEN (a longer one wraps around).
     */
    lc = r->lowcase_header;

    if (len > 3 && (name.data[0] | 0x20) == 'w'
        && (name.data[1] | 0x20) == 's' && name.data[2] == '-')
    {

        if (rq->answer_headers.size == 0
            && ngx_list_init(&rq->answer_headers, rq->pool, 4,
                             sizeof(ngx_table_elt_t))
               != NGX_OK)
        {
            rq->failure = "no memory";
            return NGX_ERROR;
        }

        h = ngx_list_push(&rq->answer_headers);
        if (h == NULL) {
            rq->failure = "no memory";
            return NGX_ERROR;
        }

        h->key.data = ngx_pnalloc(rq->pool, name.len + value.len + 1);
        if (h->key.data == NULL) {
            rq->failure = "no memory";
            return NGX_ERROR;
        }

        h->key.len = name.len;
        ngx_memcpy(h->key.data, name.data, name.len);
        h->value.data = h->key.data + name.len;
        h->value.len = value.len;
        ngx_memcpy(h->value.data, value.data, value.len);
        h->lowcase_key = h->key.data;
        h->hash = 1;

        return NGX_OK;
    }

    if (len >= NGX_HTTP_LC_HEADER_LEN || r->lowcase_index != len) {
        /* longer than any name read below */
        return NGX_OK;
    }

    if (len == sizeof("Content-Length") - 1
        && ngx_memcmp(lc, "content-length", len) == 0)
    {
        n = ngx_atoof(value.data, value.len);

        if (n == NGX_ERROR || (ap->has_length && n != ap->rest)) {
            rq->failure = "an invalid Content-Length";
            return NGX_ERROR;
        }

        ap->has_length = 1;
        ap->rest = n;

        return NGX_OK;
    }

    if (len == sizeof("Transfer-Encoding") - 1
        && ngx_memcmp(lc, "transfer-encoding", len) == 0)
    {
        if (value.len != sizeof("chunked") - 1
            || ngx_strncasecmp(value.data, (u_char *) "chunked", value.len)
               != 0)
        {
            rq->failure = "a Transfer-Encoding other than chunked";
            return NGX_ERROR;
        }

        ap->is_chunked = 1;

        return NGX_OK;
    }

    if (len == sizeof("Connection") - 1
        && ngx_memcmp(lc, "connection", len) == 0)
    {
        if (ngx_strlcasestrn(value.data, value.data + value.len,
                             (u_char *) "close", sizeof("close") - 2)
            != NULL)
        {
            ap->close = 1;
        }

        return NGX_OK;
    }

    if (len == sizeof("Content-Type") - 1
        && ngx_memcmp(lc, "content-type", len) == 0)
    {
        rq->content_type.data = ngx_pstrdup(rq->pool, &value);
        if (rq->content_type.data == NULL) {
            rq->failure = "no memory";
            return NGX_ERROR;
        }

        rq->content_type.len = value.len;
    }

    return NGX_OK;
}


/* The header is over: how long is the body, and is it kept. */
static ngx_int_t
ngx_http_ws_backend_answer_head_done(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq)
{
    size_t  size;

    if (rq->status == NGX_HTTP_NO_CONTENT
        || rq->status == NGX_HTTP_NOT_MODIFIED)
    {
        ap->state = ngx_http_ws_answer_done;
        return NGX_OK;
    }

    if (ap->is_chunked) {
        /* a Content-Length beside it is ignored (RFC 9112, 6.3) */
        ap->has_length = 0;
        size = rq->answer_max;

    } else if (ap->has_length) {
        if (ap->rest == 0) {
            ap->state = ngx_http_ws_answer_done;
            return NGX_OK;
        }

        if ((size_t) ap->rest > rq->answer_max) {
            ap->discard = 1;
            size = 0;

        } else {
            size = (size_t) ap->rest;
        }

    } else {
        ap->until_close = 1;
        ap->close = 1;
        size = rq->answer_max;
    }

    if (size) {
        rq->answer.data = ngx_pnalloc(rq->pool, size);
        if (rq->answer.data == NULL) {
            rq->failure = "no memory";
            return NGX_ERROR;
        }

        rq->answer_size = size;
    }

    ap->state = ngx_http_ws_answer_body;

    return NGX_OK;
}


/* NGX_OK: the body is over. */
static ngx_int_t
ngx_http_ws_backend_answer_body(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_buf_t *b, ngx_http_ws_backend_request_t *rq)
{
    size_t     n;
    ngx_int_t  rc;

    if (ap->has_length) {
        n = ngx_min((off_t) (b->last - b->pos), ap->rest);

        ngx_http_ws_backend_answer_keep(ap, rq, b->pos, n);
        b->pos += n;
        ap->rest -= n;

        return ap->rest ? NGX_AGAIN : NGX_OK;
    }

    if (ap->until_close) {
        ngx_http_ws_backend_answer_keep(ap, rq, b->pos, b->last - b->pos);
        b->pos = b->last;

        return NGX_AGAIN;
    }

    for ( ;; ) {
        rc = ngx_http_parse_chunked(ap->r, b, &ap->chunked);

        if (rc == NGX_OK) {
            /* a chunk's data: as much of it as was read */
            n = ngx_min((off_t) (b->last - b->pos), ap->chunked.size);

            ngx_http_ws_backend_answer_keep(ap, rq, b->pos, n);
            b->pos += n;
            ap->chunked.size -= n;

            continue;
        }

        if (rc == NGX_DONE) {
            return NGX_OK;
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        rq->failure = "an invalid chunked body";
        return NGX_ERROR;
    }
}


static void
ngx_http_ws_backend_answer_keep(ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq, u_char *p, size_t n)
{
    if (ap->discard) {
        return;
    }

    if (rq->answer.len + n > rq->answer_size) {
        ap->discard = 1;
        return;
    }

    ngx_memcpy(rq->answer.data + rq->answer.len, p, n);
    rq->answer.len += n;
}
