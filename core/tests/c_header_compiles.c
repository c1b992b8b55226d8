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
    wscore_ctl_parser_t    *parser;
    wscore_jwt_reader_t    *jwt;
    wscore_jwt_parts_t      parts;
    wscore_origin_pattern_t origin;
    const char             *why;
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

    parser = wscore_ctl_parser_create();
    if (wscore_ctl_parse(parser, "{}", 2, &req) == WSCORE_OK
        || req.op == WSCORE_CTL_PUBLISH)
    {
        wscore_ctl_parser_destroy(parser);
        return 0;
    }
    wscore_ctl_parser_destroy(parser);

    jwt = wscore_jwt_reader_create();
    if (wscore_jwt_parse(jwt, "a.b.c", 5, &parts, &why) == WSCORE_OK) {
        wscore_jwt_reader_destroy(jwt);
        return 0;
    }
    wscore_jwt_reader_destroy(jwt);

    if (wscore_origin_pattern_parse("null", 4, &origin)
        != WSCORE_ORIGIN_PATTERN_OK
        || !wscore_channel_name_valid("c", 1))
    {
        return 0;
    }

    return wscore_frame_header_encode(header, WSCORE_OP_TEXT, 1, 0, 5);
}
