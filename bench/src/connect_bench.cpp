#include "connect_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "clock.h"
#include "endpoint.h"
#include "event_loop.h"
#include "run_bench.h"
#include "latency_histogram.h"
#include "server_cpu.h"

namespace wsload {
namespace {

class ConnectStorm {
public:
    ConnectStorm(const Options& o, const Endpoint& ep, bool websocket, int epoll_fd)
        : options_(o), websocket_(websocket), epoll_fd_(epoll_fd),
          slots_(o.concurrency), cpu_(o.server_pid) {
        remote_.sin_family = AF_INET;
        remote_.sin_port = htons(ep.port);
        inet_pton(AF_INET, ep.host.c_str(), &remote_.sin_addr);
        if (websocket_) {
            request_ = "GET " + ep.path + " HTTP/1.1\r\nHost: " + ep.host_header +
                       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n";
        } else {
            request_ = "GET " + ep.path + " HTTP/1.1\r\nHost: " + ep.host_header +
                       "\r\nConnection: close\r\n\r\n";
        }
    }

    RunResult run(int) {
        const std::uint64_t began = now_ns();
        phase_end_ = began + static_cast<std::uint64_t>(options_.warmup_s * 1e9);
        for (std::size_t id = 0; id < slots_.size(); ++id) start(id);
        LoopCallbacks cb;
        cb.on_event = [this](std::uint64_t key, std::uint32_t ev) { on_event(key, ev); };
        cb.on_tick = [this](std::uint64_t now) { return tick(now); };
        run_loop(epoll_fd_, 5, cb);
        for (auto& s : slots_) drop(s);

        RunResult r;
        r.mode = "connect";
        r.label = options_.label;
        r.connections = options_.concurrency;
        r.connections_failed = failures_;
        r.duration_s = static_cast<double>(measure_end_ - measure_start_) / 1e9;
        r.messages = completed_;
        r.rate = r.duration_s > 0 ? static_cast<double>(completed_) / r.duration_s : 0;
        r.latency = latency_;
        r.server_cpu = cpu_.server_cores();
        r.client_cpu = cpu_.client_cores();
        r.first_error = first_error_;
        return r;
    }

private:
    enum class Phase { warmup, measure, done };

    struct Slot {
        int fd = -1;
        bool connected = false;
        std::size_t sent = 0;
        std::string in;
        std::uint64_t started = 0;
        std::uint32_t source = 0;
    };

    void start(std::size_t id) {
        Slot& s = slots_[id];
        s = Slot{};
        s.started = now_ns();
        s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s.fd < 0) return failed(id, std::string("socket: ") + std::strerror(errno));
        int one = 1;
        setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        // A reset, not a FIN, ends every connection: tens of thousands of
        // client sockets in TIME_WAIT would exhaust the source ports within
        // one run.
        const linger reset{1, 0};
        setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);

        const int sources = options_.source_addresses < 1 ? 1 : options_.source_addresses;
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(0x7f000001u + static_cast<std::uint32_t>(
                                                        next_source_++ % sources));
        if (bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            return failed(id, std::string("bind: ") + std::strerror(errno));
        }
        if (connect(s.fd, reinterpret_cast<const sockaddr*>(&remote_), sizeof remote_) != 0 &&
            errno != EINPROGRESS) {
            return failed(id, std::string("connect: ") + std::strerror(errno));
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = id;
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd, &ev);
    }

    void on_event(std::size_t id, std::uint32_t events) {
        Slot& s = slots_[id];
        if (s.fd < 0) return;
        if (!s.connected) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return failed(id, std::string("connect: ") + std::strerror(err));
            if (!(events & EPOLLOUT)) return;
            s.connected = true;
        }
        if (s.sent < request_.size()) {
            const ssize_t n = send(s.fd, request_.data() + s.sent, request_.size() - s.sent,
                                   MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                return failed(id, std::string("send: ") + std::strerror(errno));
            }
            if (n > 0) s.sent += static_cast<std::size_t>(n);
            if (s.sent == request_.size()) {
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u64 = id;
                epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
            }
        }
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_response(id);
    }

    void read_response(std::size_t id) {
        Slot& s = slots_[id];
        std::array<char, 4096> buf;
        bool ended = false;
        for (;;) {
            const ssize_t n = recv(s.fd, buf.data(), buf.size(), 0);
            if (n > 0) {
                s.in.append(buf.data(), static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            // EOF or error: fine if the head is complete (keep-alive off).
            ended = true;
            break;
        }
        const auto end = s.in.find("\r\n\r\n");
        if (end == std::string::npos) {
            if (ended) failed(id, "connection ended before the response head");
            else if (s.in.size() > 8192) failed(id, "response head too long");
            return;
        }
        const bool good = websocket_ ? s.in.starts_with("HTTP/1.1 101")
                                     : s.in.starts_with("HTTP/1.1 2");
        if (!good) {
            return failed(id, "answered: " + s.in.substr(0, s.in.find("\r\n")));
        }
        if (phase_ == Phase::measure) {
            latency_.record(now_ns() - s.started);
            ++completed_;
        }
        drop(s);
        if (phase_ != Phase::done) start(id);
    }

    void failed(std::size_t id, const std::string& why) {
        if (first_error_.empty()) first_error_ = why;
        if (phase_ == Phase::measure) ++failures_;
        drop(slots_[id]);
        // Back off this slot until the next tick rather than spin on an error.
        retry_.push_back(id);
    }

    static void drop(Slot& s) {
        if (s.fd >= 0) close(s.fd);
        s.fd = -1;
    }

    bool tick(std::uint64_t now) {
        if (phase_ != Phase::done) {
            for (std::size_t id : retry_) start(id);
        }
        retry_.clear();
        if (now < phase_end_) return true;
        if (phase_ == Phase::warmup) {
            phase_ = Phase::measure;
            measure_start_ = now;
            cpu_.start(now);
            phase_end_ = now + static_cast<std::uint64_t>(options_.duration_s * 1e9);
            return true;
        }
        measure_end_ = now;
        cpu_.stop(now);
        phase_ = Phase::done;
        return false;
    }

    const Options& options_;
    const bool websocket_;
    const int epoll_fd_;
    sockaddr_in remote_{};
    std::string request_;
    std::vector<Slot> slots_;
    std::vector<std::size_t> retry_;
    CpuWindow cpu_;
    LatencyHistogram latency_;
    Phase phase_ = Phase::warmup;
    std::uint64_t phase_end_ = 0;
    std::uint64_t measure_start_ = 0;
    std::uint64_t measure_end_ = 0;
    std::uint64_t completed_ = 0;
    std::size_t failures_ = 0;
    std::uint32_t next_source_ = 0;
    std::string first_error_;
};

}  // namespace

RunResult run_connect(const Options& options) {
    RunResult failed;
    failed.mode = "connect";
    const auto endpoint = parse_endpoint(options.url);
    if (!endpoint || endpoint->tls) {
        // A storm over TLS would measure key exchange, not the upgrade path.
        std::fprintf(stderr, "wsload: connect wants a ws:// or http:// --url, not %s\n",
                     options.url.c_str());
        return failed;
    }
    const bool websocket = options.url.starts_with("ws://");
    return run_bench<ConnectStorm>(options, *endpoint, websocket);
}

}  // namespace wsload
