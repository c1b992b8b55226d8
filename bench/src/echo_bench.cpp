#include "echo_bench.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <vector>

#include "clock.h"
#include "event_loop.h"
#include "run_bench.h"
#include "server_cpu.h"
#include "ws_client_pool.h"

namespace wsload {
namespace {

constexpr std::uint64_t connect_timeout_ns = 30'000'000'000ULL;

class EchoBench final : public WsHandler {
public:
    EchoBench(const Options& o, const Endpoint& ep, int epoll_fd)
        : options_(o),
          pool_(epoll_fd, ep,
                PoolOptions{o.connections, o.source_addresses, 256, o.deflate_offer, o.ca_file}, *this),
          sent_at_(o.connections),
          cpu_(o.server_pid, o.upstream_pid) {
        // Binary, so the server's UTF-8 check does not enter the figures.
        const std::vector<std::uint8_t> payload(o.size, 0x5a);
        frame_ = build_masked_frame(Opcode::binary, payload);
    }

    RunResult run(int epoll_fd) {
        const std::uint64_t began = now_ns();
        pool_.start_connects();
        LoopCallbacks cb;
        cb.on_event = [this](std::uint64_t key, std::uint32_t ev) { pool_.on_event(key, ev); };
        cb.on_tick = [this, began](std::uint64_t now) { return tick(now, began); };
        run_loop(epoll_fd, 5, cb);

        RunResult r;
        r.mode = "echo";
        r.label = options_.label;
        r.connections = options_.connections;
        r.connections_failed = failed_at_start_;
        r.connections_lost = pool_.closed_after_open();
        r.size = options_.size;
        r.pipeline = options_.pipeline;
        r.duration_s = static_cast<double>(measure_end_ - measure_start_) / 1e9;
        r.messages = round_trips_;
        r.rate = r.duration_s > 0 ? static_cast<double>(round_trips_) / r.duration_s : 0;
        r.latency = latency_;
        r.server_cpu = cpu_.server_cores();
        r.client_cpu = cpu_.client_cores();
        r.upstream_cpu = cpu_.upstream_cores();
        r.first_error = pool_.first_error();
        return r;
    }

    void on_message(std::size_t id, Opcode, std::span<const std::uint8_t>) override {
        auto& queue = sent_at_[id];
        if (queue.empty()) return;  // not ours (the tool sends nothing else)
        const std::uint64_t now = now_ns();
        if (phase_ == Phase::measure) {
            latency_.record(now - queue.front());
            ++round_trips_;
        }
        queue.pop_front();
        if (phase_ == Phase::warmup || phase_ == Phase::measure) {
            // Queued only; the pool sends everything read in this pass at once.
            pool_.queue(id, frame_);
            queue.push_back(now);
        }
    }

private:
    enum class Phase { connect, warmup, measure, done };

    bool tick(std::uint64_t now, std::uint64_t began) {
        switch (phase_) {
        case Phase::connect:
            if (!pool_.connect_phase_done()) {
                if (now - began < connect_timeout_ns) return true;
                std::fprintf(stderr, "wsload: connect phase timed out, %zu of %zu open\n",
                             pool_.open_count(), pool_.size());
            }
            failed_at_start_ = pool_.size() - pool_.open_count();
            if (pool_.open_count() == 0) {
                std::fprintf(stderr, "wsload: no connection opened: %s\n",
                             pool_.first_error().c_str());
                return false;
            }
            for (std::size_t id = 0; id < pool_.size(); ++id) {
                if (!pool_.is_open(id)) continue;
                const std::uint64_t t = now_ns();
                for (std::size_t k = 0; k < options_.pipeline; ++k) {
                    pool_.queue(id, frame_);
                    sent_at_[id].push_back(t);
                }
                pool_.flush(id);
            }
            phase_ = Phase::warmup;
            phase_end_ = now + static_cast<std::uint64_t>(options_.warmup_s * 1e9);
            return true;
        case Phase::warmup:
            if (now < phase_end_) return true;
            phase_ = Phase::measure;
            measure_start_ = now;
            cpu_.start(now);
            phase_end_ = now + static_cast<std::uint64_t>(options_.duration_s * 1e9);
            return true;
        case Phase::measure:
            if (now < phase_end_) return true;
            measure_end_ = now;
            cpu_.stop(now);
            phase_ = Phase::done;
            return false;
        case Phase::done:
            return false;
        }
        return false;
    }

    const Options& options_;
    WsClientPool pool_;
    std::string frame_;
    std::vector<std::deque<std::uint64_t>> sent_at_;
    CpuWindow cpu_;
    LatencyHistogram latency_;
    Phase phase_ = Phase::connect;
    std::uint64_t phase_end_ = 0;
    std::uint64_t measure_start_ = 0;
    std::uint64_t measure_end_ = 0;
    std::uint64_t round_trips_ = 0;
    std::size_t failed_at_start_ = 0;
};

}  // namespace

RunResult run_echo(const Options& options) {
    const auto endpoint = parse_endpoint(options.url);
    RunResult failed;
    failed.mode = "echo";
    if (!endpoint) {
        std::fprintf(stderr, "wsload: cannot parse --url %s\n", options.url.c_str());
        return failed;
    }
    return run_bench<EchoBench>(options, *endpoint);
}

}  // namespace wsload
