// How every mode runs its bench object: with an epoll descriptor of its own,
// on the heap (a bench holds a histogram and per-connection state, too big
// for the stack), destroyed before the descriptor closes.
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "report.h"

namespace wsload {

// Bench is constructed from `args` followed by the epoll descriptor and has
// `RunResult run(int epoll_fd)`.
template <class Bench, class... Args>
RunResult run_bench(Args&&... args) {
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    RunResult r;
    {
        auto bench = std::make_unique<Bench>(std::forward<Args>(args)..., epoll_fd);
        r = bench->run(epoll_fd);
    }
    close(epoll_fd);
    return r;
}

}  // namespace wsload
