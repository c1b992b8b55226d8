
/*
 * ngx_ws: the hooks' own HTTP/1.1 client, for a hook named with
 * "http://NAME/path" (NAME an upstream{} group, or host:port): calls go
 * straight to the group's servers over keepalive connections of the
 * worker, pipelined, instead of through a subrequest to a location.
 *
 * ngx_http_ws_backend_client.c: targets, peers, connections, pipelining.
 * ngx_http_ws_backend_answer.c: the answers' parser.
 */


#ifndef _NGX_HTTP_WS_BACKEND_CLIENT_H_INCLUDED_
#define _NGX_HTTP_WS_BACKEND_CLIENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_ws_backend_group_s    ngx_http_ws_backend_group_t;
typedef struct ngx_http_ws_backend_request_s  ngx_http_ws_backend_request_t;


/* A hook's "http://NAME/path", as the configuration named it. */
typedef struct {
    ngx_str_t                       url;
    ngx_str_t                       host;        /* NAME: the Host header */
    ngx_str_t                       path;        /* the request target */
    ngx_http_upstream_srv_conf_t   *uscf;        /* host:port: implicit */
    ngx_http_ws_backend_group_t    *group;
    ngx_str_t                       directive;
    u_char                         *file;
    ngx_uint_t                      line;
} ngx_http_ws_backend_target_t;


/* The backend module's http-level configuration. */
typedef struct {
    ngx_array_t                     targets;     /* of *target */
    ngx_array_t                     groups;      /* of *group */
    ngx_msec_t                      call_timeout;  /* ws_backend_timeout */
    ngx_uint_t                      connections; /* ws_backend_connections */
    ngx_uint_t                      pipeline;    /* ws_backend_pipeline */
} ngx_http_ws_backend_main_conf_t;


typedef void (*ngx_http_ws_backend_request_done_pt)(
    ngx_http_ws_backend_request_t *rq);


/*
 * One call on the direct path. It lives in the call's pool; the answer's
 * headers and body are copied there as they are parsed.
 */
struct ngx_http_ws_backend_request_s {
    ngx_queue_t                     queue;       /* link's or group's */
    ngx_http_ws_backend_target_t   *target;
    void                           *link;        /* the connection, or NULL */
    ngx_pool_t                     *pool;
    ngx_log_t                      *log;

    ngx_array_t                     headers;     /* ngx_keyval_t to send */
    ngx_buf_t                      *body;        /* NULL: none */
    ngx_buf_t                       head;        /* request line, headers */
    ngx_chain_t                     out[2];      /* head, body */
    ngx_uint_t                      tries;
    size_t                          answer_max;  /* the body's bound */

    /* the answer */
    ngx_uint_t                      status;
    ngx_list_t                      answer_headers;  /* WS-* */
    ngx_str_t                       content_type;
    ngx_str_t                       answer;
    size_t                          answer_size;     /* allocated */
    const char                     *failure;     /* why, for the log */

    ngx_http_ws_backend_request_done_pt  done;
    void                           *data;
    ngx_event_t                     fail;        /* a failure at start */
};


/* Parses what answers a connection reads, one after the other. */
typedef struct {
    ngx_http_request_t             *r;           /* NGINX's parsers' state */
    ngx_http_status_t               status;
    ngx_http_chunked_t              chunked;
    off_t                           rest;        /* of a Content-Length */
    ngx_uint_t                      state;
    unsigned                        has_length:1;
    unsigned                        is_chunked:1;
    unsigned                        until_close:1;
    unsigned                        close:1;     /* none after this one */
    unsigned                        discard:1;   /* over answer_max */
    unsigned                        started:1;   /* a byte of it read */
} ngx_http_ws_backend_answer_parser_t;


/* ngx_http_ws_backend_client.c */
char *ngx_http_ws_backend_client_target(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf, ngx_str_t *directive,
    ngx_str_t *url);
char *ngx_http_ws_backend_client_init(ngx_conf_t *cf,
    ngx_http_ws_backend_main_conf_t *bmcf);
ngx_http_ws_backend_target_t *ngx_http_ws_backend_client_find(
    ngx_http_ws_backend_main_conf_t *bmcf, ngx_str_t *uri);
/* Queues it: done(rq) runs once, later, never from this function. */
void ngx_http_ws_backend_client_send(ngx_http_ws_backend_request_t *rq);

/* ngx_http_ws_backend_answer.c */
void ngx_http_ws_backend_answer_reset(
    ngx_http_ws_backend_answer_parser_t *ap);
/* NGX_OK: rq's answer is complete; NGX_AGAIN; NGX_ERROR: rq->failure. */
ngx_int_t ngx_http_ws_backend_answer_parse(
    ngx_http_ws_backend_answer_parser_t *ap, ngx_buf_t *b,
    ngx_http_ws_backend_request_t *rq);
/* The connection closed: NGX_OK if that ended an answer (no length). */
ngx_int_t ngx_http_ws_backend_answer_eof(
    ngx_http_ws_backend_answer_parser_t *ap,
    ngx_http_ws_backend_request_t *rq);


#endif /* _NGX_HTTP_WS_BACKEND_CLIENT_H_INCLUDED_ */
