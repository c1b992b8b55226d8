
/*
 * ngx_ws: "ws_status", the figures of all workers (ngx_http_ws_status.c).
 */


#ifndef _NGX_HTTP_WS_STATUS_H_INCLUDED_
#define _NGX_HTTP_WS_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


char *ngx_http_ws_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_WS_STATUS_H_INCLUDED_ */
