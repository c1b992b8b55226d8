
/*
 * ngx_ws: every occurrence of a request header, or the elements of a
 * list-valued one (ngx_http_ws_header_list.c).
 */


#ifndef _NGX_HTTP_WS_HEADER_LIST_H_INCLUDED_
#define _NGX_HTTP_WS_HEADER_LIST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_list_part_t           *part;
    ngx_uint_t                 i;
    u_char                    *p;
    u_char                    *last;
    ngx_str_t                  name;
} ngx_http_ws_header_list_t;

void ngx_http_ws_header_list_init(ngx_http_ws_header_list_t *list,
    ngx_http_request_t *r, const char *name);
ngx_table_elt_t *ngx_http_ws_header_list_next_header(
    ngx_http_ws_header_list_t *list);
ngx_uint_t ngx_http_ws_header_list_next(ngx_http_ws_header_list_t *list,
    ngx_str_t *element);


#endif /* _NGX_HTTP_WS_HEADER_LIST_H_INCLUDED_ */
