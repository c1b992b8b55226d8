#include "server_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process_tree.h"

namespace wsload {
namespace {

// Fields 14 and 15 of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so counting starts after its last ')'.
std::optional<std::uint64_t> ticks_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // After ')' the first field is field 3 (state); utime is field 14.
    for (int n = 3; n <= 15 && fields >> field; ++n) {
        if (n == 14) utime = std::stoull(field);
        if (n == 15) stime = std::stoull(field);
    }
    return utime + stime;
}

std::uint64_t tree_ticks(pid_t pid) {
    std::uint64_t total = 0;
    for (pid_t p : process_tree(pid)) total += ticks_of(p).value_or(0);
    return total;
}

}  // namespace

std::optional<double> server_cpu_seconds(pid_t pid) {
    if (!ticks_of(pid)) return std::nullopt;
    const long hz = sysconf(_SC_CLK_TCK);
    return static_cast<double>(tree_ticks(pid)) / static_cast<double>(hz);
}

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace wsload

namespace wsload {

void CpuWindow::start(std::uint64_t now) {
    started_ = now;
    client_start_ = own_cpu_seconds();
    if (pid_) server_start_ = server_cpu_seconds(*pid_).value_or(-1);
    if (upstream_pid_) upstream_start_ = server_cpu_seconds(*upstream_pid_).value_or(-1);
}

void CpuWindow::stop(std::uint64_t now) {
    const double wall = static_cast<double>(now - started_) / 1e9;
    if (wall <= 0) return;
    client_cores_ = (own_cpu_seconds() - client_start_) / wall;
    if (pid_ && server_start_ >= 0) {
        if (const auto end = server_cpu_seconds(*pid_)) {
            server_cores_ = (*end - server_start_) / wall;
        }
    }
    if (upstream_pid_ && upstream_start_ >= 0) {
        if (const auto end = server_cpu_seconds(*upstream_pid_)) {
            upstream_cores_ = (*end - upstream_start_) / wall;
        }
    }
}

}  // namespace wsload
