
/*
 * ngx_ws: channel history and resume, "ws_channel_history"
 * (ngx_http_ws_history.c).
 */


#ifndef _NGX_HTTP_WS_HISTORY_H_INCLUDED_
#define _NGX_HTTP_WS_HISTORY_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"


/*
 * What a JSON-protocol subscribe's ack carries besides the channel's
 * number: the request's id, and the data of a subscribe hook's answer
 * (JSON as is when data_json, else a string; none when empty). A resume
 * is acknowledged right before its replay, with the number it ends at.
 */
typedef struct {
    wscore_str_t                 id;
    wscore_str_t                 data;
    ngx_uint_t                   data_json;
} ngx_http_ws_history_ack_t;

/*
 * How the ack is written, handed over by the JSON protocol's layer at
 * configuration (a second call replaces the first), so that the history
 * does not call up into it.
 */
typedef void (*ngx_http_ws_history_ack_pt)(ngx_http_ws_session_t *ws,
    ngx_http_ws_history_ack_t *ack, uint64_t seq);

void ngx_http_ws_history_on_ack(ngx_http_ws_history_ack_pt ack);

char *ngx_http_ws_history_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_ws_history_resume(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t since);
void ngx_http_ws_history_replay(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t last_seq, uint64_t since,
    ngx_http_ws_history_ack_t *ack);


#endif /* _NGX_HTTP_WS_HISTORY_H_INCLUDED_ */
