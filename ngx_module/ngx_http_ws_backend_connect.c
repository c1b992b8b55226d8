
/*
 * ngx_ws: the connect hook (ws_backend_connect).
 *
 * Before the 101, once the handshake is valid and the security guards
 * (origin, subprotocol, token, caps) have let it through, the request is
 * still there: the hook is an in-memory subrequest of it, the way
 * auth_request makes one, carrying the handshake's headers and
 * WS-Connection-Id. The handshake waits for its answer:
 *
 *   2xx          the 101 goes out; the answer may set WS-User,
 *                WS-Subscribe (channels) and WS-Meta-<name> values
 *   400-599      the client gets that status (WWW-Authenticate and
 *                Retry-After of the answer with it); NGINX's own 502
 *                (backend down) and 504 (timed out) alike
 *   other        502: a WebSocket client cannot follow a redirect
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_zone.h"


typedef struct {
    ngx_http_request_t            *subrequest;
    ngx_uint_t                     status;
    u_char                         accept[WSCORE_ACCEPT_LEN];
    u_char                        *evaluated;    /* variables before */
    ngx_http_ws_backend_answer_t  *answer;       /* 2xx, once read */
    unsigned                       done:1;
} ngx_http_ws_backend_connect_ctx_t;


static ngx_int_t ngx_http_ws_backend_connect_headers(ngx_http_request_t *r,
    ngx_http_request_t *sr);
static ngx_int_t ngx_http_ws_backend_connect_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_ws_backend_connect_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_backend_read_answer(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx, const char **error);
static ngx_int_t ngx_http_ws_backend_refuse(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx);
static ngx_uint_t ngx_http_ws_backend_header_is(ngx_table_elt_t *h,
    const char *name, size_t len);
static ngx_int_t ngx_http_ws_backend_variables_mark(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx);
static void ngx_http_ws_backend_variables_reset(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx);


ngx_int_t
ngx_http_ws_backend_connect(ngx_http_request_t *r, const char *accept)
{
    ngx_http_request_t                 *sr;
    ngx_http_post_subrequest_t         *ps;
    ngx_http_ws_backend_conf_t         *bcf;
    ngx_http_ws_backend_connect_ctx_t  *ctx;

    bcf = ngx_http_get_module_loc_conf(r, ngx_http_ws_backend_module);

    /* called once: a hold of the handshake walks the hooks again */
    if (bcf->connect.len == 0
        || ngx_http_get_module_ctx(r, ngx_http_ws_backend_module) != NULL)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ws_backend_connect_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ctx == NULL || ps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->accept, accept, WSCORE_ACCEPT_LEN);

    if (ngx_http_ws_backend_variables_mark(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ps->handler = ngx_http_ws_backend_connect_done;
    ps->data = ctx;

    if (ngx_http_subrequest(r, &bcf->connect, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the handshake has no body: nothing to read for the subrequest */
    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_ws_backend_connect_headers(r, sr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->subrequest = sr;
    ngx_http_set_ctx(r, ctx, ngx_http_ws_backend_module);

    /*
     * The content handler waits: its request is held (count) and woken
     * by the subrequest's end through its write_event_handler.
     */
    r->write_event_handler = ngx_http_ws_backend_connect_resume;
    r->main->count++;

    return NGX_DONE;
}


/*
 * The subrequest's own header list: the handshake's headers without any
 * WS-* header the client sent (every WS-* header a backend sees is ours),
 * and WS-Connection-Id. The list of the request itself is left alone.
 */
static ngx_int_t
ngx_http_ws_backend_connect_headers(ngx_http_request_t *r,
    ngx_http_request_t *sr)
{
    u_char               *p;
    ngx_uint_t            i;
    ngx_list_part_t      *part;
    ngx_table_elt_t      *h, *nh;
    ngx_http_ws_trace_t  *trace;

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 16,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

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

        if (h[i].key.len >= 3
            && ngx_strncasecmp(h[i].key.data, (u_char *) "WS-", 3) == 0)
        {
            continue;
        }

        /* ours replaces it: the hook is a child of the WebSocket's span */
        if (h[i].key.len == sizeof("traceparent") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "traceparent",
                               sizeof("traceparent") - 1)
               == 0)
        {
            continue;
        }

        nh = ngx_list_push(&sr->headers_in.headers);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];
    }

    nh = ngx_list_push(&sr->headers_in.headers);
    p = ngx_pnalloc(r->pool, NGX_ATOMIC_T_LEN);
    if (nh == NULL || p == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&nh->key, "WS-Connection-Id");
    nh->lowcase_key = (u_char *) "ws-connection-id";
    nh->hash = ngx_hash_key(nh->lowcase_key, nh->key.len);
    nh->value.data = p;
    nh->value.len = ngx_sprintf(p, "%uA", r->connection->number) - p;

    trace = ngx_http_ws_trace_of_request(r);
    nh = ngx_list_push(&sr->headers_in.headers);

    if (trace == NULL || nh == NULL
        || ngx_http_ws_trace_header(r->pool, trace, &nh->value) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&nh->key, "traceparent");
    nh->lowcase_key = (u_char *) "traceparent";
    nh->hash = ngx_hash_key(nh->lowcase_key, nh->key.len);

    return NGX_OK;
}


/*
 * The answer, or NGINX's error for it (502, 504): may run more than once
 * (an error status is finalized again once its page is made); the last
 * one counts.
 */
static ngx_int_t
ngx_http_ws_backend_connect_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_ws_backend_connect_ctx_t  *ctx = data;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE
        || rc == NGX_HTTP_CREATED || rc == NGX_HTTP_NO_CONTENT)
    {
        ctx->status = rc;

    } else if (sr->headers_out.status) {
        ctx->status = sr->headers_out.status;

    } else if (ctx->status == 0) {
        ctx->status = NGX_HTTP_BAD_GATEWAY;
    }

    ctx->done = 1;

    return rc;
}


static void
ngx_http_ws_backend_connect_resume(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    const char                         *error;
    ngx_http_ws_backend_connect_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ws_backend_module);

    if (ctx == NULL || !ctx->done) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_ws_backend_variables_reset(r, ctx);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws: connect hook answered %ui", ctx->status);

    ngx_http_ws_backend_count(NGX_HTTP_WS_BACKEND_CONNECT, ctx->status);

    if (ctx->status < NGX_HTTP_OK
        || ctx->status >= NGX_HTTP_SPECIAL_RESPONSE)
    {
        ngx_http_finalize_request(r, ngx_http_ws_backend_refuse(r, ctx));
        return;
    }

    if (ngx_http_ws_backend_read_answer(r, ctx, &error) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: connect hook answer refused: %s", error);
        ctx->status = NGX_HTTP_BAD_GATEWAY;
        ngx_http_finalize_request(r, ngx_http_ws_backend_refuse(r, ctx));
        return;
    }

    rc = ngx_http_ws_handshake_resume(r, (const char *) ctx->accept);

    ngx_http_finalize_request(r, rc);
}


/*
 * A subrequest shares its parent's variables: what the hook's location
 * evaluated ($proxy_host, $proxy_internal_body_length, ...) would stay in
 * the handshake's, and the access-log record keeps every evaluated
 * variable for the whole life of the connection. Those the hook
 * evaluated are forgotten again once it has answered.
 */
static ngx_int_t
ngx_http_ws_backend_variables_mark(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx)
{
    ngx_uint_t                  i;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    ctx->evaluated = ngx_pnalloc(r->pool, cmcf->variables.nelts + 1);
    if (ctx->evaluated == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cmcf->variables.nelts; i++) {
        ctx->evaluated[i] = (r->variables[i].valid
                             || r->variables[i].not_found);
    }

    return NGX_OK;
}


static void
ngx_http_ws_backend_variables_reset(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx)
{
    ngx_uint_t                  i;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (!ctx->evaluated[i]) {
            r->variables[i].valid = 0;
            r->variables[i].not_found = 0;
        }
    }
}


/* What a 2xx answer set, read once, for ngx_http_ws_backend_session_start */
ngx_http_ws_backend_answer_t *
ngx_http_ws_backend_connect_answer(ngx_http_request_t *r)
{
    ngx_http_ws_backend_connect_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_ws_backend_module);

    return ctx ? ctx->answer : NULL;
}


/*
 * WS-User (one value), WS-Subscribe (a list of channel names, repeatable)
 * and WS-Meta-<name> (one value per name): checked here, while the client
 * can still be told, and kept in the request pool until the session
 * copies them.
 */
static ngx_int_t
ngx_http_ws_backend_read_answer(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx, const char **error)
{
    size_t                         used, left;
    ngx_str_t                     *channel;
    ngx_uint_t                     i, j;
    const char                    *p;
    wscore_str_t                   element;
    wscore_pair_t                 *pair, *other;
    ngx_list_part_t               *part;
    ngx_table_elt_t               *h;
    ngx_http_ws_backend_conf_t    *bcf;
    ngx_http_ws_backend_answer_t  *a;

    bcf = ngx_http_get_module_loc_conf(r, ngx_http_ws_backend_module);

    a = ngx_pcalloc(r->pool, sizeof(ngx_http_ws_backend_answer_t));
    if (a == NULL
        || ngx_array_init(&a->channels, r->pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&a->meta, r->pool, 4, sizeof(wscore_pair_t))
           != NGX_OK)
    {
        *error = "no memory";
        return NGX_ERROR;
    }

    part = &ctx->subrequest->headers_out.headers.part;
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

        if (h[i].hash == 0) {
            continue;
        }

        if (ngx_http_ws_backend_header_is(&h[i], "WS-User", 7)) {
            if (a->has_user) {
                *error = "WS-User given twice";
                return NGX_ERROR;
            }

            if (h[i].value.len > NGX_HTTP_WS_MAX_CHANNEL_LEN
                || !wscore_meta_value_valid((const char *) h[i].value.data,
                                            h[i].value.len))
            {
                *error = "WS-User is not UTF-8 text of at most 255 bytes";
                return NGX_ERROR;
            }

            a->user = h[i].value;
            a->has_user = 1;
            continue;
        }

        if (ngx_http_ws_backend_header_is(&h[i], "WS-Subscribe", 12)) {
            p = (const char *) h[i].value.data;
            left = h[i].value.len;

            while ((used = wscore_list_next(p, left, &element)) != 0) {
                p += used;
                left -= used;

                channel = ngx_array_push(&a->channels);
                if (channel == NULL) {
                    *error = "no memory";
                    return NGX_ERROR;
                }

                channel->data = (u_char *) element.data;
                channel->len = element.len;

                if (!wscore_channel_name_valid((const char *) channel->data,
                                               channel->len)
                    || ngx_http_ws_zone_is_direct(channel))
                {
                    *error = "WS-Subscribe names an invalid channel";
                    return NGX_ERROR;
                }
            }

            continue;
        }

        if (h[i].key.len > sizeof("WS-Meta-") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "WS-Meta-",
                               sizeof("WS-Meta-") - 1)
               == 0)
        {
            pair = ngx_array_push(&a->meta);
            if (pair == NULL) {
                *error = "no memory";
                return NGX_ERROR;
            }

            /* names are kept lowercase: HTTP header names are not cased */
            pair->name.len = h[i].key.len - (sizeof("WS-Meta-") - 1);
            pair->name.data = ngx_pnalloc(r->pool, pair->name.len);
            if (pair->name.data == NULL) {
                *error = "no memory";
                return NGX_ERROR;
            }

            ngx_strlow((u_char *) pair->name.data,
                       h[i].key.data + sizeof("WS-Meta-") - 1,
                       pair->name.len);

            pair->value.data = (const char *) h[i].value.data;
            pair->value.len = h[i].value.len;

            if (!wscore_meta_name_valid(pair->name.data, pair->name.len)
                || !wscore_meta_value_valid(pair->value.data,
                                            pair->value.len))
            {
                *error = "a WS-Meta-* header is not a token name with a "
                         "UTF-8 text value";
                return NGX_ERROR;
            }

            other = a->meta.elts;

            for (j = 0; j < a->meta.nelts - 1; j++) {
                if (other[j].name.len == pair->name.len
                    && ngx_memcmp(other[j].name.data, pair->name.data,
                                  pair->name.len)
                       == 0)
                {
                    *error = "a WS-Meta-* header is given twice";
                    return NGX_ERROR;
                }
            }

            a->meta_bytes += pair->name.len + pair->value.len;

            if (a->meta_bytes > bcf->meta_size) {
                *error = "the WS-Meta-* values are over ws_backend_meta_size";
                return NGX_ERROR;
            }
        }
    }

    ctx->answer = a;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_ws_backend_header_is(ngx_table_elt_t *h, const char *name,
    size_t len)
{
    return h->key.len == len
           && ngx_strncasecmp(h->key.data, (u_char *) name, len) == 0;
}


/*
 * The backend said no (or could not say): its status for the client,
 * with a short text body of our own and the answer's WWW-Authenticate and
 * Retry-After, which a client needs to act on a 401, 429 or 503.
 */
static ngx_int_t
ngx_http_ws_backend_refuse(ngx_http_request_t *r,
    ngx_http_ws_backend_connect_ctx_t *ctx)
{
    size_t            len;
    u_char           *p;
    ngx_buf_t        *b;
    ngx_uint_t        i, status;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *ho;

    status = ctx->status;

    if (status < 400 || status > 599) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: connect hook answered %ui, neither 2xx nor an "
                      "error: refusing with 502", status);
        status = NGX_HTTP_BAD_GATEWAY;

    } else {
        part = &ctx->subrequest->headers_out.headers.part;
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

            if (h[i].hash == 0
                || !(ngx_http_ws_backend_header_is(&h[i], "WWW-Authenticate",
                                                   16)
                     || ngx_http_ws_backend_header_is(&h[i], "Retry-After",
                                                      11)))
            {
                continue;
            }

            ho = ngx_list_push(&r->headers_out.headers);
            if (ho == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            *ho = h[i];
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ws: handshake rejected with %ui: refused by the connect "
                  "hook", status);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    len = sizeof("refused by the backend: ") - 1 + NGX_INT_T_LEN + 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(b->last, "refused by the backend: %ui", ctx->status);
    *p++ = LF;
    b->last = p;

    return ngx_http_ws_response_send(r, status, "text/plain", b);
}
