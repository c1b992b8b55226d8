// The one epoll_wait loop both modes share: dispatch ready descriptors, call
// a periodic tick (pacing, phase changes), stop at a deadline or on request.
#pragma once

#include <cstdint>
#include <functional>

namespace wsload {

struct LoopCallbacks {
    std::function<void(std::uint64_t key, std::uint32_t events)> on_event;
    // Returns false to stop the loop; called at least every `tick_ms`.
    std::function<bool(std::uint64_t now)> on_tick;
};

void run_loop(int epoll_fd, int tick_ms, const LoopCallbacks& callbacks);

}  // namespace wsload
