
/*
 * ngx_ws: helpers the directives of the module share
 * (ngx_http_ws_conf.c): enum and bounds post handlers whose messages name
 * the directive, errors that name the line of the directive at fault when
 * they are found later (merge, postconfiguration), and the one way to say
 * that a directive needs "ws_zone".
 */


#ifndef _NGX_HTTP_WS_CONF_H_INCLUDED_
#define _NGX_HTTP_WS_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* Where a directive was read: NGINX's own "in <file>:<line>". */
typedef struct {
    ngx_str_t                  file;
    ngx_uint_t                 line;
} ngx_http_ws_conf_where_t;


/*
 * ngx_conf_num_bounds_t with a message naming the directive:
 * "<directive>" directive must be between <low> and <high>.
 */
typedef struct {
    ngx_conf_post_handler_pt   post_handler;
    ngx_uint_t                 low;
    ngx_uint_t                 high;
} ngx_http_ws_conf_bounds_t;


/*
 * A post handler that remembers where the directive was read, for a check
 * at merge: "where" is the distance from the field the slot set to the
 * ngx_http_ws_conf_where_t of the same configuration.
 */
typedef struct {
    ngx_conf_post_handler_pt   post_handler;
    ssize_t                    where;
} ngx_http_ws_conf_here_t;

#define ngx_http_ws_conf_here_post(type, field, where)                       \
    { ngx_http_ws_conf_remember,                                             \
      (ssize_t) offsetof(type, where) - (ssize_t) offsetof(type, field) }

/* An unset value inherits its place with it. */
#define ngx_http_ws_conf_merge_where(conf, prev, unset, field, where)        \
    if ((conf)->field == unset) {                                            \
        (conf)->where = (prev)->where;                                       \
    }


/* The first directive that needs the zone, checked once it is known. */
typedef struct {
    const char                *fmt;          /* with %V and %ui: where */
    ngx_http_ws_conf_where_t   where;
} ngx_http_ws_conf_need_t;


#define ngx_http_ws_conf_here(cf, w)                                         \
    (w)->file = (cf)->conf_file->file.name;                                  \
    (w)->line = (cf)->conf_file->line


char *ngx_http_ws_conf_set_enum_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_ws_conf_check_bounds(ngx_conf_t *cf, void *post, void *data);
char *ngx_http_ws_conf_remember(ngx_conf_t *cf, void *post, void *data);
void ngx_http_ws_conf_error(ngx_conf_t *cf, ngx_http_ws_conf_where_t *where,
    const char *fmt, ...);
void ngx_http_ws_conf_need(ngx_conf_t *cf, ngx_http_ws_conf_need_t *need,
    const char *fmt);
ngx_int_t ngx_http_ws_conf_check_need(ngx_conf_t *cf,
    ngx_http_ws_conf_need_t *need, void *have);


#endif /* _NGX_HTTP_WS_CONF_H_INCLUDED_ */
