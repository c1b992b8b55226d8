// The extern "C" face of the rate limiter (wscore.h, "Rate limits").

#include "wscore.h"

#include "token_bucket.hpp"

extern "C" int wscore_bucket_take(wscore_bucket_t *b, uint64_t rate_per_min,
    uint64_t burst, uint64_t cost, uint64_t now_ms)
{
    if (b == nullptr) {
        return 0;
    }
    return wscore::bucket_take(*b, rate_per_min, burst, cost, now_ms) ? 1 : 0;
}
