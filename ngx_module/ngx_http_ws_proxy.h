
/*
 * ngx_ws: the frame-aware WebSocket reverse proxy (ws_proxy_pass).
 *
 * A module of its own in the same shared object. Before the 101 its
 * connect hook holds the client's handshake while it connects to a peer
 * of an upstream{} group (NGINX's balancers choose it) and completes an
 * RFC 6455 handshake with it as a client (ngx_http_ws_proxy_connect.c):
 * the upstream's 101 decides the client's. After the 101 the messages
 * of both sides are relayed (ngx_http_ws_proxy_relay.c): the client's
 * through the location's handler, the upstream's through a core session
 * of its own that is the upstream's client.
 */


#ifndef _NGX_HTTP_WS_PROXY_H_INCLUDED_
#define _NGX_HTTP_WS_PROXY_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


/* ws_proxy_set_header name value; */
typedef struct {
    ngx_str_t                      name;
    ngx_http_complex_value_t       value;
} ngx_http_ws_proxy_set_header_t;


/* At most this many ws_proxy_set_header in a location. */
#define NGX_HTTP_WS_PROXY_MAX_SET_HEADERS  8


typedef struct {
    ngx_http_upstream_srv_conf_t  *upstream;    /* NULL: no ws_proxy_pass */
    ngx_array_t                   *set_headers; /* of ..._set_header_t */
    ngx_str_t                      uri;         /* of the URL; empty: the
                                                   client's own */
    ngx_str_t                      host;        /* Host of the handshake */
    ngx_msec_t                     connect_timeout;
    ngx_msec_t                     handshake_timeout;
    ngx_msec_t                     ping_interval;  /* to the upstream */
    ngx_flag_t                     deflate;     /* offer permessage-deflate
                                                   to the upstream */
    ngx_uint_t                     hooked;      /* ws_backend_message: the
                                                   client's messages whole */

    /* wss:// (ngx_http_ws_proxy_tls.c) */
    ngx_flag_t                     ssl_verify;
    ngx_str_t                      ssl_trusted_certificate;
    ngx_str_t                      ssl_name;    /* the URL's host, NUL */
    ngx_uint_t                     ssl_name_is_ip;
    ngx_uint_t                     tls;         /* a wss:// URL */
#if (NGX_SSL)
    ngx_ssl_t                     *ssl;
#endif
} ngx_http_ws_proxy_conf_t;


typedef struct ngx_http_ws_proxy_out_s  ngx_http_ws_proxy_out_t;

/*
 * A piece of the upstream's queue: frames written one after another into
 * data, up to size bytes (small frames share a piece, so the messages of
 * one read go out in one send()).
 */
struct ngx_http_ws_proxy_out_s {
    ngx_http_ws_proxy_out_t       *next;
    size_t                         size;
    size_t                         len;
    size_t                         pos;
    u_char                         data[1];
};


/*
 * One proxied WebSocket: the upstream link and what the relay counts.
 * Heap memory, made by the connect hook. Until the request is freed after
 * the 101 (the session's detach) a cleanup of the request's pool owns it;
 * from then on the session does, and frees it with itself.
 */
typedef struct ngx_http_ws_proxy_s  ngx_http_ws_proxy_t;

struct ngx_http_ws_proxy_s {
    ngx_http_request_t            *request;     /* until the detach */
    ngx_pool_cleanup_t            *cleanup;     /* the request's, owning
                                                   this; NULL: detached */
    ngx_http_ws_session_t         *session;     /* from prepare on */
    ngx_http_ws_proxy_conf_t      *conf;
    ngx_pool_t                    *pool;        /* the balancer's state */
    ngx_peer_connection_t         *peer;        /* in pool */
    ngx_connection_t              *connection;  /* to the upstream */

    /* the handshake with the upstream */
    ngx_buf_t                     *request_buf;
    ngx_buf_t                     *header;      /* its answer */
    ngx_str_t                      protocol;    /* it chose, or empty */
    u_char                         key[24];     /* Sec-WebSocket-Key */
    u_char                         accept[WSCORE_ACCEPT_LEN]; /* client's */
    ngx_uint_t                     status;      /* its answer's status */
    wscore_deflate_params_t        deflate;     /* agreed, if deflating */

    /* after the 101: a client session of the core, and our output */
    wscore_session_t              *core;
    wscore_mask_source_t           mask;
    wscore_deflater_t             *deflater;    /* our messages to it, if
                                                   it agreed to deflate */
    ngx_http_ws_proxy_out_t       *out;
    ngx_http_ws_proxy_out_t      **out_last;
    size_t                         out_bytes;
    ngx_event_t                    timer;       /* the core's deadline */
    /* set by the relay when it starts: frees what it made */
    void                         (*relay_free)(ngx_http_ws_proxy_t *px);

    /* for the variables and the log */
    ngx_str_t                      addr;
    ngx_msec_t                     start;
    ngx_msec_t                     connect_time;    /* -1: not yet */
    ngx_msec_t                     handshake_time;
    uint64_t                       messages_from;   /* upstream's */
    uint64_t                       messages_to;
    uint64_t                       bytes_from;
    uint64_t                       bytes_to;
    ngx_uint_t                     close_code;      /* on the upstream
                                                       link; 0: none yet */
    ngx_uint_t                     closed_by;       /* NGX_HTTP_WS_PROXY_* */
    ngx_uint_t                     metrics_location; /* its label index */

    unsigned                       connected:1;
    unsigned                       upgraded:1;      /* its 101 checked */
    unsigned                       deflating:1;     /* it agreed */
    unsigned                       upstream_paused:1;
    unsigned                       client_paused:1;
    unsigned                       done:1;          /* link closed */
};


#define NGX_HTTP_WS_PROXY_CLOSED_NONE      0
#define NGX_HTTP_WS_PROXY_CLOSED_UPSTREAM  1
#define NGX_HTTP_WS_PROXY_CLOSED_PROXY     2


/* The location's proxy counters in this worker's metrics slot. */
#define ngx_http_ws_proxy_metric(px, field, i)                                \
    ngx_http_ws_metrics->field[(px)->metrics_location][i]


extern ngx_module_t  ngx_http_ws_proxy_module;


/* ngx_http_ws_proxy_connect.c: the connect hook and the handshake */
ngx_int_t ngx_http_ws_proxy_connect(ngx_http_request_t *r,
    const char *accept);
ngx_uint_t ngx_http_ws_proxy_owns_cleanup(ngx_pool_cleanup_pt handler);
void ngx_http_ws_proxy_detach(ngx_http_ws_proxy_t *px);
void ngx_http_ws_proxy_destroy(ngx_http_ws_proxy_t *px);
void ngx_http_ws_proxy_close_upstream(ngx_http_ws_proxy_t *px);
/* the link is up (TLS included): the handshake request goes out */
void ngx_http_ws_proxy_upstream_ready(ngx_http_ws_proxy_t *px);
/* this peer failed: the next one, or the client gets status */
void ngx_http_ws_proxy_upstream_failed(ngx_http_ws_proxy_t *px,
    ngx_uint_t status, const char *why);

/* ngx_http_ws_proxy_tls.c: wss:// upstreams */
char *ngx_http_ws_proxy_tls_conf(ngx_conf_t *cf,
    ngx_http_ws_proxy_conf_t *pcf);
#if (NGX_SSL)
/*
 * NGX_OK (verified), NGX_AGAIN (handshaked(c) is called when the
 * handshake ends: it checks the certificate with
 * ngx_http_ws_proxy_tls_verify()), NGX_ERROR with *why
 */
ngx_int_t ngx_http_ws_proxy_tls_start(ngx_http_ws_proxy_t *px,
    ngx_connection_handler_pt handshaked, const char **why);
/* NULL when the certificate is trusted and names the URL's host */
const char *ngx_http_ws_proxy_tls_verify(ngx_connection_t *c,
    ngx_http_ws_proxy_conf_t *pcf);
#endif

/* ngx_http_ws_proxy_relay.c: after the 101 */
ngx_int_t ngx_http_ws_proxy_relay_start(ngx_http_ws_proxy_t *px);
void ngx_http_ws_proxy_relay_client_message(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev);
void ngx_http_ws_proxy_relay_client_close(ngx_http_ws_proxy_t *px,
    wscore_event_t *ev);
void ngx_http_ws_proxy_relay_end(ngx_http_ws_proxy_t *px);
void ngx_http_ws_proxy_relay_resume_upstream(ngx_http_ws_proxy_t *px);
ngx_uint_t ngx_http_ws_proxy_relay_full(ngx_http_ws_proxy_t *px);


#endif /* _NGX_HTTP_WS_PROXY_H_INCLUDED_ */
