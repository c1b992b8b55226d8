
/*
 * ngx_ws: channel permissions from the token ("ws_auth_jwt_channels_claim").
 *
 * On top of the location's ws_channels_allow, a claim of the verified
 * token (a pattern or a list of patterns, e.g. "channels":["room:*"])
 * bounds what this user may subscribe and publish to: control-protocol
 * requests outside it are answered "forbidden", and channels named by
 * ws_subscribe / ws_publish (which may come from the URL) outside it get
 * 403 before the upgrade. Every refusal is logged and counted
 * ($ws_acl_denied). The user's own channel, which the server assigns,
 * is not subject to it.
 */


#include "ngx_http_ws_channel_acl.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_security_ctx.h"
#include "ngx_http_ws_session.h"


static ngx_int_t ngx_http_ws_channel_acl_match(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *name);


/* NGX_OK, or NGX_DECLINED (logged and counted). */
ngx_int_t
ngx_http_ws_channel_acl_allowed(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *name)
{
    if (ngx_http_ws_channel_acl_match(ws, jwcf, name) == NGX_OK) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                  "ws: channel \"%V\" not allowed by the token's claim",
                  name);

    ngx_http_ws_channel_acl_count(ws);

    return NGX_DECLINED;
}


/* A refusal by any channel rule, for $ws_acl_denied. */
void
ngx_http_ws_channel_acl_count(ngx_http_ws_session_t *ws)
{
    ngx_http_ws_security_ctx_t  *ctx;

    /* before the 101 the counter may be the first use of the state */
    ctx = ws->request ? ngx_http_ws_security_ctx(ws->request)
                      : (ws->rare ? ws->rare->security_ctx : NULL);

    if (ctx) {
        ctx->acl_denied++;
    }
}


/* Before the 101: the channels of ws_subscribe and ws_publish. */
ngx_int_t
ngx_http_ws_channel_acl_check(ngx_http_request_t *r,
    ngx_http_ws_session_t *ws, ngx_http_ws_jwt_conf_t *jwcf)
{
    ngx_uint_t                   i;
    ngx_http_ws_subscription_t  *sub;

    if (ws->subscriptions) {
        sub = ws->subscriptions->elts;

        for (i = 0; i < ws->subscriptions->nelts; i++) {
            if (ngx_http_ws_channel_acl_allowed(ws, jwcf, &sub[i].name)
                != NGX_OK)
            {
                return NGX_HTTP_FORBIDDEN;
            }
        }
    }

    if (ws->rare && ws->rare->publish.len
        && ngx_http_ws_channel_acl_allowed(ws, jwcf,
                                           &ws->rare->publish) != NGX_OK)
    {
        return NGX_HTTP_FORBIDDEN;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_channel_acl_match(ngx_http_ws_session_t *ws,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *name)
{
    ngx_http_ws_security_ctx_t  *ctx;

    if (!jwcf->on || jwcf->channels_claim.len == 0) {
        return NGX_OK;
    }

    ctx = ngx_http_ws_security_ctx_of(ws);

    if (ctx == NULL || ctx->jwt.claims.len == 0) {
        return NGX_DECLINED;
    }

    return wscore_claim_allows_channel(ngx_http_ws_jwt_reader(),
                                       (const char *) ctx->jwt.claims.data,
                                       ctx->jwt.claims.len,
                                       (const char *)
                                           jwcf->channels_claim.data,
                                       jwcf->channels_claim.len,
                                       (const char *) name->data, name->len)
           ? NGX_OK : NGX_DECLINED;
}
