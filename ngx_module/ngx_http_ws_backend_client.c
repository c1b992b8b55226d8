
/*
 * ngx_ws: the hooks' direct HTTP/1.1 client (ngx_http_ws_backend_client.h).
 *
 * Per worker and per upstream group: up to ws_backend_connections
 * keepalive connections ("links"), each carrying up to ws_backend_pipeline
 * calls at once. A call is appended to a link's output chain (its head and
 * its body, never copied) and the link writes what it has once per
 * event-loop pass, from a posted write event: the calls of many clients
 * that one read made go out in one writev(). Answers come back in the
 * order asked (ngx_http_ws_backend_answer.c parses them) and each call is
 * done as its answer ends.
 *
 * Peers: round robin over the group's addresses (its upstream{} servers,
 * backups left out). A peer that failed (refused, timed out, garbage, a
 * connection closed under calls) max_fails times is skipped for
 * fail_timeout, the server's own parameters; every peer skipped, the next
 * is tried anyway. Faults, as the subrequest path reports them:
 *  - no connection (refused, connect timeout): the link's calls, none
 *    written, go to another link, up to one try per peer; then 502
 *    (504 for a timeout);
 *  - no answer within ws_backend_timeout of the last byte read: 504 for
 *    the calls written, the others go elsewhere;
 *  - garbage, or the connection closed in the middle: 502 for the calls
 *    written (a POST may have run), the others elsewhere;
 *  - "Connection: close" (or HTTP/1.0): that answer counts; the calls
 *    after it were not taken by the server and go elsewhere;
 *  - an answer longer than the bound: 502 for that call alone, the body
 *    is read and thrown away and the link goes on.
 * Idle links close after ws_backend_timeout, at once when the worker is
 * leaving; a link with calls keeps the worker until they are done.
 */


#include "ngx_http_ws_backend_client.h"
#include "ngx_http_ws_common.h"


/* what a link reads at a time; an answer's header must fit */
#define NGX_HTTP_WS_BACKEND_LINK_BUFFER  16384


typedef struct {
    struct sockaddr                *sockaddr;
    socklen_t                       socklen;
    ngx_str_t                       name;
    ngx_uint_t                      max_fails;
    time_t                          fail_timeout;

    /* per worker */
    ngx_uint_t                      fails;
    time_t                          failed_at;
    unsigned                        down_logged:1;
} ngx_http_ws_backend_peer_t;


struct ngx_http_ws_backend_group_s {
    ngx_http_upstream_srv_conf_t   *uscf;
    ngx_str_t                       name;
    ngx_http_ws_backend_peer_t     *peers;
    ngx_uint_t                      npeers;
    ngx_msec_t                      timeout;
    ngx_uint_t                      max_links;
    ngx_uint_t                      pipeline;

    /* per worker */
    ngx_uint_t                      initialized;
    ngx_uint_t                      next_peer;
    ngx_queue_t                     links;
    ngx_uint_t                      nlinks;
    ngx_queue_t                     waiting;     /* no link had room */
    ngx_log_t                       quiet_log;   /* connect()'s own errors */
};


typedef struct {
    ngx_queue_t                     queue;       /* in the group */
    ngx_http_ws_backend_group_t    *group;
    ngx_http_ws_backend_peer_t     *peer;
    ngx_peer_connection_t           pc;
    ngx_connection_t               *connection;
    ngx_queue_t                     calls;       /* in the order written */
    ngx_uint_t                      ncalls;
    ngx_chain_t                    *out;         /* not written yet */
    ngx_chain_t                   **out_last;
    ngx_buf_t                       in;
    ngx_http_ws_backend_answer_parser_t  parser;
    ngx_http_request_t              parse_state;
    ngx_uint_t                      answered;    /* answers on this link */
    unsigned                        connected:1;
    unsigned                        dead:1;
    unsigned                        read_since_idle:1;
} ngx_http_ws_backend_link_t;


static ngx_int_t ngx_http_ws_backend_client_group(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf,
    ngx_http_ws_backend_target_t *t);
static void ngx_http_ws_backend_group_init(ngx_http_ws_backend_group_t *g);
static void ngx_http_ws_backend_dispatch(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_request_t *rq);
static ngx_int_t ngx_http_ws_backend_head(ngx_http_ws_backend_request_t *rq);
static ngx_http_ws_backend_link_t *ngx_http_ws_backend_link_open(
    ngx_http_ws_backend_group_t *g);
static void ngx_http_ws_backend_link_add(ngx_http_ws_backend_link_t *link,
    ngx_http_ws_backend_request_t *rq);
static void ngx_http_ws_backend_link_connected(ngx_event_t *wev);
static void ngx_http_ws_backend_link_write(ngx_event_t *wev);
static void ngx_http_ws_backend_link_read(ngx_event_t *rev);
static void ngx_http_ws_backend_link_idle(ngx_http_ws_backend_link_t *link);
static void ngx_http_ws_backend_link_fail(ngx_http_ws_backend_link_t *link,
    ngx_uint_t status, const char *why, ngx_uint_t peer_failed);
static void ngx_http_ws_backend_link_close(ngx_http_ws_backend_link_t *link);
static void ngx_http_ws_backend_fill(ngx_http_ws_backend_group_t *g);
static ngx_http_ws_backend_peer_t *ngx_http_ws_backend_peer_next(
    ngx_http_ws_backend_group_t *g);
static void ngx_http_ws_backend_peer_failed(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_peer_t *peer, const char *why);
static void ngx_http_ws_backend_peer_ok(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_peer_t *peer);
static void ngx_http_ws_backend_request_fail(
    ngx_http_ws_backend_request_t *rq, ngx_uint_t status, const char *why);
static void ngx_http_ws_backend_request_failed(ngx_event_t *ev);
static void ngx_http_ws_backend_request_done(
    ngx_http_ws_backend_request_t *rq);


/*
 * "http://NAME/path" of a hook directive: NAME an upstream{} group (found
 * once the configuration is read) or host:port (an implicit one, as
 * proxy_pass makes).
 */
char *
ngx_http_ws_backend_client_target(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf, ngx_str_t *directive,
    ngx_str_t *url)
{
    u_char                        *p, *last;
    ngx_url_t                      u;
    ngx_http_ws_backend_target_t  *t, **tp;

    p = url->data + sizeof("http://") - 1;
    last = url->data + url->len;

    t = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_backend_target_t));
    tp = ngx_array_push(&bmcf->targets);
    if (t == NULL || tp == NULL) {
        return NGX_CONF_ERROR;
    }

    *tp = t;
    t->url = *url;
    t->directive = *directive;
    t->file = cf->conf_file->file.name.data;
    t->line = cf->conf_file->line;

    t->host.data = p;

    while (p < last && *p != '/') {
        p++;
    }

    t->host.len = p - t->host.data;

    if (t->host.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" has no upstream name in \"%V\"",
                           directive, url);
        return NGX_CONF_ERROR;
    }

    if (p == last) {
        ngx_str_set(&t->path, "/");

    } else {
        t->path.data = p;
        t->path.len = last - p;
    }

    for (p = t->path.data; p < t->path.data + t->path.len; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '#') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" has an invalid path in \"%V\"",
                               directive, url);
            return NGX_CONF_ERROR;
        }
    }

    for (p = t->host.data; p < t->host.data + t->host.len; p++) {
        if (*p == ':') {
            break;
        }
    }

    if (p == t->host.data + t->host.len) {
        /* an upstream{} name: looked up once every block is read */
        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = t->host;
    u.no_resolve = 1;

    t->uscf = ngx_http_upstream_add(cf, &u, 0);
    if (t->uscf == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" has an invalid address in \"%V\"",
                           directive, url);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Once NGINX's upstream module has made the groups' peers (its main
 * configuration is initialized before ours): each target gets its group.
 */
char *
ngx_http_ws_backend_client_init(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf)
{
    ngx_uint_t                        i, j;
    ngx_http_upstream_srv_conf_t    **uscfp;
    ngx_http_ws_backend_target_t    **t;
    ngx_http_upstream_main_conf_t    *umcf;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    t = bmcf->targets.elts;

    for (i = 0; i < bmcf->targets.nelts; i++) {

        if (t[i]->uscf == NULL) {
            uscfp = umcf->upstreams.elts;

            for (j = 0; j < umcf->upstreams.nelts; j++) {
                if (uscfp[j]->srv_conf != NULL
                    && uscfp[j]->port == 0
                    && uscfp[j]->host.len == t[i]->host.len
                    && ngx_strncasecmp(uscfp[j]->host.data, t[i]->host.data,
                                       t[i]->host.len)
                       == 0)
                {
                    t[i]->uscf = uscfp[j];
                    break;
                }
            }

            if (t[i]->uscf == NULL) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"%V\" names no upstream \"%V\" in \"%V\" "
                              "in %s:%ui", &t[i]->directive, &t[i]->host,
                              &t[i]->url, t[i]->file, t[i]->line);
                return NGX_CONF_ERROR;
            }
        }

        if (ngx_http_ws_backend_client_group(cf, bmcf, t[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ws_backend_client_group(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf, ngx_http_ws_backend_target_t *t)
{
    ngx_uint_t                      i, n;
    ngx_http_ws_backend_peer_t     *peer;
    ngx_http_ws_backend_group_t    *g, **gp;
    ngx_http_upstream_rr_peer_t    *rp;
    ngx_http_upstream_rr_peers_t   *peers;

    gp = bmcf->groups.elts;

    for (i = 0; i < bmcf->groups.nelts; i++) {
        if (gp[i]->uscf == t->uscf) {
            t->group = gp[i];
            return NGX_OK;
        }
    }

    peers = t->uscf->peer.data;

    if (peers == NULL || peers->number == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\": upstream \"%V\" has no server to call, in "
                      "%s:%ui", &t->directive, &t->host, t->file, t->line);
        return NGX_ERROR;
    }

    g = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_backend_group_t));
    gp = ngx_array_push(&bmcf->groups);
    if (g == NULL || gp == NULL) {
        return NGX_ERROR;
    }

    *gp = g;
    g->uscf = t->uscf;
    g->name = t->host;
    g->timeout = bmcf->call_timeout;
    g->max_links = bmcf->connections;
    g->pipeline = bmcf->pipeline;

    n = 0;

    for (rp = peers->peer; rp; rp = rp->next) {
        n++;
    }

    g->peers = ngx_pcalloc(cf->pool, n * sizeof(ngx_http_ws_backend_peer_t));
    if (g->peers == NULL) {
        return NGX_ERROR;
    }

    for (rp = peers->peer; rp; rp = rp->next) {
        if (rp->down) {
            continue;
        }

        peer = &g->peers[g->npeers++];

        /* the peers of a zone move to shared memory: ours are copies */
        peer->sockaddr = ngx_palloc(cf->pool, rp->socklen);
        peer->name.data = ngx_pstrdup(cf->pool, &rp->name);
        if (peer->sockaddr == NULL || peer->name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(peer->sockaddr, rp->sockaddr, rp->socklen);
        peer->socklen = rp->socklen;
        peer->name.len = rp->name.len;
        peer->max_fails = rp->max_fails;
        peer->fail_timeout = rp->fail_timeout;
    }

    if (g->npeers == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\": every server of upstream \"%V\" is down, in "
                      "%s:%ui", &t->directive, &t->host, t->file, t->line);
        return NGX_ERROR;
    }

    t->group = g;

    return NGX_OK;
}


/* The target a hook's URI names; NULL: a location's URI. */
ngx_http_ws_backend_target_t *
ngx_http_ws_backend_client_find(ngx_http_ws_backend_main_conf_t *bmcf,
    ngx_str_t *uri)
{
    ngx_uint_t                      i;
    ngx_http_ws_backend_target_t  **t;

    if (uri->len == 0 || uri->data[0] == '/') {
        return NULL;
    }

    t = bmcf->targets.elts;

    /* the hook's string is the directive's, merged by value */
    for (i = 0; i < bmcf->targets.nelts; i++) {
        if (t[i]->url.data == uri->data) {
            return t[i];
        }
    }

    for (i = 0; i < bmcf->targets.nelts; i++) {
        if (t[i]->url.len == uri->len
            && ngx_strncmp(t[i]->url.data, uri->data, uri->len) == 0)
        {
            return t[i];
        }
    }

    return NULL;
}


/* The worker's state of a group, made at its first call. */
static void
ngx_http_ws_backend_group_init(ngx_http_ws_backend_group_t *g)
{
    ngx_queue_init(&g->links);
    ngx_queue_init(&g->waiting);

    /*
     * connect() logs a refused connection at "error" on every attempt;
     * a failing peer is logged here once per change instead.
     */
    g->quiet_log = *ngx_cycle->log;
    g->quiet_log.log_level = NGX_LOG_CRIT;

    g->next_peer = ngx_pid % g->npeers;
    g->initialized = 1;
}


void
ngx_http_ws_backend_client_send(ngx_http_ws_backend_request_t *rq)
{
    ngx_http_ws_backend_group_t  *g;

    g = rq->target->group;

    if (!g->initialized) {
        ngx_http_ws_backend_group_init(g);
    }

    rq->fail.handler = ngx_http_ws_backend_request_failed;
    rq->fail.data = rq;
    rq->fail.log = rq->log;

    if (ngx_http_ws_backend_head(rq) != NGX_OK) {
        ngx_http_ws_backend_request_fail(rq, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "no memory");
        return;
    }

    ngx_http_ws_backend_dispatch(g, rq);
}


/*
 * A link with room for rq: the least busy one; a new one while every link
 * has calls and there may be more. None: rq waits for room.
 */
static void
ngx_http_ws_backend_dispatch(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_request_t *rq)
{
    ngx_queue_t                 *q;
    ngx_http_ws_backend_link_t  *link, *best;

    /* a failed link counts a try; a closed one does not */
    if (rq->tries >= g->npeers) {
        ngx_http_ws_backend_request_fail(rq, rq->status ? rq->status
                                                        : NGX_HTTP_BAD_GATEWAY,
                                         rq->failure);
        return;
    }

    best = NULL;

    for (q = ngx_queue_head(&g->links);
         q != ngx_queue_sentinel(&g->links);
         q = ngx_queue_next(q))
    {
        link = ngx_queue_data(q, ngx_http_ws_backend_link_t, queue);

        if (link->ncalls < g->pipeline
            && (best == NULL || link->ncalls < best->ncalls))
        {
            best = link;
        }
    }

    if ((best == NULL || best->ncalls > 0) && g->nlinks < g->max_links) {
        link = ngx_http_ws_backend_link_open(g);

        if (link) {
            best = link;
        }
    }

    if (best == NULL) {
        if (g->nlinks == 0) {
            /* every peer refused at once */
            ngx_http_ws_backend_request_fail(rq, NGX_HTTP_BAD_GATEWAY,
                                             "no server could be reached");
            return;
        }

        ngx_queue_insert_tail(&g->waiting, &rq->queue);
        return;
    }

    ngx_http_ws_backend_link_add(best, rq);
}


/* The request line and headers, in one buffer of the call's pool. */
static ngx_int_t
ngx_http_ws_backend_head(ngx_http_ws_backend_request_t *rq)
{
    u_char                        *p;
    size_t                         len;
    ngx_uint_t                     i;
    ngx_keyval_t                  *h;
    ngx_http_ws_backend_target_t  *t;

    t = rq->target;
    h = rq->headers.elts;

    len = sizeof("POST  HTTP/1.1" CRLF "Host: " CRLF CRLF) - 1
          + t->path.len + t->host.len;

    for (i = 0; i < rq->headers.nelts; i++) {
        len += h[i].key.len + sizeof(": " CRLF) - 1 + h[i].value.len;
    }

    p = ngx_pnalloc(rq->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    rq->head.start = p;
    rq->head.pos = p;
    rq->head.temporary = 1;

    p = ngx_cpymem(p, "POST ", sizeof("POST ") - 1);
    p = ngx_cpymem(p, t->path.data, t->path.len);
    p = ngx_cpymem(p, " HTTP/1.1" CRLF "Host: ",
                   sizeof(" HTTP/1.1" CRLF "Host: ") - 1);
    p = ngx_cpymem(p, t->host.data, t->host.len);
    *p++ = CR; *p++ = LF;

    for (i = 0; i < rq->headers.nelts; i++) {
        p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
        *p++ = CR; *p++ = LF;
    }

    *p++ = CR; *p++ = LF;

    rq->head.last = p;
    rq->head.end = p;

    return NGX_OK;
}


static ngx_http_ws_backend_link_t *
ngx_http_ws_backend_link_open(ngx_http_ws_backend_group_t *g)
{
    ngx_int_t                    rc;
    ngx_uint_t                   n;
    ngx_connection_t            *c;
    ngx_http_ws_backend_peer_t  *peer;
    ngx_http_ws_backend_link_t  *link;

    link = ngx_calloc(sizeof(ngx_http_ws_backend_link_t)
                      + NGX_HTTP_WS_BACKEND_LINK_BUFFER, ngx_cycle->log);
    if (link == NULL) {
        return NULL;
    }

    rc = NGX_ERROR;

    for (n = 0; n < g->npeers; n++) {
        peer = ngx_http_ws_backend_peer_next(g);

        ngx_memzero(&link->pc, sizeof(ngx_peer_connection_t));
        link->pc.sockaddr = peer->sockaddr;
        link->pc.socklen = peer->socklen;
        link->pc.name = &peer->name;
        link->pc.get = ngx_event_get_peer;
        link->pc.log = &g->quiet_log;
        link->pc.log_error = NGX_ERROR_ERR;

        rc = ngx_event_connect_peer(&link->pc);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            link->peer = peer;
            break;
        }

        if (link->pc.connection) {
            ngx_close_connection(link->pc.connection);
            link->pc.connection = NULL;
        }

        ngx_http_ws_backend_peer_failed(g, peer, "connect() failed");
    }

    if (link->peer == NULL) {
        ngx_free(link);
        return NULL;
    }

    c = link->pc.connection;
    c->data = link;
    c->pool = NULL;
    c->log = ngx_cycle->log;
    c->read->log = c->log;
    c->write->log = c->log;

    link->connection = c;
    link->group = g;
    link->out_last = &link->out;
    ngx_queue_init(&link->calls);

    link->in.start = (u_char *) link + sizeof(ngx_http_ws_backend_link_t);
    link->in.pos = link->in.start;
    link->in.last = link->in.start;
    link->in.end = link->in.start + NGX_HTTP_WS_BACKEND_LINK_BUFFER;

    link->parse_state.connection = c;
    link->parser.r = &link->parse_state;
    ngx_http_ws_backend_answer_reset(&link->parser);

    c->read->handler = ngx_http_ws_backend_link_read;
    c->write->handler = ngx_http_ws_backend_link_connected;

    ngx_queue_insert_tail(&g->links, &link->queue);
    g->nlinks++;

    if (rc == NGX_OK) {
        link->connected = 1;
        c->write->handler = ngx_http_ws_backend_link_write;

    } else {
        ngx_add_timer(c->write, g->timeout);
    }

    return link;
}


/* rq goes out with the link's next write, at the end of this pass. */
static void
ngx_http_ws_backend_link_add(ngx_http_ws_backend_link_t *link,
    ngx_http_ws_backend_request_t *rq)
{
    ngx_connection_t  *c;

    c = link->connection;

    rq->link = link;
    rq->status = 0;
    rq->failure = NULL;

    rq->out[0].buf = &rq->head;
    rq->out[0].next = NULL;

    if (rq->body) {
        rq->out[0].next = &rq->out[1];
        rq->out[1].buf = rq->body;
        rq->out[1].next = NULL;
        *link->out_last = &rq->out[0];
        link->out_last = &rq->out[1].next;

    } else {
        *link->out_last = &rq->out[0];
        link->out_last = &rq->out[0].next;
    }

    ngx_queue_insert_tail(&link->calls, &rq->queue);

    if (link->ncalls++ == 0) {
        c->idle = 0;
        link->read_since_idle = 0;

        /* a worker that quits waits for the calls, not for idle links */
        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->read->cancelable = 0;
        ngx_add_timer(c->read, link->group->timeout);
    }

    if (link->connected && !c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_ws_backend_link_connected(ngx_event_t *wev)
{
    int                          err;
    ngx_connection_t            *c;
    ngx_http_ws_backend_link_t  *link;

    c = wev->data;
    link = c->data;

    if (wev->timedout) {
        ngx_http_ws_backend_link_fail(link, NGX_HTTP_GATEWAY_TIME_OUT,
                                      "connect() timed out", 1);
        return;
    }

    err = ngx_http_ws_connect_error(c);

    if (err) {
        ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                      "connect() failed", 1);
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    link->connected = 1;
    wev->handler = ngx_http_ws_backend_link_write;

    ngx_http_ws_backend_link_write(wev);
}


/* Everything queued on the link, in one writev() where the kernel takes
 * it all. */
static void
ngx_http_ws_backend_link_write(ngx_event_t *wev)
{
    ngx_chain_t                 *cl;
    ngx_connection_t            *c;
    ngx_http_ws_backend_link_t  *link;

    c = wev->data;
    link = c->data;

    if (link->out == NULL) {
        return;
    }

    cl = c->send_chain(c, link->out, 0);

    if (cl == NGX_CHAIN_ERROR) {
        ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                      "writev() failed", 1);
        return;
    }

    link->out = cl;

    if (cl == NULL) {
        link->out_last = &link->out;
        return;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                      "no write event", 1);
    }
}


static void
ngx_http_ws_backend_link_read(ngx_event_t *rev)
{
    size_t                          free;
    ssize_t                         n;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_queue_t                    *q;
    ngx_connection_t               *c;
    ngx_http_ws_backend_link_t     *link;
    ngx_http_ws_backend_group_t    *g;
    ngx_http_ws_backend_request_t  *rq;

    c = rev->data;
    link = c->data;
    b = &link->in;

    if (c->close) {
        /* the worker is leaving; only an idle link is asked */
        ngx_http_ws_backend_link_close(link);
        return;
    }

    if (rev->timedout) {
        if (link->ncalls == 0) {
            ngx_http_ws_backend_link_close(link);
            return;
        }

        ngx_http_ws_backend_link_fail(link, NGX_HTTP_GATEWAY_TIME_OUT,
                                      "no answer in time", 1);
        return;
    }

    if (!link->connected) {
        /* a refused connect() reported on the read side */
        ngx_http_ws_backend_link_connected(c->write);
        return;
    }

    for ( ;; ) {
        if (b->pos == b->last) {
            b->pos = b->start;
            b->last = b->start;

        } else if (b->pos > b->start) {
            free = b->last - b->pos;
            ngx_memmove(b->start, b->pos, free);
            b->pos = b->start;
            b->last = b->start + free;
        }

        if (b->last == b->end) {
            ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                          "an answer header too large", 1);
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {

            if (link->ncalls == 0) {
                ngx_http_ws_backend_link_close(link);
                return;
            }

            q = ngx_queue_head(&link->calls);
            rq = ngx_queue_data(q, ngx_http_ws_backend_request_t, queue);

            if (n == 0
                && ngx_http_ws_backend_answer_eof(&link->parser, rq) == NGX_OK)
            {
                /* an answer that ended with the connection */
                ngx_queue_remove(q);
                link->ncalls--;
                ngx_http_ws_backend_peer_ok(link->group, link->peer);
                ngx_http_ws_backend_request_done(rq);

                ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                              "the connection closed", 0);
                return;
            }

            /*
             * A keepalive link the server closed while idle, just as calls
             * were written: it read none of them, they go elsewhere.
             */
            if (link->answered && !link->read_since_idle) {
                ngx_http_ws_backend_link_fail(link, 0, NULL, 0);
                return;
            }

            ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                          n == 0 ? "the connection closed "
                                                   "under calls"
                                                 : "recv() failed", 1);
            return;
        }

        b->last += n;
        link->read_since_idle = 1;

        if (link->ncalls) {
            ngx_add_timer(rev, link->group->timeout);
        }

        while (b->pos < b->last) {

            if (link->ncalls == 0) {
                ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                              "bytes no call asked for", 1);
                return;
            }

            q = ngx_queue_head(&link->calls);
            rq = ngx_queue_data(q, ngx_http_ws_backend_request_t, queue);

            rc = ngx_http_ws_backend_answer_parse(&link->parser, b, rq);

            if (rc == NGX_AGAIN) {
                break;
            }

            if (rc == NGX_ERROR) {
                ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                              rq->failure, 1);
                return;
            }

            ngx_queue_remove(q);
            link->ncalls--;
            link->answered++;

            if (link->parser.close) {
                /* the calls after this one were not taken */
                ngx_http_ws_backend_peer_ok(link->group, link->peer);
                ngx_http_ws_backend_request_done(rq);
                ngx_http_ws_backend_link_fail(link, 0, NULL, 0);
                return;
            }

            ngx_http_ws_backend_answer_reset(&link->parser);

            ngx_http_ws_backend_peer_ok(link->group, link->peer);

            /* done may queue more calls: this link may take them */
            ngx_http_ws_backend_request_done(rq);
        }

    }

    g = link->group;

    if (link->ncalls == 0) {
        /* may close the link: the group is kept first */
        ngx_http_ws_backend_link_idle(link);
        ngx_http_ws_backend_fill(g);
        return;
    }

    ngx_http_ws_backend_fill(g);

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_ws_backend_link_fail(link, NGX_HTTP_BAD_GATEWAY,
                                      "no read event", 1);
    }
}


/* No call on the link: kept for the next ones, or closed. */
static void
ngx_http_ws_backend_link_idle(ngx_http_ws_backend_link_t *link)
{
    ngx_connection_t  *c;

    c = link->connection;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_ws_backend_link_close(link);
        return;
    }

    c->idle = 1;
    c->read->cancelable = 1;
    ngx_add_timer(c->read, link->group->timeout);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_ws_backend_link_close(link);
    }
}


/* Calls that waited for room, to links that have some now. */
static void
ngx_http_ws_backend_fill(ngx_http_ws_backend_group_t *g)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_ws_backend_request_t  *rq;

    /* each waiting call is looked at once: it may wait again */
    for (n = g->max_links * g->pipeline; n; n--) {
        if (ngx_queue_empty(&g->waiting)) {
            return;
        }

        q = ngx_queue_head(&g->waiting);
        ngx_queue_remove(q);
        rq = ngx_queue_data(q, ngx_http_ws_backend_request_t, queue);

        ngx_http_ws_backend_dispatch(g, rq);

        if (!ngx_queue_empty(&g->waiting)
            && ngx_queue_last(&g->waiting) == q)
        {
            return;     /* no room anywhere */
        }
    }
}


/*
 * The link is over, its calls with it: those written fail with status
 * (0: the server took none of them, all go elsewhere), the others go
 * to another link.
 */
static void
ngx_http_ws_backend_link_fail(ngx_http_ws_backend_link_t *link,
    ngx_uint_t status, const char *why, ngx_uint_t peer_failed)
{
    ngx_queue_t                     calls, *q;
    ngx_http_ws_backend_group_t    *g;
    ngx_http_ws_backend_request_t  *rq;

    g = link->group;

    if (peer_failed) {
        ngx_http_ws_backend_peer_failed(g, link->peer, why);
    }

    ngx_queue_init(&calls);

    if (!ngx_queue_empty(&link->calls)) {
        /* moved first: calls done below may queue others on links */
        calls = link->calls;
        calls.next->prev = &calls;
        calls.prev->next = &calls;
        ngx_queue_init(&link->calls);
    }

    link->ncalls = 0;
    ngx_http_ws_backend_link_close(link);

    while (!ngx_queue_empty(&calls)) {
        q = ngx_queue_head(&calls);
        ngx_queue_remove(q);
        rq = ngx_queue_data(q, ngx_http_ws_backend_request_t, queue);

        rq->link = NULL;

        if (status && rq->head.pos != rq->head.start) {
            /* written, at least in part: it may have run */
            rq->status = status;
            rq->failure = why;
            ngx_http_ws_backend_request_done(rq);
            continue;
        }

        /* never reached the server: another try */
        if (peer_failed) {
            rq->tries++;
        }

        rq->status = status;
        rq->failure = why;
        rq->head.pos = rq->head.start;

        if (rq->body) {
            rq->body->pos = rq->body->start;
        }

        ngx_http_ws_backend_dispatch(g, rq);
    }

    ngx_http_ws_backend_fill(g);
}


static void
ngx_http_ws_backend_link_close(ngx_http_ws_backend_link_t *link)
{
    ngx_http_ws_backend_group_t  *g;

    if (link->dead) {
        return;
    }

    g = link->group;
    link->dead = 1;

    ngx_queue_remove(&link->queue);
    g->nlinks--;

    ngx_close_connection(link->connection);
    link->connection = NULL;

    /* every caller returns at once after this, touching nothing of it */
    ngx_free(link);
}


static ngx_http_ws_backend_peer_t *
ngx_http_ws_backend_peer_next(ngx_http_ws_backend_group_t *g)
{
    ngx_uint_t                   i, n;
    ngx_http_ws_backend_peer_t  *peer;

    for (i = 0; i < g->npeers; i++) {
        n = g->next_peer++ % g->npeers;
        peer = &g->peers[n];

        if (peer->max_fails == 0 || peer->fails < peer->max_fails
            || ngx_time() - peer->failed_at >= peer->fail_timeout)
        {
            return peer;
        }
    }

    /* every peer failed lately: the next one all the same */
    return &g->peers[g->next_peer++ % g->npeers];
}


static void
ngx_http_ws_backend_peer_failed(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_peer_t *peer, const char *why)
{
    peer->fails++;
    peer->failed_at = ngx_time();

    if (peer->max_fails && peer->fails >= peer->max_fails
        && !peer->down_logged)
    {
        peer->down_logged = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: backend server %V of \"%V\" failed (%s); not "
                      "called for %T s", &peer->name, &g->name,
                      why ? why : "error", peer->fail_timeout);
    }
}


static void
ngx_http_ws_backend_peer_ok(ngx_http_ws_backend_group_t *g,
    ngx_http_ws_backend_peer_t *peer)
{
    if (peer->fails == 0) {
        return;
    }

    peer->fails = 0;

    if (peer->down_logged) {
        peer->down_logged = 0;
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: backend server %V of \"%V\" answers again",
                      &peer->name, &g->name);
    }
}


/* A failure before the call was queued: reported from a posted event. */
static void
ngx_http_ws_backend_request_fail(ngx_http_ws_backend_request_t *rq,
    ngx_uint_t status, const char *why)
{
    rq->status = status;
    rq->failure = why;
    rq->link = NULL;

    ngx_post_event(&rq->fail, &ngx_posted_events);
}


static void
ngx_http_ws_backend_request_failed(ngx_event_t *ev)
{
    ngx_http_ws_backend_request_done(ev->data);
}


static void
ngx_http_ws_backend_request_done(ngx_http_ws_backend_request_t *rq)
{
    if (rq->failure) {
        ngx_log_error(NGX_LOG_INFO, rq->log, 0,
                      "ws: direct backend call failed with %ui: %s",
                      rq->status, rq->failure);
    }

    rq->link = NULL;
    rq->done(rq);
}
