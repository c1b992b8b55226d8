
/*
 * ngx_ws: helpers the directives of the module share.
 *
 * NGINX's stock slots and post handlers, with the module's one habit on
 * top: every message names the directive and what it accepts. A check
 * that can only be made after the directive was read (at merge, or once
 * the whole http block is known) names the file and line of that
 * directive, which the directive handler remembered: ngx_conf_log_error()
 * would name the line being read then, the closing brace of a block.
 */


#include "ngx_http_ws_conf.h"


/*
 * ngx_conf_set_enum_slot(), and for a value it does not know: "invalid
 * value "x" in "ws_protocol", it must be "raw" or "json"".
 */
char *
ngx_http_ws_conf_set_enum_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char           *p, *last;
    u_char            list[NGX_MAX_CONF_ERRSTR];
    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    value = cf->args->elts;

    for (e = cmd->post; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcasecmp(e->name.data, value[1].data) == 0)
        {
            return ngx_conf_set_enum_slot(cf, cmd, conf);
        }
    }

    p = list;
    last = list + sizeof(list);

    for (e = cmd->post; e->name.len; e++) {
        if (e != cmd->post) {
            p = ngx_slprintf(p, last, e[1].name.len ? ", " : " or ");
        }

        p = ngx_slprintf(p, last, "\"%V\"", &e->name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\", it must be %*s",
                       &value[1], &cmd->name, p - list, list);

    return NGX_CONF_ERROR;
}


/* NGINX prints it as: "<directive>" directive <message> */
char *
ngx_http_ws_conf_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_ws_conf_bounds_t  *bounds = post;
    ngx_uint_t                 *np = data;

    u_char  *msg;

    if (*np >= bounds->low && *np <= bounds->high) {
        return NGX_CONF_OK;
    }

    msg = ngx_pnalloc(cf->pool, sizeof("must be between  and ")
                                + 2 * NGX_INT_T_LEN);
    if (msg == NULL) {
        return NGX_CONF_ERROR;
    }

    *ngx_sprintf(msg, "must be between %ui and %ui", bounds->low,
                 bounds->high) = '\0';

    return (char *) msg;
}


/* See ngx_http_ws_conf_here_t. */
char *
ngx_http_ws_conf_remember(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_ws_conf_here_t  *here = post;

    ngx_http_ws_conf_where_t  *where;

    where = (ngx_http_ws_conf_where_t *) ((u_char *) data + here->where);
    ngx_http_ws_conf_here(cf, where);

    return NGX_CONF_OK;
}


/* An error about the directive read at where, found later. */
void
ngx_http_ws_conf_error(ngx_conf_t *cf, ngx_http_ws_conf_where_t *where,
    const char *fmt, ...)
{
    u_char   *p;
    u_char    errstr[NGX_MAX_CONF_ERRSTR];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(errstr, errstr + NGX_MAX_CONF_ERRSTR, fmt, args);
    va_end(args);

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%*s in %V:%ui",
                  p - errstr, errstr, &where->file, where->line);
}


/*
 * The directive being read needs something only the whole http block
 * tells (ws_zone): the first one is remembered with its message, whose
 * %V and %ui name its file and line.
 */
void
ngx_http_ws_conf_need(ngx_conf_t *cf, ngx_http_ws_conf_need_t *need,
    const char *fmt)
{
    if (need->fmt == NULL) {
        need->fmt = fmt;
        ngx_http_ws_conf_here(cf, &need->where);
    }
}


/* NGX_ERROR, logged, if something was needed and have is NULL. */
ngx_int_t
ngx_http_ws_conf_check_need(ngx_conf_t *cf, ngx_http_ws_conf_need_t *need,
    void *have)
{
    if (need->fmt == NULL || have != NULL) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0, need->fmt,
                  &need->where.file, need->where.line);

    return NGX_ERROR;
}
