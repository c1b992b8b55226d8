#include "fanout_bench.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "clock.h"
#include "event_loop.h"
#include "run_bench.h"
#include "http_publisher.h"
#include "server_cpu.h"
#include "ws_client_pool.h"

namespace wsload {
namespace {

constexpr std::uint64_t connect_timeout_ns = 30'000'000'000ULL;
constexpr std::uint64_t drain_timeout_ns = 2'000'000'000ULL;
// Publisher i has key publisher_key_top - i: the pool's keys count up from 0.
constexpr std::uint64_t publisher_key_top = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t timestamp_digits = 20;  // fits any uint64 nanosecond count

class FanoutBench final : public WsHandler {
public:
    FanoutBench(const Options& o, const Endpoint& sub, const Endpoint& pub, int epoll_fd)
        : options_(o),
          pool_(epoll_fd, sub,
                PoolOptions{o.connections, o.source_addresses, 256, o.deflate_offer, o.ca_file}, *this),
          cpu_(o.server_pid) {
        for (std::size_t i = 0; i < o.publish_connections; ++i) {
            publishers_.push_back(
                std::make_unique<HttpPublisher>(epoll_fd, publisher_key_top - i, pub));
        }
        // After the timestamp, chat-like JSON rather than one repeated
        // byte, so that permessage-deflate runs compress realistic text.
        const std::size_t size = o.size > timestamp_digits ? o.size : timestamp_digits;
        body_.assign(timestamp_digits, '0');
        for (std::size_t seq = 0; body_.size() < size; ++seq) {
            body_ += R"({"op":"message","channel":"room:lobby","seq":)" + std::to_string(seq) +
                     R"(,"data":{"user":"ana","text":"the deploy is done, see the numbers"}})";
        }
        body_.resize(size);
    }

    RunResult run(int epoll_fd) {
        const std::uint64_t began = now_ns();
        pool_.start_connects();
        LoopCallbacks cb;
        cb.on_event = [this](std::uint64_t key, std::uint32_t ev) {
            if (key > publisher_key_top - publishers_.size()) {
                publishers_[publisher_key_top - key]->on_event(ev);
            } else {
                pool_.on_event(key, ev);
            }
        };
        cb.on_tick = [this, began](std::uint64_t now) { return tick(now, began); };
        run_loop(epoll_fd, 1, cb);

        RunResult r;
        r.mode = "fanout";
        r.label = options_.label;
        r.connections = options_.connections;
        r.connections_failed = failed_at_start_;
        r.connections_lost = pool_.closed_after_open();
        r.size = body_.size();
        r.duration_s = static_cast<double>(measure_end_ - measure_start_) / 1e9;
        r.messages = received_in_window_;
        r.rate = r.duration_s > 0 ? static_cast<double>(received_in_window_) / r.duration_s : 0;
        r.published = published_in_window_;
        r.target_rate = options_.rate;
        r.publish_rate =
            r.duration_s > 0 ? static_cast<double>(published_in_window_) / r.duration_s : 0;
        r.publish_errors = 0;
        for (const auto& p : publishers_) r.publish_errors += p->answered_error() + p->lost();
        const double expected =
            static_cast<double>(published_in_window_) * static_cast<double>(subscribers_);
        r.delivery_ratio =
            expected > 0 ? static_cast<double>(delivered_of_window_) / expected : 0;
        r.latency = latency_;
        r.server_cpu = cpu_.server_cores();
        r.client_cpu = cpu_.client_cores();
        r.first_error = pool_.first_error();
        for (const auto& p : publishers_) {
            if (r.first_error.empty()) r.first_error = p->first_error_status();
        }
        return r;
    }

    void on_message(std::size_t, Opcode, std::span<const std::uint8_t> payload) override {
        const std::uint64_t now = now_ns();
        std::uint64_t sent = 0;
        const auto* text = reinterpret_cast<const char*>(payload.data());
        const std::size_t digits = payload.size() < timestamp_digits ? payload.size()
                                                                     : timestamp_digits;
        const auto [end, ec] = std::from_chars(text, text + digits, sent);
        if (ec != std::errc{}) {
            ++unparsable_;
            return;
        }
        if (phase_ == Phase::measure) ++received_in_window_;
        // Latency and completeness are judged per message published inside
        // the window, wherever its deliveries fall (a late one still counts).
        if (sent >= measure_start_ && measure_start_ != 0 &&
            (measure_end_ == 0 || sent < measure_end_)) {
            latency_.record(now - sent);
            ++delivered_of_window_;
        }
    }

private:
    enum class Phase { connect, warmup, measure, drain };

    void publish_due(std::uint64_t now) {
        const double elapsed = static_cast<double>(now - publish_start_) / 1e9;
        const auto due = static_cast<std::uint64_t>(elapsed * options_.rate);
        while (publish_slots_ < due) {
            ++publish_slots_;
            if (publishes_in_flight() >= options_.max_publish_in_flight) {
                ++skipped_;  // the server is not keeping up; do not queue forever
                continue;
            }
            const std::uint64_t t = now_ns();
            char digits[timestamp_digits + 1];
            std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(t));
            body_.replace(0, timestamp_digits, digits, timestamp_digits);
            least_busy_publisher().post(body_);
            if (phase_ == Phase::measure) ++published_in_window_;
        }
    }

    std::size_t publishes_in_flight() const {
        std::size_t n = 0;
        for (const auto& p : publishers_) n += p->in_flight();
        return n;
    }

    // Like a client's connection pool: the connection with the fewest
    // unanswered requests, the first of them on a tie.
    HttpPublisher& least_busy_publisher() {
        HttpPublisher* best = publishers_.front().get();
        for (const auto& p : publishers_) {
            if (p->in_flight() < best->in_flight()) best = p.get();
        }
        return *best;
    }

    bool tick(std::uint64_t now, std::uint64_t began) {
        switch (phase_) {
        case Phase::connect:
            if (!pool_.connect_phase_done()) {
                if (now - began < connect_timeout_ns) return true;
                std::fprintf(stderr, "wsload: connect phase timed out, %zu of %zu open\n",
                             pool_.open_count(), pool_.size());
            }
            failed_at_start_ = pool_.size() - pool_.open_count();
            subscribers_ = pool_.open_count();
            if (subscribers_ == 0) {
                std::fprintf(stderr, "wsload: no subscriber opened: %s\n",
                             pool_.first_error().c_str());
                return false;
            }
            for (auto& p : publishers_) {
                if (!p->connect_now()) {
                    std::fprintf(stderr, "wsload: cannot connect to --publish %s\n",
                                 options_.publish_url.c_str());
                    return false;
                }
            }
            phase_ = Phase::warmup;
            publish_start_ = now;
            phase_end_ = now + static_cast<std::uint64_t>(options_.warmup_s * 1e9);
            return true;
        case Phase::warmup:
            // Switch before publishing, so a message counts as published in
            // the window exactly when its timestamp falls in it.
            if (now >= phase_end_) {
                phase_ = Phase::measure;
                measure_start_ = now;
                cpu_.start(now);
                phase_end_ = now + static_cast<std::uint64_t>(options_.duration_s * 1e9);
            }
            publish_due(now);
            return true;
        case Phase::measure:
            if (now < phase_end_) {
                publish_due(now);
                return true;
            }
            measure_end_ = now;
            cpu_.stop(now);
            phase_ = Phase::drain;
            phase_end_ = now + drain_timeout_ns;
            return true;
        case Phase::drain: {
            const std::uint64_t expected = published_in_window_ * subscribers_;
            return delivered_of_window_ < expected && now < phase_end_;
        }
        }
        return false;
    }

    const Options& options_;
    WsClientPool pool_;
    std::vector<std::unique_ptr<HttpPublisher>> publishers_;
    CpuWindow cpu_;
    LatencyHistogram latency_;
    std::string body_;
    Phase phase_ = Phase::connect;
    std::uint64_t phase_end_ = 0;
    std::uint64_t publish_start_ = 0;
    std::uint64_t publish_slots_ = 0;
    std::uint64_t measure_start_ = 0;
    std::uint64_t measure_end_ = 0;
    std::uint64_t published_in_window_ = 0;
    std::uint64_t received_in_window_ = 0;
    std::uint64_t delivered_of_window_ = 0;
    std::uint64_t skipped_ = 0;
    std::uint64_t unparsable_ = 0;
    std::size_t subscribers_ = 0;
    std::size_t failed_at_start_ = 0;
};

}  // namespace

RunResult run_fanout(const Options& options) {
    RunResult failed;
    failed.mode = "fanout";
    const auto sub = parse_endpoint(options.url);
    const auto pub = parse_endpoint(options.publish_url);
    if (!sub || !pub || pub->tls) {
        std::fprintf(stderr, "wsload: cannot parse --url, or --publish is not http://\n");
        return failed;
    }
    return run_bench<FanoutBench>(options, *sub, *pub);
}

}  // namespace wsload
