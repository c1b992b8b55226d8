
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
 */


#include "ngx_http_ws_origin.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_security_module.h"
#include "ngx_http_ws_session.h"


typedef struct {
    ngx_str_t   scheme;
    ngx_str_t   host;
    ngx_str_t   port;
} ngx_http_ws_origin_parts_t;


static ngx_int_t ngx_http_ws_origin_split(ngx_str_t *origin,
    ngx_http_ws_origin_parts_t *parts, ngx_uint_t pattern);
static ngx_int_t ngx_http_ws_origin_match(ngx_http_ws_origin_t *o,
    ngx_str_t *origin, ngx_http_ws_origin_parts_t *parts,
    ngx_uint_t parsed);
static ngx_table_elt_t *ngx_http_ws_origin_header(ngx_http_request_t *r,
    ngx_uint_t *count);


/*
 * ws_allowed_origins https://app.example.com *.example.com
 *                    ~^https://[a-z]+\.example\.org$ ...;
 */
char *
ngx_http_ws_origin_allowed(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_security_conf_t *wsscf = conf;

    ngx_str_t                    *value, text;
    ngx_uint_t                    i;
    ngx_http_ws_origin_t         *o;
    ngx_http_ws_origin_parts_t    parts;
#if (NGX_PCRE)
    u_char                        errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t           rc;
#endif

    if (wsscf->origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wsscf->origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_http_ws_origin_t));
    if (wsscf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        text = value[i];

        o = ngx_array_push(wsscf->origins);
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

        if (text.len == 4 && ngx_strncmp(text.data, "null", 4) == 0) {
            /* the opaque origin of sandboxed frames and file: pages */
            o->host = text;
            continue;
        }

        if (ngx_http_ws_origin_split(&text, &parts, 1) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\" in "
                               "\"ws_allowed_origins\": expected "
                               "\"scheme://host[:port]\", "
                               "\"[scheme://]*.domain[:port]\", \"null\" "
                               "or a regex starting with \"~\"", &text);
            return NGX_CONF_ERROR;
        }

        o->scheme = parts.scheme;
        o->port = parts.port;

        if (parts.host.len > 2 && parts.host.data[0] == '*'
            && parts.host.data[1] == '.')
        {
            o->wildcard = 1;
            o->host.data = parts.host.data + 1;     /* ".example.com" */
            o->host.len = parts.host.len - 1;

        } else {
            if (o->scheme.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "origin \"%V\" in \"ws_allowed_origins\" "
                                   "needs a scheme (\"https://%V\"); only "
                                   "wildcards may leave it out",
                                   &text, &text);
                return NGX_CONF_ERROR;
            }

            o->host = parts.host;
        }

        if (ngx_strlchr(o->host.data, o->host.data + o->host.len, '*')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\" in "
                               "\"ws_allowed_origins\": \"*\" may only "
                               "stand for the leading labels "
                               "(\"*.example.com\")", &text);
            return NGX_CONF_ERROR;
        }

        /* hosts compare without regard to case: keep the pattern lower */
        ngx_strlow(o->host.data, o->host.data, o->host.len);
        ngx_strlow(o->scheme.data, o->scheme.data, o->scheme.len);
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_ws_origin_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_refusal_t *refusal)
{
    ngx_uint_t                   i, count, parsed;
    ngx_table_elt_t             *h;
    ngx_http_ws_origin_t        *o;
    ngx_http_ws_origin_parts_t   parts;

    if (wsscf->origins == NULL) {
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

    parsed = (ngx_http_ws_origin_split(&h->value, &parts, 0) == NGX_OK);

    o = wsscf->origins->elts;

    for (i = 0; i < wsscf->origins->nelts; i++) {
        if (ngx_http_ws_origin_match(&o[i], &h->value, &parts, parsed)) {
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
ngx_http_ws_origin_match(ngx_http_ws_origin_t *o, ngx_str_t *origin,
    ngx_http_ws_origin_parts_t *parts, ngx_uint_t parsed)
{
    size_t  n;

#if (NGX_PCRE)
    if (o->regex) {
        return ngx_regex_exec(o->regex, origin, NULL, 0) >= 0;
    }
#endif

    if (o->scheme.len == 0 && !o->wildcard) {
        /* "null" */
        return origin->len == 4 && ngx_strncmp(origin->data, "null", 4) == 0;
    }

    if (!parsed) {
        return 0;
    }

    if (o->scheme.len) {
        if (o->scheme.len != parts->scheme.len
            || ngx_strncasecmp(o->scheme.data, parts->scheme.data,
                               o->scheme.len) != 0)
        {
            return 0;
        }

    } else if (!(parts->scheme.len == 4
                 && ngx_strncasecmp(parts->scheme.data, (u_char *) "http", 4)
                    == 0)
               && !(parts->scheme.len == 5
                    && ngx_strncasecmp(parts->scheme.data,
                                       (u_char *) "https", 5) == 0))
    {
        return 0;
    }

    if (o->port.len != parts->port.len
        || (o->port.len
            && ngx_strncmp(o->port.data, parts->port.data, o->port.len) != 0))
    {
        return 0;
    }

    if (!o->wildcard) {
        return o->host.len == parts->host.len
               && ngx_strncasecmp(o->host.data, parts->host.data,
                                  o->host.len) == 0;
    }

    /* ".example.com" matches "a.example.com", not "example.com" itself */
    if (parts->host.len <= o->host.len) {
        return 0;
    }

    n = parts->host.len - o->host.len;

    return ngx_strncasecmp(o->host.data, parts->host.data + n, o->host.len)
           == 0;
}


/*
 * Splits "scheme://host[:port]" (RFC 6454 serialization: no path, no
 * user info). A pattern may leave out "scheme://".
 */
static ngx_int_t
ngx_http_ws_origin_split(ngx_str_t *origin, ngx_http_ws_origin_parts_t *parts,
    ngx_uint_t pattern)
{
    u_char  *p, *last, *colon, *c;

    ngx_memzero(parts, sizeof(ngx_http_ws_origin_parts_t));

    p = origin->data;
    last = p + origin->len;

    c = ngx_strlcasestrn(p, last, (u_char *) "://", 3 - 1);

    if (c) {
        if (c == p) {
            return NGX_ERROR;
        }

        parts->scheme.data = p;
        parts->scheme.len = c - p;
        p = c + 3;

    } else if (!pattern) {
        return NGX_ERROR;
    }

    colon = NULL;

    if (p < last && *p == '[') {
        /* an IPv6 literal: the port colon comes after "]" */
        c = ngx_strlchr(p, last, ']');
        if (c == NULL) {
            return NGX_ERROR;
        }

        if (c + 1 < last) {
            if (c[1] != ':') {
                return NGX_ERROR;
            }

            colon = c + 1;
        }

    } else {
        colon = ngx_strlchr(p, last, ':');
    }

    parts->host.data = p;
    parts->host.len = (colon ? colon : last) - p;

    if (parts->host.len == 0) {
        return NGX_ERROR;
    }

    for (c = p; c < p + parts->host.len; c++) {
        if (*c == '/' || *c == '@' || *c <= ' ' || *c >= 0x7f) {
            return NGX_ERROR;
        }
    }

    if (colon) {
        parts->port.data = colon + 1;
        parts->port.len = last - colon - 1;

        if (parts->port.len == 0 || parts->port.len > 5) {
            return NGX_ERROR;
        }

        for (c = parts->port.data; c < last; c++) {
            if (*c < '0' || *c > '9') {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
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
