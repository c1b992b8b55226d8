#include "idle_bench.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>

#include "clock.h"
#include "event_loop.h"
#include "run_bench.h"
#include "process_memory.h"
#include "ws_client_pool.h"

namespace wsload {
namespace {

constexpr std::uint64_t connect_timeout_ns = 60'000'000'000ULL;

class IdleBench final : public WsHandler {
public:
    IdleBench(const Options& o, const Endpoint& ep, int epoll_fd)
        : options_(o),
          pool_(epoll_fd, ep, PoolOptions{o.connections, o.source_addresses, 256, o.deflate_offer, o.ca_file},
                *this) {}

    RunResult run(int epoll_fd) {
        RunResult r;
        r.mode = "idle";
        r.label = options_.label;
        r.connections = options_.connections;
        const auto before = tree_pss_bytes(*options_.server_pid);
        if (!before) {
            std::fprintf(stderr, "wsload: cannot read the memory of pid %d\n",
                         static_cast<int>(*options_.server_pid));
            return r;
        }

        const std::uint64_t began = now_ns();
        pool_.start_connects();
        LoopCallbacks cb;
        cb.on_event = [this](std::uint64_t key, std::uint32_t ev) { pool_.on_event(key, ev); };
        cb.on_tick = [this, began](std::uint64_t now) { return tick(now, began); };
        run_loop(epoll_fd, 10, cb);

        const auto after = tree_pss_bytes(*options_.server_pid);
        const std::size_t open = pool_.open_count();
        r.connections_failed = options_.connections - opened_;
        r.connections_lost = pool_.closed_after_open();
        r.duration_s = static_cast<double>(now_ns() - began) / 1e9;
        r.first_error = pool_.first_error();
        if (!after || open == 0) return r;
        r.memory_before_bytes = *before;
        r.memory_after_bytes = *after;
        r.bytes_per_connection =
            (static_cast<double>(*after) - static_cast<double>(*before)) /
            static_cast<double>(open);
        return r;
    }

    // Idle connections receive nothing but pings, which the pool answers.
    void on_message(std::size_t, Opcode, std::span<const std::uint8_t>) override {}

private:
    bool tick(std::uint64_t now, std::uint64_t began) {
        if (!settling_) {
            if (!pool_.connect_phase_done() && now - began < connect_timeout_ns) return true;
            opened_ = pool_.open_count();
            if (opened_ == 0) {
                std::fprintf(stderr, "wsload: no connection opened: %s\n",
                             pool_.first_error().c_str());
                return false;
            }
            // Servers allocate lazily (buffers on first read, pools on first
            // timer): give them time to reach their steady idle state.
            settling_ = true;
            settle_end_ = now + static_cast<std::uint64_t>(options_.settle_s * 1e9);
            return true;
        }
        return now < settle_end_;
    }

    const Options& options_;
    WsClientPool pool_;
    bool settling_ = false;
    std::uint64_t settle_end_ = 0;
    std::size_t opened_ = 0;
};

}  // namespace

RunResult run_idle(const Options& options) {
    RunResult failed;
    failed.mode = "idle";
    const auto endpoint = parse_endpoint(options.url);
    if (!endpoint || !options.server_pid) {
        std::fprintf(stderr, "wsload: idle needs --url and --server-pid\n");
        return failed;
    }
    return run_bench<IdleBench>(options, *endpoint);
}

}  // namespace wsload
