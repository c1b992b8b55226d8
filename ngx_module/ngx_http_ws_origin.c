
/*
 * ngx_ws: the Origin check ("ws_allowed_origins").
 *
 * Browsers let any page open a WebSocket to any server, with the user's
 * cookies: the Origin header is what tells the server which page asks
 * (cross-site WebSocket hijacking, RFC 6455 section 10.2). An upgrade
 * from an origin that is not listed is refused with 403 before the 101.
 *
 * A request without Origin passes: browsers always send it, and a client
 * that is not a browser can send any Origin it likes, so demanding one
 * would keep out honest tools without stopping anyone.
 *
 * The patterns and their matching are the core's (wscore_origin_*); the
 * regular expressions ("~", "~*") are NGINX's own.
 */


#include "ngx_http_ws_origin.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_session.h"


static ngx_int_t ngx_http_ws_origin_match(ngx_http_ws_origin_t *o,
    ngx_str_t *origin);
static ngx_table_elt_t *ngx_http_ws_origin_header(ngx_http_request_t *r,
    ngx_uint_t *count);


/*
 * ws_allowed_origins https://app.example.com *.example.com
 *                    ~^https://[a-z]+\.example\.org$ ...;
 */
char *
ngx_http_ws_origin_allowed(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                  *value, text;
    ngx_uint_t                  i;
    ngx_http_ws_origin_t       *o;
    ngx_http_ws_origin_conf_t  *ocf;
#if (NGX_PCRE)
    u_char                      errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t         rc;
#endif

    ocf = (ngx_http_ws_origin_conf_t *) ((char *) conf + cmd->offset);

    if (ocf->origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    ocf->origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_http_ws_origin_t));
    if (ocf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        text = value[i];

        o = ngx_array_push(ocf->origins);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(o, sizeof(ngx_http_ws_origin_t));
        o->text = text;

        if (text.len && text.data[0] == '~') {
#if (NGX_PCRE)
            ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

            rc.pattern.data = text.data + 1;
            rc.pattern.len = text.len - 1;

            if (rc.pattern.len && rc.pattern.data[0] == '*') {
                rc.pattern.data++;
                rc.pattern.len--;
                rc.options = NGX_REGEX_CASELESS;
            }

            rc.pool = cf->pool;
            rc.err.len = NGX_MAX_CONF_ERRSTR;
            rc.err.data = errstr;

            if (rc.pattern.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "empty regex in \"ws_allowed_origins\"");
                return NGX_CONF_ERROR;
            }

            if (ngx_regex_compile(&rc) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid regex \"%V\" in "
                                   "\"ws_allowed_origins\": %V",
                                   &text, &rc.err);
                return NGX_CONF_ERROR;
            }

            o->regex = rc.regex;
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_allowed_origins\" regex \"%V\" needs "
                               "NGINX built with PCRE", &text);
            return NGX_CONF_ERROR;
#endif
        }

        switch (wscore_origin_pattern_parse((const char *) text.data,
                                            text.len, &o->pattern))
        {
        case WSCORE_ORIGIN_PATTERN_OK:
            continue;

        case WSCORE_ORIGIN_PATTERN_NO_SCHEME:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "origin \"%V\" in \"ws_allowed_origins\" "
                               "needs a scheme (\"https://%V\"); only "
                               "wildcards may leave it out", &text, &text);
            return NGX_CONF_ERROR;

        case WSCORE_ORIGIN_PATTERN_BAD_WILDCARD:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\" in "
                               "\"ws_allowed_origins\": \"*\" may only "
                               "stand for the leading labels "
                               "(\"*.example.com\")", &text);
            return NGX_CONF_ERROR;

        default: /* WSCORE_ORIGIN_PATTERN_MALFORMED */
            break;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid origin \"%V\" in "
                           "\"ws_allowed_origins\": expected "
                           "\"scheme://host[:port]\", "
                           "\"[scheme://]*.domain[:port]\", \"null\" "
                           "or a regex starting with \"~\"", &text);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void
ngx_http_ws_origin_conf_init(ngx_http_ws_origin_conf_t *ocf)
{
    ocf->origins = NGX_CONF_UNSET_PTR;
}


char *
ngx_http_ws_origin_merge(ngx_conf_t *cf, ngx_http_ws_origin_conf_t *prev,
    ngx_http_ws_origin_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_ws_origin_check(ngx_http_request_t *r,
    ngx_http_ws_origin_conf_t *ocf, ngx_http_ws_refusal_t *refusal)
{
    ngx_uint_t             i, count;
    ngx_table_elt_t       *h;
    ngx_http_ws_origin_t  *o;

    if (ocf->origins == NULL) {
        return NGX_OK;
    }

    h = ngx_http_ws_origin_header(r, &count);

    if (h == NULL) {
        return NGX_OK;
    }

    if (count > 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: %ui Origin headers, refusing the upgrade", count);
        goto refused;
    }

    o = ocf->origins->elts;

    for (i = 0; i < ocf->origins->nelts; i++) {
        if (ngx_http_ws_origin_match(&o[i], &h->value)) {
            return NGX_OK;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ws: origin \"%V\" is not in ws_allowed_origins",
                  &h->value);

refused:

    refusal->status = NGX_HTTP_FORBIDDEN;
    refusal->reason = "origin not allowed";

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_ws_origin_match(ngx_http_ws_origin_t *o, ngx_str_t *origin)
{
#if (NGX_PCRE)
    if (o->regex) {
        return ngx_regex_exec(o->regex, origin, NULL, 0) >= 0;
    }
#endif

    return wscore_origin_match(&o->pattern, (const char *) origin->data,
                               origin->len);
}


static ngx_table_elt_t *
ngx_http_ws_origin_header(ngx_http_request_t *r, ngx_uint_t *count)
{
    ngx_table_elt_t            *h, *found;
    ngx_http_ws_header_list_t   list;

    *count = 0;
    found = NULL;

    ngx_http_ws_header_list_init(&list, r, "Origin");

    while ((h = ngx_http_ws_header_list_next_header(&list)) != NULL) {
        if (found == NULL) {
            found = h;
        }

        (*count)++;
    }

    return found;
}
