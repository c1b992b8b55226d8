
/*
 * ngx_ws: the guards' state of a request (origin, subprotocol, token,
 * limits, channel permissions), in the context slot of the security
 * module. Which module that is, the module itself says at configuration
 * (ngx_http_ws_security_ctx_slot()), so that the guards' files, which
 * the module composes, reach their state without calling up into it.
 */


#include "ngx_http_ws_security_ctx.h"


static ngx_module_t  *ngx_http_ws_security_ctx_module;


void
ngx_http_ws_security_ctx_slot(ngx_module_t *module)
{
    ngx_http_ws_security_ctx_module = module;
}


ngx_http_ws_security_ctx_t *
ngx_http_ws_security_ctx_get(ngx_http_request_t *r)
{
    return r->ctx[ngx_http_ws_security_ctx_module->ctx_index];
}


void
ngx_http_ws_security_ctx_set(ngx_http_request_t *r,
    ngx_http_ws_security_ctx_t *ctx)
{
    r->ctx[ngx_http_ws_security_ctx_module->ctx_index] = ctx;
}


ngx_http_ws_security_ctx_t *
ngx_http_ws_security_ctx(ngx_http_request_t *r)
{
    ngx_http_ws_security_ctx_t  *ctx;

    ctx = ngx_http_ws_security_ctx_get(r);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ws_security_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_ws_security_ctx_set(r, ctx);
    }

    return ctx;
}


/* The guards' state of a session, with or without its request. */
ngx_http_ws_security_ctx_t *
ngx_http_ws_security_ctx_of(ngx_http_ws_session_t *ws)
{
    if (ws->request) {
        return ngx_http_ws_security_ctx_get(ws->request);
    }

    return ws->rare ? ws->rare->security_ctx : NULL;
}
