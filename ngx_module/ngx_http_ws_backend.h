
/*
 * ngx_ws: application backends. Hooks that call an ordinary NGINX
 * location (proxy_pass to an upstream{}, fastcgi_pass, return, ...) when
 * a WebSocket connects and when it has ended.
 *
 * A module of its own in the same shared object (its own location
 * configuration). The WebSocket module's sessions reach it only through
 * the hooks it registers (ngx_http_ws_hooks_t, ngx_http_ws_session.h).
 */


#ifndef _NGX_HTTP_WS_BACKEND_H_INCLUDED_
#define _NGX_HTTP_WS_BACKEND_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_handshake.h"
#include "ngx_http_ws_frame.h"


typedef struct {
    ngx_str_t                  connect;       /* ws_backend_connect URI */
    ngx_str_t                  close;         /* ws_backend_close URI */
    ngx_str_t                  message;       /* ws_backend_message URI */
    ngx_str_t                  subscribe;     /* ws_backend_subscribe URI */
    u_char                    *subscribe_file;   /* where it was written, */
    ngx_uint_t                 subscribe_line;   /* for a later refusal */
    ngx_uint_t                 message_inflight;
    ngx_uint_t                 message_refused;  /* reply or close */
    ngx_uint_t                 message_failed;   /* ignore or close */
    size_t                     meta_size;     /* ws_backend_meta_size */

    /* per worker: a failing hook is logged when it starts and stops */
    unsigned                   close_failing:1;
    unsigned                   rpc_failing:1;
    unsigned                   subscribe_failing:1;
    unsigned                   message_failing:1;
} ngx_http_ws_backend_conf_t;


/* ws_backend_message_refused and ws_backend_message_failed */
#define NGX_HTTP_WS_BACKEND_REPLY   0     /* refused: the body to the sender */
#define NGX_HTTP_WS_BACKEND_IGNORE  0     /* failed: the message is dropped */
#define NGX_HTTP_WS_BACKEND_CLOSE   1     /* either: the connection closes */


typedef struct ngx_http_ws_backend_pending_s  ngx_http_ws_backend_pending_t;

/* WS-Subscribe, WS-Unsubscribe, WS-Publish: the answer's header lists */
#define NGX_HTTP_WS_BACKEND_ANSWER_LISTS  3
typedef struct ngx_http_ws_backend_call_s  ngx_http_ws_backend_call_t;


/* What a queued call is for: each has its location and its answer. */
typedef enum {
    NGX_HTTP_WS_BACKEND_CALL_RAW = 0,      /* a raw client's message */
    NGX_HTTP_WS_BACKEND_CALL_RPC,          /* {"op":"rpc"} */
    NGX_HTTP_WS_BACKEND_CALL_SEND,         /* {"op":"send"} */
    NGX_HTTP_WS_BACKEND_CALL_SUBSCRIBE,    /* {"op":"subscribe"} to allow */
    NGX_HTTP_WS_BACKEND_CALL_PUBLISH       /* {"op":"publish"}: filtered as
                                              a raw message, answered as a
                                              request */
} ngx_http_ws_backend_call_kind_e;


/*
 * What one connection carries for its hooks, in one heap block made only
 * where a hook is configured: the configuration to call them with (the
 * request is freed after the 101) and what the connect hook's answer set.
 */
typedef struct {
    ngx_http_ws_backend_conf_t  *conf;
    void                       **srv_conf;
    ngx_str_t                    user;        /* WS-User, or empty */
    wscore_pair_t               *meta;        /* WS-Meta-<name>: value */
    ngx_uint_t                   meta_n;

    /* the message hook: messages waiting for their answers, in order */
    ngx_http_ws_session_t         *session;
    ngx_http_ws_backend_pending_t *pending;
    ngx_http_ws_backend_pending_t **pending_last;
    ngx_uint_t                     queued;
    ngx_uint_t                     inflight;

    unsigned                     has_user:1;
} ngx_http_ws_backend_state_t;


/* What a connect hook's 2xx answer set, before the session exists. */
typedef struct {
    ngx_str_t                  user;
    ngx_uint_t                 has_user;
    ngx_array_t                channels;      /* of ngx_str_t */
    ngx_array_t                meta;          /* of wscore_pair_t */
    size_t                     meta_bytes;
} ngx_http_ws_backend_answer_t;


/*
 * A call in a connection's queue (ngx_http_ws_backend_message.c): a
 * message, or a control-protocol request a backend answers. Its strings
 * live in the same heap block, after it.
 */
struct ngx_http_ws_backend_pending_s {
    ngx_http_ws_backend_pending_t  *next;
    ngx_http_ws_backend_state_t    *state;      /* NULL: session gone */
    ngx_http_ws_backend_call_t     *call;       /* NULL: not started, or
                                                   answered */
    u_char                         *payload;    /* the message, kept while
                                                   the call waits or for a
                                                   304; else NULL */
    size_t                          len;        /* of the payload */
    ngx_uint_t                      status;

    /* a raw message's or a publish's answer
     * (ngx_http_ws_backend_message.c) */
    u_char                         *answer;     /* heap copy, or NULL */
    ngx_str_t                       body;       /* in answer */
    ngx_str_t                       lists[NGX_HTTP_WS_BACKEND_ANSWER_LISTS];
    ngx_str_t                       close_reason;
    ngx_uint_t                      close_code; /* 0: no WS-Close */

    /* a JSON-protocol request's (ngx_http_ws_backend_rpc.c) */
    ngx_http_ws_frame_t            *reply;      /* sent when applied */
    ngx_str_t                       id;         /* raw JSON; empty: none */
    ngx_str_t                       name;       /* method or channel */
    uint64_t                        last_seq;

    unsigned                        kind:3;
    unsigned                        opcode:4;
    unsigned                        answer_opcode:4;
    unsigned                        verdict:3;  /* wscore_message_verdict_e */
    unsigned                        started:1;
    unsigned                        answered:1;
    unsigned                        payload_heap:1;
    unsigned                        allowed:1;  /* subscribe: 2xx */
    unsigned                        answer_json:1;
    unsigned                        has_last_seq:1;
};

/*
 * The name of a header calls carry: NGINX wants every request header with
 * its lower-case form and hash, worked out here once per worker rather
 * than on every call. lowcase_key is the key in lower case, written out.
 */
typedef struct {
    ngx_str_t                  key;
    u_char                    *lowcase_key;
    ngx_uint_t                 hash;          /* 0: not worked out yet */
} ngx_http_ws_backend_header_name_t;

#define ngx_http_ws_backend_header_name(key, lowcase)                       \
    { ngx_string(key), (u_char *) lowcase, 0 }


typedef void (*ngx_http_ws_backend_done_pt)(ngx_http_ws_backend_call_t *call,
    void *data, ngx_uint_t status);


extern ngx_module_t  ngx_http_ws_backend_module;


/* Its hooks in every session (ngx_http_ws_backend_module.c) */

/* NGX_DECLINED: no connect hook; else what the content handler returns. */
ngx_int_t ngx_http_ws_backend_connect(ngx_http_request_t *r,
    const char *accept);
/* Before the channels are joined: keeps what the connect answer set. */
ngx_int_t ngx_http_ws_backend_session_start(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws);
/* The connection has ended: the close hook. */
void ngx_http_ws_backend_session_end(ngx_http_ws_session_t *ws);
void ngx_http_ws_backend_session_free(ngx_http_ws_session_t *ws);
/* A client's message: NGX_DECLINED without a message hook. */
ngx_int_t ngx_http_ws_backend_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
ngx_uint_t ngx_http_ws_backend_reads_stopped(ngx_http_ws_session_t *ws);
ngx_uint_t ngx_http_ws_backend_busy(ngx_http_ws_session_t *ws);

/* ngx_http_ws_backend_message.c */
void ngx_http_ws_backend_message_end(ngx_http_ws_backend_state_t *st);
/* Queues a call: NGX_OK, or NGX_ERROR (no memory, no connection slot). */
ngx_int_t ngx_http_ws_backend_enqueue(ngx_http_ws_backend_state_t *st,
    ngx_http_ws_backend_call_kind_e kind, ngx_uint_t opcode,
    const u_char *data, size_t len, wscore_str_t id, wscore_str_t name,
    uint64_t *last_seq);

/* ngx_http_ws_backend_rpc.c: the JSON protocol's requests to a backend */
ngx_int_t ngx_http_ws_backend_control(ngx_http_ws_session_t *ws,
    wscore_ctl_request_t *req);
ngx_int_t ngx_http_ws_backend_rpc_headers(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call);
void ngx_http_ws_backend_rpc_answer(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_backend_call_t *call, const char *why, ngx_log_t *log);
void ngx_http_ws_backend_rpc_apply(ngx_http_ws_backend_pending_t *p,
    ngx_http_ws_session_t *ws);
/* An error reply with p->status, kept in p->reply; message NULL: ours. */
void ngx_http_ws_backend_rpc_error(ngx_http_ws_backend_pending_t *p,
    const char *code, ngx_str_t *message, ngx_log_t *log);

/* ngx_http_ws_backend_connect.c */
ngx_http_ws_backend_answer_t *ngx_http_ws_backend_connect_answer(
    ngx_http_request_t *r);

/* ngx_http_ws_backend_call.c */
ngx_http_ws_backend_call_t *ngx_http_ws_backend_call_create(
    ngx_connection_t *client, void **main_conf, void **srv_conf,
    void **loc_conf, ngx_str_t *uri);
ngx_int_t ngx_http_ws_backend_call_trace(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_trace_t *trace);
ngx_int_t ngx_http_ws_backend_call_header(ngx_http_ws_backend_call_t *call,
    ngx_str_t *key, ngx_str_t *value);
ngx_int_t ngx_http_ws_backend_call_named_header(
    ngx_http_ws_backend_call_t *call, ngx_http_ws_backend_header_name_t *name,
    ngx_str_t *value);
u_char *ngx_http_ws_backend_call_decimal(u_char *p, uint64_t n);
ngx_int_t ngx_http_ws_backend_call_answer(ngx_http_ws_backend_call_t *call,
    ngx_str_t *body);
ngx_list_t *ngx_http_ws_backend_call_headers(ngx_http_ws_backend_call_t *call);
u_char *ngx_http_ws_backend_call_body(ngx_http_ws_backend_call_t *call,
    size_t len, ngx_str_t *content_type);
ngx_int_t ngx_http_ws_backend_call_body_ref(ngx_http_ws_backend_call_t *call,
    u_char *data, size_t len, ngx_str_t *content_type);
void ngx_http_ws_backend_call_sent(ngx_http_ws_backend_call_t *call,
    ngx_str_t *body);
void ngx_http_ws_backend_call_answer_type(ngx_http_ws_backend_call_t *call,
    ngx_str_t *type);
ngx_pool_t *ngx_http_ws_backend_call_pool(ngx_http_ws_backend_call_t *call);
ngx_int_t ngx_http_ws_backend_call_start(ngx_http_ws_backend_call_t *call,
    ngx_http_ws_backend_done_pt done, void *data);
void ngx_http_ws_backend_call_destroy(ngx_http_ws_backend_call_t *call);

/* ngx_http_ws_backend_module.c: counted in ngx_ws_backend_calls_total */
void ngx_http_ws_backend_count(ngx_uint_t hook, ngx_uint_t status);

/* ngx_http_ws_backend_module.c: identity headers of every call */
ngx_int_t ngx_http_ws_backend_identity(ngx_http_ws_backend_state_t *st,
    ngx_uint_t id, ngx_http_ws_backend_call_t *call);


#endif /* _NGX_HTTP_WS_BACKEND_H_INCLUDED_ */
