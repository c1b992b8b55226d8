// A token bucket (rate limit with bursts), as plain data so that it can
// live in NGINX's shared memory and be updated by any worker under the
// zone's lock. Sans-I/O: the caller passes "now" in milliseconds of a
// monotonic clock shared by the processes (NGINX's ngx_current_msec).
//
// Rates are given per minute (NGINX's "r/m"; "r/s" is 60 times that) and
// tokens are counted in units of 1/60000, so every refill is exact in
// integers: a bucket of rate R a minute gains R units a millisecond.

#ifndef WSCORE_TOKEN_BUCKET_HPP
#define WSCORE_TOKEN_BUCKET_HPP

#include <cstdint>

#include "wscore.h"

namespace wscore {

// Takes cost tokens if there are that many; refills first. A new bucket
// ({0, 0} with started == 0) starts full.
bool bucket_take(wscore_bucket_t &b, std::uint64_t rate_per_min,
    std::uint64_t burst, std::uint64_t cost, std::uint64_t now_ms) noexcept;

}  // namespace wscore

#endif
