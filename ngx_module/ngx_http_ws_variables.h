
/*
 * ngx_ws: the $ws_* variables (ngx_http_ws_variables.c).
 */


#ifndef _NGX_HTTP_WS_VARIABLES_H_INCLUDED_
#define _NGX_HTTP_WS_VARIABLES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_ws_variables_add(ngx_conf_t *cf);
ngx_int_t ngx_http_ws_variables_register(ngx_conf_t *cf,
    ngx_http_variable_t *vars);


#endif /* _NGX_HTTP_WS_VARIABLES_H_INCLUDED_ */
