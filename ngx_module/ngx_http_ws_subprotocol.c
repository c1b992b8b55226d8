
/*
 * ngx_ws: subprotocol negotiation ("ws_subprotocols",
 * "ws_subprotocol_required"), RFC 6455 sections 1.9 and 4.2.2.
 *
 * The client lists the protocols it speaks in Sec-WebSocket-Protocol, in
 * its order of preference; the server answers with the first of them it
 * lists itself, or with none. With ws_subprotocol_required a client that
 * offers none of ours gets 400 instead of a connection it cannot use.
 */


#include "ngx_http_ws_subprotocol.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_session.h"


static ngx_uint_t ngx_http_ws_subprotocol_is_token(ngx_str_t *s);


char *
ngx_http_ws_subprotocols(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                       *value, *p;
    ngx_uint_t                       i;
    ngx_http_ws_subprotocol_conf_t  *spcf;

    spcf = (ngx_http_ws_subprotocol_conf_t *) ((char *) conf + cmd->offset);

    if (spcf->protocols != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    spcf->protocols = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                           sizeof(ngx_str_t));
    if (spcf->protocols == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (!ngx_http_ws_subprotocol_is_token(&value[i])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid protocol \"%V\" in "
                               "\"ws_subprotocols\": it must be an HTTP "
                               "token (RFC 9110 section 5.6.2)", &value[i]);
            return NGX_CONF_ERROR;
        }

        p = ngx_array_push(spcf->protocols);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        *p = value[i];
    }

    return NGX_CONF_OK;
}


void
ngx_http_ws_subprotocol_conf_init(ngx_http_ws_subprotocol_conf_t *spcf)
{
    spcf->protocols = NGX_CONF_UNSET_PTR;
    spcf->required = NGX_CONF_UNSET;
}


char *
ngx_http_ws_subprotocol_merge(ngx_conf_t *cf,
    ngx_http_ws_subprotocol_conf_t *prev, ngx_http_ws_subprotocol_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->protocols, prev->protocols, NULL);
    ngx_http_ws_conf_merge_where(conf, prev, NGX_CONF_UNSET, required,
                                 required_where);
    ngx_conf_merge_value(conf->required, prev->required, 0);

    if (conf->required && conf->protocols == NULL) {
        ngx_http_ws_conf_error(cf, &conf->required_where,
                               "\"ws_subprotocol_required on\" needs "
                               "\"ws_subprotocols\" to list the protocols");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_ws_subprotocol_select(ngx_http_request_t *r,
    ngx_http_ws_subprotocol_conf_t *spcf, ngx_str_t *chosen,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t                   offer, *ours;
    ngx_uint_t                  k, offered;
    ngx_http_ws_header_list_t   list;

    if (spcf->protocols == NULL) {
        return NGX_OK;
    }

    ours = spcf->protocols->elts;
    offered = 0;

    /* the client's order of preference decides */
    ngx_http_ws_header_list_init(&list, r, "Sec-WebSocket-Protocol");

    while (ngx_http_ws_header_list_next(&list, &offer)) {
        offered++;

        /* protocol names are case-sensitive (RFC 6455 section 11.5) */
        for (k = 0; k < spcf->protocols->nelts; k++) {
            if (ours[k].len == offer.len
                && ngx_strncmp(ours[k].data, offer.data, offer.len) == 0)
            {
                *chosen = ours[k];
                return NGX_OK;
            }
        }
    }

    if (!spcf->required) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ws: client offered %ui subprotocols, none of "
                  "ws_subprotocols", offered);

    refusal->status = NGX_HTTP_BAD_REQUEST;
    refusal->reason = "no supported subprotocol offered";

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_ws_subprotocol_is_token(ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    if (s->len == 0) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (c <= 0x20 || c >= 0x7f
            || ngx_strlchr((u_char *) "()<>@,;:\\\"/[]?={}",
                           (u_char *) "()<>@,;:\\\"/[]?={}" + 17, c))
        {
            return 0;
        }
    }

    return 1;
}
