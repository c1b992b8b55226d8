
/*
 * ngx_ws: channel history and resume, "ws_channel_history"
 * (ngx_http_ws_history.c).
 */


#ifndef _NGX_HTTP_WS_HISTORY_H_INCLUDED_
#define _NGX_HTTP_WS_HISTORY_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_control.h"


char *ngx_http_ws_history_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_history_resume(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t since);
void ngx_http_ws_history_replay(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t last_seq, uint64_t since,
    ngx_http_ws_control_ack_t *ack);


#endif /* _NGX_HTTP_WS_HISTORY_H_INCLUDED_ */
