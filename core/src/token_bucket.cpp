#include "token_bucket.hpp"

#include <algorithm>

namespace wscore {

namespace {

constexpr std::uint64_t unit = 60000;   // units per token
// Far beyond any configured rate or burst, and small enough that the
// products below (at most 2^40 * 60000 < 2^56) never overflow 64 bits.
constexpr std::uint64_t limit = std::uint64_t{1} << 40;

}  // namespace

bool bucket_take(wscore_bucket_t &b, std::uint64_t rate_per_min,
    std::uint64_t burst, std::uint64_t cost, std::uint64_t now_ms) noexcept
{
    rate_per_min = std::min(rate_per_min, limit);
    burst = std::min(std::max<std::uint64_t>(burst, 1), limit);
    cost = std::min(cost, limit);
    const std::uint64_t capacity = burst * unit;

    if (b.started == 0) {
        b.started = 1;
        b.units = capacity;
        b.last_ms = now_ms;
    } else if (now_ms > b.last_ms) {
        // Enough elapsed time fills any bucket: clamp before multiplying.
        const std::uint64_t fill_ms = rate_per_min == 0
            ? 0 : capacity / rate_per_min + 1;
        const std::uint64_t elapsed = std::min(now_ms - b.last_ms, fill_ms);
        b.units = std::min(capacity,
                                  b.units + elapsed * rate_per_min);
        b.last_ms = now_ms;
    }
    // A clock that went back (another process's slightly older "now")
    // adds nothing and moves nothing.

    const std::uint64_t need = cost * unit;
    if (b.units < need) {
        return false;
    }
    b.units -= need;
    return true;
}

}  // namespace wscore
