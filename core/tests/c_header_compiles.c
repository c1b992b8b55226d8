/* Proves wscore.h is valid C (the NGINX module is C), not only C++. */
#include "wscore.h"

size_t wscore_c_header_check(void);

size_t
wscore_c_header_check(void)
{
    wscore_config_t         cfg;
    wscore_event_t          ev;
    wscore_router_config_t  rcf;
    wscore_router_t        *r;
    wscore_ctl_request_t    req;
    uint8_t                 header[WSCORE_MAX_HEADER_LEN];

    wscore_config_default(&cfg);
    ev.type = WSCORE_EVENT_NONE;
    (void) ev;

    rcf.max_channels_per_subscriber = 0;
    rcf.max_channel_name_len = 0;
    r = wscore_router_create(&rcf);
    if (r != NULL) {
        (void) wscore_router_subscribe(r, &cfg, "c", 1);
        wscore_router_unsubscribe_all(r, &cfg, NULL, NULL);
        wscore_router_destroy(r);
    }

    if (wscore_ctl_parse("{}", 2, &req) == 0 || req.op == WSCORE_CTL_PUBLISH) {
        return 0;
    }

    return wscore_frame_header_encode(header, WSCORE_OP_TEXT, 1, 0, 5);
}
