
/*
 * ngx_ws: small complete HTTP responses (handshake errors, publish API
 * answers): status, content type and a body built in memory; and the
 * single headers the guards add to a response.
 */


#include "ngx_http_ws_response.h"


ngx_int_t
ngx_http_ws_response_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.data = (u_char *) content_type;
    r->headers_out.content_type.len = ngx_strlen(content_type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * One header of the response to come (the 101's Sec-WebSocket-Extensions
 * and -Protocol, Retry-After, WWW-Authenticate); key and value must
 * outlive the request.
 */
ngx_int_t
ngx_http_ws_response_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}


ngx_int_t
ngx_http_ws_response_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_str_t  name;

    name.data = (u_char *) key;
    name.len = ngx_strlen(key);

    return ngx_http_ws_response_header(r, &name, value);
}
