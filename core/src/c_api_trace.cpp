// The extern "C" face of W3C Trace Context (wscore.h, "W3C Trace
// Context").

#include "wscore.h"

#include <algorithm>
#include <span>

#include "c_api_strings.hpp"
#include "trace_context.hpp"

extern "C" {

int wscore_traceparent_parse(const char *value, size_t len,
    wscore_trace_context_t *ctx)
{
    if (ctx == nullptr || (value == nullptr && len != 0)) {
        return 0;
    }
    auto parsed = wscore::traceparent_parse(
        wscore::c_api::view_of(value, len));
    if (!parsed) {
        return 0;
    }
    std::copy(parsed->trace_id.begin(), parsed->trace_id.end(), ctx->trace_id);
    std::copy(parsed->parent_id.begin(), parsed->parent_id.end(),
              ctx->parent_id);
    ctx->flags = parsed->flags;
    return 1;
}

void wscore_trace_id_from_random(uint8_t *id, size_t len)
{
    if (id == nullptr || len == 0) {
        return;
    }
    if (std::all_of(id, id + len, [](uint8_t b) { return b == 0; })) {
        id[len - 1] = 1;
    }
}

void wscore_traceparent_format(const uint8_t trace_id[16],
    const uint8_t span_id[8], uint8_t flags, char *out)
{
    std::array<std::uint8_t, 16> t;
    std::array<std::uint8_t, 8> s;
    std::copy(trace_id, trace_id + 16, t.begin());
    std::copy(span_id, span_id + 8, s.begin());
    wscore::traceparent_format(t, s, flags,
        std::span<char, wscore::traceparent_length>(out,
            wscore::traceparent_length));
}

void wscore_trace_hex(const uint8_t *bytes, size_t n, char *out)
{
    wscore::trace_hex(std::span<const std::uint8_t>(bytes, n), out);
}

}  // extern "C"
