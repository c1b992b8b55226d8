
/*
 * ngx_ws: what the guards learned about one request
 * (ngx_http_ws_security_ctx.c), shared by the parts of the security
 * module: kept in the request's context slot of that module, and in the
 * session once the request is freed.
 */


#ifndef _NGX_HTTP_WS_SECURITY_CTX_H_INCLUDED_
#define _NGX_HTTP_WS_SECURITY_CTX_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_session.h"


typedef struct {
    ngx_str_t                  subprotocol;   /* chosen, or empty */
    ngx_http_ws_jwt_result_t   jwt;
    time_t                     ends;          /* exp + ws_auth_jwt_leeway */

    ngx_str_t                  user_channel;  /* "user:<sub>" */

    ngx_http_ws_session_t     *session;

    /* per-connection rate buckets, one per ws_limit_rate */
    wscore_bucket_t           *buckets;
    ngx_uint_t                 rate_limited;  /* messages refused */
    ngx_uint_t                 acl_denied;    /* channel requests refused */

    unsigned                   claims_heap:1; /* own ngx_alloc block:
                                                 refreshed, or a first
                                                 message's token */
    unsigned                   auth_pending:1; /* token to come first */
    unsigned                   channels_deferred:1; /* until the token */
} ngx_http_ws_security_ctx_t;


/*
 * The module whose context slot holds the state, handed by the security
 * module at configuration: the parts below it never name it.
 */
void ngx_http_ws_security_ctx_slot(ngx_module_t *module);

/* The request's state, made on first use; NULL only without memory. */
ngx_http_ws_security_ctx_t *ngx_http_ws_security_ctx(ngx_http_request_t *r);
/* The request's state if made, or once detached the session's. */
ngx_http_ws_security_ctx_t *ngx_http_ws_security_ctx_of(
    ngx_http_ws_session_t *ws);
/* The request's state if made (not making it). */
ngx_http_ws_security_ctx_t *ngx_http_ws_security_ctx_get(
    ngx_http_request_t *r);
void ngx_http_ws_security_ctx_set(ngx_http_request_t *r,
    ngx_http_ws_security_ctx_t *ctx);


#endif /* _NGX_HTTP_WS_SECURITY_CTX_H_INCLUDED_ */
