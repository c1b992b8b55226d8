
/*
 * ngx_ws: W3C Trace Context for WebSockets.
 *
 * Before the session exists (the checks, the connect hook's subrequest,
 * a refused handshake's log line) the trace hangs on the main request's
 * pool, found by its cleanup handler; the session copies it when it is
 * made and keeps it for the life of the connection, past the request.
 * Ids are drawn from OpenSSL's generator (ngx_http_ws_random.c), or
 * NGINX's ngx_random when that fails.
 */


#include "ngx_http_ws_trace.h"

#include "ngx_http_ws_random.h"


static void ngx_http_ws_trace_cleanup(void *data);
static void ngx_http_ws_trace_random(u_char *buf, size_t len);
static void ngx_http_ws_trace_start(ngx_http_request_t *r,
    ngx_http_ws_trace_t *trace);


/*
 * The trace of a request (its main request's): joined from its
 * traceparent header, or started, on first use. NULL: no memory.
 */
ngx_http_ws_trace_t *
ngx_http_ws_trace_of_request(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    r = r->main;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_ws_trace_cleanup) {
            return cln->data;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_ws_trace_t));
    if (cln == NULL) {
        return NULL;
    }

    ngx_http_ws_trace_start(r, cln->data);
    cln->handler = ngx_http_ws_trace_cleanup;

    return cln->data;
}


/* A request made for a session (a hook's call) takes the session's trace. */
ngx_int_t
ngx_http_ws_trace_attach(ngx_http_request_t *r, ngx_http_ws_trace_t *trace)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->main->pool, sizeof(ngx_http_ws_trace_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(cln->data, trace, sizeof(ngx_http_ws_trace_t));
    cln->handler = ngx_http_ws_trace_cleanup;

    return NGX_OK;
}


/*
 * The request's trace needs nothing at its end (the session took a copy):
 * its cleanup does not keep the request from being freed after the 101.
 */
ngx_uint_t
ngx_http_ws_trace_owns_cleanup(ngx_pool_cleanup_pt handler)
{
    return handler == ngx_http_ws_trace_cleanup;
}


/* Nothing to free: the handler marks the cleanup that holds the trace. */
static void
ngx_http_ws_trace_cleanup(void *data)
{
}


static void
ngx_http_ws_trace_start(ngx_http_request_t *r, ngx_http_ws_trace_t *trace)
{
    ngx_uint_t               i;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    wscore_trace_context_t   ctx;

    ngx_memzero(trace, sizeof(ngx_http_ws_trace_t));

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("traceparent") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "traceparent",
                               sizeof("traceparent") - 1)
               != 0)
        {
            continue;
        }

        /* the spec: more than one traceparent is no traceparent */
        if (trace->has_parent) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "ws: more than one traceparent header, starting "
                          "a new trace");
            trace->has_parent = 0;
            break;
        }

        if (!wscore_traceparent_parse((const char *) h[i].value.data,
                                      h[i].value.len, &ctx))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "ws: invalid traceparent \"%V\", starting a new "
                          "trace", &h[i].value);
            break;
        }

        ngx_memcpy(trace->trace_id, ctx.trace_id, 16);
        ngx_memcpy(trace->parent_id, ctx.parent_id, 8);

        /* only the flag this version defines is passed on */
        trace->flags = ctx.flags & WSCORE_TRACE_SAMPLED;
        trace->has_parent = 1;
    }

    if (!trace->has_parent) {
        ngx_memzero(trace->parent_id, 8);
        ngx_http_ws_trace_random(trace->trace_id, 16);
        trace->flags = 0;
    }

    ngx_http_ws_trace_random(trace->span_id, 8);
}


static void
ngx_http_ws_trace_random(u_char *buf, size_t len)
{
    size_t    i;
    uint32_t  r;

    if (ngx_http_ws_random_bytes(buf, len) != NGX_OK) {
        for (i = 0; i < len; i++) {
            r = (uint32_t) ngx_random();
            buf[i] = (u_char) (r >> 8);
        }
    }

    wscore_trace_id_from_random(buf, len);
}


/* "serving WebSocket, trace <id>" into buf (NGX_HTTP_WS_TRACE_ACTION_LEN) */
u_char *
ngx_http_ws_trace_action(ngx_http_ws_trace_t *trace, u_char *buf)
{
    u_char  *p;

    p = ngx_cpymem(buf, "serving WebSocket, trace ",
                   sizeof("serving WebSocket, trace ") - 1);
    wscore_trace_hex(trace->trace_id, 16, (char *) p);
    p[32] = '\0';

    return buf;
}


/* The traceparent a backend call sends: the WebSocket's span as parent. */
ngx_int_t
ngx_http_ws_trace_header(ngx_pool_t *pool, ngx_http_ws_trace_t *trace,
    ngx_str_t *value)
{
    value->data = ngx_pnalloc(pool, WSCORE_TRACEPARENT_LEN);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    wscore_traceparent_format(trace->trace_id, trace->span_id, trace->flags,
                              (char *) value->data);
    value->len = WSCORE_TRACEPARENT_LEN;

    return NGX_OK;
}


/* $ws_trace_id, $ws_span_id, $ws_trace_parent_id, $ws_traceparent */
ngx_int_t
ngx_http_ws_trace_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    ngx_http_ws_trace_t *trace, ngx_uint_t which)
{
    ngx_str_t   value;

    if (trace == NULL) {
        trace = ngx_http_ws_trace_of_request(r);
        if (trace == NULL) {
            return NGX_ERROR;
        }
    }

    switch (which) {

    case NGX_HTTP_WS_TRACE_VAR_TRACEPARENT:
        if (ngx_http_ws_trace_header(r->pool, trace, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        break;

    case NGX_HTTP_WS_TRACE_VAR_PARENT_ID:
        if (!trace->has_parent) {
            v->not_found = 1;
            return NGX_OK;
        }

        /* fall through */

    default:
        value.len = (which == NGX_HTTP_WS_TRACE_VAR_TRACE_ID) ? 32 : 16;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        wscore_trace_hex(which == NGX_HTTP_WS_TRACE_VAR_TRACE_ID
                         ? trace->trace_id
                         : which == NGX_HTTP_WS_TRACE_VAR_SPAN_ID
                         ? trace->span_id : trace->parent_id,
                         value.len / 2, (char *) value.data);
        break;
    }

    v->data = value.data;
    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
