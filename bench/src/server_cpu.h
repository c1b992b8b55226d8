// CPU time the server under test used, so a run can tell whether the server
// was the bottleneck or the load generator was.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace wsload {

// utime + stime of `pid` and all of its descendants (NGINX's master forks the
// workers that do the work), in seconds. nullopt when the process is gone.
std::optional<double> server_cpu_seconds(pid_t pid);

// CPU seconds this process has used, to report beside the server's.
double own_cpu_seconds();

}  // namespace wsload

namespace wsload {

// Server and client CPU over one measurement window, in cores (1.0 = one
// core busy for the whole window).
class CpuWindow {
public:
    explicit CpuWindow(std::optional<pid_t> server_pid,
                       std::optional<pid_t> upstream_pid = std::nullopt)
        : pid_(server_pid), upstream_pid_(upstream_pid) {}
    void start(std::uint64_t now);
    void stop(std::uint64_t now);
    double server_cores() const { return server_cores_; }  // -1 if not sampled
    double client_cores() const { return client_cores_; }
    double upstream_cores() const { return upstream_cores_; }  // -1 if not sampled

private:
    std::optional<pid_t> pid_;
    std::optional<pid_t> upstream_pid_;
    std::uint64_t started_ = 0;
    double server_start_ = 0;
    double client_start_ = 0;
    double server_cores_ = -1;
    double upstream_start_ = 0;
    double upstream_cores_ = -1;
    double client_cores_ = 0;
};

}  // namespace wsload
