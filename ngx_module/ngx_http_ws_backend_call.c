
/*
 * ngx_ws: a backend call made when there is no request to make it from.
 *
 * The request of a WebSocket is freed once the 101 is out, so a hook that
 * runs later (the close hook) makes a request of its own for the call: a
 * pool, a connection with no socket and a request in it, the way NGINX's
 * own subrequests want to find them; the hook's location runs as an
 * in-memory subrequest of that request, so proxy_pass, fastcgi_pass,
 * return, their timeouts, balancers and keepalive all work unchanged.
 * Everything is freed, pool and connection slot, once the call is over.
 *
 * Lifetimes, explicitly:
 *  - the call owns its pool; the connection and both requests live in it;
 *  - a finished call's pool is emptied (its cleanups run, what it holds
 *    freed, as ngx_destroy_pool() would) and kept for the next call of the
 *    worker: a call's pool grows to what one call needs (both requests,
 *    the upstream's state, the headers) once, not on every call. Kept:
 *    at most as many as were in use at once, up to a bound, and a few
 *    only once no call has been in flight for a second;
 *  - it is over when the subrequest has finalized and woken its parent,
 *    or when NGINX terminated it (an error): either way the connection is
 *    marked destroyed at once (ngx_http_run_posted_requests() stops
 *    looking at it) and the call is freed from a posted event, after the
 *    handlers still on the stack have returned;
 *  - the session that made it may be gone long before: the call keeps
 *    nothing of it but copies.
 *
 * A hook named "http://NAME/path" is called directly instead
 * (ngx_http_ws_backend_client.c): no connection, no request, no
 * subrequest; the call's headers and body go to the client's request in
 * the same pool, the answer comes back there. The interface is the same.
 */


#include "ngx_http_ws_backend.h"
#include "ngx_http_ws_backend_client.h"
#include "ngx_http_ws_heap_trim.h"


struct ngx_http_ws_backend_call_s {
    ngx_pool_t                    *pool;
    ngx_connection_t              *connection;
    ngx_http_request_t            *request;      /* the fake main request */
    ngx_http_request_t            *subrequest;
    ngx_http_ws_backend_request_t *direct;       /* "http://": no request */
    ngx_http_ws_backend_done_pt    done;
    void                          *data;
    ngx_uint_t                     status;
    ngx_event_t                    free;
    ngx_str_t                      uri;
    ngx_chain_t                   *body;
    ngx_str_t                      sent;         /* the body's bytes */
    unsigned                       answered:1;
    unsigned                       finished:1;
    unsigned                       generated:1;   /* NGINX's own page */
};


/*
 * The first block holds a call's requests and most of the rest (NGINX's
 * own request_pool_size); the buffers of an upstream's answer are
 * allocations of their own whatever the size.
 */
#define NGX_HTTP_WS_BACKEND_CALL_POOL_SIZE    4096

/*
 * Emptied pools kept per worker while calls are in flight, and once none
 * is; the blocks one may have to be kept (a pool a large call made grow
 * is freed).
 */
#define NGX_HTTP_WS_BACKEND_CALL_POOLS_KEPT   256
#define NGX_HTTP_WS_BACKEND_CALL_POOLS_IDLE   4
#define NGX_HTTP_WS_BACKEND_CALL_POOL_BLOCKS  4

/* ms with no call in flight before the worker gives back what it kept */
#define NGX_HTTP_WS_BACKEND_CALL_POOLS_TRIM   1000


static ngx_pool_t *ngx_http_ws_backend_call_pool_get(void);
static void ngx_http_ws_backend_call_pool_put(ngx_pool_t *pool);
static void ngx_http_ws_backend_call_trim_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_ws_backend_call_connection(
    ngx_http_ws_backend_call_t *call, ngx_connection_t *client);
static ngx_int_t ngx_http_ws_backend_call_set_body(
    ngx_http_ws_backend_call_t *call, ngx_buf_t *b, ngx_str_t *content_type);
static ngx_table_elt_t *ngx_http_ws_backend_call_push(
    ngx_http_ws_backend_call_t *call, ngx_str_t *key, ngx_str_t *value);
static ngx_table_elt_t *ngx_http_ws_backend_call_push_named(
    ngx_http_ws_backend_call_t *call, ngx_http_ws_backend_header_name_t *name,
    ngx_str_t *value);
static ngx_http_request_t *ngx_http_ws_backend_call_request(
    ngx_http_ws_backend_call_t *call, void **main_conf, void **srv_conf,
    void **loc_conf);
static void ngx_http_ws_backend_call_event(ngx_event_t *ev);
static void ngx_http_ws_backend_call_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_backend_call_answered(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_ws_backend_call_terminated(void *data);
static void ngx_http_ws_backend_call_finish(ngx_http_ws_backend_call_t *call);
static void ngx_http_ws_backend_call_free_handler(ngx_event_t *ev);
static u_char *ngx_http_ws_backend_call_log(ngx_log_t *log, u_char *buf,
    size_t len);
static ngx_int_t ngx_http_ws_backend_call_direct(
    ngx_http_ws_backend_call_t *call, ngx_connection_t *client,
    ngx_http_ws_backend_target_t *target, void **loc_conf);
static void ngx_http_ws_backend_call_direct_done(
    ngx_http_ws_backend_request_t *rq);
static u_char *ngx_http_ws_backend_call_direct_log(ngx_log_t *log,
    u_char *buf, size_t len);


/* per worker: the pools of calls that are over, ready for the next ones */
static ngx_pool_t  *ngx_http_ws_backend_call_pools[
                                       NGX_HTTP_WS_BACKEND_CALL_POOLS_KEPT];
static ngx_uint_t   ngx_http_ws_backend_call_pools_n;
static ngx_uint_t   ngx_http_ws_backend_call_pools_used;
static ngx_event_t  ngx_http_ws_backend_call_trim;
/* what debug logging of the timer takes ev->data for (its fd) */
static ngx_connection_t  ngx_http_ws_backend_call_trim_dummy;

static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_content_length =
    ngx_http_ws_backend_header_name("Content-Length", "content-length");
static ngx_http_ws_backend_header_name_t  ngx_http_ws_backend_content_type =
    ngx_http_ws_backend_header_name("Content-Type", "content-type");


ngx_http_ws_backend_call_t *
ngx_http_ws_backend_call_create(ngx_connection_t *client, void **main_conf,
    void **srv_conf, void **loc_conf, ngx_str_t *uri)
{
    ngx_pool_t                       *pool;
    ngx_http_cleanup_t               *cln;
    ngx_http_ws_backend_call_t       *call;
    ngx_http_ws_backend_target_t     *target;
    ngx_http_ws_backend_main_conf_t  *bmcf;

    /* not the client's log: the call may outlive the client's connection;
     * the pool logs to the call's own once it is made */
    pool = ngx_http_ws_backend_call_pool_get();
    if (pool == NULL) {
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_ws_backend_call_t));
    if (call == NULL) {
        ngx_http_ws_backend_call_pool_put(pool);
        return NULL;
    }

    call->pool = pool;
    call->uri = *uri;

    call->free.handler = ngx_http_ws_backend_call_free_handler;
    call->free.data = call;

    bmcf = main_conf[ngx_http_ws_backend_module.ctx_index];
    target = ngx_http_ws_backend_client_find(bmcf, uri);

    if (target) {
        if (ngx_http_ws_backend_call_direct(call, client, target, loc_conf)
            != NGX_OK)
        {
            ngx_http_ws_backend_call_destroy(call);
            return NULL;
        }

        return call;
    }

    if (ngx_http_ws_backend_call_connection(call, client) != NGX_OK) {
        ngx_http_ws_backend_call_destroy(call);
        return NULL;
    }

    call->request = ngx_http_ws_backend_call_request(call, main_conf,
                                                     srv_conf, loc_conf);
    if (call->request == NULL) {
        ngx_http_ws_backend_call_destroy(call);
        return NULL;
    }

    /* run first when NGINX terminates the call's request on an error */
    cln = ngx_http_cleanup_add(call->request, 0);
    if (cln == NULL) {
        ngx_http_ws_backend_call_destroy(call);
        return NULL;
    }

    cln->handler = ngx_http_ws_backend_call_terminated;
    cln->data = call;

    call->free.log = call->connection->log;

    return call;
}


/* A direct call: a request of the client's, a log of its own. */
static ngx_int_t
ngx_http_ws_backend_call_direct(ngx_http_ws_backend_call_t *call,
    ngx_connection_t *client, ngx_http_ws_backend_target_t *target,
    void **loc_conf)
{
    ngx_log_t                      *log;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_ws_backend_request_t  *rq;

    log = ngx_palloc(call->pool, sizeof(ngx_log_t));
    rq = ngx_pcalloc(call->pool, sizeof(ngx_http_ws_backend_request_t));
    if (log == NULL || rq == NULL) {
        return NGX_ERROR;
    }

    /* the client's log level and files, and its number in the lines: the
     * client may be gone before the call is over */
    *log = *client->log;
    log->connection = client->number;
    log->data = call;
    log->handler = ngx_http_ws_backend_call_direct_log;
    log->action = NULL;
    call->pool->log = log;
    call->free.log = log;

    if (ngx_array_init(&rq->headers, call->pool, 8, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the bound of an answer, as a subrequest's is */
    clcf = loc_conf[ngx_http_core_module.ctx_index];

    rq->target = target;
    rq->pool = call->pool;
    rq->log = log;
    rq->answer_max = clcf->subrequest_output_buffer_size;
    rq->data = call;

    call->direct = rq;

    return NGX_OK;
}


static void
ngx_http_ws_backend_call_direct_done(ngx_http_ws_backend_request_t *rq)
{
    ngx_http_ws_backend_call_t  *call = rq->data;

    call->status = rq->status ? rq->status : NGX_HTTP_BAD_GATEWAY;
    call->answered = 1;

    ngx_http_ws_backend_call_finish(call);
}


static u_char *
ngx_http_ws_backend_call_direct_log(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_http_ws_backend_call_t  *call = log->data;

    return ngx_snprintf(buf, len, ", ws backend call \"%V\"", &call->uri);
}


/*
 * A connection with no socket. ngx_get_connection() wants a descriptor
 * and may note it in ngx_cycle->files: 0 is lent to it and its slot put
 * back. The events are marked active so that nothing asks the event
 * module to watch descriptor -1.
 */
static ngx_int_t
ngx_http_ws_backend_call_connection(ngx_http_ws_backend_call_t *call,
    ngx_connection_t *client)
{
    ngx_log_t           *log;
    ngx_connection_t    *c, *saved;
    ngx_http_log_ctx_t  *ctx;

    log = ngx_palloc(call->pool, sizeof(ngx_log_t));
    ctx = ngx_pcalloc(call->pool, sizeof(ngx_http_log_ctx_t));
    if (log == NULL || ctx == NULL) {
        return NGX_ERROR;
    }

    /*
     * The client's log level and files, with our own context: the
     * client's connection (and its log context) may be freed first.
     * Lines keep the client's connection number, so one grep finds both.
     */
    *log = *client->log;
    log->data = ctx;
    log->handler = ngx_http_ws_backend_call_log;
    log->action = NULL;

    call->pool->log = log;

    saved = ngx_cycle->files ? ngx_cycle->files[0] : NULL;

    c = ngx_get_connection(0, log);

    if (ngx_cycle->files) {
        ngx_cycle->files[0] = saved;
    }

    if (c == NULL) {
        return NGX_ERROR;
    }

    call->connection = c;

    c->fd = (ngx_socket_t) -1;
    c->pool = call->pool;
    c->log = log;
    c->number = client->number;
    c->log_error = NGX_ERROR_INFO;

    c->read->log = log;
    c->write->log = log;
    c->read->handler = ngx_http_ws_backend_call_event;
    c->write->handler = ngx_http_ws_backend_call_event;
    c->read->active = 1;
    c->write->active = 1;
    c->write->ready = 1;

    /* $remote_addr and friends in the hook's location: the client's */
    c->addr_text.data = ngx_pstrdup(call->pool, &client->addr_text);
    c->addr_text.len = client->addr_text.len;

    c->sockaddr = ngx_palloc(call->pool, client->socklen);
    c->local_sockaddr = ngx_palloc(call->pool, NGX_SOCKADDRLEN);

    if (c->addr_text.data == NULL || c->sockaddr == NULL
        || c->local_sockaddr == NULL)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(c->sockaddr, client->sockaddr, client->socklen);
    c->socklen = client->socklen;

    if (client->local_sockaddr) {
        ngx_memcpy(c->local_sockaddr, client->local_sockaddr,
                   client->local_socklen);
        c->local_socklen = client->local_socklen;

    } else {
        /* never looked up: the fake socket cannot be asked, say so */
        ngx_memcpy(c->local_sockaddr, client->sockaddr, client->socklen);
        c->local_socklen = client->socklen;
    }

    c->listening = client->listening;
    c->type = SOCK_STREAM;

    ctx->connection = c;

    return NGX_OK;
}


static ngx_http_request_t *
ngx_http_ws_backend_call_request(ngx_http_ws_backend_call_t *call,
    void **main_conf, void **srv_conf, void **loc_conf)
{
    u_char                     *p;
    ngx_time_t                 *tp;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_log_ctx_t         *ctx;
    ngx_http_core_main_conf_t  *cmcf;

    c = call->connection;

    r = ngx_pcalloc(call->pool, sizeof(ngx_http_request_t));
    if (r == NULL) {
        return NULL;
    }

    r->signature = NGX_HTTP_MODULE;
    r->connection = c;
    r->pool = call->pool;
    r->main = r;
    r->count = 1;

    r->main_conf = main_conf;
    r->srv_conf = srv_conf;
    r->loc_conf = loc_conf;

    r->ctx = ngx_pcalloc(r->pool, sizeof(void *) * ngx_http_max_module);
    if (r->ctx == NULL) {
        return NULL;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    /* a subrequest shares the variables of its parent */
    r->variables = ngx_pcalloc(r->pool, cmcf->variables.nelts
                                        * sizeof(ngx_http_variable_value_t));
    if (r->variables == NULL) {
        return NULL;
    }

    if (ngx_list_init(&r->headers_in.headers, r->pool, 8,
                      sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.headers, r->pool, 1,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NULL;
    }

    r->header_in = ngx_calloc_buf(r->pool);
    if (r->header_in == NULL) {
        return NULL;
    }

    r->headers_in.content_length_n = -1;
    r->headers_in.keep_alive_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    r->http_version = NGX_HTTP_VERSION_11;
    ngx_str_set(&r->http_protocol, "HTTP/1.1");

    r->uri = call->uri;
    r->unparsed_uri = call->uri;

    r->request_line.len = sizeof("POST  HTTP/1.1") - 1 + call->uri.len;
    r->request_line.data = ngx_pnalloc(r->pool, r->request_line.len);
    if (r->request_line.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(r->request_line.data, "POST ", sizeof("POST ") - 1);
    p = ngx_cpymem(p, call->uri.data, call->uri.len);
    ngx_memcpy(p, " HTTP/1.1", sizeof(" HTTP/1.1") - 1);

    r->uri_changes = NGX_HTTP_MAX_URI_CHANGES + 1;
    r->subrequests = NGX_HTTP_MAX_SUBREQUESTS + 1;
    r->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;

    /* the fake request writes no access-log line of its own */
    r->logged = 1;

    tp = ngx_timeofday();
    r->start_sec = tp->sec;
    r->start_msec = tp->msec;

    r->read_event_handler = ngx_http_request_empty_handler;
    r->write_event_handler = ngx_http_ws_backend_call_wake;

    ngx_http_set_ctx(r, call, ngx_http_ws_backend_module);

    c->data = r;
    c->requests++;

    ctx = c->log->data;
    ctx->request = r;
    ctx->current_request = r;

    return r;
}


/* The answer's body, as the in-memory subrequest kept it; empty if none. */
ngx_int_t
ngx_http_ws_backend_call_answer(ngx_http_ws_backend_call_t *call,
    ngx_str_t *body)
{
    ngx_buf_t           *b;
    ngx_http_request_t  *sr;

    sr = call->subrequest;

    if (call->direct) {
        *body = call->direct->answer;
        return NGX_OK;
    }

    ngx_str_null(body);

    /* "return 403;" or a 502: the error page is NGINX's, not an answer */
    if (sr == NULL || call->generated || sr->out == NULL
        || sr->out->buf == NULL)
    {
        return NGX_OK;
    }

    b = sr->out->buf;
    body->data = b->pos;
    body->len = b->last - b->pos;

    return NGX_OK;
}


/* The answer's headers, as the subrequest kept them; NULL if none. */
ngx_list_t *
ngx_http_ws_backend_call_headers(ngx_http_ws_backend_call_t *call)
{
    if (call->direct) {
        return call->direct->answer_headers.size
               ? &call->direct->answer_headers : NULL;
    }

    if (call->subrequest == NULL || call->generated) {
        return NULL;
    }

    return &call->subrequest->headers_out.headers;
}


ngx_pool_t *
ngx_http_ws_backend_call_pool(ngx_http_ws_backend_call_t *call)
{
    return call->pool;
}


/* The session's trace, for $ws_traceparent and friends in the call. */
ngx_int_t
ngx_http_ws_backend_call_trace(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_trace_t *trace)
{
    if (call->direct) {
        /* no location, no variables: the traceparent header is sent */
        return NGX_OK;
    }

    return ngx_http_ws_trace_attach(call->request, trace);
}


/* A request header of the call; key and value must live in its pool. */
ngx_int_t
ngx_http_ws_backend_call_header(ngx_http_ws_backend_call_t *call,
    ngx_str_t *key, ngx_str_t *value)
{
    ngx_keyval_t  *kv;

    if (call->direct) {
        kv = ngx_array_push(&call->direct->headers);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        kv->key = *key;
        kv->value = *value;

        return NGX_OK;
    }

    return ngx_http_ws_backend_call_push(call, key, value) ? NGX_OK
                                                             : NGX_ERROR;
}


/* The same with a name whose lower case and hash are worked out once. */
ngx_int_t
ngx_http_ws_backend_call_named_header(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_backend_header_name_t *name, ngx_str_t *value)
{
    if (call->direct) {
        return ngx_http_ws_backend_call_header(call, &name->key, value);
    }

    return ngx_http_ws_backend_call_push_named(call, name, value)
           ? NGX_OK : NGX_ERROR;
}


static ngx_table_elt_t *
ngx_http_ws_backend_call_push_named(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_backend_header_name_t *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    if (name->hash == 0) {
        name->hash = ngx_hash_key(name->lowcase_key, name->key.len);
    }

    h = ngx_list_push(&call->request->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    h->key = name->key;
    h->value = *value;
    h->lowcase_key = name->lowcase_key;
    h->hash = name->hash;

    return h;
}


/*
 * n in decimal at p, the end returned: what ngx_sprintf("%uL") writes,
 * without reading a format on every call.
 */
u_char *
ngx_http_ws_backend_call_decimal(u_char *p, uint64_t n)
{
    u_char   digits[NGX_INT64_LEN], *d;

    d = digits + NGX_INT64_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, d, digits + NGX_INT64_LEN - d);
}


static ngx_table_elt_t *
ngx_http_ws_backend_call_push(ngx_http_ws_backend_call_t *call,
    ngx_str_t *key, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&call->request->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    h->key = *key;
    h->value = *value;

    h->lowcase_key = ngx_pnalloc(call->pool, key->len);
    if (h->lowcase_key == NULL) {
        return NULL;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, key->data, key->len);

    return h;
}


/*
 * The body of the call (it is a POST): len bytes to fill, with the
 * Content-Length and Content-Type (none when NULL) a backend expects.
 */
u_char *
ngx_http_ws_backend_call_body(ngx_http_ws_backend_call_t *call, size_t len,
    ngx_str_t *content_type)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(call->pool, len ? len : 1);
    if (b == NULL) {
        return NULL;
    }

    b->last = b->pos + len;

    if (ngx_http_ws_backend_call_set_body(call, b, content_type) != NGX_OK) {
        return NULL;
    }

    return b->pos;
}


/*
 * The same with bytes the caller keeps, unchanged, until the call is
 * done (its done handler has run): not copied.
 */
ngx_int_t
ngx_http_ws_backend_call_body_ref(ngx_http_ws_backend_call_t *call,
    u_char *data, size_t len, ngx_str_t *content_type)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(call->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = 1;

    return ngx_http_ws_backend_call_set_body(call, b, content_type);
}


static ngx_int_t
ngx_http_ws_backend_call_set_body(ngx_http_ws_backend_call_t *call,
    ngx_buf_t *b, ngx_str_t *content_type)
{
    u_char              *p;
    off_t                len;
    ngx_str_t            value;
    ngx_http_request_t  *r;

    r = call->request;
    len = b->last - b->pos;

    /* the bytes as given: an upstream may move the buffer's pos */
    call->sent.data = b->pos;
    call->sent.len = len;

    if (call->direct) {
        p = ngx_pnalloc(call->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = ngx_http_ws_backend_call_decimal(p, len) - p;

        if (len) {
            b->start = b->pos;
            call->direct->body = b;
        }

        if (ngx_http_ws_backend_call_header(call,
                                  &ngx_http_ws_backend_content_length.key,
                                  &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (content_type) {
            return ngx_http_ws_backend_call_header(call,
                                  &ngx_http_ws_backend_content_type.key,
                                  content_type);
        }

        return NGX_OK;
    }

    call->body = ngx_alloc_chain_link(call->pool);
    p = ngx_pnalloc(call->pool, NGX_OFF_T_LEN);

    if (call->body == NULL || p == NULL) {
        return NGX_ERROR;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    if (len == 0) {
        /* nothing in memory: a special buffer, not a zero-size one */
        b->temporary = 0;
        b->memory = 0;
    }

    call->body->buf = b;
    call->body->next = NULL;

    value.data = p;
    value.len = ngx_http_ws_backend_call_decimal(p, len) - p;

    r->headers_in.content_length = ngx_http_ws_backend_call_push_named(call,
                                    &ngx_http_ws_backend_content_length,
                                    &value);
    if (r->headers_in.content_length == NULL) {
        return NGX_ERROR;
    }

    if (content_type) {
        r->headers_in.content_type = ngx_http_ws_backend_call_push_named(call,
                                    &ngx_http_ws_backend_content_type,
                                    content_type);
        if (r->headers_in.content_type == NULL) {
            return NGX_ERROR;
        }
    }

    r->headers_in.content_length_n = len;

    return NGX_OK;
}


/* The body the call was made with, until its done handler has returned. */
void
ngx_http_ws_backend_call_sent(ngx_http_ws_backend_call_t *call,
    ngx_str_t *body)
{
    *body = call->sent;
}


/* The answer's Content-Type, as the location's handler set it; or empty. */
void
ngx_http_ws_backend_call_answer_type(ngx_http_ws_backend_call_t *call,
    ngx_str_t *type)
{
    if (call->direct) {
        *type = call->direct->content_type;
        return;
    }

    if (call->subrequest == NULL) {
        ngx_str_null(type);
        return;
    }

    *type = call->subrequest->headers_out.content_type;
}


/*
 * Runs the call: its location as an in-memory subrequest of the fake
 * request, at once (a worker told to quit must have the call's timers
 * before it looks for timers left). done(call, data, status) runs once,
 * with the answer's status or the error NGINX finalized it with.
 */
ngx_int_t
ngx_http_ws_backend_call_start(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_backend_done_pt done, void *data)
{
    ngx_http_request_t          *r, *sr;
    ngx_http_request_body_t     *rb;
    ngx_http_post_subrequest_t  *ps;

    r = call->request;

    if (call->direct) {
        call->done = done;
        call->data = data;
        call->direct->done = ngx_http_ws_backend_call_direct_done;

        /* done runs later, from the client's events: never from here */
        ngx_http_ws_backend_client_send(call->direct);

        return NGX_OK;
    }

    ps = ngx_palloc(call->pool, sizeof(ngx_http_post_subrequest_t));
    rb = ngx_pcalloc(call->pool, sizeof(ngx_http_request_body_t));
    if (ps == NULL || rb == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_ws_backend_call_answered;
    ps->data = call;

    call->done = done;
    call->data = data;

    if (ngx_http_subrequest(r, &call->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    call->subrequest = sr;

    /* a body in memory, never read from a client */
    rb->bufs = call->body;
    sr->request_body = rb;

    if (call->body) {
        sr->method = NGX_HTTP_POST;
        ngx_str_set(&sr->method_name, "POST");
    }

    ngx_http_run_posted_requests(call->connection);

    return NGX_OK;
}


/* Events of the fake connection, should any come: as NGINX routes them. */
static void
ngx_http_ws_backend_call_event(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = ev->data;
    r = c->data;

    if (c->destroyed) {
        return;
    }

    if (ev->write) {
        r->write_event_handler(r);

    } else {
        r->read_event_handler(r);
    }

    ngx_http_run_posted_requests(c);
}


/* The subrequest is over and woke its parent: the call is done. */
static void
ngx_http_ws_backend_call_wake(ngx_http_request_t *r)
{
    ngx_http_ws_backend_call_t  *call;

    call = ngx_http_get_module_ctx(r, ngx_http_ws_backend_module);

    if (call == NULL || !call->answered) {
        return;
    }

    ngx_http_ws_backend_call_finish(call);
}


/*
 * The answer, or NGINX's error: may run more than once (an error status
 * is finalized again once its error page is made); the last one counts.
 */
static ngx_int_t
ngx_http_ws_backend_call_answered(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_ws_backend_call_t  *call = data;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE
        || rc == NGX_HTTP_CREATED || rc == NGX_HTTP_NO_CONTENT)
    {
        call->status = rc;

        /*
         * A status NGINX finalized with ("return 403;", a 502 of its
         * own), not one an upstream sent: what follows is its error page.
         */
        call->generated = 1;

    } else if (rc == NGX_ERROR) {
        call->status = NGX_HTTP_BAD_GATEWAY;

    } else if (sr->headers_out.status) {
        call->status = sr->headers_out.status;

    } else if (call->status == 0) {
        call->status = NGX_HTTP_BAD_GATEWAY;
    }

    call->answered = 1;

    return rc;
}


/* NGINX terminates the call's request (an error): it is over too. */
static void
ngx_http_ws_backend_call_terminated(void *data)
{
    ngx_http_ws_backend_call_t  *call = data;

    /*
     * Whatever status the answer had, it was not taken in full (NGINX
     * terminates on errors only: an answer over
     * subrequest_output_buffer_size, say).
     */
    if (call->status < NGX_HTTP_SPECIAL_RESPONSE) {
        call->status = NGX_HTTP_BAD_GATEWAY;
    }

    call->answered = 1;

    ngx_http_ws_backend_call_finish(call);
}


static void
ngx_http_ws_backend_call_finish(ngx_http_ws_backend_call_t *call)
{
    if (call->finished) {
        return;
    }

    call->finished = 1;

    /*
     * Nothing of the fake connection runs from now on: NGINX checks this
     * before every posted request (a terminated request's own included).
     */
    if (call->connection) {
        call->connection->destroyed = 1;
    }

    if (call->done) {
        call->done(call, call->data, call->status);
    }

    ngx_post_event(&call->free, &ngx_posted_events);
}


static void
ngx_http_ws_backend_call_free_handler(ngx_event_t *ev)
{
    ngx_http_ws_backend_call_destroy(ev->data);
}


void
ngx_http_ws_backend_call_destroy(ngx_http_ws_backend_call_t *call)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c, *saved;

    c = call->connection;
    pool = call->pool;

    if (call->free.posted) {
        ngx_delete_posted_event(&call->free);
    }

    if (call->direct && call->direct->fail.posted) {
        ngx_delete_posted_event(&call->direct->fail);
    }

    if (c) {
        c->destroyed = 1;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        c->read->active = 0;
        c->write->active = 0;
        c->read->closed = 1;
        c->write->closed = 1;

        /* the descriptor lent at ngx_get_connection(), for the same reason */
        c->fd = 0;
        saved = ngx_cycle->files ? ngx_cycle->files[0] : NULL;

        ngx_free_connection(c);

        if (ngx_cycle->files) {
            ngx_cycle->files[0] = saved;
        }

        c->fd = (ngx_socket_t) -1;
    }

    ngx_http_ws_backend_call_pool_put(pool);
}


static ngx_pool_t *
ngx_http_ws_backend_call_pool_get(void)
{
    ngx_pool_t  *pool;

    if (ngx_http_ws_backend_call_pools_n == 0) {
        pool = ngx_create_pool(NGX_HTTP_WS_BACKEND_CALL_POOL_SIZE,
                               ngx_cycle->log);
        if (pool == NULL) {
            return NULL;
        }

    } else {
        pool = ngx_http_ws_backend_call_pools[
                                     --ngx_http_ws_backend_call_pools_n];

        /* the call's own log was in the pool */
        pool->log = ngx_cycle->log;
    }

    ngx_http_ws_backend_call_pools_used++;

    return pool;
}


/*
 * What ngx_destroy_pool() does but keep the memory: the cleanups run, the
 * large allocations are freed, the blocks are emptied. Freed instead when
 * enough are kept, when it grew large, or when the worker is leaving.
 */
static void
ngx_http_ws_backend_call_pool_put(ngx_pool_t *pool)
{
    ngx_uint_t           blocks;
    ngx_pool_t          *p;
    ngx_pool_cleanup_t  *cln;

    ngx_http_ws_backend_call_pools_used--;

    if (ngx_http_ws_backend_call_pools_used == 0
        && !ngx_http_ws_backend_call_trim.timer_set)
    {
        /* not at once: calls of a few clients often all end together */
        ngx_http_ws_backend_call_trim_dummy.fd = (ngx_socket_t) -1;

        ngx_http_ws_backend_call_trim.handler =
                                      ngx_http_ws_backend_call_trim_handler;
        ngx_http_ws_backend_call_trim.data =
                                      &ngx_http_ws_backend_call_trim_dummy;
        ngx_http_ws_backend_call_trim.log = ngx_cycle->log;
        ngx_http_ws_backend_call_trim.cancelable = 1;

        ngx_add_timer(&ngx_http_ws_backend_call_trim,
                      NGX_HTTP_WS_BACKEND_CALL_POOLS_TRIM);
    }

    blocks = 0;

    for (p = pool; p; p = p->d.next) {
        blocks++;
    }

    if (ngx_http_ws_backend_call_pools_n == NGX_HTTP_WS_BACKEND_CALL_POOLS_KEPT
        || blocks > NGX_HTTP_WS_BACKEND_CALL_POOL_BLOCKS
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        ngx_destroy_pool(pool);
        return;
    }

    for (cln = pool->cleanup; cln; cln = cln->next) {
        if (cln->handler) {
            cln->handler(cln->data);
        }
    }

    pool->cleanup = NULL;

    ngx_reset_pool(pool);

    pool->log = ngx_cycle->log;

    ngx_http_ws_backend_call_pools[ngx_http_ws_backend_call_pools_n++] = pool;
}


/* Still no call in flight: all but a few kept pools are freed. */
static void
ngx_http_ws_backend_call_trim_handler(ngx_event_t *ev)
{
    if (ngx_http_ws_backend_call_pools_used) {
        return;
    }

    if (ngx_http_ws_backend_call_pools_n
        <= NGX_HTTP_WS_BACKEND_CALL_POOLS_IDLE)
    {
        return;
    }

    while (ngx_http_ws_backend_call_pools_n
           > NGX_HTTP_WS_BACKEND_CALL_POOLS_IDLE)
    {
        ngx_destroy_pool(ngx_http_ws_backend_call_pools[
                                       --ngx_http_ws_backend_call_pools_n]);
    }

    /* the pages back to the kernel, as after handshakes */
    ngx_http_ws_heap_trim_soon();
}


/* Error-log context of the call's lines: the hook and its upstream. */
static u_char *
ngx_http_ws_backend_call_log(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char              *p;
    ngx_http_log_ctx_t  *ctx;
    ngx_http_request_t  *r, *cr;

    ctx = log->data;
    r = ctx->request;
    cr = ctx->current_request;
    p = buf;

    if (r == NULL) {
        return p;
    }

    p = ngx_snprintf(p, len, ", client: %V, ws backend call \"%V\"",
                     &r->connection->addr_text, &r->uri);
    len -= p - buf;

    if (cr && cr->upstream && cr->upstream->peer.name) {
        p = ngx_snprintf(p, len, ", upstream: \"%V\"",
                         cr->upstream->peer.name);
    }

    return p;
}
