
/*
 * ngx_ws: the $ws_* variables, for log_format and friends.
 *
 * They read the session of the request, so the access-log line written
 * when the WebSocket ends carries the figures of the whole session.
 */


#include "ngx_http_ws_variables.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_session.h"


typedef enum {
    NGX_HTTP_WS_VAR_CONNECTION_ID = 0,
    NGX_HTTP_WS_VAR_CLOSE_CODE,
    NGX_HTTP_WS_VAR_DURATION,
    NGX_HTTP_WS_VAR_MESSAGES_IN,
    NGX_HTTP_WS_VAR_MESSAGES_OUT,
    NGX_HTTP_WS_VAR_BYTES_IN,
    NGX_HTTP_WS_VAR_BYTES_OUT,
    NGX_HTTP_WS_VAR_CLOSED_BY
} ngx_http_ws_var_e;


static ngx_int_t ngx_http_ws_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_ws_trace_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_ws_vars[] = {

    { ngx_string("ws_connection_id"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_CONNECTION_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_close_code"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_CLOSE_CODE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_duration"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_DURATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_messages_in"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_MESSAGES_IN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_messages_out"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_MESSAGES_OUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_bytes_in"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_BYTES_IN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_bytes_out"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_BYTES_OUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ws_closed_by"), NULL, ngx_http_ws_variable,
      NGX_HTTP_WS_VAR_CLOSED_BY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* W3C Trace Context: ngx_http_ws_trace.c */
    { ngx_string("ws_trace_id"), NULL, ngx_http_ws_trace_var,
      NGX_HTTP_WS_TRACE_VAR_TRACE_ID, 0, 0 },

    { ngx_string("ws_span_id"), NULL, ngx_http_ws_trace_var,
      NGX_HTTP_WS_TRACE_VAR_SPAN_ID, 0, 0 },

    { ngx_string("ws_trace_parent_id"), NULL, ngx_http_ws_trace_var,
      NGX_HTTP_WS_TRACE_VAR_PARENT_ID, 0, 0 },

    { ngx_string("ws_traceparent"), NULL, ngx_http_ws_trace_var,
      NGX_HTTP_WS_TRACE_VAR_TRACEPARENT, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_ws_variables_add(ngx_conf_t *cf)
{
    return ngx_http_ws_variables_register(cf, ngx_http_ws_vars);
}


/* A module's table of variables (the $ws_*, the guards', the proxy's). */
ngx_int_t
ngx_http_ws_variables_register(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;

        if (v->flags & NGX_HTTP_VAR_PREFIX) {
            /* NGINX passes prefix variables their full name as data */
            var->data = 0;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                 *p;
    uint64_t                value;
    ngx_msec_t              ms;
    ngx_http_ws_session_t  *ws;

    ws = ngx_http_get_module_ctx(r->main, ngx_http_ws_module);

    if (ws == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    switch (data) {

    case NGX_HTTP_WS_VAR_DURATION:
        /* seconds with milliseconds, like $request_time */
        ms = ws->finalized ? ws->duration : ngx_current_msec - ws->start;
        v->len = ngx_sprintf(p, "%T.%03M", (time_t) (ms / 1000), ms % 1000)
                 - p;
        goto found;

    case NGX_HTTP_WS_VAR_CLOSED_BY:
        /* who sent the first close frame, as ngx_ws_closes_total says */
        v->len = ngx_sprintf(p, "%s",
                             ws->closed_by == NGX_HTTP_WS_CLOSED_BY_CLIENT
                             ? "client"
                             : ws->closed_by == NGX_HTTP_WS_CLOSED_BY_SERVER
                             ? "server" : "none")
                 - p;
        goto found;

    case NGX_HTTP_WS_VAR_CONNECTION_ID:
        value = r->connection->number;
        break;

    case NGX_HTTP_WS_VAR_CLOSE_CODE:
        value = ws->finalized ? ws->close_code
                              : wscore_session_close_code(ws->core);
        break;

    case NGX_HTTP_WS_VAR_MESSAGES_IN:
        value = ws->messages_in;
        break;

    case NGX_HTTP_WS_VAR_MESSAGES_OUT:
        value = ws->messages_out;
        break;

    case NGX_HTTP_WS_VAR_BYTES_IN:
        value = ws->bytes_in;
        break;

    default: /* NGX_HTTP_WS_VAR_BYTES_OUT */
        value = ws->finalized ? ws->bytes_out
                              : (uint64_t) (r->connection->sent
                                            - ws->sent_at_upgrade);
        break;
    }

    v->len = ngx_sprintf(p, "%uL", value) - p;

found:

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


/*
 * The trace of the WebSocket (its session's, for the access-log line at
 * close), else the request's own: joined or started on first use, so a
 * plain request or a refused handshake logs one too.
 */
static ngx_int_t
ngx_http_ws_trace_var(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_ws_session_t  *ws;

    ws = ngx_http_get_module_ctx(r->main, ngx_http_ws_module);

    return ngx_http_ws_trace_variable(r, v, ws ? &ws->trace : NULL, data);
}
