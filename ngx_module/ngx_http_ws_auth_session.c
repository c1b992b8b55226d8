
/*
 * ngx_ws: the verified identity during a session.
 *
 * A token has an end ("exp"): when it passes, the session is closed with
 * 1008 and the reason "token expired", unless the client sent a fresh
 * token for the same user through the control protocol
 * ({"op":"auth","token":...}). The user's own channel "user:<sub>" is
 * joined when the session starts, so a backend can reach every
 * connection of one user, on any worker, with one publish.
 *
 * With ws_auth_first_message, a client that brought no token may send it
 * as its first message (the token itself, or {"op":"auth",...} with the
 * JSON protocol) within ws_auth_timeout; until then it gets nothing and
 * may do nothing, and channels are joined only once it is verified.
 *
 * The state lives in the request's pool until the request is freed after
 * the 101 (the security module's detach moves it to the heap): whatever
 * is made for the whole session comes from the session's pool below, the
 * claims, which a refresh replaces, from a block of their own.
 */


#include "ngx_http_ws_auth_session.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"


static void ngx_http_ws_auth_arm(ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_jwt_conf_t *jwcf);
static void ngx_http_ws_auth_wait(ngx_http_ws_security_ctx_t *ctx);
static ngx_int_t ngx_http_ws_auth_adopt(ngx_http_ws_session_t *ws,
    ngx_http_ws_security_ctx_t *ctx, ngx_http_ws_jwt_result_t *res);
static void ngx_http_ws_auth_reply(ngx_http_ws_session_t *ws,
    wscore_str_t id, const char *error);
static void ngx_http_ws_auth_expired(void *session);
static void ngx_http_ws_auth_cleanup(void *data);


/*
 * For what lasts as long as the session: the request's pool (moved at
 * detach), or once the request is freed, the connection's.
 */
#define ngx_http_ws_auth_pool(ws)                                            \
    ((ws)->request ? (ws)->request->pool : (ws)->connection->pool)


ngx_int_t
ngx_http_ws_auth_session_start(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_request_t          *r;
    ngx_http_ws_security_ctx_t  *ctx;

    r = ws->request;

    ctx = ngx_http_ws_security_ctx_get(r);

    if (ctx == NULL || !jwcf->on) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_ws_auth_cleanup;
    cln->data = ctx;

    ctx->session = ws;

    /* deadlines go to the session's one timer (DESIGN: one per connection) */
    if (ctx->auth_pending) {
        /* the token is to come first; channels are joined after it */
        return ngx_http_ws_session_set_guard(ws, jwcf->timeout,
                                             ngx_http_ws_auth_expired);
    }

    ngx_http_ws_auth_arm(ctx, jwcf);

    return NGX_OK;
}


/*
 * Called where the channels are joined: while the token is awaited they
 * are not (the client may receive nothing yet); the token's arrival
 * joins them. Returns 1 to defer.
 */
ngx_uint_t
ngx_http_ws_auth_session_channels_deferred(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ctx == NULL || !ctx->auth_pending) {
        return 0;
    }

    ctx->channels_deferred = 1;

    return 1;
}


/*
 * A message while the token is still awaited (ws_auth_first_message):
 * NGX_OK when no token is awaited, else NGX_DECLINED (the message was
 * the token, or the session is closing).
 */
ngx_int_t
ngx_http_ws_auth_session_first_message(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, wscore_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_str_t                    token;
    ngx_log_t                   *log;
    ngx_pool_t                  *pool;
    wscore_str_t                 id;
    wscore_ctl_request_t         req;
    ngx_http_ws_jwt_result_t     res;
    ngx_http_ws_security_ctx_t  *ctx;

    log = ws->connection->log;

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ctx == NULL || !ctx->auth_pending) {
        return NGX_OK;
    }

    id.data = NULL;
    id.len = 0;

    if (ev->opcode != WSCORE_OP_TEXT) {
        goto required;
    }

    if (ws->conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON) {
        if (wscore_ctl_parse(ngx_http_ws_control_parser(),
                             (const char *) ev->data, ev->len, &req)
            != WSCORE_OK
            || req.op != WSCORE_CTL_AUTH)
        {
            goto required;
        }

        id = req.id;
        token.data = (u_char *) req.token.data;
        token.len = req.token.len;

    } else {
        token.data = (u_char *) ev->data;
        token.len = ev->len;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
        return NGX_DECLINED;
    }

    ngx_memzero(&res, sizeof(ngx_http_ws_jwt_result_t));

    rc = ngx_http_ws_jwt_verify(pool, log, jwcf, &token, &res);

    if (rc == NGX_OK) {
        rc = ngx_http_ws_auth_adopt(ws, ctx, &res);
    }

    ngx_destroy_pool(pool);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ws: first-message token refused, closing with 1008");
        ws->broke_rule = 1;
        ngx_http_ws_auth_reply(ws, id, "invalid token");
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                                  "invalid token");
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ws: user \"%V\" authenticated by its first message",
                  &ctx->jwt.user);

    ngx_http_ws_auth_reply(ws, id, NULL);

    if (ctx->session) {
        /* started already: the expiry follows the token */
        ngx_http_ws_auth_arm(ctx, jwcf);
    }

    /*
     * Channels put off for the token are joined now; if their turn has
     * not come yet (a token sent right behind the handshake), they are
     * joined then, as for any session.
     */
    if (ctx->channels_deferred) {
        ctx->channels_deferred = 0;

        if (ngx_http_ws_channels_subscribe(ws) != NGX_OK) {
            ngx_http_ws_session_close(ws, WSCORE_CLOSE_TRY_AGAIN_LATER,
                                      "cannot subscribe");
        }
    }

    /* the request waited for the token only: it can go now */
    ngx_http_ws_session_retry_detach(ws);

    return NGX_DECLINED;

required:

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ws: a message before the token, closing with 1008");
    ws->broke_rule = 1;
    ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                              "authentication required");
    return NGX_DECLINED;
}


/* Takes over a token verified in a temporary pool. */
static ngx_int_t
ngx_http_ws_auth_adopt(ngx_http_ws_session_t *ws,
    ngx_http_ws_security_ctx_t *ctx, ngx_http_ws_jwt_result_t *res)
{
    u_char  *claims, *user;

    claims = ngx_alloc(res->claims.len, ws->connection->log);
    if (claims == NULL) {
        return NGX_ERROR;
    }

    user = NULL;

    if (res->user.len) {
        /* once per session: the user never changes afterwards */
        user = ngx_pnalloc(ngx_http_ws_auth_pool(ws), res->user.len);
        if (user == NULL) {
            ngx_free(claims);
            return NGX_ERROR;
        }

        ngx_memcpy(user, res->user.data, res->user.len);
    }

    ngx_memcpy(claims, res->claims.data, res->claims.len);

    if (ctx->claims_heap) {
        ngx_free(ctx->jwt.claims.data);
    }

    ctx->jwt.claims.data = claims;
    ctx->jwt.claims.len = res->claims.len;
    ctx->claims_heap = 1;
    ctx->jwt.user.data = user;
    ctx->jwt.user.len = res->user.len;
    ctx->jwt.exp = res->exp;
    ctx->auth_pending = 0;

    return NGX_OK;
}


/* The JSON protocol's answer to a first-message token. */
static void
ngx_http_ws_auth_reply(ngx_http_ws_session_t *ws, wscore_str_t id,
    const char *error)
{
    size_t                len;
    u_char               *p;
    ngx_http_ws_frame_t  *frame;

    if (ws->conf->protocol != NGX_HTTP_WS_PROTOCOL_JSON) {
        return;
    }

    len = error ? wscore_ctl_write_error(NULL, 0, id, "unauthorized", error)
                : wscore_ctl_write_ack(NULL, 0, id, 0);

    frame = ngx_http_ws_frame_alloc(ws->connection->log, WSCORE_OP_TEXT, len,
                                    &p);
    if (frame == NULL) {
        return;
    }

    if (error) {
        (void) wscore_ctl_write_error((char *) p, len, id, "unauthorized",
                                      error);
    } else {
        (void) wscore_ctl_write_ack((char *) p, len, id, 0);
    }

    if (ngx_http_ws_output_queue(ws, frame) == NGX_OK) {
        ws->messages_out++;
    }

    ngx_http_ws_frame_release(frame);
}


/* "user:<sub>" for a session with a verified user, else NULL. */
ngx_str_t *
ngx_http_ws_auth_session_user_channel(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf)
{
    u_char                      *p;
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ctx == NULL || !jwcf->on || !jwcf->user_channel
        || ctx->jwt.user.len == 0)
    {
        return NULL;
    }

    if (ctx->user_channel.len) {
        return &ctx->user_channel;
    }

    /* a subscription points at it: it lasts as long as the session */
    p = ngx_pnalloc(ngx_http_ws_auth_pool(ws),
                    sizeof("user:") - 1 + ctx->jwt.user.len);
    if (p == NULL) {
        return NULL;
    }

    ctx->user_channel.data = p;
    p = ngx_cpymem(p, "user:", sizeof("user:") - 1);
    p = ngx_cpymem(p, ctx->jwt.user.data, ctx->jwt.user.len);
    ctx->user_channel.len = p - ctx->user_channel.data;

    if (!wscore_channel_name_valid((const char *) ctx->user_channel.data,
                                   ctx->user_channel.len))
    {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: user \"%V\" cannot have a user channel: the "
                      "name is not a valid channel name", &ctx->jwt.user);
        ctx->user_channel.len = 0;
        return NULL;
    }

    return &ctx->user_channel;
}


/*
 * {"op":"auth","token":...}: a fresh token for the same user moves the
 * session's end. NGX_OK, or NGX_DECLINED with *error for the reply.
 */
ngx_int_t
ngx_http_ws_auth_session_refresh(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token, const char **error)
{
    u_char                      *claims;
    ngx_int_t                    rc;
    ngx_log_t                   *log;
    ngx_pool_t                  *pool;
    ngx_http_ws_jwt_result_t     res;
    ngx_http_ws_security_ctx_t  *ctx;

    log = ws->connection->log;

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ctx == NULL || ctx->session == NULL || !jwcf->on) {
        *error = "this endpoint does not use tokens";
        return NGX_DECLINED;
    }

    if (ctx->auth_pending) {
        *error = "not authenticated";
        return NGX_DECLINED;
    }

    /* a refresh may come every minute for days: nothing stays in r->pool */
    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        *error = "server error";
        return NGX_DECLINED;
    }

    ngx_memzero(&res, sizeof(ngx_http_ws_jwt_result_t));

    rc = ngx_http_ws_jwt_verify(pool, log, jwcf, token, &res);

    if (rc != NGX_OK) {
        *error = "invalid token";
        goto done;
    }

    if (res.user.len != ctx->jwt.user.len
        || (res.user.len
            && ngx_strncmp(res.user.data, ctx->jwt.user.data, res.user.len)
               != 0))
    {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ws: token refresh for user \"%V\" refused: the "
                      "session belongs to \"%V\"", &res.user,
                      &ctx->jwt.user);
        *error = "token is for another user";
        rc = NGX_DECLINED;
        goto done;
    }

    claims = ngx_alloc(res.claims.len, log);
    if (claims == NULL) {
        *error = "server error";
        rc = NGX_DECLINED;
        goto done;
    }

    ngx_memcpy(claims, res.claims.data, res.claims.len);

    if (ctx->claims_heap) {
        ngx_free(ctx->jwt.claims.data);
    }

    ctx->jwt.claims.data = claims;
    ctx->jwt.claims.len = res.claims.len;
    ctx->claims_heap = 1;
    ctx->jwt.exp = res.exp;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ws: token refreshed for user \"%V\", expires at %T",
                  &ctx->jwt.user, ctx->jwt.exp);

    ngx_http_ws_auth_arm(ctx, jwcf);

done:

    ngx_destroy_pool(pool);

    return rc;
}


static void
ngx_http_ws_auth_arm(ngx_http_ws_security_ctx_t *ctx,
    ngx_http_ws_jwt_conf_t *jwcf)
{
    if (ctx->jwt.exp == 0) {
        /* clearing takes no memory: it cannot fail */
        (void) ngx_http_ws_session_set_guard(ctx->session, 0, NULL);
        return;
    }

    ctx->ends = ctx->jwt.exp + jwcf->leeway;

    ngx_http_ws_auth_wait(ctx);
}


/* The session's timer set for its end (ctx->ends). */
static void
ngx_http_ws_auth_wait(ngx_http_ws_security_ctx_t *ctx)
{
    time_t  left;

    left = ctx->ends - ngx_time();

    /* a timer's range is bounded; a far end is re-armed when reached */
    if (left > 86400) {
        left = 86400;
    }

    /* an expiry that cannot be kept is not waived: the session ends */
    if (ngx_http_ws_session_set_guard(ctx->session,
                                      left > 0 ? (ngx_msec_t) left * 1000 : 1,
                                      ngx_http_ws_auth_expired)
        != NGX_OK)
    {
        ngx_http_ws_session_close(ctx->session, WSCORE_CLOSE_INTERNAL_ERROR,
                                  NULL);
    }
}


static void
ngx_http_ws_auth_expired(void *session)
{
    ngx_http_ws_session_t       *ws = session;

    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ws->finalized) {
        return;
    }

    if (ctx->auth_pending) {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "ws: no token within ws_auth_timeout, closing with "
                      "1008");
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                                  "authentication timeout");
        return;
    }

    if (ctx->ends > ngx_time()) {
        ngx_http_ws_auth_wait(ctx);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                  "ws: token of user \"%V\" expired, closing with 1008",
                  &ctx->jwt.user);

    ngx_http_ws_session_close(ws, WSCORE_CLOSE_POLICY_VIOLATION,
                              "token expired");
}


static void
ngx_http_ws_auth_cleanup(void *data)
{
    ngx_http_ws_security_ctx_t  *ctx = data;

    if (ctx->claims_heap) {
        ngx_free(ctx->jwt.claims.data);
        ctx->claims_heap = 0;
        ngx_str_null(&ctx->jwt.claims);
    }
}


/* 1 for the cleanup above: the security module's detach does its work. */
ngx_uint_t
ngx_http_ws_auth_session_cleanup_is(ngx_pool_cleanup_pt handler)
{
    return handler == ngx_http_ws_auth_cleanup;
}
