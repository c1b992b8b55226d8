
/*
 * ngx_ws: the security module: directives, configuration, variables and
 * the hooks the handshake calls. Each guard lives in its own file with
 * its section of the configuration; this one composes the sections, hands
 * each guard its own, and decides their order:
 *
 *   origin (403) -> subprotocol (400) -> token (401) -> caps (503, 429)
 *
 * Cheap checks that need no state come first, so a refused request costs
 * as little as possible.
 */


#include "ngx_http_ws_security_module.h"
#include "ngx_http_ws_auth_session.h"
#include "ngx_http_ws_ban.h"
#include "ngx_http_ws_channel_acl.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_limits.h"
#include "ngx_http_ws_origin.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_subprotocol.h"
#include "ngx_http_ws_variables.h"
#include "ngx_http_ws_zone.h"


typedef enum {
    NGX_HTTP_WS_SEC_VAR_SUBPROTOCOL = 0,
    NGX_HTTP_WS_SEC_VAR_USER,
    NGX_HTTP_WS_SEC_VAR_RATE_LIMITED,
    NGX_HTTP_WS_SEC_VAR_ACL_DENIED
} ngx_http_ws_security_var_e;


static ngx_int_t ngx_http_ws_security_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ws_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ws_security_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_security_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_security_check(ngx_http_request_t *r,
    ngx_http_ws_refusal_t *refusal);
static ngx_int_t ngx_http_ws_security_upgrade_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_ws_security_detachable(ngx_http_ws_session_t *ws);
static ngx_uint_t ngx_http_ws_security_cleanup(ngx_pool_cleanup_pt handler);
static void ngx_http_ws_security_free(void *security_ctx);
static ngx_int_t ngx_http_ws_security_prepare(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_refusal_t *refusal);
static ngx_int_t ngx_http_ws_security_detach_all(ngx_http_ws_session_t *ws);
static void ngx_http_ws_security_log(ngx_http_ws_session_t *ws,
    ngx_http_request_t *r);
static void ngx_http_ws_security_session_free(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_security_open(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_security_message(ngx_http_ws_session_t *ws,
    wscore_event_t *ev);
static void ngx_http_ws_security_close(ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_security_channel_allowed(
    ngx_http_ws_session_t *ws, ngx_str_t *name);
static ngx_int_t ngx_http_ws_security_refresh(ngx_http_ws_session_t *ws,
    ngx_str_t *token, const char **error);
static ngx_str_t *ngx_http_ws_security_user_channel(
    ngx_http_ws_session_t *ws);
static ngx_int_t ngx_http_ws_security_detach(ngx_http_ws_session_t *ws);


/* The guards' part in every session of the WebSocket module. */
ngx_http_ws_hooks_t  ngx_http_ws_security_hooks = {
    ngx_http_ws_security_check,            /* check */
    NULL,                                  /* connect */
    ngx_http_ws_security_prepare,          /* prepare */
    NULL,                                  /* accept */
    ngx_http_ws_security_upgrade_headers,  /* headers */
    ngx_http_ws_security_open,             /* open */
    ngx_http_ws_security_message,          /* message */
    NULL,                                  /* reads_stopped */
    ngx_http_ws_security_detachable,       /* detachable */
    ngx_http_ws_security_cleanup,          /* owns_cleanup */
    ngx_http_ws_security_detach_all,       /* detach */
    ngx_http_ws_security_log,              /* log */
    ngx_http_ws_security_close,            /* close */
    ngx_http_ws_security_session_free,     /* free */
    NULL,                                  /* busy */
    NULL,                                  /* going_away */
    NULL,                                  /* gone_away */
    NULL                                   /* output_drained */
};

/* What the token says, asked by the JSON protocol (ngx_http_ws_control.c). */
static ngx_http_ws_control_token_t  ngx_http_ws_security_token = {
    ngx_http_ws_security_channel_allowed,  /* channel_allowed */
    ngx_http_ws_channel_acl_count,         /* channel_denied */
    ngx_http_ws_security_refresh           /* refresh */
};

static void *ngx_http_ws_security_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ws_security_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


/* Not ngx_conf_check_num_bounds: its message does not name the directive. */
static ngx_http_ws_conf_bounds_t  ngx_http_ws_reserve_connections_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 1000000 };

/* for the check at merge, which names the line of the directive */
static ngx_http_ws_conf_here_t  ngx_http_ws_subprotocol_required_here =
    ngx_http_ws_conf_here_post(ngx_http_ws_security_conf_t,
                               subprotocol.required,
                               subprotocol.required_where);


static ngx_command_t  ngx_http_ws_security_commands[] = {

    { ngx_string("ws_allowed_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_origin_allowed,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, origin),
      NULL },

    { ngx_string("ws_subprotocols"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_subprotocols,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, subprotocol),
      NULL },

    { ngx_string("ws_subprotocol_required"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, subprotocol.required),
      &ngx_http_ws_subprotocol_required_here },

    { ngx_string("ws_auth_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.on),
      NULL },

    { ngx_string("ws_auth_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_ws_jwt_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt),
      NULL },

    { ngx_string("ws_auth_jwt_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_jwt_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt),
      NULL },

    { ngx_string("ws_auth_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.issuer),
      NULL },

    { ngx_string("ws_auth_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.audience),
      NULL },

    { ngx_string("ws_auth_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.leeway),
      NULL },

    { ngx_string("ws_auth_jwt_user_channel"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.user_channel),
      NULL },

    { ngx_string("ws_auth_first_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.first_message),
      NULL },

    { ngx_string("ws_auth_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.timeout),
      NULL },

    { ngx_string("ws_auth_jwt_channels_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, jwt.channels_claim),
      NULL },

    { ngx_string("ws_limit_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_ws_limits_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, limits),
      NULL },

    { ngx_string("ws_reserve_connections"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t,
               limits.reserve_connections),
      &ngx_http_ws_reserve_connections_bounds },

    { ngx_string("ws_max_connections"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_limits_max_connections,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, limits.max_conns),
      NULL },

    { ngx_string("ws_max_connections_per_ip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_limits_max_connections,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, limits.max_per_ip),
      NULL },

    { ngx_string("ws_max_connections_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_limits_max_connections,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, limits.max_per_user),
      NULL },

    { ngx_string("ws_ban"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE13,
      ngx_http_ws_ban,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, ban),
      NULL },

    { ngx_string("ws_ban_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_ban_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_security_conf_t, ban),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ws_security_module_ctx = {
    ngx_http_ws_security_preconfiguration, /* preconfiguration */
    ngx_http_ws_security_postconfiguration, /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ws_security_create_loc_conf,  /* create location configuration */
    ngx_http_ws_security_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_ws_security_module = {
    NGX_MODULE_V1,
    &ngx_http_ws_security_module_ctx,      /* module context */
    ngx_http_ws_security_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_ws_security_vars[] = {

    { ngx_string("ws_subprotocol"), NULL, ngx_http_ws_security_variable,
      NGX_HTTP_WS_SEC_VAR_SUBPROTOCOL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_user"), NULL, ngx_http_ws_security_variable,
      NGX_HTTP_WS_SEC_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_rate_limited"), NULL, ngx_http_ws_security_variable,
      NGX_HTTP_WS_SEC_VAR_RATE_LIMITED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_acl_denied"), NULL, ngx_http_ws_security_variable,
      NGX_HTTP_WS_SEC_VAR_ACL_DENIED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_jwt_claim_"), NULL, ngx_http_ws_claim_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_ws_security_check(ngx_http_request_t *r,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_int_t                     rc;
    ngx_http_ws_security_ctx_t   *ctx;
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_get_module_loc_conf(r, ngx_http_ws_security_module);

    ctx = ngx_http_ws_security_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    /* first: a banned address costs no other check */
    rc = ngx_http_ws_ban_check(r, &wsscf->ban, refusal);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_ws_origin_check(r, &wsscf->origin, refusal);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_ws_subprotocol_select(r, &wsscf->subprotocol,
                                        &ctx->subprotocol, refusal);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_ws_jwt_check(r, &wsscf->jwt, &ctx->jwt, refusal);

    if (rc == NGX_AGAIN) {
        /* ngx_http_ws_auth_session.c takes it from the first message */
        ctx->auth_pending = 1;
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    /* last: a refused request must not hold a connection slot */
    return ngx_http_ws_limits_check(r, &wsscf->limits, ctx, refusal);
}


static ngx_int_t
ngx_http_ws_security_upgrade_headers(ngx_http_request_t *r)
{
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_get(r);

    if (ctx == NULL || ctx->subprotocol.len == 0) {
        return NGX_OK;
    }

    return ngx_http_ws_response_add_header(r, "Sec-WebSocket-Protocol",
                                           &ctx->subprotocol);
}


/*
 * A token awaited as the first message keeps the request until it has
 * come (ws_auth_timeout at most): the channels put off for it are joined
 * then the way every session joins them, with the request at hand. The
 * session asks again once the token is verified
 * (ngx_http_ws_auth_session.c).
 */
static ngx_int_t
ngx_http_ws_security_detachable(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_get(ws->request);

    return (ctx && ctx->auth_pending) ? NGX_AGAIN : NGX_OK;
}


/* A string's bytes go to *p, which moves on. */
static void
ngx_http_ws_security_copy(ngx_str_t *dst, ngx_str_t *src, u_char **p)
{
    dst->len = src->len;
    dst->data = *p;

    if (src->len) {
        *p = ngx_cpymem(*p, src->data, src->len);
    }
}


/* What the guards learned about a request: nothing at all? */
static ngx_uint_t
ngx_http_ws_security_ctx_empty(ngx_http_ws_security_ctx_t *ctx)
{
    return ctx->subprotocol.len == 0 && ctx->jwt.user.len == 0
           && ctx->jwt.claims.len == 0 && ctx->jwt.exp == 0
           && ctx->ends == 0
           && ctx->user_channel.len == 0 && ctx->session == NULL
           && ctx->buckets == NULL && ctx->rate_limited == 0
           && ctx->acl_denied == 0 && !ctx->claims_heap
           && !ctx->auth_pending && !ctx->channels_deferred;
}


/*
 * Before the request is freed: its guard state moves to one heap block
 * with the chosen subprotocol ($ws_subprotocol), the rate buckets and the
 * token: the user ($ws_user, the per-user limits), its channel name and
 * the claims ($ws_jwt_claim_*, ws_auth_jwt_channels_claim). Claims that
 * have a block of their own already (a refresh, a first-message token)
 * change hands instead. All of it is freed with the session
 * (ngx_http_ws_security_free()); a refresh replaces the claims in place.
 */
static ngx_int_t
ngx_http_ws_security_detach(ngx_http_ws_session_t *ws)
{
    u_char                       *p;
    size_t                        size, nrates, claims;
    ngx_http_ws_security_ctx_t   *ctx, *heap;
    ngx_http_ws_security_conf_t  *wsscf;

    ctx = ngx_http_ws_security_ctx_get(ws->request);

    if (ctx == NULL) {
        return NGX_OK;
    }

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    /*
     * Nothing learned and nothing to count later (no token, no rate
     * limits, no control protocol whose channel requests are counted):
     * the session keeps no guard state, which the readers take as all
     * empty and the counts as zero.
     */
    if (!wsscf->jwt.on && wsscf->limits.rates == NULL
        && ws->conf->protocol != NGX_HTTP_WS_PROTOCOL_JSON
        && ngx_http_ws_security_ctx_empty(ctx))
    {
        return NGX_OK;
    }

    nrates = wsscf->limits.rates ? wsscf->limits.rates->nelts : 0;
    claims = ctx->claims_heap ? 0 : ctx->jwt.claims.len;

    size = sizeof(ngx_http_ws_security_ctx_t)
           + nrates * sizeof(wscore_bucket_t) + ctx->subprotocol.len
           + ctx->jwt.user.len + ctx->user_channel.len + claims;

    /* where the state goes: made first, so a failure leaves it all */
    if (ngx_http_ws_session_rare(ws) == NULL) {
        return NGX_ERROR;
    }

    heap = ngx_alloc(size, ws->connection->log);
    if (heap == NULL) {
        return NGX_ERROR;
    }

    *heap = *ctx;
    p = (u_char *) (heap + 1);

    if (nrates) {
        heap->buckets = (wscore_bucket_t *) p;
        p += nrates * sizeof(wscore_bucket_t);

        if (ctx->buckets) {
            ngx_memcpy(heap->buckets, ctx->buckets,
                       nrates * sizeof(wscore_bucket_t));

        } else {
            ngx_memzero(heap->buckets, nrates * sizeof(wscore_bucket_t));
        }
    }

    ngx_http_ws_security_copy(&heap->subprotocol, &ctx->subprotocol, &p);
    ngx_http_ws_security_copy(&heap->jwt.user, &ctx->jwt.user, &p);
    ngx_http_ws_security_copy(&heap->user_channel, &ctx->user_channel, &p);

    if (!ctx->claims_heap) {
        ngx_http_ws_security_copy(&heap->jwt.claims, &ctx->jwt.claims, &p);
    }

    /* an own block of claims is the session's now, not the request's */
    ctx->claims_heap = 0;

    ws->rare->security_ctx = heap;

    return NGX_OK;
}


/* 1 if a cleanup of the request pool is one that detach takes care of. */
static ngx_uint_t
ngx_http_ws_security_cleanup(ngx_pool_cleanup_pt handler)
{
    return ngx_http_ws_limits_cleanup(handler)
           || ngx_http_ws_auth_session_cleanup_is(handler);
}


/* The guard state of a detached session, at its end. */
static void
ngx_http_ws_security_free(void *security_ctx)
{
    ngx_http_ws_security_ctx_t  *ctx = security_ctx;

    if (ctx->claims_heap) {
        ngx_free(ctx->jwt.claims.data);
    }

    ngx_free(ctx);
}


/* Channels outside the token's claim (ngx_http_ws_channel_acl.c). */
static ngx_int_t
ngx_http_ws_security_prepare(ngx_http_request_t *r, ngx_http_ws_session_t *ws,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    if (ngx_http_ws_channel_acl_check(r, ws, &wsscf->jwt) != NGX_OK) {
        refusal->status = NGX_HTTP_FORBIDDEN;
        refusal->reason = "channel not allowed by the token";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* The session starts: the token's end, or the wait for it. */
static ngx_int_t
ngx_http_ws_security_open(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    return ngx_http_ws_auth_session_start(ws, &wsscf->jwt);
}


/*
 * Each received message: a token awaited as the first message is taken
 * before the rates count anything (ngx_http_ws_auth_session.c).
 */
NGX_HTTP_WS_HOT
static ngx_int_t
ngx_http_ws_security_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    if (wsscf->jwt.first_message
        && ngx_http_ws_auth_session_first_message(ws, &wsscf->jwt, ev)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    /* a location without message rates makes no call per message */
    if (wsscf->limits.rates == NULL) {
        return NGX_OK;
    }

    return ngx_http_ws_limits_message(ws, &wsscf->limits, ev);
}


/* The session ends: a strike for ws_ban if it broke a rule. */
static void
ngx_http_ws_security_close(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    ngx_http_ws_ban_close(ws, &wsscf->ban);
}


/* A channel the JSON protocol is asked for, under the token's claim. */
static ngx_int_t
ngx_http_ws_security_channel_allowed(ngx_http_ws_session_t *ws,
    ngx_str_t *name)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    return ngx_http_ws_channel_acl_allowed(ws, &wsscf->jwt, name);
}


/* {"op":"auth"} of the JSON protocol: a fresh token for the session. */
static ngx_int_t
ngx_http_ws_security_refresh(ngx_http_ws_session_t *ws, ngx_str_t *token,
    const char **error)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    return ngx_http_ws_auth_session_refresh(ws, &wsscf->jwt, token, error);
}


/* The user's own channel, joined with the others (ngx_http_ws_channels.c). */
static ngx_str_t *
ngx_http_ws_security_user_channel(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_http_ws_session_loc_conf(ws, ngx_http_ws_security_module);

    return ngx_http_ws_auth_session_user_channel(ws, &wsscf->jwt);
}


/*
 * The request is freed: the limits' keys first, then the guard state,
 * which hands the token's claims over to the session's copy.
 */
static ngx_int_t
ngx_http_ws_security_detach_all(ngx_http_ws_session_t *ws)
{
    if (ngx_http_ws_limits_detach(ws->request) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_ws_security_detach(ws);
}


/* The guards' variables ($ws_user, $ws_rate_limited...) in the log line. */
static void
ngx_http_ws_security_log(ngx_http_ws_session_t *ws, ngx_http_request_t *r)
{
    void  *ctx;

    if (ws->request) {
        ctx = ngx_http_get_module_ctx(ws->request,
                                      ngx_http_ws_security_module);

    } else {
        ctx = ws->rare ? ws->rare->security_ctx : NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_ws_security_module);
}


static void
ngx_http_ws_security_session_free(ngx_http_ws_session_t *ws)
{
    if (ws->rare && ws->rare->security_ctx) {
        ngx_http_ws_security_free(ws->rare->security_ctx);
        ws->rare->security_ctx = NULL;
    }
}


static ngx_int_t
ngx_http_ws_security_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                       *p;
    ngx_str_t                    *s;
    ngx_http_ws_security_ctx_t   *ctx;

    ctx = ngx_http_ws_security_ctx_get(r->main);

    if (data == NGX_HTTP_WS_SEC_VAR_RATE_LIMITED
        || data == NGX_HTTP_WS_SEC_VAR_ACL_DENIED)
    {
        /*
         * Counts of a session: a request that did not become one (a 426,
         * a refused handshake) has none, and logs "-" as the other $ws_*.
         * A session that kept no guard state counted nothing.
         */
        if (ngx_http_get_module_ctx(r->main, ngx_http_ws_module) == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        if (ctx == NULL) {
            v->valid = 1;
            v->no_cacheable = 1;
            v->not_found = 0;
            v->len = 1;
            v->data = (u_char *) "0";
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        v->len = ngx_sprintf(p, "%ui",
                             data == NGX_HTTP_WS_SEC_VAR_RATE_LIMITED
                             ? ctx->rate_limited : ctx->acl_denied)
                 - p;
        v->data = p;
        return NGX_OK;
    }

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_WS_SEC_VAR_USER:
        s = &ctx->jwt.user;
        break;

    default: /* NGX_HTTP_WS_SEC_VAR_SUBPROTOCOL */
        s = &ctx->subprotocol;
        break;
    }

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = s->len;
    v->data = s->data;

    return NGX_OK;
}


/*
 * $ws_jwt_claim_<name>: a claim of the verified token; strings as they
 * are, other values as JSON text (numbers, true, ["a","b"]).
 */
static ngx_int_t
ngx_http_ws_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                   *name = (ngx_str_t *) data;

    u_char                      *p;
    size_t                       prefix;
    wscore_claim_t               claim;
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_get(r->main);

    prefix = sizeof("ws_jwt_claim_") - 1;

    if (ctx == NULL || ctx->jwt.claims.len == 0
        || wscore_claim_get(ngx_http_ws_jwt_reader(),
                            (const char *) ctx->jwt.claims.data,
                            ctx->jwt.claims.len,
                            (const char *) name->data + prefix,
                            name->len - prefix, &claim)
           != WSCORE_OK
        || claim.type == WSCORE_CLAIM_ABSENT)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, claim.text.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, claim.text.data, claim.text.len);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = claim.text.len;
    v->data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_security_preconfiguration(ngx_conf_t *cf)
{
    /* the guards find their state in this module's context slot */
    ngx_http_ws_security_ctx_slot(&ngx_http_ws_security_module);

    return ngx_http_ws_variables_register(cf, ngx_http_ws_security_vars);
}


static ngx_int_t
ngx_http_ws_security_postconfiguration(ngx_conf_t *cf)
{
    /* the caps' counts of a process that died are the caps' to take back */
    ngx_http_ws_zone_on_dead_slot(ngx_http_ws_limits_forget_worker);

    /* the layers below ask the token through these, never call up */
    ngx_http_ws_channels_on_auth(ngx_http_ws_auth_session_channels_deferred,
                                 ngx_http_ws_security_user_channel);
    ngx_http_ws_control_on_token(&ngx_http_ws_security_token);

    return ngx_http_ws_session_add_hooks(cf, &ngx_http_ws_security_hooks);
}


static void *
ngx_http_ws_security_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ws_security_conf_t  *wsscf;

    wsscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_security_conf_t));
    if (wsscf == NULL) {
        return NULL;
    }

    ngx_http_ws_origin_conf_init(&wsscf->origin);
    ngx_http_ws_subprotocol_conf_init(&wsscf->subprotocol);
    ngx_http_ws_jwt_conf_init(&wsscf->jwt);
    ngx_http_ws_limits_conf_init(&wsscf->limits);
    ngx_http_ws_ban_conf_init(&wsscf->ban);

    return wsscf;
}


static char *
ngx_http_ws_security_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_ws_security_conf_t *prev = parent;
    ngx_http_ws_security_conf_t *conf = child;

    if (ngx_http_ws_origin_merge(cf, &prev->origin, &conf->origin)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ws_subprotocol_merge(cf, &prev->subprotocol,
                                      &conf->subprotocol)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ws_jwt_merge(cf, &prev->jwt, &conf->jwt) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ws_ban_merge(cf, &prev->ban, &conf->ban) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_ws_limits_merge(cf, &prev->limits, &conf->limits);
}
