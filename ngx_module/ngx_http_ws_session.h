
/*
 * ngx_ws: one WebSocket connection after the 101 (ngx_http_ws_session.c),
 * and the two tables through which the rest of the module plugs into it.
 *
 * The session is the bottom of the module: it reads, feeds the core,
 * queues output, keeps the timer and ends the connection. What a location
 * does with a message is its handler (echo, channels, the control
 * protocol); what the other features need from every session (channel
 * subscriptions, the security guards, permessage-deflate) they register
 * as hooks. The session calls both through these tables and names no
 * feature.
 */


#ifndef _NGX_HTTP_WS_SESSION_H_INCLUDED_
#define _NGX_HTTP_WS_SESSION_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_trace.h"


/*
 * A refusal of the handshake: the HTTP status and a short reason for the
 * body and the log. Headers the answer needs (WWW-Authenticate,
 * Retry-After) are already added to r->headers_out by whoever refused.
 */
typedef struct {
    ngx_uint_t                 status;
    const char                *reason;
} ngx_http_ws_refusal_t;


/*
 * What a location does with a whole message (ws_echo, ws_publish,
 * ws_protocol json; a backend or a proxy later). Chosen at configuration
 * (wscf->handler) and called for every message: one indirect call.
 */
struct ngx_http_ws_handler_s {
    void                     (*message)(ngx_http_ws_session_t *ws,
                                        wscore_event_t *ev);

    /*
     * Replies with the message's own payload: the core unmasks a message
     * that arrives whole straight into an outgoing frame, which the
     * handler takes with ngx_http_ws_session_take_placed().
     */
    unsigned                   place:1;

    /*
     * The peer's close, where the handler answers it (a proxy, with what
     * the other side answers: wscore_session_answer_close_later); NULL
     * for every other handler.
     */
    void                     (*close)(ngx_http_ws_session_t *ws,
                                      wscore_event_t *ev);
};


/*
 * What a feature does at each step of every session. Any hook may be
 * NULL; hooks run in the order the features registered
 * (ngx_http_ws_session_add_hooks() at postconfiguration).
 */
typedef struct {
    /* Before the session is made: NGX_OK, NGX_DECLINED with *refusal. */
    ngx_int_t                (*check)(ngx_http_request_t *r,
                                      ngx_http_ws_refusal_t *refusal);

    /*
     * After every check, before the session is made: NGX_DECLINED to go
     * on now; anything else holds the handshake (a call to a backend) and
     * is what the content handler returns. The feature then goes on with
     * ngx_http_ws_handshake_resume() or answers the request itself.
     */
    ngx_int_t                (*connect)(ngx_http_request_t *r,
                                        const char *accept);

    /*
     * The session made, the 101 not built yet: prepare what the session
     * needs (channel names, extensions), then, once every feature has
     * prepared, accept (subscribe). NGX_OK, NGX_DECLINED with *refusal,
     * or an HTTP status / NGX_ERROR.
     */
    ngx_int_t                (*prepare)(ngx_http_request_t *r,
                                        ngx_http_ws_session_t *ws,
                                        ngx_http_ws_refusal_t *refusal);
    ngx_int_t                (*accept)(ngx_http_ws_session_t *ws,
                                       ngx_http_ws_refusal_t *refusal);

    /* The 101's own headers, after Upgrade and Sec-WebSocket-Accept. */
    ngx_int_t                (*headers)(ngx_http_request_t *r);

    /* After the 101: NGX_OK, or anything else to end the connection. */
    ngx_int_t                (*open)(ngx_http_ws_session_t *ws);

    /* Each message, before the handler: NGX_OK, or NGX_DECLINED. */
    ngx_int_t                (*message)(ngx_http_ws_session_t *ws,
                                        wscore_event_t *ev);

    /*
     * Reading from the client stops while any says so (messages waiting
     * in the feature's own queue); the feature calls
     * ngx_http_ws_session_resume_reading() once it has room again.
     */
    ngx_uint_t               (*reads_stopped)(ngx_http_ws_session_t *ws);

    /*
     * Freeing the request once the 101 is out: detachable says NGX_OK,
     * NGX_AGAIN (not yet: ngx_http_ws_session_retry_detach() later) or
     * NGX_DECLINED (keep it); owns_cleanup claims the request pool's
     * cleanups the feature added; detach moves what the feature keeps
     * in the request to the session (NGX_OK, or NGX_ERROR: the request
     * is kept, what moved stays valid).
     */
    ngx_int_t                (*detachable)(ngx_http_ws_session_t *ws);
    ngx_uint_t               (*owns_cleanup)(ngx_pool_cleanup_pt handler);
    ngx_int_t                (*detach)(ngx_http_ws_session_t *ws);

    /*
     * The access-log line is written through a request rebuilt at close
     * (ngx_http_ws_log_record.c): the feature's context for its
     * variables.
     */
    void                     (*log)(ngx_http_ws_session_t *ws,
                                    ngx_http_request_t *r);

    /* The session ends (close), and its memory goes (free). */
    void                     (*close)(ngx_http_ws_session_t *ws);
    void                     (*free)(ngx_http_ws_session_t *ws);

    /*
     * The worker is shutting down: its 1001 waits while any says it has
     * work whose result the client should still get (a backend's answers
     * in flight); the feature calls ngx_http_ws_session_idle() once done.
     * Bounded by that work's own timeouts and worker_shutdown_timeout.
     */
    ngx_uint_t               (*busy)(ngx_http_ws_session_t *ws);

    /*
     * The worker is going away (reload, quit): going_away right before
     * the 1001 is queued, gone_away once it is written (or could not be).
     * going_away may queue last messages and append to the close reason
     * (reason->len of at most cap bytes used). Between the two the
     * session only writes: no feature's hook or cleanup runs, so a lock
     * taken in going_away may be held until gone_away.
     */
    void                     (*going_away)(ngx_http_ws_session_t *ws,
                                           ngx_str_t *reason, size_t cap);
    void                     (*gone_away)(ngx_http_ws_session_t *ws);

    /*
* The output queue fell below its low-water mark after a pause: a
     * feature that feeds it from elsewhere (a proxy's upstream) may read
     * again.
     */
    void                     (*output_drained)(ngx_http_ws_session_t *ws);
} ngx_http_ws_hooks_t;


/*
 * Queues a data message frame: an extension agreed at the handshake
 * (permessage-deflate) puts its own in place of ngx_http_ws_output_queue.
 * cache is the caller's across the recipients of one message.
 */
typedef ngx_int_t (*ngx_http_ws_send_pt)(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);


/* What a session waits for, after the current handler (step_next). */
#define NGX_HTTP_WS_STEP_NONE      0
#define NGX_HTTP_WS_STEP_DETACH    1
#define NGX_HTTP_WS_STEP_FINALIZE  2


/*
 * What only some sessions use, in a block of its own made at first use
 * (ngx_http_ws_session_rare()): a plain session is smaller by its size
 * (idle memory).
 */
typedef struct {
    void                      *security_ctx;     /* guards', once detached */

    /*
     * A deadline of a guard (token expiry, first-message timeout), kept
     * by the session's one timer.
     */
    ngx_msec_t                 guard_at;
    void                     (*guard)(void *session);

    ngx_str_t                  publish;          /* channel, or empty */
    uint64_t                   dropped;          /* slow-consumer drops */

    /* permessage-deflate, when negotiated */
    wscore_deflate_params_t    deflate;
    wscore_deflater_t         *deflater;         /* own, context takeover */

    /*
     * Data messages go through this where an extension agreed at the
     * handshake (permessage-deflate) takes them over; NULL: straight to
     * the output queue.
     */
    ngx_http_ws_send_pt        send;

    /* backend hooks: ngx_http_ws_backend_state_t, where a hook is set */
    void                      *backend;

    /* ws_proxy_pass: ngx_http_ws_proxy_t, the upstream link */
    void                      *proxy;
} ngx_http_ws_session_rare_t;


/* The rare block's handler state, NULL while there is none. */
#define ngx_http_ws_session_backend(ws)                                      \
    ((ws)->rare ? (ws)->rare->backend : NULL)
#define ngx_http_ws_session_proxy(ws)                                        \
    ((ws)->rare ? (ws)->rare->proxy : NULL)

/* The main configuration's hook tables, which every session calls. */
#define ngx_http_ws_session_hooks(ws)                                        \
    (&((ngx_http_ws_main_conf_t *)                                           \
       (ws)->main_conf[ngx_http_ws_module.ctx_index])->hooks)


/* c->data of a detached session: not NGX_HTTP_MODULE, the request's */
#define NGX_HTTP_WS_SESSION_SIGNATURE  0x5357474E  /* "NGWS" */


struct ngx_http_ws_session_s {
    /* first, as in ngx_http_request_t: c->data may be either */
    uint32_t                   signature;

    /* beside the signature, in the 4 bytes its alignment leaves */
    unsigned                   upgraded:1;
    unsigned                   subscribed:1;     /* in the router and zone */
    unsigned                   paused:1;         /* back-pressure */
    unsigned                   backlogged:1;     /* paused, not yet drained */
    unsigned                   shutting_down:1;
    unsigned                   finalized:1;
    unsigned                   flush_posted:1;
    unsigned                   counted:1;        /* in the metrics gauge */
    unsigned                   closed_by:2;      /* NGX_HTTP_WS_CLOSED_BY */
    unsigned                   deflate_on:1;
    unsigned                   detach_later:1;   /* put off, not refused */
    unsigned                   shutdown_later:1; /* 1001 waits: busy */
    unsigned                   direct_linked:1;  /* in the "conn:" index */
    unsigned                   step:2;           /* NGX_HTTP_WS_STEP_* */
    unsigned                   broke_rule:1;     /* closed for it: ws_ban */
    unsigned                   in_frame:1;       /* input ended in a frame */

    /*
     * The close code of the log line, once finalized: codes on the wire
     * are 1000-4999 (the core refuses others), so 13 bits, which keep it
     * in the flags' word beside the signature.
     */
    unsigned                   close_code:13;

    /*
     * No TLS on the connection (c->ssl is NULL for good): asked per reply,
     * and c->ssl is a cache line of the connection nothing else of a
     * message touches.
     */
    unsigned                   plain:1;

    ngx_http_request_t        *request;          /* NULL once detached */
    ngx_connection_t          *connection;
    ngx_http_ws_log_record_t  *log_record;

    /*
     * Configuration and guard state, from the request while there is one,
     * then kept here: the request is freed once the 101 is out (idle memory).
     */
    void                     **main_conf;
    void                     **loc_conf;
    ngx_http_ws_session_rare_t *rare;            /* NULL until needed */
    wscore_session_t          *core;
    ngx_http_ws_loc_conf_t    *conf;

    /* queued output: a list of (frame, offset), oldest first */
    ngx_http_ws_out_t         *out;
    ngx_http_ws_out_t        **out_last;
    size_t                     out_bytes;
    ngx_http_ws_out_send_t    *sending;          /* in the io_uring */

    /*
     * The one timer of this connection, at the core's next deadline, is
     * c->read's (ngx_http_ws_timer()); a deadline of a guard (token
     * expiry, in rare) is kept by the same timer.
     */

    /*
     * Looked at and counted per message: beside the queue, so that a small
     * echo touches the session's first 128 bytes only.
     */
    ngx_array_t               *subscriptions;    /* of subscription_t */
    uint64_t                   messages_in;
    uint64_t                   messages_out;
    uint64_t                   bytes_in;

    /*
     * Frees the request (detach) or ends the session (finalize) after the
     * current handler has returned: in the worker's queue of steps.
     */
    ngx_http_ws_session_t     *step_next;

    /* the start while open, how long it lasted once finalized */
    union {
        ngx_msec_t             start;
        ngx_msec_t             duration;
    };

    /* c->sent at the 101 while open, the bytes sent since once finalized */
    union {
        off_t                  sent_at_upgrade;
        uint64_t               bytes_out;
    };

    ngx_http_ws_session_t     *direct_next;      /* "conn:<id>" chain */

    /* the trace it is a span of, named in its log lines (c->log->action) */
    ngx_http_ws_trace_t        trace;
};


ngx_http_ws_session_t *ngx_http_ws_session_create(ngx_http_request_t *r,
    ngx_http_ws_loc_conf_t *wscf);
ngx_int_t ngx_http_ws_session_start(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_session_push(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame, ngx_http_ws_deflate_cache_t *cache);
void ngx_http_ws_session_close(ngx_http_ws_session_t *ws, ngx_uint_t code,
    const char *reason);
ngx_int_t ngx_http_ws_session_set_guard(ngx_http_ws_session_t *ws,
    ngx_msec_t delay, void (*guard)(void *session));
/* The session's rare block, made at first use; NULL: out of memory. */
ngx_http_ws_session_rare_t *ngx_http_ws_session_rare(
    ngx_http_ws_session_t *ws);
void ngx_http_ws_session_retry_detach(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_session_send(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
ngx_int_t ngx_http_ws_session_reply(ngx_http_ws_session_t *ws,
    ngx_http_ws_frame_t *frame);
ngx_http_ws_frame_t *ngx_http_ws_session_take_placed(
    ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_session_add_hooks(ngx_conf_t *cf,
    ngx_http_ws_hooks_t *hooks);
/* A busy feature is done: a shutdown that waited for it goes on. */
void ngx_http_ws_session_idle(ngx_http_ws_session_t *ws);
/* Output queued from outside the session's handlers: send it. */
void ngx_http_ws_session_flush(ngx_http_ws_session_t *ws);
/* A reads_stopped hook has room again: what waits is read. */
void ngx_http_ws_session_resume_reading(ngx_http_ws_session_t *ws);


#endif /* _NGX_HTTP_WS_SESSION_H_INCLUDED_ */
