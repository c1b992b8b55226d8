/* Proves wscore.h is valid C (the NGINX module is C), not only C++. */
#include "wscore.h"

size_t wscore_c_header_check(void);

size_t
wscore_c_header_check(void)
{
    wscore_config_t  cfg;
    wscore_event_t   ev;
    uint8_t          header[WSCORE_MAX_HEADER_LEN];

    wscore_config_default(&cfg);
    ev.type = WSCORE_EVENT_NONE;
    (void) ev;
    return wscore_frame_header_encode(header, WSCORE_OP_TEXT, 1, 0, 5);
}
