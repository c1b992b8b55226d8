// The extern "C" face of a message hook's answer (wscore.h, "Backend
// hooks: a message hook's answer").

#include "wscore.h"

#include "c_api_strings.hpp"
#include "message_answer.hpp"

using wscore::c_api::view_of;

extern "C" {

wscore_message_verdict_e wscore_message_verdict(unsigned status,
    size_t body_len)
{
    switch (wscore::message_verdict(status, body_len)) {
    case wscore::MessageVerdict::drop:    return WSCORE_MESSAGE_DROP;
    case wscore::MessageVerdict::keep:    return WSCORE_MESSAGE_KEEP;
    case wscore::MessageVerdict::replace: return WSCORE_MESSAGE_REPLACE;
    case wscore::MessageVerdict::refuse:  return WSCORE_MESSAGE_REFUSE;
    case wscore::MessageVerdict::fail:    break;
    }
    return WSCORE_MESSAGE_FAIL;
}

int wscore_answer_opcode(const char *value, size_t len)
{
    const auto opcode = wscore::parse_answer_opcode(view_of(value, len));
    return opcode ? *opcode : 0;
}

int wscore_close_request_parse(const char *value, size_t len,
    uint16_t *code, wscore_str_t *reason)
{
    const auto request = wscore::parse_close_request(view_of(value, len));
    if (!request) {
        return 0;
    }
    *code = request->code;
    *reason = wscore_str_t{request->reason.data(), request->reason.size()};
    return 1;
}

size_t wscore_utf8_prefix(const char *text, size_t len, size_t max)
{
    return wscore::utf8_prefix(view_of(text, len), max).size();
}

}  // extern "C"
