#include "event_loop.h"

#include <array>
#include <cerrno>
#include <sys/epoll.h>

#include "clock.h"

namespace wsload {

void run_loop(int epoll_fd, int tick_ms, const LoopCallbacks& callbacks) {
    std::array<epoll_event, 512> ready{};
    std::uint64_t next_tick = 0;
    const std::uint64_t tick_ns = static_cast<std::uint64_t>(tick_ms) * 1'000'000ULL;
    for (;;) {
        const int n = epoll_wait(epoll_fd, ready.data(), static_cast<int>(ready.size()), tick_ms);
        if (n < 0 && errno != EINTR) return;
        for (int i = 0; i < n; ++i) callbacks.on_event(ready[i].data.u64, ready[i].events);
        // Under load epoll_wait never times out, so ticks are driven by time.
        const std::uint64_t now = now_ns();
        if (now >= next_tick) {
            if (!callbacks.on_tick(now)) return;
            next_tick = now + tick_ns;
        }
    }
}

}  // namespace wsload
