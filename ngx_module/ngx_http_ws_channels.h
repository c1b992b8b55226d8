
/*
 * ngx_ws: channels in one worker (ngx_http_ws_channels.c).
 */


#ifndef _NGX_HTTP_WS_CHANNELS_H_INCLUDED_
#define _NGX_HTTP_WS_CHANNELS_H_INCLUDED_


#include "ngx_http_ws_common.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_zone.h"
#include "ngx_http_ws_frame.h"


/*
 * A channel a session receives, with the channel's sequence number when
 * it subscribed: messages at or before it were published earlier and are
 * not for this subscriber, even if a worker queue delivers them late. The
 * router keeps the same number per subscription and does the filtering.
 */
typedef struct {
    ngx_str_t                  name;
    uint64_t                   since;
    ngx_uint_t                 resuming;         /* a Redis replay's token */
    unsigned                   heap:1;           /* name from ngx_alloc */
} ngx_http_ws_subscription_t;


ngx_int_t ngx_http_ws_channels_init_process(ngx_cycle_t *cycle);
void ngx_http_ws_channels_exit_process(ngx_cycle_t *cycle);

ngx_int_t ngx_http_ws_channels_subscribe(ngx_http_ws_session_t *ws);
ngx_int_t ngx_http_ws_channels_publish(void **main_conf, ngx_log_t *log,
    ngx_str_t *channel, ngx_uint_t opcode, ngx_uint_t json, u_char *data,
    size_t len, ngx_http_ws_channel_info_t *info);
ngx_int_t ngx_http_ws_channels_add(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t copy, uint64_t *since);
ngx_int_t ngx_http_ws_channels_remove(ngx_http_ws_session_t *ws,
    ngx_str_t *name);
ngx_int_t ngx_http_ws_channels_allowed(ngx_http_ws_loc_conf_t *wscf,
    ngx_str_t *name);

ngx_http_ws_frame_t *ngx_http_ws_channels_envelope(ngx_http_ws_msg_t *msg);

/* a subscription held back during a replay */
ngx_int_t ngx_http_ws_channels_hold(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t token);
ngx_int_t ngx_http_ws_channels_go_live(ngx_http_ws_session_t *ws,
    ngx_str_t *name, ngx_uint_t token, uint64_t since);

/* a message of this worker's queue, to its subscribers */
void ngx_http_ws_channels_deliver(ngx_http_ws_msg_t *msg);
/* messages of this worker's queue, in its order */
void ngx_http_ws_channels_deliver_all(ngx_http_ws_msg_t **msgs,
    ngx_uint_t n);

/*
 * What the channel layer asks of the layers above it, given at
 * configuration (a second call replaces the first; none: nothing is
 * asked). The authentication: whether a starting session's channels wait
 * for its token (ws_auth_first_message; it then joins them itself), and
 * the "user:<sub>" channel of its verified token, or NULL. The history:
 * what a subscription resuming after "since" missed, sent first.
 */
typedef ngx_uint_t (*ngx_http_ws_channels_deferred_pt)(
    ngx_http_ws_session_t *ws);
typedef ngx_str_t *(*ngx_http_ws_channels_user_pt)(
    ngx_http_ws_session_t *ws);
typedef void (*ngx_http_ws_channels_resume_pt)(ngx_http_ws_session_t *ws,
    ngx_str_t *channel, uint64_t since);

void ngx_http_ws_channels_on_auth(ngx_http_ws_channels_deferred_pt deferred,
    ngx_http_ws_channels_user_pt user);
void ngx_http_ws_channels_on_resume(ngx_http_ws_channels_resume_pt resume);

extern ngx_http_ws_hooks_t    ngx_http_ws_channels_hooks;
extern ngx_http_ws_handler_t  ngx_http_ws_channels_handler;


#endif /* _NGX_HTTP_WS_CHANNELS_H_INCLUDED_ */
