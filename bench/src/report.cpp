#include "report.h"

#include <cstdio>

namespace wsload {
namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Labels and errors come from the command line and socket errors; escape the
// two characters that would break the JSON line.
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out.push_back('\\');
        if (static_cast<unsigned char>(ch) >= 0x20) out.push_back(ch);
    }
    out.push_back('"');
    return out;
}

std::string server_cpu_text(double cores) {
    if (cores < 0) return "n/a";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", cores);
    return text;
}

}  // namespace

void print_result(const RunResult& r) {
    const auto& h = r.latency;
    std::printf(
        "%s %s: %zu conns (%zu failed, %zu lost), %zu B, %.1f s: %.0f msg/s, "
        "latency p50 %.0f us, p99 %.0f us, p999 %.0f us, max %.0f us; "
        "server cpu %s cores, client cpu %.2f cores",
        r.mode.c_str(), r.label.empty() ? "-" : r.label.c_str(), r.connections,
        r.connections_failed, r.connections_lost, r.size, r.duration_s, r.rate,
        us(h.quantile_ns(0.5)), us(h.quantile_ns(0.99)), us(h.quantile_ns(0.999)),
        us(h.max_ns()), server_cpu_text(r.server_cpu).c_str(), r.client_cpu);
    if (r.upstream_cpu >= 0) std::printf("; upstream cpu %.2f cores", r.upstream_cpu);
    if (r.mode == "idle") {
        std::printf("; server memory %.1f -> %.1f MiB, %.0f B per connection",
                    static_cast<double>(r.memory_before_bytes) / 1048576.0,
                    static_cast<double>(r.memory_after_bytes) / 1048576.0,
                    r.bytes_per_connection);
    }
    if (r.mode == "fanout") {
        std::printf("; published %.0f/s (%llu errors), delivered %.4f of expected",
                    r.publish_rate, static_cast<unsigned long long>(r.publish_errors),
                    r.delivery_ratio);
    }
    std::printf("\n");

    std::printf(
        "{\"mode\":%s,\"label\":%s,\"connections\":%zu,\"connections_failed\":%zu,"
        "\"connections_lost\":%zu,\"size\":%zu,\"pipeline\":%zu,\"duration_s\":%.3f,"
        "\"messages\":%llu,\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f,\"max_us\":%.1f,\"server_cpu\":%.3f,\"client_cpu\":%.3f,\"upstream_cpu\":%.3f,"
        "\"published\":%llu,\"target_rate\":%.1f,\"publish_rate\":%.1f,\"publish_errors\":%llu,"
        "\"delivery_ratio\":%.5f,\"memory_before_bytes\":%llu,\"memory_after_bytes\":%llu,"
        "\"bytes_per_connection\":%.1f,\"first_error\":%s}\n",
        json_string(r.mode).c_str(), json_string(r.label).c_str(), r.connections,
        r.connections_failed, r.connections_lost, r.size, r.pipeline, r.duration_s,
        static_cast<unsigned long long>(r.messages), r.rate, us(h.quantile_ns(0.5)),
        us(h.quantile_ns(0.99)), us(h.quantile_ns(0.999)), us(h.max_ns()), r.server_cpu,
        r.client_cpu, r.upstream_cpu, static_cast<unsigned long long>(r.published), r.target_rate, r.publish_rate,
        static_cast<unsigned long long>(r.publish_errors), r.delivery_ratio,
        static_cast<unsigned long long>(r.memory_before_bytes),
        static_cast<unsigned long long>(r.memory_after_bytes), r.bytes_per_connection,
        json_string(r.first_error).c_str());
    std::fflush(stdout);
}

}  // namespace wsload
