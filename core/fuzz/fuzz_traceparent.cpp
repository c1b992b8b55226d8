// libFuzzer target: any input as a traceparent header value. Parsing must
// not crash; what parses writes back (as version 00) to a value that
// parses to the same context.

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "wscore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wscore_trace_context_t ctx, again;

    if (!wscore_traceparent_parse(reinterpret_cast<const char *>(data), size,
                                  &ctx))
    {
        return 0;
    }

    char out[WSCORE_TRACEPARENT_LEN];
    wscore_traceparent_format(ctx.trace_id, ctx.parent_id, ctx.flags, out);

    if (!wscore_traceparent_parse(out, sizeof(out), &again)
        || std::memcmp(ctx.trace_id, again.trace_id, 16) != 0
        || std::memcmp(ctx.parent_id, again.parent_id, 8) != 0
        || ctx.flags != again.flags)
    {
        std::abort();
    }

    return 0;
}
