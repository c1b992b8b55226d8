
/*
 * ngx_ws: "ws_echo", every message sent back to its sender.
 *
 * The handler of a location that echoes and does nothing else with its
 * messages; it asks the session to place each message that arrives whole
 * straight into its reply frame, so the payload is written once.
 */


#include "ngx_http_ws_echo.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_frame.h"
#include "ngx_http_ws_hot.h"
#include "ngx_http_ws_session.h"


ngx_http_ws_handler_t  ngx_http_ws_echo_handler = {
    ngx_http_ws_echo_message,
    1,                                     /* place */
    NULL                                   /* close */
};


/*
 * Echo replies are not held to the send-buffer cap: reading pauses at the
 * high-water mark, so a peer can queue at most one read's worth of
 * replies beyond it. The cap is for output other connections push at this
 * one.
 */
NGX_HTTP_WS_HOT
void
ngx_http_ws_echo_message(ngx_http_ws_session_t *ws, wscore_event_t *ev)
{
    ngx_http_ws_frame_t  *frame;

    if (ev->placed) {
        /* the payload is already in place: take the frame */
        frame = ngx_http_ws_session_take_placed(ws);

    } else {
        /* a large message reassembled by the core: its buffer, taken */
        frame = ngx_http_ws_frame_from_message(ws->connection->log,
                                               ws->core, ev->opcode, ev->len);

        if (frame == NULL) {
            frame = ngx_http_ws_frame_create(ws->connection->log, ev->opcode,
                                             ev->data, ev->len);
        }
    }

    if (frame == NULL) {
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
        return;
    }

    if (ngx_http_ws_session_reply(ws, frame) != NGX_OK) {
        ngx_http_ws_frame_release(frame);
        ngx_http_ws_session_close(ws, WSCORE_CLOSE_INTERNAL_ERROR, NULL);
        return;
    }

    ngx_http_ws_frame_release(frame);
}
