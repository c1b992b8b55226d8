
/*
 * ngx_ws: the access-log line of a WebSocket, written at close from a
 * compact record taken once the 101 has gone out.
 *
 * Keeping NGINX's request for the whole life of a WebSocket costs its
 * pool (two 4 KiB blocks) per idle connection only to log one line at
 * the end. The record keeps what that line can need: the
 * request head (request line and headers, rebuilt from the parsed list),
 * the configuration arrays, the start time, the sizes, and the values of
 * the variables already evaluated (set, map results, auth_request_set,
 * regex captures). At close a fresh request is made on the connection,
 * the head is parsed into it with NGINX's own parsers and header
 * handlers, the rest is put back, and ngx_http_free_request() runs the
 * log phase and frees it, so every log module sees what it saw before.
 *
 * Where nothing at close could read the line (the location's access log
 * is off and no other module logs), no record is kept: it was the largest
 * piece of an idle connection after NGINX's own pool.
 */


#include "ngx_http_ws_log_record.h"
#include "ngx_http_ws_common.h"


typedef struct {
    ngx_uint_t                  index;
    ngx_http_variable_value_t   value;
} ngx_http_ws_saved_var_t;


struct ngx_http_ws_log_record_s {
    ngx_http_connection_t      *http_connection;
    void                      **main_conf;
    void                      **srv_conf;
    void                      **loc_conf;

    time_t                      start_sec;
    ngx_msec_t                  start_msec;
    size_t                      header_size;
    off_t                       request_length;

    ngx_str_t                   head;
    ngx_str_t                   uri;
    ngx_str_t                   args;
    ngx_str_t                   exten;
    ngx_str_t                   server;

    ngx_uint_t                  nvars;
    ngx_http_ws_saved_var_t    *vars;
};


static ngx_int_t ngx_http_ws_log_record_parse(ngx_http_request_t *r,
    ngx_http_ws_log_record_t *rec);


/* NGINX's access log: no header declares it */
extern ngx_module_t  ngx_http_log_module;


/*
 * Whether the log phase at close can read anything of the request. Two
 * log-phase handlers are in every configuration with this module: NGINX's
 * access log and this module's metrics (which count refused handshakes
 * only, never a 101). A third is another module's: it may read anything.
 * NGINX's access log reads nothing where it is off: its location
 * configuration's first member, the array of logs, is NULL only then
 * (merged from "access_log off"; NGINX's default is the combined log).
 */
ngx_uint_t
ngx_http_ws_log_record_wanted(void **main_conf, void **loc_conf)
{
    ngx_array_t                **logs;
    ngx_http_core_main_conf_t   *cmcf;

    cmcf = main_conf[ngx_http_core_module.ctx_index];

    if (cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.nelts > 2) {
        return 1;
    }

    logs = loc_conf[ngx_http_log_module.ctx_index];

    return *logs != NULL;
}


/* A string's bytes go to *p, which moves on. */
static void
ngx_http_ws_log_record_copy(ngx_str_t *dst, ngx_str_t *src, u_char **p)
{
    dst->len = src->len;
    dst->data = *p;

    if (src->len) {
        *p = ngx_cpymem(*p, src->data, src->len);
    }
}


ngx_http_ws_log_record_t *
ngx_http_ws_log_record_take(ngx_http_request_t *r)
{
    u_char                     *p;
    size_t                      size, head;
    ngx_uint_t                  i, n;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h;
    ngx_http_variable_value_t  *v;
    ngx_http_ws_saved_var_t    *sv;
    ngx_http_ws_log_record_t   *rec;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    /* the head as it would be sent again: line, headers, blank line */
    head = r->request_line.len + 2 + 2;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            head += h[i].key.len + 2 + h[i].value.len + 2;
        }
    }

    size = sizeof(ngx_http_ws_log_record_t) + head + r->uri.len + r->args.len
           + r->exten.len + r->headers_in.server.len;

    n = 0;
    v = r->variables;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].valid || v[i].not_found) {
            n++;
            size += v[i].len;
        }
    }

    size += n * sizeof(ngx_http_ws_saved_var_t);

    rec = ngx_alloc(size, r->connection->log);
    if (rec == NULL) {
        return NULL;
    }

    rec->http_connection = r->http_connection;
    rec->main_conf = r->main_conf;
    rec->srv_conf = r->srv_conf;
    rec->loc_conf = r->loc_conf;
    rec->start_sec = r->start_sec;
    rec->start_msec = r->start_msec;
    rec->header_size = r->header_size;
    rec->request_length = r->request_length;

    rec->vars = (ngx_http_ws_saved_var_t *) (rec + 1);
    rec->nvars = n;
    p = (u_char *) (rec->vars + n);

    sv = rec->vars;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (!(v[i].valid || v[i].not_found)) {
            continue;
        }

        sv->index = i;
        sv->value = v[i];
        sv->value.data = p;

        if (v[i].len) {
            p = ngx_cpymem(p, v[i].data, v[i].len);
        }

        sv++;
    }

    rec->head.data = p;
    p = ngx_cpymem(p, r->request_line.data, r->request_line.len);
    *p++ = CR; *p++ = LF;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
            *p++ = ':'; *p++ = ' ';
            p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = CR; *p++ = LF;
        }
    }

    *p++ = CR; *p++ = LF;
    rec->head.len = p - rec->head.data;

    ngx_http_ws_log_record_copy(&rec->uri, &r->uri, &p);
    ngx_http_ws_log_record_copy(&rec->args, &r->args, &p);
    ngx_http_ws_log_record_copy(&rec->exten, &r->exten, &p);
    ngx_http_ws_log_record_copy(&rec->server, &r->headers_in.server, &p);

    return rec;
}


/*
 * Writes the access-log line of the session through a request rebuilt
 * from the record. The connection is still open; its log context is left
 * without a request.
 */
void
ngx_http_ws_log_record_write(ngx_http_ws_log_record_t *rec,
    ngx_connection_t *c, ngx_http_ws_session_t *ws,
    ngx_http_ws_log_record_fill_pt fill)
{
    void                      *data;
    ngx_uint_t                 i, requests;
    ngx_http_log_ctx_t        *ctx;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    data = c->data;
    requests = c->requests;

    /* ngx_http_create_request() takes the server from c->data */
    c->data = rec->http_connection;
    r = ngx_http_create_request(c);
    c->data = data;

    if (r == NULL) {
        return;
    }

    /* the same request, not another one: undo what creating it counted */
    c->requests = requests;

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_reading, -1);
    (void) ngx_atomic_fetch_add(ngx_stat_requests, -1);
    r->stat_reading = 0;
#endif

    r->main_conf = rec->main_conf;
    r->srv_conf = rec->srv_conf;
    r->loc_conf = rec->loc_conf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    ngx_set_connection_log(c, clcf->error_log);

    c->log->action = "logging request";

    if (ngx_http_ws_log_record_parse(r, rec) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "ws: the saved request head did not parse again, "
                      "no access-log line");
        r->logged = 1;
        ngx_http_free_request(r, 0);
        c->destroyed = 0;

        ctx = c->log->data;
        ctx->request = NULL;
        ctx->current_request = NULL;
        return;
    }

    r->uri = rec->uri;
    r->args = rec->args;
    r->exten = rec->exten;
    r->headers_in.server = rec->server;

    r->start_sec = rec->start_sec;
    r->start_msec = rec->start_msec;
    r->header_size = rec->header_size;
    r->request_length = rec->request_length;
    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->http_state = NGX_HTTP_WRITING_REQUEST_STATE;

    for (i = 0; i < rec->nvars; i++) {
        r->variables[rec->vars[i].index] = rec->vars[i].value;
    }

    ngx_http_set_ctx(r, ws, ngx_http_ws_module);

    fill(ws, r);

    ngx_http_free_request(r, 0);

    /* the connection goes on (closing): no request in its log lines */
    c->destroyed = 0;

    ctx = c->log->data;
    ctx->request = NULL;
    ctx->current_request = NULL;
}


/* The request line and the headers, the way NGINX read them first. */
static ngx_int_t
ngx_http_ws_log_record_parse(ngx_http_request_t *r,
    ngx_http_ws_log_record_t *rec)
{
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_table_elt_t            *h;
    ngx_http_header_t          *hh;
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_core_main_conf_t  *cmcf;

    /* the parsers write into the buffer: a copy of the head, per request */
    b = ngx_create_temp_buf(r->pool, rec->head.len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, rec->head.data, rec->head.len);

    r->header_in = b;

    if (ngx_http_parse_request_line(r, b) != NGX_OK) {
        return NGX_ERROR;
    }

    r->request_line.len = r->request_end - r->request_start;
    r->request_line.data = r->request_start;
    r->unparsed_uri.len = r->uri_end - r->uri_start;
    r->unparsed_uri.data = r->uri_start;
    r->method_name.len = r->method_end - r->request_start + 1;
    r->method_name.data = r->request_line.data;

    if (r->http_protocol.data) {
        r->http_protocol.len = r->request_end - r->http_protocol.data;
    }

    if (ngx_list_init(&r->headers_in.headers, r->pool, 20,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_array_init(&r->headers_in.cookies, r->pool, 2,
                       sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    for ( ;; ) {
        rc = ngx_http_parse_header_line(r, b, cscf->underscores_in_headers);

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            break;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        if (r->invalid_header && cscf->ignore_invalid_headers) {
            continue;
        }

        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = r->header_hash;

        h->key.len = r->header_name_end - r->header_name_start;
        h->key.data = r->header_name_start;
        h->key.data[h->key.len] = '\0';

        h->value.len = r->header_end - r->header_start;
        h->value.data = r->header_start;
        h->value.data[h->value.len] = '\0';

        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        if (h->key.len == r->lowcase_index) {
            ngx_memcpy(h->lowcase_key, r->lowcase_header, h->key.len);

        } else {
            ngx_strlow(h->lowcase_key, h->key.data, h->key.len);
        }

        hh = ngx_hash_find(&cmcf->headers_in_hash, h->hash, h->lowcase_key,
                           h->key.len);

        /* these headers passed once: a handler refusing them now is a bug */
        if (hh && hh->handler(r, h, hh->offset) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
