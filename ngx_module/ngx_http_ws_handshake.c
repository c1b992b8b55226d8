
/*
 * ngx_ws: the opening handshake (RFC 6455 section 4.2).
 *
 * The content handler of a ws_listen location. It gathers the request
 * fields the core validates, answers errors with the RFC's status and a
 * log line, sends fallbacks elsewhere, and on success sends the 101 and
 * hands the connection to the session. The features that may refuse a
 * handshake or add to the 101 do so through their session hooks.
 */


#include "ngx_http_ws_handshake.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_session.h"


static ngx_int_t ngx_http_ws_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason, ngx_uint_t is_upgrade);
static ngx_int_t ngx_http_ws_run_fallback(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf);
static ngx_int_t ngx_http_ws_connect(ngx_http_request_t *r,
    const char *accept);
static ngx_int_t ngx_http_ws_send_upgrade(ngx_http_request_t *r,
    const char *accept);


ngx_int_t
ngx_http_ws_handshake(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_ws_hooks_t        **h;
    ngx_http_ws_refusal_t        refusal;
    ngx_http_ws_loc_conf_t      *wscf;
    ngx_http_ws_main_conf_t     *wmcf;
    wscore_handshake_request_t   req;
    wscore_handshake_result_t    res;

    wscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: ws_listen location reached by a subrequest");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&req, sizeof(wscore_handshake_request_t));

    req.method.data = (const char *) r->method_name.data;
    req.method.len = r->method_name.len;
    req.http_major = r->http_major;
    req.http_minor = r->http_minor;

    if (r->headers_in.server.len) {
        req.host.data = (const char *) r->headers_in.server.data;
        req.host.len = r->headers_in.server.len;
    }

    ngx_http_ws_handshake_header(r, "Upgrade", &req.upgrade);
    ngx_http_ws_handshake_header(r, "Connection", &req.connection);
    ngx_http_ws_handshake_header(r, "Sec-WebSocket-Version", &req.version);
    ngx_http_ws_handshake_header(r, "Sec-WebSocket-Key", &req.key);

#if (NGX_HTTP_V2)
    if (r->stream) {
        if (wscf->fallback.len) {
            return ngx_http_ws_run_fallback(r, wscf);
        }

        /*
         * RFC 8441 needs SETTINGS_ENABLE_CONNECT_PROTOCOL, which the
         * HTTP/2 implementation of NGINX 1.22 does not offer.
         */
        return ngx_http_ws_reject(r, NGX_HTTP_NOT_IMPLEMENTED,
                                  "WebSocket over HTTP/2 is not supported, "
                                  "use HTTP/1.1", 0);
    }
#endif

    if (wscf->fallback.len && !wscore_handshake_is_upgrade(&req)) {
        return ngx_http_ws_run_fallback(r, wscf);
    }

    wscore_handshake_validate(&req, &res);

    if (res.status != 0) {
        return ngx_http_ws_reject(r, res.status, res.reason,
                                  wscore_handshake_is_upgrade(&req));
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_ws_reject(r, NGX_HTTP_BAD_REQUEST,
                                  "upgrade request with a body", 1);
    }

    /* origin, subprotocol, token, caps: the security module's */
    h = wmcf->hooks.all.elts;

    for (i = 0; i < wmcf->hooks.all.nelts; i++) {
        if (h[i]->check == NULL) {
            continue;
        }

        rc = h[i]->check(r, &refusal);

        if (rc == NGX_DECLINED) {
            return ngx_http_ws_reject(r, refusal.status, refusal.reason, 1);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_ws_connect(r, res.accept);
}


/*
 * A feature's connect hook allowed the handshake: the features after it
 * still get theirs (a backend's connect call, then a proxy's upstream),
 * then the 101.
 */
ngx_int_t
ngx_http_ws_handshake_resume(ngx_http_request_t *r, const char *accept)
{
    return ngx_http_ws_connect(r, accept);
}


/*
 * Each feature may hold the handshake in turn. A connect hook declines
 * once it has run for the request (its own context says so), so after a
 * hold the chain is walked again from the start and goes on where it
 * stopped.
 */
static ngx_int_t
ngx_http_ws_connect(ngx_http_request_t *r, const char *accept)
{
    ngx_int_t                 rc;
    ngx_uint_t                i;
    ngx_http_ws_hooks_t     **h;
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_ws_module);
    h = wmcf->hooks.all.elts;

    for (i = 0; i < wmcf->hooks.all.nelts; i++) {
        if (h[i]->connect == NULL) {
            continue;
        }

        rc = h[i]->connect(r, accept);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_ws_send_upgrade(r, accept);
}


/*
 * Joins every value of a header with ", ", the way RFC 9110 section 5.3
 * lets a recipient combine repeated fields into one list.
 */
void
ngx_http_ws_handshake_header(ngx_http_request_t *r, const char *name,
    wscore_str_t *value)
{
    u_char                     *p;
    size_t                      len;
    ngx_uint_t                  n;
    ngx_table_elt_t            *h, *first;
    ngx_http_ws_header_list_t   list;

    value->data = NULL;
    value->len = 0;

    len = 0;
    n = 0;
    first = NULL;

    ngx_http_ws_header_list_init(&list, r, name);

    while ((h = ngx_http_ws_header_list_next_header(&list)) != NULL) {
        if (first == NULL) {
            first = h;
        }

        len += h->value.len + (n ? 2 : 0);
        n++;
    }

    if (first == NULL) {
        return;
    }

    if (n == 1) {
        value->data = (const char *) first->value.data;
        value->len = first->value.len;
        return;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        /* an unjoinable list is validated as its first value alone */
        value->data = (const char *) first->value.data;
        value->len = first->value.len;
        return;
    }

    value->data = (const char *) p;
    value->len = len;

    ngx_http_ws_header_list_init(&list, r, name);
    n = 0;

    while ((h = ngx_http_ws_header_list_next_header(&list)) != NULL) {
        if (n++) {
            *p++ = ','; *p++ = ' ';
        }

        p = ngx_cpymem(p, h->value.data, h->value.len);
    }
}


/*
 * Error answers carry a short text body of our own: NGINX has no stock
 * page for 426, and a client debugging its handshake wants the reason.
 */
static ngx_int_t
ngx_http_ws_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason, ngx_uint_t is_upgrade)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_str_t     key, value;

    if (status == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ws: handshake failed: %s", reason);
        return status;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ws: handshake rejected with %ui: %s", status, reason);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    switch (status) {

    case NGX_HTTP_NOT_ALLOWED:
        ngx_str_set(&r->headers_out.status_line, "405 Not Allowed");
        ngx_str_set(&key, "Allow");
        ngx_str_set(&value, "GET");
        break;

    case 426:
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");

        /*
         * An upgrade with a version we do not speak names the one we do
         * (RFC 6455 section 4.4); a plain request is told to upgrade
         * (RFC 9110 section 15.5.22), with the "upgrade" connection option
         * that must accompany Upgrade; it joins NGINX's own Connection
         * field as a second line of the same list.
         */
        if (is_upgrade) {
            ngx_str_set(&key, "Sec-WebSocket-Version");
            ngx_str_set(&value, "13");

        } else {
            ngx_str_set(&key, "Upgrade");
            ngx_str_set(&value, "websocket");

            if (ngx_http_ws_response_header(r, &key, &value) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&key, "Connection");
            ngx_str_set(&value, "Upgrade");
        }

        break;

    case NGX_HTTP_NOT_IMPLEMENTED:
        ngx_str_set(&r->headers_out.status_line, "501 Not Implemented");
        ngx_str_null(&key);
        break;

    case NGX_HTTP_UNAUTHORIZED:
    case NGX_HTTP_FORBIDDEN:
    case NGX_HTTP_TOO_MANY_REQUESTS:
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        /* a security guard: it added the headers its answer needs */
        ngx_str_null(&key);
        break;

    default:
        ngx_str_set(&r->headers_out.status_line, "400 Bad Request");
        status = NGX_HTTP_BAD_REQUEST;
        ngx_str_null(&key);
        break;
    }

    if (key.len
        && ngx_http_ws_response_header(r, &key, &value) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, reason, len);
    *b->last++ = LF;

    return ngx_http_ws_response_send(r, status, "text/plain", b);
}


static ngx_int_t
ngx_http_ws_run_fallback(ngx_http_request_t *r, ngx_http_ws_loc_conf_t *wscf)
{
    ngx_str_t  uri;

    if (wscf->fallback.data[0] == '@') {
        return ngx_http_named_location(r, &wscf->fallback);
    }

    uri = wscf->fallback;

    return ngx_http_internal_redirect(r, &uri, &r->args);
}


static ngx_int_t
ngx_http_ws_send_upgrade(ngx_http_request_t *r, const char *accept)
{
    ngx_int_t                rc;
    ngx_str_t                key, value;
    ngx_uint_t               i;
    ngx_http_ws_hooks_t    **h;
    ngx_http_ws_refusal_t    refusal;
    ngx_http_ws_session_t   *ws;

    ws = ngx_http_ws_session_create(r,
                            ngx_http_get_module_loc_conf(r, ngx_http_ws_module));
    if (ws == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_ws_session_hooks(ws)->all.elts;

    /* channel names, extensions, the token's channels */
    for (i = 0; i < ngx_http_ws_session_hooks(ws)->all.nelts; i++) {
        if (h[i]->prepare == NULL) {
            continue;
        }

        rc = h[i]->prepare(r, ws, &refusal);

        if (rc == NGX_DECLINED) {
            return ngx_http_ws_reject(r, refusal.status, refusal.reason, 1);
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* what every feature prepared is taken up: subscriptions */
    for (i = 0; i < ngx_http_ws_session_hooks(ws)->all.nelts; i++) {
        if (h[i]->accept && h[i]->accept(ws, &refusal) != NGX_OK) {
            return ngx_http_ws_reject(r, refusal.status, refusal.reason, 1);
        }
    }

    ngx_str_set(&key, "Upgrade");
    ngx_str_set(&value, "websocket");

    if (ngx_http_ws_response_header(r, &key, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&key, "Sec-WebSocket-Accept");
    value.len = WSCORE_ACCEPT_LEN;
    value.data = ngx_pnalloc(r->pool, WSCORE_ACCEPT_LEN);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(value.data, accept, WSCORE_ACCEPT_LEN);

    if (ngx_http_ws_response_header(r, &key, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < ngx_http_ws_session_hooks(ws)->all.nelts; i++) {
        if (h[i]->headers && h[i]->headers(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return ngx_http_ws_session_start(ws);
}
