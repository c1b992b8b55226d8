// One clock for every timestamp the tool takes, including the ones it puts in
// published payloads: CLOCK_MONOTONIC is shared by all processes on the host,
// so a publish timestamp can be compared with the delivery time directly.
#pragma once

#include <cstdint>
#include <ctime>

namespace wsload {

inline std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace wsload
