// The C handle of a session: shared by the C ABI's files (c_api.cpp for
// the server side, c_api_client.cpp for the client side).

#ifndef WSCORE_C_API_SESSION_HPP
#define WSCORE_C_API_SESSION_HPP

#include "session.hpp"
#include "wscore.h"

struct wscore_session_s {
    wscore_session_s(const wscore_config_t &cfg, uint64_t now_ms) noexcept
        : session(cfg, now_ms)
    {
    }
    wscore::Session session;
};

#endif
