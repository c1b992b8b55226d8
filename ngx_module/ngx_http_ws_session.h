
/*
 * ngx_ws: one WebSocket connection after the 101 (ngx_http_ws_session.c).
 */


#ifndef _NGX_HTTP_WS_SESSION_H_INCLUDED_
#define _NGX_HTTP_WS_SESSION_H_INCLUDED_


#include "ngx_http_ws_module.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_deflate.h"


/* c->data of a detached session: not NGX_HTTP_MODULE, the request's */
#define NGX_HTTP_WS_SESSION_SIGNATURE  0x5357474E  /* "NGWS" */


struct ngx_http_ws_session_s {
    /* first, as in ngx_http_request_t: c->data may be either */
    uint32_t                   signature;

    ngx_http_request_t        *request;          /* NULL once detached */
    ngx_connection_t          *connection;
    ngx_http_ws_log_record_t  *log_record;

    /*
     * Configuration and guard state, from the request while there is one,
     * then kept here: the request is freed once the 101 is out (issue 7).
     */
    void                     **main_conf;
    void                     **loc_conf;
    void                      *security_ctx;     /* once detached */
    ngx_pool_cleanup_t        *request_cleanup;  /* in r->pool until then */
    wscore_session_t          *core;
    ngx_http_ws_loc_conf_t    *conf;

    /* queued output: a list of (frame, offset), oldest first */
    ngx_http_ws_out_t         *out;
    ngx_http_ws_out_t        **out_last;
    size_t                     out_bytes;

    /* the one timer of this connection, at the core's next deadline */
    ngx_event_t                timer;
    /* a deadline of a guard (token expiry), kept by the same timer */
    ngx_msec_t                 guard_at;
    void                     (*guard)(void *session);

    /*
     * Frees the request (detach) or ends the session (finalize) after the
     * current handler has returned.
     */
    ngx_event_t                finalizer;

    ngx_msec_t                 start;
    uint64_t                   messages_in;
    uint64_t                   messages_out;
    uint64_t                   bytes_in;
    uint64_t                   bytes_out;
    off_t                      sent_at_upgrade;
    ngx_uint_t                 close_code;
    ngx_msec_t                 duration;

    ngx_array_t               *subscriptions;    /* of subscription_t */
    ngx_str_t                  publish;          /* channel, or empty */
    ngx_str_t                  direct;           /* "conn:<id>" */
    u_char                     direct_name[sizeof("conn:") + NGX_ATOMIC_T_LEN];
    uint64_t                   dropped;          /* slow-consumer drops */

    /* permessage-deflate, when negotiated */
    wscore_deflate_params_t    deflate;
    wscore_deflater_t         *deflater;         /* own, context takeover */

    unsigned                   upgraded:1;
    unsigned                   subscribed:1;     /* in the router and zone */
    unsigned                   paused:1;         /* back-pressure */
    unsigned                   shutting_down:1;
    unsigned                   finalized:1;
    unsigned                   flush_posted:1;
    unsigned                   counted:1;        /* in the metrics gauge */
    unsigned                   closed_by:2;      /* NGX_HTTP_WS_CLOSED_BY */
    unsigned                   deflate_on:1;
    unsigned                   detach_later:1;   /* put off, not refused */
};


ngx_http_ws_session_t *ngx_http_ws_session_create(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf);
ngx_int_t ngx_http_ws_session_start(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_session_push(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_session_close(ngx_http_ws_session_t *ws, ngx_uint_t code,
    const char *reason);
void ngx_http_ws_session_set_guard(ngx_http_ws_session_t *ws,
    ngx_msec_t delay, void (*guard)(void *session));
void ngx_http_ws_session_retry_detach(ngx_http_ws_session_t *ws);


#endif /* _NGX_HTTP_WS_SESSION_H_INCLUDED_ */
